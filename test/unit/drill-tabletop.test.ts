// `drill run --tabletop`: each step is printed with what to look at, and the drill waits for Enter.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import { consoleTabletop, drillSteps, whereToLook } from '../../drills/tabletop.js';

describe('the tabletop', () => {
  it('prints the step with what to look at, and goes on only when Enter is pressed', async () => {
    const out = new PassThrough();
    const input = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const step = consoleTabletop(out, input);
    let done = false;
    const waiting = step({ title: 'worker 1 was SIGKILLed', look: ['the task queue\'s pollers', 'schedule-to-start p99'] }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    expect(printed).toContain('tabletop step 1: worker 1 was SIGKILLed');
    expect(printed).toContain('   • the task queue\'s pollers\n   • schedule-to-start p99');
    expect(printed).toContain('press Enter to go on');
    input.write('\n');
    await waiting;
    expect(done).toBe(true);
    const second = step({ title: 'the verdict', look: [] });
    input.write('\n');
    await second;
    expect(printed).toContain('tabletop step 2: the verdict');
  });

  it('points at the drill\'s own workflows, task queue, config and logs', () => {
    const cfg = loadConfig({ env: {} });
    const pipeline = { runDir: '/data/drills/worker-kill-x1', cfg: { ...cfg, temporal: { ...cfg.temporal, taskQueue: 'drill-worker-kill-x1-provisioning' } } };
    const look = whereToLook(cfg, pipeline);
    expect(look.workflows).toContain(encodeURIComponent('TaskQueue="drill-worker-kill-x1-provisioning"'));
    expect(look.status).toBe('PROVISIONER_CONFIG=/data/drills/worker-kill-x1/worker-0.yaml npx provisioner status');
    const start = drillSteps.start({ name: 'worker-kill', fault: 'workers SIGKILLed' }, look);
    expect(start.title).toBe('drill worker-kill is about to start: workers SIGKILLed');
    expect(start.look.join('\n')).toContain('/data/drills/worker-kill-x1/logs/');
    const verdict = drillSteps.verdict(false, { duplicates: 1, lost: 0 }, look);
    expect(verdict.title).toBe('the oracle\'s verdict: FAILED (duplicates 1, lost 0)');
    expect(verdict.look[1]).toBe('Verify the audit trail yourself: PROVISIONER_CONFIG=/data/drills/worker-kill-x1/worker-0.yaml npx provisioner audit verify');
  });
});
