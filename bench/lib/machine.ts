// Machine facts, versions and process/stack resource use for the results file.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../schemas/config.js';

function pkgVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

export function machineFacts() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function versions() {
  const own = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const names = ['@temporalio/worker', '@temporalio/client', '@temporalio/core-bridge', 'kafkajs', 'pg', 'express', 'scimmy', 'zod', '@marcbachmann/cel-js'];
  return { provisioner: own.version, git: gitState(), ...Object.fromEntries(names.map((n) => [n, pkgVersion(n)])) };
}

/** The commit measured and the files that differed from it (the tree may hold uncommitted work). */
function gitState(): { commit?: string; uncommitted?: string[] } {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: projectRoot, encoding: 'utf8' });
    const uncommitted = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).map((l) => l.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return {};
  }
}

const TICK = 100; // USER_HZ on Linux

/** CPU seconds (user+sys) of a pid and, for PostgreSQL, of its backends (live and reaped children). */
function procCpuSeconds(pid: number, withChildren: boolean): number | undefined {
  const read = (p: number): { cpu: number; ppid: number } | undefined => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, and for a parent also cutime + cstime (its reaped children: PostgreSQL backends)
      const reaped = withChildren ? Number(fields[13]) + Number(fields[14]) : 0;
      return { cpu: (Number(fields[11]) + Number(fields[12]) + (p === pid ? reaped : 0)) / TICK, ppid: Number(fields[1]) };
    } catch {
      return undefined;
    }
  };
  const own = read(pid);
  if (!own) return undefined;
  let total = own.cpu;
  if (withChildren) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = read(Number(entry));
      if (child?.ppid === pid) total += child.cpu;
    }
  }
  return total;
}

function procRssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

const STACK = ['kafka', 'temporal', 'postgres', 'slapd'] as const;

/** The stack servers' pids from .provisioner/pids (absent when the stack runs elsewhere). */
export function stackPids(): Record<string, number> {
  const dir = path.join(projectRoot, '.provisioner', 'pids');
  const out: Record<string, number> = {};
  for (const name of STACK) {
    const file = path.join(dir, `${name}.pid`);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && existsSync(`/proc/${pid}`)) out[name] = pid;
  }
  return out;
}

export type StackSample = Record<string, { cpuSeconds?: number; rssMiB?: number }>;

export function sampleStack(pids: Record<string, number>): StackSample {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, { cpuSeconds: procCpuSeconds(pid, name === 'postgres'), rssMiB: procRssMiB(pid) }]),
  );
}

/** CPU seconds each stack server used between two samples (shared servers: includes other users' load). */
export function stackDelta(before: StackSample, after: StackSample): Record<string, { cpuSeconds?: number; rssMiB?: number }> {
  return Object.fromEntries(
    Object.entries(after).map(([name, a]) => {
      const b = before[name];
      const cpu = a.cpuSeconds !== undefined && b?.cpuSeconds !== undefined ? Math.round((a.cpuSeconds - b.cpuSeconds) * 100) / 100 : undefined;
      return [name, { cpuSeconds: cpu, rssMiB: a.rssMiB }];
    }),
  );
}

/** This process: CPU between marks and the peak RSS (sampled, and the kernel's maxRSS). */
export class ProcessMeter {
  #peak = 0;
  readonly #timer: NodeJS.Timeout;
  constructor() {
    this.#timer = setInterval(() => {
      this.#peak = Math.max(this.#peak, process.memoryUsage.rss());
    }, 200);
    this.#timer.unref();
  }
  cpu(): NodeJS.CpuUsage {
    return process.cpuUsage();
  }
  cpuSince(start: NodeJS.CpuUsage): number {
    const d = process.cpuUsage(start);
    return Math.round(((d.user + d.system) / 1e6) * 100) / 100;
  }
  peakRssMiB(): number {
    const kernel = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
    return Math.round(Math.max(this.#peak / 2 ** 20, kernel) * 10) / 10;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}
