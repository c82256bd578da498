// `provisioner status [employeeId]`: the system at a glance (servers, apps, the fence, and what
// needs someone: people by status, approvals, dead letters, lag, the oldest unfinished change), or one
// person's state, accounts, waiting steps and recent changes, with links into the Temporal UI.
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { dataConverter } from '../../codec/data-converter.js';
import { peopleNeedingAttention } from '../../clients/attention.js';
import { attentionLines, kafkaBacklog, storeBacklog, type StoreBacklog } from './status-attention.js';
import { fenceState } from '../../clients/fence.js';
import { employeeIdSchema } from '../../schemas/events.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { formatStatus, stackStatus } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { openStore, quarantinedApplications, recentOutcomes } from '../../store/index.js';
import { releaseCommand } from '../../api/routes/quarantine.js';
import { appsStatus, formatAppsStatus } from '../../targets/apps-command.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';
import { connectTemporal } from '../../clients/temporal-connection.js';


export async function withClient<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await connectTemporal(cfg, { connectTimeout: 3000 });
  try {
    return await fn(new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir, cfg.mode) }));
  } finally {
    await connection.close();
  }
}

const workflowUrl = (cfg: Config, workflowId: string) => `${temporalUiUrl(cfg)}/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;

async function systemStatus(cfg: Config): Promise<boolean> {
  const servers = await stackStatus(cfg);
  say(formatStatus(servers));
  const apps = await appsStatus({ ...appsOptions(cfg), log: () => undefined }).catch(() => []);
  if (apps.length > 0) say(formatAppsStatus(apps));
  if (servers.find((s) => s.name === 'postgres')?.healthy) for (const line of await quarantineLines(cfg)) say(line);
  const fence = await fenceFromStore(cfg);
  if (fence !== 'unknown') {
    const open = fence?.batches.filter((b) => b.status === 'open') ?? [];
    const heldPeople = (fence?.held.length ?? 0) + (fence?.notListed ?? 0);
    say(
      open.length === 0
        ? 'fence     clear (no batch held)'
        : `fence     HOLDING ${open.length} batch(es), ${heldPeople} people: ${open.map((b) => `${b.batchId} (${b.reasons.join('; ')})`).join(', ')}; see \`provisioner fence list\``,
    );
  }
  const healthy = (name: string) => servers.find((s) => s.name === name)?.healthy === true;
  for (const line of await attention(cfg, { temporal: healthy('temporal'), kafka: healthy('kafka'), postgres: healthy('postgres') })) say(line);
  say(`Temporal UI ${temporalUiUrl(cfg)}`);
  return servers.every((s) => s.healthy) && apps.every((a) => a.healthy);
}

/** People, requests, approvals, dead letters and lag that need someone: each part read from the server that knows it, if it is up. */
async function attention(cfg: Config, up: { temporal: boolean; kafka: boolean; postgres: boolean }): Promise<string[]> {
  const taskQueue = cfg.temporal.taskQueue;
  const [people, kafka, store] = await Promise.all([
    up.temporal ? withClient(cfg, (client) => peopleNeedingAttention(client, taskQueue)).catch(() => undefined) : undefined,
    up.kafka ? kafkaBacklog(cfg).catch(() => undefined) : undefined,
    up.postgres ? withStoreBacklog(cfg) : undefined,
  ]);
  return attentionLines(cfg, taskQueue, { ...(people ? { people } : {}), ...(kafka ? { kafka } : {}), ...(store ? { store } : {}) });
}

async function withStoreBacklog(cfg: Config): Promise<StoreBacklog | undefined> {
  const store = await openStore(cfg).catch(() => undefined);
  if (!store) return undefined;
  try {
    return await storeBacklog(store.pool);
  } catch {
    // The store may not be migrated on this machine yet.
    return undefined;
  } finally {
    await store.close();
  }
}

/** Quarantined applications, each with the command that releases it (nothing when the store cannot be read). */
async function quarantineLines(cfg: Config): Promise<string[]> {
  const store = await openStore(cfg).catch(() => undefined);
  if (!store) return [];
  try {
    const apps = await quarantinedApplications(store.pool);
    if (apps.length === 0) return ['quarantine none (every application is called)'];
    return apps.map((q) => `quarantine ${q.app} ${q.state.toUpperCase()} since ${q.since.toISOString()}: ${q.reason}; release: ${releaseCommand(q.app)}`);
  } catch {
    // The store may not be migrated on this machine yet.
    return [];
  } finally {
    await store.close();
  }
}

