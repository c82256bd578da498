// Follows every bench app's write log (GET /admin/writes, the app's own sub-ms timestamps) and
// answers: when was each person fully provisioned (the app's time of the LAST write that made
// them so, across all apps), and when was each leaver disabled (the first write to their account
// at or after the leaver's scheduled time, latest across apps).
import type { WriteEntry } from '../../targets/write-log.js';

type AppView = {
  name: string;
  url: string;
  adminToken: string;
  since: number;
  userOf: Map<string, string>; // employeeId → user id
  members: Map<string, Set<string>>; // user id → group ids it was added to
  lastAt: Map<string, number>; // user id → app time of the latest write that touched it
  userWrites: Map<string, number[]>; // user id → app times of writes to the user resource
};

export class WriteTracker {
  readonly #apps: AppView[];
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  readonly groupsPerApp: number;

  constructor(apps: Array<{ name: string; url: string; adminToken: string }>, groupsPerApp: number) {
    this.#apps = apps.map((a) => ({ ...a, since: 0, userOf: new Map(), members: new Map(), lastAt: new Map(), userWrites: new Map() }));
    this.groupsPerApp = groupsPerApp;
  }

  start(intervalMs = 100): void {
    const tick = () => {
      this.#polling = this.poll().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  async poll(): Promise<void> {
    await Promise.all(this.#apps.map((app) => this.#pollApp(app)));
  }

  async #pollApp(app: AppView): Promise<void> {
    for (;;) {
      const res = await fetch(`${app.url}/admin/writes?since=${app.since}&limit=5000`, { headers: { authorization: `Bearer ${app.adminToken}` } });
      if (!res.ok) throw new Error(`${app.name} /admin/writes: ${res.status}`);
      const { writes } = (await res.json()) as { writes: WriteEntry[] };
      for (const w of writes) this.#apply(app, w);
      if (writes.length > 0) app.since = writes[writes.length - 1]!.seq;
      if (writes.length < 5000) return;
    }
  }

  #apply(app: AppView, w: WriteEntry): void {
    if (w.resourceType === 'User') {
      if (w.externalId) app.userOf.set(w.externalId, w.id);
      app.lastAt.set(w.id, Math.max(app.lastAt.get(w.id) ?? 0, w.at));
      const list = app.userWrites.get(w.id) ?? [];
      list.push(w.at);
      app.userWrites.set(w.id, list);
      return;
    }
    for (const user of w.membersAdded ?? []) {
      const set = app.members.get(user) ?? new Set<string>();
      set.add(w.id);
      app.members.set(user, set);
      app.lastAt.set(user, Math.max(app.lastAt.get(user) ?? 0, w.at));
    }
  }

  /** The app time a joiner became fully provisioned everywhere, or undefined if not yet. */
  provisionedAt(employeeId: string): number | undefined {
    let last = 0;
    for (const app of this.#apps) {
      const user = app.userOf.get(employeeId);
      if (!user || (app.members.get(user)?.size ?? 0) < this.groupsPerApp) return undefined;
      last = Math.max(last, app.lastAt.get(user) ?? 0);
    }
    return last;
  }

  /** The app time a leaver's accounts had all been written (disabled) at or after `scheduledAt`. */
  disabledAt(employeeId: string, scheduledAt: number): number | undefined {
    let last = 0;
    for (const app of this.#apps) {
      const user = app.userOf.get(employeeId);
      const at = user ? app.userWrites.get(user)?.find((t) => t >= scheduledAt) : undefined;
      if (at === undefined) return undefined;
      last = Math.max(last, at);
    }
    return last;
  }

  /** The first user write per app of this person (to check what the leaver write was). */
  writesOf(employeeId: string): number {
    return this.#apps.reduce((n, app) => n + (app.userWrites.get(app.userOf.get(employeeId) ?? '')?.length ?? 0), 0);
  }
}

/** Waits until `done(id)` answers for every id (polled every 100 ms), or the deadline passes. */
export async function waitAll(ids: string[], done: (id: string) => number | undefined, timeoutMs: number): Promise<{ at: Map<string, number>; missing: string[] }> {
  const at = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const id of ids) {
      if (at.has(id)) continue;
      const t = done(id);
      if (t !== undefined) at.set(id, t);
    }
    if (at.size === ids.length || Date.now() > deadline) return { at, missing: ids.filter((id) => !at.has(id)) };
    await new Promise((r) => setTimeout(r, 100));
  }
}
