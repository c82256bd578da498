// The demo's access-request scene: the ITSM asks for time-bound access on Kafka, the policy routes
// it to the beneficiary's manager, the beneficiary's own attempt to approve is refused, the manager
// signs in at the local IdP and approves through the API with that token, the grant appears in the app and is revoked there
// when its time is up.
import type { Client } from '@temporalio/client';
import type { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import type { Connector } from '../../connectors/contract.js';
import { publishEventFile, validateEventFile } from '../../ingress/event-files.js';
import type { Config } from '../../schemas/config.js';
import { accessRequestWorkflowId, getRequestState, type RequestState } from '../../workflows/approval-messages.js';
import { ApiCallError, createApiClient, segment } from '../api-client.js';
import { read } from './demo-steps.js';
import { signInAtDevIdp } from './demo-sign-in.js';

export const DEMO_REQUEST = { beneficiaryId: 'E1003', managerId: 'E1001', app: 'code', entitlementId: 'copilot', duration: 'PT30S' } as const;

type Deps = { cfg: Config; client: Client; connectors: ReadonlyMap<string, Connector>; catalog: EntitlementCatalog; say: (line: string) => void };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The request ended without the approval the demo waits for: no point polling on. */
class RequestEndedError extends Error {}

/** Polls until `probe` gives a value; the error says what did not happen and the probe's last error. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    const value = await probe().catch((err: Error) => {
      if (err instanceof RequestEndedError) throw err;
      last = err.message;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${last ? ` (last: ${last})` : ''}; see the Temporal UI`);
    await sleep(300);
  }
}


export async function demoAccessRequest(deps: Deps): Promise<{ ticketId: string; approvalId: string; grantedAt: string; revokedAt: string }> {
  const { cfg, client, say } = deps;
  const r = DEMO_REQUEST;
  const ticketId = `DEMO-${Date.now().toString(36).toUpperCase()}`;
  const event = {
    specversion: '1.0',
    id: `${ticketId}-requested`,
    source: 'urn:itsm:demo',
    type: 'itsm.access.requested',
    time: new Date().toISOString(),
    subject: r.beneficiaryId,
    datacontenttype: 'application/json',
    data: { ticketId, requesterId: r.beneficiaryId, beneficiaryId: r.beneficiaryId, entitlement: { app: r.app, id: r.entitlementId }, justification: 'pairing with the platform team this sprint', duration: r.duration },
  };
  await publishEventFile(cfg, validateEventFile(JSON.stringify(event)));
  say(`  ${r.beneficiaryId} asks for ${r.app}:${r.entitlementId} for ${r.duration} (ticket ${ticketId}, on ${cfg.kafka.topics.itsmRequests})`);

  const handle = client.workflow.getHandle(accessRequestWorkflowId(ticketId));
  const pending = await until('the approval to open', 60_000, async () => {
    const state: RequestState = await handle.query(getRequestState);
    if (state.status === 'blocked' || state.status === 'rejected' || state.status === 'expired') throw new RequestEndedError(`the request was ${state.status}: ${state.reasons.join('; ')}`);
    return state.approvals.find((a) => a.status === 'pending');
  });
  say(`  policy: ${pending.rule} (${pending.mode}); approval ${pending.approvalId} may be decided by ${pending.eligible.join(', ')}`);

  const baseUrl = `http://127.0.0.1:${cfg.http.apiPort}`;
  // Both sign in at the local IdP (the device flow `provisioner login` runs): the API verifies its tokens.
  const [beneficiaryToken, managerToken] = await Promise.all([signInAtDevIdp(cfg, r.beneficiaryId), signInAtDevIdp(cfg, r.managerId)]);
  const as = (token: string) => createApiClient({ baseUrl, token });
  const path = `/approvals/${segment(pending.approvalId)}/approve`;
  try {
    await as(beneficiaryToken).post(path, { comment: 'approving my own request' });
    throw new Error('the beneficiary was allowed to approve their own request');
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    say(`  ${r.beneficiaryId} signs in at the local IdP and tries to approve it: refused (${err.message.split(':')[0]}), and audited`);
  }
  await as(managerToken).post(path, { comment: 'ok for the sprint' });
  say(`  ${r.managerId} signs in at the local IdP (device flow, as npx provisioner login) and approves it through the API with that token (npx provisioner approve ${pending.approvalId})`);

  const holds = async () => {
    const account = await read((call) => deps.connectors.get(r.app)!.getAccount({ employeeId: r.beneficiaryId }, call));
    return account ? (await read((call) => deps.catalog.namesOf(r.app, account.entitlements ?? [], call))).includes(r.entitlementId) : false;
  };
  await until('the grant in the app', 60_000, async () => ((await holds()) ? true : undefined));
  const grantedAt = new Date().toISOString();
  const state = await handle.query(getRequestState);
  say(`  granted: ${r.beneficiaryId} holds ${r.app}:${r.entitlementId} in the ${r.app} app until ${state.expiresAt ?? '(no end)'}`);
  await until('the revoke at the end time', 120_000, async () => ((await holds()) ? undefined : true));
  const revokedAt = new Date().toISOString();
  say(`  expired: the identity workflow's timer revoked ${r.app}:${r.entitlementId} at ${revokedAt}; outcomes carry ticket ${ticketId}`);
  return { ticketId, approvalId: pending.approvalId, grantedAt, revokedAt };
}