async function personStatus(cfg: Config, employeeId: string): Promise<boolean> {
  const workflowId = identityWorkflowId(employeeId);
  let unanswered = false;
  const state = await withClient(cfg, (client) =>
    client
      .withDeadline(Date.now() + 5_000, () => client.workflow.getHandle(workflowId).query(getState))
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        unanswered = true; // the workflow exists but no worker answered the query in time
        return undefined;
      }),
  );
  if (!state) {
    say(
      unanswered
        ? `${employeeId}: the identity workflow did not answer (is a worker running? \`provisioner worker\` or \`provisioner dev\`)\n  workflow ${workflowUrl(cfg, workflowId)}`
        : `${employeeId}: no identity workflow (no HR event for this person has been handled)`,
    );
    await printRecentChanges(cfg, employeeId);
    return false;
  }
  say(`${employeeId}: ${state.status}, last applied sequence ${state.lastAppliedSequence} (${state.lastEventType ?? '-'})`);
  say(`  workflow ${workflowUrl(cfg, workflowId)}`);
  for (const [app, account] of Object.entries(state.accounts)) say(`  account  ${app.padEnd(10)} ${account.accountId}`);
  for (const line of datedLines(state)) say(line);
  for (const g of state.awaitingApproval) say(`  approval ${g.step.key} needs ${g.approvals.join(', ')}${g.approvalIds?.length ? ` (decide: ${g.approvalIds.join(', ')})` : ''}`);
  if ((state as { fenceHold?: unknown }).fenceHold) say(`  fence    held: ${JSON.stringify((state as { fenceHold?: unknown }).fenceHold)}`);
  if (state.retry) say(`  retry    ${state.retry.eventType} #${state.retry.sequence}, attempt ${state.retry.attempt}, next at ${state.retry.nextAt} (or \`provisioner retry ${employeeId}\`): ${state.retry.reason}`);
  if (state.held) say(`  held     ${state.held.eventType} #${state.held.sequence}: ${state.held.reason}`);
  if (state.quarantinedApplications?.length) say(`  waiting  for quarantined ${state.quarantinedApplications.join(', ')}: the change runs there once released (\`provisioner quarantine list\`)`);
  for (const g of state.refusedGrants ?? []) say(`  refused  grant ${g.app}:${g.entitlementId} (ticket ${g.ticketId}) at ${g.at}: ${g.reason}`);
  await printRecentChanges(cfg, employeeId);
  return true;
}

/** What waits for its time, and why: scheduled steps (time, action, app, reason), the wake time, accounts held for approval. */
export function datedLines(state: IdentityState): string[] {
  return [
    ...[...state.scheduled].sort((a, b) => Date.parse(a.notBefore) - Date.parse(b.notBefore)).map((s) => `  later    ${s.notBefore} ${s.step.action} ${s.step.app}${s.step.entitlementId ? ` ${s.step.entitlementId}` : ''}: ${s.step.reason}`),
    ...(state.wake ? [`  wake     ${state.wake.at}: ${state.wake.reason}`] : []),
    ...(state.accountsAwaitingApproval ?? []).map((a) => `  held     ensureAccount ${a.app}: ${a.reason}`),
  ];
}

/** The fence's state from the store (it counts and holds there); 'unknown' when the store cannot be read here. */
async function fenceFromStore(cfg: Config): Promise<Awaited<ReturnType<typeof fenceState>> | 'unknown'> {
  const store = await openStore(cfg).catch(() => undefined);
  if (!store) return 'unknown';
  try {
    return await fenceState(store, cfg.temporal.taskQueue, { limit: 1 });
  } catch {
    return 'unknown';
  } finally {
    await store.close();
  }
}

async function printRecentChanges(cfg: Config, employeeId: string): Promise<void> {
  const store = await openStore(cfg).catch(() => undefined);
  if (!store) return;
  try {
    for (const o of await recentOutcomes(store.pool, employeeId, 5)) say(`  change   ${o.completedAt} ${o.eventType} #${o.sequence}: ${o.status}${o.reason ? ` (${o.reason})` : ''}`);
  } catch {
    // The store may not be migrated on this machine yet: the workflow's own state is what matters here.
  } finally {
    await store.close();
  }
}

export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description('the servers, apps, fence and what needs someone (people action-required, failed or held, approvals, dead letters, lag) at a glance; or one person: state, accounts, waiting steps, recent changes')
    .argument('[employeeId]', 'a person')
    .action(async (employeeId?: string) => {
      const cfg = loadConfig();
      if (employeeId !== undefined && !employeeIdSchema.safeParse(employeeId).success) throw new Error(`not an employee id: ${JSON.stringify(employeeId)}`);
      const ok = employeeId ? await personStatus(cfg, employeeId) : await systemStatus(cfg);
      if (!ok) process.exitCode = 1;
    });
}
