// Canary: personal data and a connector secret go through the whole pipeline; exporting every
// workflow history, every log line and every dead letter finds neither in clear text.
import { Writable } from 'node:stream';
import protos from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';

const { temporal } = protos;
const lines: string[] = [];
const memory = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code'], logger: createLogger({ level: 'debug', name: 'canary', destination: memory }) });
});
afterAll(async () => {
  await p?.close();
});

// The e-mail is the LDAP uid, unique per run (the directory outlives test runs).
const CANARY = { givenName: 'Canaryella', familyName: 'Zqxjvorth', email: `canaryella.zqxjvorth.${uniqueName('c')}@example.com` };

describe('canary personal data and secrets', () => {
  it('appear in clear text in no workflow history, log line or dead letter', async () => {
    const id = uniqueName('C').replaceAll('.', '');
    const poison = uniqueName('C').replaceAll('.', '');
    await p.produce([
      { key: id, value: JSON.stringify(hrEvent(id, { data: CANARY })) },
      // Bad input with the canary in it goes to the DLQ.
      { key: poison, value: JSON.stringify({ ...hrEvent(poison, { data: CANARY }), specversion: '0.3' }) },
    ]);
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(id));
    await eventually('the canary provisioned', async () => {
      const s = await handle.query(getState).catch(() => undefined);
      return s && s.lastAppliedSequence === 1 && s.status === 'provisioned' ? true : undefined;
    });
    const users = (await p.apps[0]!.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${id}"`)}`)).body.Resources;
    expect(users[0].name.givenName).toBe(CANARY.givenName); // it did travel through the system
    const deadLetters = await eventually('the dead letter', async () => {
      const list = (await p.read(`${p.cfg.kafka.topics.hrLifecycle}.dlq`)).filter((m) => m.key === poison);
      return list.length > 0 ? list : undefined;
    });

    const secrets = [CANARY.givenName, CANARY.familyName, CANARY.email, ...p.apps.map((a) => a.bearerToken)];
    const exports: Array<[string, Buffer]> = [];
    for await (const wf of p.ingress.client.workflow.list({ query: `TaskQueue="${p.taskQueue}"` })) {
      const history = await p.ingress.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      exports.push([`history ${wf.workflowId}`, Buffer.from(temporal.api.history.v1.History.encode(temporal.api.history.v1.History.fromObject(history)).finish())]);
    }
    expect(exports.length).toBeGreaterThan(0);
    // The search does find clear text: the employee id (allowed) is in the workflow id.
    expect(exports.some(([, bytes]) => bytes.includes(id))).toBe(true);
    exports.push(['log', Buffer.from(lines.join(''))]);
    expect(lines.length).toBeGreaterThan(10);
    for (const letter of deadLetters) exports.push(['dead letter', Buffer.from(`${letter.value}${JSON.stringify(letter.headers)}`)]);
    for (const [what, bytes] of exports) {
      for (const secret of secrets) expect(bytes.includes(secret), `${what} contains ${secret.slice(0, 6)}…`).toBe(false);
    }
  });
});
