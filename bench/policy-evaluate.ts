// Benchmark (not a test): desired access for 10,000 identities against the example policy.
// Target: ≥ 20,000 identities/s on the 2-core development machine (issue 4).
//   npx tsc bench/policy-evaluate.ts --outDir dist --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --strict --skipLibCheck --types node
//   node dist/bench/policy-evaluate.js [count=10000] [rounds=5] [policy-dir=examples/policy]
import os from 'node:os';
import { evaluateIdentity } from '../policy/evaluator.js';
import { loadPolicyDir } from '../policy/loader.js';
import { planIdentity } from '../policy/planner.js';
import { generateIdentities } from './policy-identities.js';

const count = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 5);
const dir = process.argv[4] ?? 'examples/policy';

const t0 = performance.now();
const loaded = loadPolicyDir(dir);
if (!loaded.ok) {
  console.error(`${dir}: ${loaded.problems.length} problems; run \`provisioner policy validate ${dir}\``);
  process.exit(1);
}
const loadMs = performance.now() - t0;
const { policy } = loaded;
const identities = generateIdentities(count);
const now = '2026-01-05T10:00:00Z';

/** Wall time, and this process's CPU time (which other processes on a busy machine do not inflate). */
function round(fn: (i: number) => number): { ms: number; cpuMs: number; checksum: number } {
  const start = performance.now();
  const cpu = process.cpuUsage();
  let checksum = 0;
  for (let i = 0; i < identities.length; i++) checksum += fn(i);
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, checksum };
}

function measure(label: string, fn: (i: number) => number): void {
  round(fn); // warm-up: JIT, caches
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let checksum = 0;
  for (let r = 0; r < rounds; r++) {
    const res = round(fn);
    times.push(res.ms);
    cpuTimes.push(res.cpuMs);
    checksum = res.checksum;
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
  const rate = (ms: number): string => Math.round((identities.length / ms) * 1000).toLocaleString('en-US');
  console.log(
    `${label}: ${rate(median(times))} identities/s median (best ${rate(times[0]!)}, worst ${rate(times[times.length - 1]!)}); ` +
      `${rate(median(cpuTimes))} per CPU-second; ${rounds} rounds of ${identities.length.toLocaleString('en-US')}, ` +
      `${(checksum / identities.length).toFixed(2)} entitlements/identity`,
  );
}

console.log(`policy ${policy.version} from ${dir}: loaded and compiled in ${loadMs.toFixed(0)} ms (${policy.rules.length} rules, ${policy.roles.size} roles, ${policy.entitlements.size} entitlements)`);
console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
measure('evaluate', (i) => evaluateIdentity(policy, { identity: identities[i]!, now }).entitlements.length);
measure('evaluate + plan (joiner: no accounts yet)', (i) => planIdentity(policy, { identity: identities[i]!, actual: [], now }).desired.entitlements.length);
