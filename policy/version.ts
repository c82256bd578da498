// The policy version: the content hash of its files, sorted by name, recorded in every plan,
// decision and audit record. The same files give the same version on every machine.
import { createHash } from 'node:crypto';
import type { SourceFile } from './yaml-source.js';

export function policyVersionOf(files: readonly SourceFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    hash.update(f.name).update('\0').update(f.content).update('\0');
  }
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}
