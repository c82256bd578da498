// The poison of the poison-storm drill: messages on the HR topic that are not events the pipeline
// may act on, one of each kind ingress/ tells apart, with the dead-letter reason code it must park
// each under (ingress/dead-letters.ts). Their subjects are poison people, never the workload's, so
// "none reached a workflow" is a question the servers can answer: no identity workflow and no
// account exists for any of them.
import { MAX_EVENT_BYTES } from '../schemas/events.js';

export type PoisonKind = 'empty' | 'invalid-json' | 'not-a-cloudevent' | 'wrong-types' | 'unknown-type' | 'status-contradiction' | 'subject-mismatch' | 'oversized' | 'key-mismatch';

export type PoisonMessage = { kind: PoisonKind; reasonCode: string; key: string; value: Buffer; subject: string };

export const POISON_KINDS: readonly PoisonKind[] = ['empty', 'invalid-json', 'not-a-cloudevent', 'wrong-types', 'unknown-type', 'status-contradiction', 'subject-mismatch', 'oversized', 'key-mismatch'];

/** A hire as HR sends it, for a poison person: valid until a kind spoils it. */
function hire(subject: string, n: number): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    specversion: '1.0',
    id: `${subject}-poison-${n}`,
    source: 'urn:hris:drill',
    type: 'hr.worker.hired',
    time: now,
    subject,
    datacontenttype: 'application/json',
    data: { employeeId: subject, sequence: 1, effectiveAt: now, status: 'active', givenName: 'Poison', familyName: `Person${n}`, email: `${subject.toLowerCase()}@drill.example.com`, employmentType: 'employee', region: 'eu' },
  };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The `n`th poison message of a storm for drill `tag`: the kinds in turn. */
export function poisonMessage(tag: string, n: number): PoisonMessage {
  const kind = POISON_KINDS[n % POISON_KINDS.length]!;
  const subject = `P${tag}${String(n).padStart(5, '0')}`;
  const event = hire(subject, n);
  const data = event.data as Record<string, unknown>;
  const of = (reasonCode: string, value: Buffer, key = subject): PoisonMessage => ({ kind, reasonCode, key, value, subject });
  switch (kind) {
    case 'empty':
      return of('empty', Buffer.alloc(0));
    case 'invalid-json':
      return of('invalid-json', Buffer.from(JSON.stringify(event).slice(0, -7)));
    case 'not-a-cloudevent':
      return of('invalid-event', json({ ...event, specversion: '0.3', id: undefined }));
    case 'wrong-types':
      return of('invalid-event', json({ ...event, data: { ...data, sequence: '1', employmentType: 42 } }));
    case 'unknown-type':
      return of('invalid-event', json({ ...event, type: 'hr.worker.promoted' }));
    case 'status-contradiction':
      return of('invalid-event', json({ ...event, type: 'hr.worker.terminated', data: { ...data, status: 'active' } }));
    case 'subject-mismatch':
      return of('invalid-event', json({ ...event, data: { ...data, employeeId: `${subject}X` } }));
    case 'oversized':
      return of('too-large', json({ ...event, data: { ...data, extensions: { padding: 'x'.repeat(MAX_EVENT_BYTES) } } }));
    case 'key-mismatch':
      return of('key-mismatch', json(event), `${subject}K`);
  }
}
