// An application's quarantine as the drill's audit trail records it (application.quarantined,
// application.released): how many times each happened, each also put on the drill's timeline.
import { queryAudit } from '../store/index.js';
import type { ScenarioContext } from './scenario.js';

export async function quarantineOf(ctx: ScenarioContext, app: string): Promise<{ quarantined: number; released: number }> {
  const { pool, keys } = ctx.pipeline.store;
  const ofApp = async (action: string) => {
    const rows = (await queryAudit(pool, keys.kek, { action, limit: 1000 })).filter((row) => row.changes.some((c) => c.app === app));
    for (const row of rows) ctx.timeline.push({ at: Date.parse(row.at), what: `${app}: ${action} (audit trail, actor ${row.actor})` });
    return rows.length;
  };
  return { quarantined: await ofApp('application.quarantined'), released: await ofApp('application.released') };
}
