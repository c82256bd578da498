// State files: an app restarted on the same file has the same users and groups.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let dir: string;
const running: TestScimApp[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'scim-state-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startTestScimApp>[0] = {}) {
  const app = await startTestScimApp(options);
  running.push(app);
  return app;
}

async function restart(app: TestScimApp) {
  await app.close();
  const { logger: _logger, port: _port, ...options } = app.options;
  return start(options);
}

describe('with a state file', () => {
  it('users, groups and memberships survive a restart, ids and versions included', async () => {
    const stateFile = path.join(dir, 'nested', 'app.json');
    const first = await start({ stateFile });
    const alice = (await first.scim('POST', '/Users', { body: userBody('alice', { externalId: 'E1', name: { givenName: 'Alice' } }) })).body;
    const group = (await first.scim('POST', '/Groups', { body: groupBody('Admins') })).body;
    await first.scim('PATCH', `/Groups/${group.id}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: alice.id }] }) });
    const before = {
      user: (await first.scim('GET', `/Users/${alice.id}`)).body,
      group: (await first.scim('GET', `/Groups/${group.id}`)).body,
    };

    const second = await restart(first);
    const after = {
      user: (await second.scim('GET', `/Users/${alice.id}`)).body,
      group: (await second.scim('GET', `/Groups/${group.id}`)).body,
    };
    const withoutHost = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll(first.url, '').replaceAll(second.url, ''));
    expect(withoutHost(after)).toEqual(withoutHost(before));
    expect(readdirSync(path.dirname(stateFile))).toEqual(['app.json']); // no temporary file left behind
  });

  it('uniqueness still holds after a restart, and new versions are never old ones', async () => {
    const stateFile = path.join(dir, 'app.json');
    const first = await start({ stateFile });
    const bob = (await first.scim('POST', '/Users', { body: userBody('Bob', { externalId: 'E2' }) })).body;
    await first.scim('DELETE', `/Users/${(await first.scim('POST', '/Users', { body: userBody('temp') })).body.id}`);
    const second = await restart(first);
    expect((await second.scim('POST', '/Users', { body: userBody('bob') })).body.scimType).toBe('uniqueness');
    expect((await second.scim('POST', '/Users', { body: userBody('robert', { externalId: 'E2' }) })).body.scimType).toBe('uniqueness');
    const carol = (await second.scim('POST', '/Users', { body: userBody('carol') })).body;
    const versionNumber = (v: string) => Number(/"(\d+)"/.exec(v)![1]);
    expect(versionNumber(carol.meta.version)).toBeGreaterThan(versionNumber(bob.meta.version) + 1);
  });

  it('a change reaches the file shortly after it is made, without waiting for shutdown', async () => {
    const stateFile = path.join(dir, 'app.json');
    const app = await start({ stateFile, persistDelayMs: 10 });
    await app.scim('POST', '/Users', { body: userBody('dave', { externalId: 'E4' }) });
    const deadline = Date.now() + 2000;
    while (!(existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('"E4"')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).users.map((u: { userName: string }) => u.userName)).toEqual(['dave']);
  });

  it('a reset is persisted too', async () => {
    const stateFile = path.join(dir, 'app.json');
    const first = await start({ stateFile });
    await first.scim('POST', '/Users', { body: userBody('erin') });
    await first.admin.reset();
    const second = await restart(first);
    expect((await second.scim('GET', '/Users')).body.totalResults).toBe(0);
  });

  it('a state file that is not JSON stops the start with a message naming the file', async () => {
    const stateFile = path.join(dir, 'broken.json');
    writeFileSync(stateFile, '{"format":1,"users":[');
    await expect(startTestScimApp({ stateFile })).rejects.toThrow(/broken\.json is not valid JSON/);
  });
});

describe('without a state file', () => {
  it('the app keeps its state in memory only, and a restart starts empty', async () => {
    const first = await start();
    await first.scim('POST', '/Users', { body: userBody('frank') });
    const second = await restart(first);
    expect((await second.scim('GET', '/Users')).body.totalResults).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
