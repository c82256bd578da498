// Replay: the workflow code must replay every history shape it has produced (a change that breaks
// determinism fails here; guard it with patched()). The histories in test/replay/histories/ are
// replayed on every run, in process: no server. New shapes are recorded on the real server by
// test/integration/replay.test.ts (UPDATE_REPLAY_HISTORIES=1).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistoryAndWorkflowId } from '@temporalio/common';
import protos from '@temporalio/proto';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowSourceOptions } from '../../runtime/workflows-path.js';

const { temporal } = protos;
const historiesDir = fileURLToPath(new URL('./histories', import.meta.url));

const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json')).sort();

describe('stored workflow histories', () => {
  const results = new Map<string, ReplayResult>();
  beforeAll(async () => {
    const histories: HistoryAndWorkflowId[] = files.map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(historiesDir, f), 'utf8'))) }));
    // One replay worker (one bundle, with the workflow interceptors production bundles) for them all.
    for await (const result of Worker.runReplayHistories(workflowSourceOptions(), histories)) results.set(result.workflowId, result);
  });

  it('are there to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays deterministically', (file) => {
    const result = results.get(file);
    expect(result, `no replay result for ${file}`).toBeDefined();
    expect(result!.error?.message).toBeUndefined();
  });
});
