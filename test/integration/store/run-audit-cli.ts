// Runs `provisioner audit ...` in this process, as an operator would, and returns what it printed
// and its exit status (the command reads its store and keys from process.env).
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerAuditCommands } from '../../../cli/commands/audit.js';

export async function runAuditCli(...args: string[]): Promise<{ out: string; exitCode: number }> {
  const program = new Command().exitOverride();
  registerAuditCommands(program);
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: lines.join(''), exitCode };
}
