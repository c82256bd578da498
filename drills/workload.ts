// A drill's seeded workload: joiners, and later in the run a share of them leaving, published to
// the drill's HR topic at a chosen rate. The ledger is what was published, per person: the oracle's
// first view (what everyone should have in the end).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from '../kafka/client.js';
import { seededRandom } from './seeded-random.js';

export type LedgerEntry = {
  employeeId: string;
  lastSequence: number;
  status: 'active' | 'terminated';
  eventIds: string[];
  /**
   * A scenario made the person's last change fail for good (saga-undo-kill): their workflow settles
   * `failed` on that sequence, and the saga undid what the change did: the apps hold nothing of theirs.
   */
  expect?: 'rolled-back';
};

export type Workload = { events: Array<{ key: string; value: string; employeeId: string; sequence: number; status: LedgerEntry['status'] }>; ledger: Map<string, LedgerEntry> };

/** `idPrefix` (default `D`) starts every employee id: a second workload of one drill (e.g. a surge) takes another. */
/** The drill's tag in its people's ids (`D<tag>00001`): the drill id's last ten letters and digits. */
export const drillTag = (drillId: string): string => drillId.replaceAll(/[^A-Za-z0-9]/g, '').slice(-10).toUpperCase();

export function buildWorkload(options: { drillId: string; joiners: number; leaverShare: number; seed: number; idPrefix?: string }): Workload {
  const random = seededRandom(options.seed);
  const tag = drillTag(options.drillId);
  const departments = ['Engineering', 'Sales', 'Support', 'Finance'];
  const ledger = new Map<string, LedgerEntry>();
  const events: Workload['events'] = [];
  const event = (employeeId: string, sequence: number, status: LedgerEntry['status'], data: Record<string, unknown>) => {
    const now = new Date().toISOString();
    const id = `${employeeId}-${sequence}`;
    const type = status === 'terminated' ? 'hr.worker.terminated' : 'hr.worker.hired';
    const value = JSON.stringify({ specversion: '1.0', id, source: 'urn:hris:drill', type, time: now, subject: employeeId, datacontenttype: 'application/json', data: { ...data, sequence, effectiveAt: now, status } });
    events.push({ key: employeeId, value, employeeId, sequence, status });
    const entry = ledger.get(employeeId) ?? { employeeId, lastSequence: 0, status, eventIds: [] };
    ledger.set(employeeId, { ...entry, lastSequence: sequence, status, eventIds: [...entry.eventIds, id] });
  };
  const people: Array<{ id: string; data: Record<string, unknown> }> = [];
  for (let n = 0; n < options.joiners; n += 1) {
    const employeeId = `${options.idPrefix ?? 'D'}${tag}${String(n).padStart(5, '0')}`;
    const data = {
      employeeId,
      givenName: 'Drill',
      familyName: `Person${n}`,
      email: `${employeeId.toLowerCase()}@drill.example.com`,
      department: departments[Math.floor(random() * departments.length)],
      title: 'Specialist',
      region: random() < 0.5 ? 'eu' : 'us',
      employmentType: 'employee',
    };
    people.push({ id: employeeId, data });
    event(employeeId, 1, 'active', data);
    // A leaver leaves a while after joining: after a few more joiners were published.
    if (n >= 10 && random() < options.leaverShare) {
      const leaver = people[Math.floor(random() * (people.length - 10))]!;
      if (ledger.get(leaver.id)!.status === 'active') event(leaver.id, 2, 'terminated', leaver.data);
    }
  }
  return { events, ledger };
}

/**
 * Terminations for `employeeIds` after their last event (a feed's mass termination), with the data
 * of their hire: the events to publish, and the ledger updated to expect them.
 */
export function terminate(workload: Workload, employeeIds: readonly string[]): Workload['events'] {
  const out: Workload['events'] = [];
  for (const employeeId of employeeIds) {
    const entry = workload.ledger.get(employeeId);
    const hire = workload.events.find((e) => e.employeeId === employeeId && e.sequence === 1);
    if (!entry || !hire || entry.status !== 'active') throw new Error(`${employeeId} is not an active joiner of this workload`);
    const hired = JSON.parse(hire.value) as { data: Record<string, unknown> };
    const sequence = entry.lastSequence + 1;
    const now = new Date().toISOString();
    const id = `${employeeId}-${sequence}`;
    const value = JSON.stringify({ specversion: '1.0', id, source: 'urn:hris:drill', type: 'hr.worker.terminated', time: now, subject: employeeId, datacontenttype: 'application/json', data: { ...hired.data, sequence, effectiveAt: now, status: 'terminated' } });
    out.push({ key: employeeId, value, employeeId, sequence, status: 'terminated' });
    workload.ledger.set(employeeId, { ...entry, lastSequence: sequence, status: 'terminated', eventIds: [...entry.eventIds, id] });
  }
  workload.events.push(...out);
  return out;
}

export type PublishOptions = {
  onProgress?: (published: number) => void;
  /** A send failed and will be tried again in a second (the first failure of a stall only). */
  onStall?: (err: unknown) => void;
  /** A stalled send went through after `stalledMs`. */
  onRecovered?: (stalledMs: number) => void;
  /** How long one batch may keep failing before publishing stops with an error; default 120 s. */
  giveUpMs?: number;
};

export type PublishOutcome = { stalls: number; longestStallMs: number };

/**
 * Publishes the workload at `rate` events per second, in order (each person's events in their
 * sequence). A send that fails is tried again every second, as an HRIS's outbox would, until it
 * goes through or `giveUpMs` passes: a broker's death can outlast the client's own retries (the
 * dead broker stays the leader until the controller fences it), and the drill is about what the
 * pipeline does with what was published, not about a feed that gives up. The batch is sent again
 * whole, so an event may land twice: the pipeline takes each person's sequence once.
 */
export async function publishWorkload(producer: Producer, topic: string, workload: Workload, rate: number, options: PublishOptions = {}): Promise<PublishOutcome> {
  const started = Date.now();
  const batch = Math.max(1, Math.round(rate / 10));
  const giveUpMs = options.giveUpMs ?? 120_000;
  const outcome: PublishOutcome = { stalls: 0, longestStallMs: 0 };
  for (let i = 0; i < workload.events.length; i += batch) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const slice = workload.events.slice(i, i + batch);
    let stalledAt: number | undefined;
    for (;;) {
      try {
        await producer.send({ topic, acks: -1, messages: slice.map((e) => ({ key: e.key, value: e.value })) });
        break;
      } catch (err) {
        if (stalledAt === undefined) {
          stalledAt = Date.now();
          outcome.stalls += 1;
          options.onStall?.(err);
        }
        if (Date.now() - stalledAt > giveUpMs) throw new Error(`publishing stopped: a send kept failing for ${Math.round((Date.now() - stalledAt) / 1000)} s (${err instanceof Error ? err.message : String(err)})`);
        await sleep(1_000);
      }
    }
    if (stalledAt !== undefined) {
      const stalledMs = Date.now() - stalledAt;
      outcome.longestStallMs = Math.max(outcome.longestStallMs, stalledMs);
      options.onRecovered?.(stalledMs);
    }
    options.onProgress?.(Math.min(workload.events.length, i + batch));
  }
  return outcome;
}
