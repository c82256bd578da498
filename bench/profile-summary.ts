// Summarises the V8 CPU profiles of a bench run (BENCH_PROFILE=<dir> bash bench/run.sh ...):
// self time by component (where the code lives) and the top functions, per thread profile.
//   node dist/bench/profile-summary.js <dir> [top=15]
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] };
type Profile = { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

function component(url: string, fn: string): string {
  if (!url) return fn === '(garbage collector)' ? 'gc' : fn === '(idle)' ? 'idle' : fn === '(program)' ? 'program (native, incl. Temporal core bridge)' : `(${fn || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return `provisioner/${own[1]}`;
  return url.includes('workflow-bundle') || url.includes('webpack') ? 'temporal workflow bundle (sandbox)' : url.slice(0, 60);
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: profile-summary <dir> [top]');
const top = Number(process.argv[3] ?? 15);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const busy = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName !== '(idle)').reduce((a, [, v]) => a + v, 0);
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const c = component(url, functionName);
    byComponent.set(c, (byComponent.get(c) ?? 0) + us);
    const f = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(f, (byFunction.get(f) ?? 0) + us);
  }
  // Node's own internals (streams, crypto, http, timers) charged to the nearest caller in a package
  // or in our code: who made the machine do that work.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byCaller = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let at: number | undefined = id;
    let c = component(byId.get(id)!.callFrame.url, byId.get(id)!.callFrame.functionName);
    while (at !== undefined && (c.startsWith('node:') || c === '(native)' || c.startsWith('(') || c === 'gc')) {
      at = parent.get(at);
      if (at === undefined) break;
      const frame = byId.get(at)!.callFrame;
      if (frame.url) c = component(frame.url, frame.functionName);
    }
    byCaller.set(c, (byCaller.get(c) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%)\n  by component (self time):\n`);
  for (const [c, us] of [...byComponent].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${c}\n`);
  process.stdout.write('  by component, node internals charged to their caller:\n');
  for (const [c, us] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${c}\n`);
  process.stdout.write('  top functions (self time):\n');
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${f}\n`);
}
