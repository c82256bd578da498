// `provisioner apps modes | arm | disarm`: through the API as the caller of the token (the CLI never
// names the operator), and what they print.
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import type { ApplicationModeAnswer, ApplicationView } from '../../api/routes/applications.js';
import { createApiClient } from '../../cli/api-client.js';
import { formatApplicationModes, formatModeChange, registerAppsCommands } from '../../cli/commands/apps.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFMSJ9.c2lnbmF0dXJlLXNlY3JldA';

const views: ApplicationView[] = [
  { app: 'chat', connector: 'scim', config: 'chat', mode: 'armed', source: 'config', configDefault: 'armed' },
  { app: 'code', connector: 'scim', config: 'code', mode: 'plan-only', source: 'config', configDefault: 'plan-only' },
  { app: 'crm', connector: 'scim', config: 'crm', mode: 'armed', source: 'store', configDefault: 'plan-only', changedBy: 'E0001', changedAt: '2030-01-01T10:00:00.000Z', reason: 'pilot with sales ops' },
  { app: 'directory', connector: 'ldap', config: 'slapd', mode: 'plan-only', source: 'store', configDefault: 'plan-only', changedBy: null, changedAt: '2030-01-02T10:00:00.000Z' },
];

describe('apps modes output', () => {
  it('one line per application with its connector, mode and where the mode comes from', () => {
    const text = formatApplicationModes(views);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^APPLICATION\s+CONNECTOR\s+MODE\s+SET BY$/);
    expect(lines[1]).toMatch(/^chat\s+scim\s+armed\s+configuration default$/);
    expect(lines[2]).toMatch(/^code\s+scim\s+plan-only\s+configuration default$/);
    expect(lines[3]).toMatch(/^crm\s+scim\s+armed\s+armed by E0001 at 2030-01-01T10:00:00.000Z \(overrides the configuration's plan-only\)$/);
    expect(lines[4]).toMatch(/^\s+reason: pilot with sales ops$/);
    expect(lines[5]).toMatch(/^directory\s+ldap\s+plan-only\s+disarmed by \(a purged operator\) at 2030-01-02T10:00:00.000Z$/);
    expect(formatApplicationModes([])).toBe('the policy names no application');
  });

  it('an arm, a disarm and a repeat, in a sentence', () => {
    const armed: ApplicationModeAnswer = { changed: true, application: views[2]! };
    expect(formatModeChange('arm', armed)).toBe('crm armed by E0001: its steps are written from the next change on (the workers pick it up within seconds)');
    const disarmed: ApplicationModeAnswer = { changed: true, application: { ...views[2]!, mode: 'plan-only' } };
    expect(formatModeChange('disarm', disarmed)).toMatch(/^crm disarmed by E0001: plan-only: its steps are planned and audited, nothing is written/);
    expect(formatModeChange('arm', { changed: false, application: views[2]! })).toBe(
      "crm: already armed (armed by E0001 at 2030-01-01T10:00:00.000Z (overrides the configuration's plan-only)); nothing changed",
    );
  });
});

type Seen = { method: string; path: string; body?: unknown };

function run(answers: Record<string, unknown>) {
  const seen: Seen[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    seen.push({ method, path: url.pathname, ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}) });
    const answer = answers[`${method} ${url.pathname}`];
    if (!answer) return new Response(JSON.stringify({ error: 'the policy has no application "nope"', reason: 'unknown-application' }), { status: 404 });
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const client = () => createApiClient({ baseUrl: 'http://api.test', token: TOKEN, fetch: fetchImpl });
  const exec = async (args: string[]): Promise<string> => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    registerAppsCommands(program, { client });
    try {
      await program.parseAsync(['node', 'provisioner', ...args]);
    } finally {
      vi.mocked(process.stdout.write).mockRestore();
    }
    return out.join('');
  };
  return { seen, exec };
}

describe('apps modes, arm and disarm go through the API', () => {
  it('arm posts the reason (and nothing naming the operator) to the application; disarm likewise', async () => {
    const { seen, exec } = run({
      'POST /applications/crm/arm': { changed: true, application: views[2] },
      'POST /applications/crm/disarm': { changed: true, application: { ...views[2], mode: 'plan-only' } },
    });
    expect(await exec(['apps', 'arm', 'crm', '--reason', 'pilot with sales ops'])).toMatch(/^crm armed by E0001/);
    expect(await exec(['apps', 'disarm', 'crm', '--reason', 'rollback'])).toMatch(/^crm disarmed by E0001/);
    expect(seen).toEqual([
      { method: 'POST', path: '/applications/crm/arm', body: { reason: 'pilot with sales ops' } },
      { method: 'POST', path: '/applications/crm/disarm', body: { reason: 'rollback' } },
    ]);
  });

  it('an application id cannot change the route, and the API refusal is the error', async () => {
    const { seen, exec } = run({});
    await expect(exec(['apps', 'arm', '../fence', '--reason', 'x'])).rejects.toThrow(/404 unknown-application/);
    expect(seen[0]!.path).toBe('/applications/..%2Ffence/arm');
  });

  it('a reason is required', async () => {
    const { seen, exec } = run({});
    await expect(exec(['apps', 'arm', 'crm'])).rejects.toThrow(/--reason/);
    expect(seen).toEqual([]);
  });

  it('modes lists the applications (as JSON with --json)', async () => {
    const { exec } = run({ 'GET /applications': { policyVersion: 'v1', applications: views } });
    expect(await exec(['apps', 'modes'])).toContain('crm');
    expect(JSON.parse(await exec(['apps', 'modes', '--json']))).toEqual(views);
  });
});
