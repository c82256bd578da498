// `provisioner policy validate | diff | explain | apply | rollout`: policy as code, checked before it is merged.
//   validate <dir>                                     every problem as `file:line: path: message`; exit 1 on any
//   diff <old-dir> <new-dir> --identities <file>       who would gain and lose what (table or --json)
//   explain <dir> --identity <file> [--employee <id>] [--entitlement <id>]
//                                                      why a person has, or would have, each entitlement
//   apply [--dir <dir>] --reason <text>                validates, then applies the version through the API as yourself (admin)
//   rollout [<version>]                                how far a version's rollout got (operator, auditor)
// The command logic is in plain functions returning { code, stdout, stderr }, so tests call them
// directly; the commander actions only print and set the exit code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { diffPolicies, formatDiff } from '../../policy/diff.js';
import { evaluateIdentity, type Grant } from '../../policy/evaluator.js';
import { missingHeldAttributes } from '../../policy/data-quality.js';
import { accountAttributes } from '../../policy/attribute-sync.js';
import { explainAccess, formatExplanation } from '../../policy/explain.js';
import { identitySchema, type Identity } from '../../policy/identity.js';
import { loadPolicyDir, PolicyDirError, type LoadResult } from '../../policy/loader.js';
import { formatProblem } from '../../policy/problems.js';
import { readPolicyDir } from '../../policy/loader.js';
import type { PolicyApplyAnswer } from '../../api/routes/policy.js';
import { formatPolicyRollout, type PolicyRolloutView } from '../../clients/policy-rollout.js';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';

