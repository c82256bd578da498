// The repository's alert rules under Prometheus's own checker, in the suite: `promtool check rules`
// on ops/prometheus/provisioner-alerts.yml and `promtool test rules` on its recorded series
// (provisioner-alerts.test.yml: the alerts that must fire, and must not). promtool is built with the
// local Prometheus in one `go install` (stack/prometheus.ts) and cached; `npm run check:ops` runs the
// same two commands on their own.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { obtainPrometheus } from '../../stack/prometheus.js';

const run = promisify(execFile);
const BUILD_MS = 25 * 60_000;
const rulesDir = path.join(projectRoot, 'ops', 'prometheus');

describe('the alert rules under promtool', () => {
  it('checks the rules and passes their unit tests (each alert fires on its recorded series, and only then)', async () => {
    const promtool = await obtainPrometheus(loadConfig(), (line) => process.stderr.write(`[promtool test] ${line}\n`), 'promtool');
    const checked = await run(promtool, ['check', 'rules', 'provisioner-alerts.yml'], { cwd: rulesDir });
    expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const tested = await run(promtool, ['test', 'rules', 'provisioner-alerts.test.yml'], { cwd: rulesDir });
    expect(`${tested.stdout}${tested.stderr}`).toMatch(/SUCCESS/);
  }, BUILD_MS);
});
