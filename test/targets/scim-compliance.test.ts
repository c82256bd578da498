// Our target app against an independent RFC 7643/7644 compliance checker (scim2-tester, run by
// scripts/scim-compliance/run.py from the virtualenv scripts/setup.sh installs): every applicable
// check passes. A check configured out (scripts/scim-compliance/configured_out.py) is printed with
// its reason, and so is a skipped one; neither counts as passed.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const python = path.join(projectRoot, '.provisioner', 'scim-compliance', 'venv', 'bin', 'python');
const runner = path.join(projectRoot, 'scripts', 'scim-compliance', 'run.py');

type Check = { name: string; status: string; outcome: 'passed' | 'failed' | 'skipped' | 'configured-out'; reason: string | null; configuredOutBecause?: string };
type Report = { checker: string; total: number; passed: number; failed: number; skipped: number; 'configured-out': number; seconds: number; checks: Check[] };

function runChecker(scimUrl: string, token: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(python, [runner, '--url', scimUrl, '--json'], { env: { ...process.env, SCIM_COMPLIANCE_TOKEN: token }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      // Exit status 1 means "a check failed": the report on stdout says which.
      if (err && !stdout.trim()) return reject(new Error(`the compliance checker did not report (${err.message}):\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as Report);
      } catch {
        reject(new Error(`the compliance checker printed no JSON report:\n${stdout}\n${stderr}`));
      }
    });
  });
}

const line = (c: Check) => `${c.name} (${c.status}): ${c.reason ?? ''}${c.configuredOutBecause ? ` -- configured out: ${c.configuredOutBecause}` : ''}`;

describe('the target app against scim2-tester, an independent RFC 7644 compliance checker', () => {
  let app: TestScimApp;
  beforeAll(async () => {
    app = await startTestScimApp({ name: 'compliance' });
  });
  afterAll(() => app?.close());

  it('passes every applicable check', { timeout: 150_000 }, async () => {
    if (!existsSync(python)) {
      throw new Error(`the SCIM compliance checker is not installed (${python} is missing): run bash scripts/setup.sh, or bash scripts/scim-compliance/install.sh`);
    }
    const report = await runChecker(app.scimUrl, app.bearerToken);
    const of = (outcome: Check['outcome']) => report.checks.filter((c) => c.outcome === outcome);
    process.stdout.write(
      `${report.checker}: ${report.total} checks in ${report.seconds} s: ${report.passed} passed, ${report.failed} failed, ` +
        `${report.skipped} skipped (not applicable), ${report['configured-out']} configured out\n` +
        [...of('skipped'), ...of('configured-out')].map((c) => `  ${c.outcome} ${line(c)}\n`).join(''),
    );

    expect(of('failed').map(line), 'checks that failed').toEqual([]);
    expect(report.passed + report.failed + report.skipped + report['configured-out']).toBe(report.total);
    expect(of('configured-out').every((c) => (c.configuredOutBecause ?? '').length > 20), 'every configured-out check says why').toBe(true);
    // The checker stops after discovery when it cannot describe the server: a short run is a failure too.
    expect(report.passed).toBeGreaterThanOrEqual(130);
  });
});