export type CommandResult = { code: number; stdout: string; stderr: string };

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: '', stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n` });

class InputError extends Error {
  override readonly name = 'InputError';
}

function load(dir: string): LoadResult {
  try {
    return loadPolicyDir(dir);
  } catch (err) {
    if (err instanceof PolicyDirError) throw new InputError(err.message);
    throw err;
  }
}

function problemsText(dir: string, result: LoadResult): string {
  const lines = result.problems.map((p) => formatProblem({ ...p, file: path.join(dir, p.file) }));
  const n = result.problems.length;
  return `${lines.join('\n')}\n${dir}: ${n} problem${n === 1 ? '' : 's'} (policy ${result.version})\n`;
}

/** `policy validate <dir>` */
export function policyValidate(dir: string, opts: { json?: boolean } = {}): CommandResult {
  return guard(() => {
    const result = load(dir);
    if (opts.json) {
      const body = { ok: result.ok, version: result.version, files: result.files, problems: result.problems.map((p) => ({ ...p, file: path.join(dir, p.file) })) };
      return { code: result.ok ? 0 : 1, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
    }
    if (!result.ok) return fail(problemsText(dir, result));
    const m = result.policy.model;
    return ok(
      `${dir}: valid, policy ${result.version} (${result.files.length} files: ${m.applications.length} applications, ` +
        `${result.policy.entitlements.size} entitlements, ${m.roles.length} roles, ${m.birthright.length} birthright rules, ` +
        `${m.separationOfDuties.length} separation-of-duties rules, ${m.approvals.length} approval rules)\n`,
    );
  });
}

/** `policy diff <old-dir> <new-dir> --identities <file>` */
export function policyDiff(oldDir: string, newDir: string, opts: { identities: string; json?: boolean; now?: string }): CommandResult {
  return guard(() => {
    const before = load(oldDir);
    const after = load(newDir);
    const broken = [before.ok ? '' : problemsText(oldDir, before), after.ok ? '' : problemsText(newDir, after)].join('');
    if (!before.ok || !after.ok) return fail(`${broken}policy diff needs two valid policies\n`);
    const identities = readIdentities(opts.identities);
    const diff = diffPolicies(before.policy, after.policy, identities, opts.now ?? new Date().toISOString());
    return ok(opts.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
  });
}

/** `policy explain <dir> --identity <file> [--employee <id>] [--entitlement <id>]` */
export function policyExplain(
  dir: string,
  opts: { identity: string; employee?: string; entitlement?: string; grants?: string; json?: boolean; now?: string },
): CommandResult {
  return guard(() => {
    const result = load(dir);
    if (!result.ok) return fail(problemsText(dir, result));
    const all = readIdentities(opts.identity);
    let identity: Identity | undefined;
    if (opts.employee !== undefined) {
      identity = all.find((i) => i.employeeId === opts.employee);
      if (!identity) throw new InputError(`no identity ${opts.employee} in ${opts.identity}`);
    } else if (all.length === 1) {
      identity = all[0];
    } else {
      throw new InputError(`${opts.identity} holds ${all.length} identities: choose one with --employee <id>`);
    }
    const grants = opts.grants ? readGrants(opts.grants, identity!.employeeId) : [];
    const desired = evaluateIdentity(result.policy, { identity: identity!, grants, now: opts.now ?? new Date().toISOString() });
    const items = explainAccess(result.policy, desired, opts.entitlement);
    const missingHeld = missingHeldAttributes(result.policy, identity!);
    if (opts.json) return ok(`${JSON.stringify({ identity: identity!.employeeId, policyVersion: desired.policyVersion, entitlements: items, desired, missingHeld }, null, 2)}\n`);
    const text = formatExplanation(identity!, desired, items, { all: opts.entitlement === undefined, missingHeld });
    return ok(opts.entitlement === undefined ? `${text}${formatAccountAttributes(accountAttributes(result.policy, identity!, desired.applications))}` : text);
  });
}

/** The attributes each account gets by its application's map (policy/attribute-map.ts). */
function formatAccountAttributes(byApp: Record<string, Record<string, string | null>>): string {
  const lines: string[] = [];
  for (const [app, values] of Object.entries(byApp)) {
    lines.push(`${app} account attributes:`);
    for (const [name, value] of Object.entries(values)) lines.push(`  ${name} = ${JSON.stringify(value)}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function guard(run: () => CommandResult): CommandResult {
  try {
    return run();
  } catch (err) {
    if (err instanceof InputError) return fail(`provisioner policy: ${err.message}`, 2);
    throw err;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Records from a JSON file (an object or an array) or a JSON Lines file; each with its line. */
function readRecords(file: string): { line: number; value: unknown }[] {
  const text = readText(file);
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map((v) => ({ line: 1, value: v })) : [{ line: 1, value }];
  } catch {
    // Not one JSON document: JSON Lines.
  }
  const out: { line: number; value: unknown }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (err) {
      throw new InputError(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
  });
  return out;
}

/** Identities (HR worker snapshots) from a .json or .jsonl file. */
export function readIdentities(file: string): Identity[] {
  const problems: string[] = [];
  const identities: Identity[] = [];
  for (const { line, value } of readRecords(file)) {
    const parsed = identitySchema.safeParse(value);
    if (parsed.success) identities.push(parsed.data);
    else problems.push(`${file}:${line}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  }
  if (problems.length > 0) throw new InputError(`invalid identities:\n${problems.join('\n')}`);
  if (identities.length === 0) throw new InputError(`${file} holds no identities`);
  return identities;
}

const grantSchema = z.object({
  id: z.string().min(1),
  employeeId: z.string().optional(),
  entitlement: z.string().regex(/^[a-z][a-z0-9-]*:.+$/, 'expected "<app>:<entitlement>"'),
  grantedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  ticketId: z.string().optional(),
});

/** Grants (`{id, employeeId?, entitlement, grantedAt, expiresAt?}`) of one person from a .json or .jsonl file. */
function readGrants(file: string, employeeId: string): Grant[] {
  const out: Grant[] = [];
  for (const { line, value } of readRecords(file)) {
    const parsed = grantSchema.safeParse(value);
    if (!parsed.success) throw new InputError(`${file}:${line}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
    const { employeeId: owner, ...grant } = parsed.data;
    if (owner === undefined || owner === employeeId) out.push(grant);
  }
  return out;
}

/**
 * `policy apply [--dir] --reason`: validated here first (a policy with problems is refused with them,
 * nothing is sent), then applied through the API as the caller, who is recorded as applying it.
 */
export async function policyApply(api: ApiClient, dir: string, opts: { reason: string; json?: boolean }): Promise<CommandResult> {
  const checked = guard(() => {
    const result = load(dir);
    return result.ok ? ok('') : fail(`${problemsText(dir, result)}nothing was applied\n`);
  });
  if (checked.code !== 0) return checked;
  const answer = await api.post<PolicyApplyAnswer>('/policy/apply', { files: readPolicyDir(dir), reason: opts.reason });
  if (opts.json) return ok(`${JSON.stringify(answer, null, 2)}\n`);
  if (!answer.changed) return ok(`policy ${answer.version} is already in force: nothing changed\n`);
  return ok(
    `policy ${answer.version} applied (before: ${answer.previousVersion ?? 'none'}); the workers plan with it within seconds.\n` +
      `rollout ${answer.workflowId ?? answer.rolloutId}: follow it with \`provisioner policy rollout ${answer.version}\`\n`,
  );
}

/** `policy rollout [<version>]` */
export async function policyRollout(api: ApiClient, version: string | undefined, opts: { json?: boolean }): Promise<CommandResult> {
  const view = await api.get<PolicyRolloutView>(version ? `/policy/rollouts/${segment(version)}` : '/policy/rollouts');
  return ok(opts.json ? `${JSON.stringify(view, null, 2)}\n` : formatPolicyRollout(view));
}

const print = (result: CommandResult): void => {
  if (result.stdout) process.stdout.write(result.stdout);
  if (result.stderr) process.stderr.write(result.stderr);
  if (result.code !== 0) process.exitCode = result.code;
};

export function registerPolicyCommands(program: Command, deps: { client?: (opts: { tokenFile?: string }) => ApiClient } = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const policy = program.command('policy').description('policy as code: validate, diff, explain, apply and follow its rollout (YAML + CEL)');
  policy
    .command('validate')
    .description('check a policy directory; prints every problem as file:line: path: message, exit 1 on any')
    .argument('<dir>', 'the policy directory (its *.yaml files)')
    .option('--json', 'machine-readable output')
    .action((dir: string, opts: { json?: boolean }) => print(policyValidate(dir, opts)));
  policy
    .command('diff')
    .description('who would gain and lose which entitlements going from one policy to another')
    .argument('<old-dir>', 'the current policy')
    .argument('<new-dir>', 'the proposed policy')
    .requiredOption('--identities <file>', 'identities (HR worker snapshots) as .jsonl or .json')
    .option('--json', 'machine-readable output')
    .option('--now <time>', 'judge grant expiry at this ISO time (default: now)')
    .action((oldDir: string, newDir: string, opts: { identities: string; json?: boolean; now?: string }) => print(policyDiff(oldDir, newDir, opts)));
  policy
    .command('explain')
    .description('why a person has, or would have, each entitlement: rules, roles, grants')
    .argument('<dir>', 'the policy directory')
    .requiredOption('--identity <file>', 'the person (an HR worker snapshot) as .json, or several as .jsonl')
    .option('--employee <id>', 'the person to explain when the file holds several')
    .option('--entitlement <id>', 'only this entitlement (app:id, or id in any application)')
    .option('--grants <file>', 'approved grants as .json/.jsonl: {id, employeeId?, entitlement, grantedAt, expiresAt?}')
    .option('--json', 'machine-readable output')
    .option('--now <time>', 'judge grant expiry at this ISO time (default: now)')
    .action((dir: string, opts: { identity: string; employee?: string; entitlement?: string; grants?: string; json?: boolean; now?: string }) =>
      print(policyExplain(dir, opts)),
    );
  policy
    .command('apply')
    .description('validate the policy, then apply it as yourself (admin): the workers plan with it without a restart, and everyone it changes is re-evaluated (audited as policy.applied)')
    .option('--dir <dir>', 'the policy directory (default: PROVISIONER_POLICY, policy.dir)')
    .requiredOption('--reason <text>', 'why, in a few words (1-500 characters; kept sealed, shown to operators and auditors)')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { dir?: string; reason: string; json?: boolean; tokenFile?: string }) => {
      print(await policyApply(clientFor(opts), opts.dir ?? loadConfig().policy.dir, opts));
    });
  policy
    .command('rollout')
    .description('how far a policy version\'s rollout got: evaluated, changed, signalled, converged, held by the fence, failed (through the API)')
    .argument('[version]', 'the version (sha256:...); default: the newest applied')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (version: string | undefined, opts: { json?: boolean; tokenFile?: string }) => {
      print(await policyRollout(clientFor(opts), version, opts));
    });
}
