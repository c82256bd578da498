// Loading a policy: a directory of YAML files (recursively, *.yaml and *.yml, sorted by path) →
// every problem with file, line and path, and when there is none, the compiled policy. The version
// is the content hash of the files; a version already compiled in this process is reused, so
// conditions are compiled once per policy version.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../schemas/config.js';
import { checkPolicy } from './checks.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { emptyUnreadable, mergeFiles, noteUnreadableFile, validateFile, type ValidatedFile } from './merge.js';
import { sortProblems, type Problem } from './problems.js';
import { policyVersionOf } from './version.js';
import { parseSource, type SourceFile } from './yaml-source.js';

export type { Problem } from './problems.js';
export type { SourceFile } from './yaml-source.js';

export type LoadResult =
  | { ok: true; version: string; files: string[]; policy: CompiledPolicy; problems: [] }
  | { ok: false; version: string; files: string[]; problems: Problem[] };

const CACHE_SIZE = 8;
const compiled = new Map<string, CompiledPolicy>();

/** Reads the policy's files: `*.yaml` and `*.yml` under `dir`, names relative to it with `/`. */
export function readPolicyDir(dir: string): SourceFile[] {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new PolicyDirError(`policy directory ${dir} does not exist; set PROVISIONER_POLICY (policy.dir) to the folder holding the policy's YAML files`);
  if (!stat.isDirectory()) throw new PolicyDirError(`${dir} is not a directory; set PROVISIONER_POLICY (policy.dir) to the folder holding the policy's YAML files`);
  const files: SourceFile[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) files.push({ name, content: readFileSync(path.join(dir, name), 'utf8') });
    }
  };
  walk('');
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The policy folder is unusable: a configuration problem (the CLI prints one line and exits 2). */
export class PolicyDirError extends ConfigError {
  override readonly name = 'PolicyDirError';
}

/** Loads the policy in `dir` (see loadPolicy). Throws PolicyDirError only when the directory is unusable. */
export function loadPolicyDir(dir: string): LoadResult {
  return loadPolicy(readPolicyDir(dir));
}

/** Validates and compiles a policy given as files (name relative to the policy root, content). */
export function loadPolicy(files: readonly SourceFile[]): LoadResult {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const version = policyVersionOf(sorted);
  const names = sorted.map((f) => f.name);
  const cached = compiled.get(version);
  if (cached) return { ok: true, version, files: names, policy: cached, problems: [] };

  const problems: Problem[] = [];
  if (sorted.length === 0) {
    return { ok: false, version, files: names, problems: [{ file: '.', line: 0, path: '', message: 'the policy directory holds no .yaml files' }] };
  }
  const valid: ValidatedFile[] = [];
  const unreadable = emptyUnreadable();
  for (const f of sorted) {
    const { parsed, problems: yamlProblems } = parseSource(f);
    problems.push(...yamlProblems);
    if (yamlProblems.length > 0) {
      noteUnreadableFile(parsed, unreadable);
      continue;
    }
    const { file, problems: schemaProblems } = validateFile(parsed, unreadable);
    problems.push(...schemaProblems);
    valid.push(file);
  }
  const { model, origins, problems: mergeProblems } = mergeFiles(valid);
  problems.push(...mergeProblems);
  const { problems: checkProblems, conditions } = checkPolicy(model, origins, unreadable);
  problems.push(...checkProblems);
  if (problems.length > 0) return { ok: false, version, files: names, problems: sortProblems(problems) };

  const policy = compilePolicy(model, version, conditions.map((c) => c!));
  if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value!);
  compiled.set(version, policy);
  return { ok: true, version, files: names, policy, problems: [] };
}
