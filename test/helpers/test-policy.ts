// The example policy with test-sized durations, written to a temporary folder: a mover grace
// period and a leaver deletion delay of seconds, and people on leave disabled.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../schemas/config.js';

export function writeTestPolicy(overrides: { moverGracePeriod?: string; leaverDeletionDelay?: string; onLeave?: 'keep' | 'disable' } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-'));
  cpSync(path.join(projectRoot, 'examples', 'policy'), dir, { recursive: true });
  const file = path.join(dir, 'lifecycle.yaml');
  const text = readFileSync(file, 'utf8')
    .replace(/moverGracePeriod: \S+/, `moverGracePeriod: ${overrides.moverGracePeriod ?? 'PT4S'}`)
    .replace(/leaverDeletionDelay: \S+/, `leaverDeletionDelay: ${overrides.leaverDeletionDelay ?? 'PT4S'}`)
    .replace(/onLeave: \S+/, `onLeave: ${overrides.onLeave ?? 'disable'}`);
  writeFileSync(file, text);
  return dir;
}
