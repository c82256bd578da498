// The device authorization grant (RFC 8628) as the CLI runs it: ask the IdP for a device code,
// show the person where to go and which code to type, then poll the token endpoint at the interval
// the IdP sets until they have signed in, refused, or the code expired. `nextPoll` is the whole
// polling state machine, pure, so its every answer is unit-tested.
import { z } from 'zod';
import type { IdpPostForm } from '../../api/oidc-discovery.js';
import { IdpError, oauthErrorSchema, tokenAnswerSchema, type Discovery, type TokenAnswer } from './discovery.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.5: by how much a `slow_down` answer lengthens the interval. */
const SLOW_DOWN_SECONDS = 5;
/** RFC 8628 §3.2: the interval when the IdP gives none. */
const DEFAULT_INTERVAL_SECONDS = 5;

const deviceAnswerSchema = z.looseObject({
  device_code: z.string().min(1),
  user_code: z.string().min(1).max(64),
  verification_uri: z.string().min(1),
  verification_uri_complete: z.string().min(1).optional(),
  expires_in: z.coerce.number().int().positive(),
  interval: z.coerce.number().int().positive().optional(),
});
export type DeviceAuthorization = z.output<typeof deviceAnswerSchema>;

export type PollState = { intervalSeconds: number; deadline: number; pendingSeen: boolean };

export type PollStep =
  | { kind: 'wait'; state: PollState; line?: string }
  | { kind: 'done'; tokens: TokenAnswer }
  | { kind: 'failed'; message: string };

export function initialPollState(device: DeviceAuthorization, now: number): PollState {
  return { intervalSeconds: device.interval ?? DEFAULT_INTERVAL_SECONDS, deadline: now + device.expires_in * 1000, pendingSeen: false };
}

/** What to do after one answer of the token endpoint (RFC 8628 §3.4, §3.5). */
export function nextPoll(state: PollState, answer: { status: number; json: unknown } | { unreachable: string }, now: number): PollStep {
  const expired = { kind: 'failed', message: 'login: the code expired before the sign-in finished (expired_token); run `provisioner login` again' } as const;
  if ('unreachable' in answer) {
    // §3.5: a connection problem is no reason to give up while the code is valid; back off.
    if (now >= state.deadline) return expired;
    return { kind: 'wait', state: { ...state, intervalSeconds: Math.min(state.intervalSeconds * 2, 60) }, line: `login: the IdP did not answer (${answer.unreachable}); trying again` };
  }
  if (answer.status === 200) {
    const tokens = tokenAnswerSchema.safeParse(answer.json);
    if (!tokens.success) return { kind: 'failed', message: `login: the IdP's token answer is not usable: ${tokens.error.issues[0]?.message} at ${tokens.error.issues[0]?.path.join('.')}` };
    return { kind: 'done', tokens: tokens.data };
  }
  const error = oauthErrorSchema.safeParse(answer.json);
  if (!error.success) {
    if (answer.status >= 500 && now < state.deadline) return { kind: 'wait', state, line: `login: the IdP answered ${answer.status}; trying again` };
    return { kind: 'failed', message: `login: the token endpoint answered ${answer.status} without an OAuth error` };
  }
  const described = error.data.error_description ? ` (${error.data.error_description})` : '';
  switch (error.data.error) {
    case 'authorization_pending':
      if (now >= state.deadline) return expired;
      return state.pendingSeen
        ? { kind: 'wait', state }
        : { kind: 'wait', state: { ...state, pendingSeen: true }, line: 'login: waiting for you to sign in in the browser...' };
    case 'slow_down': {
      if (now >= state.deadline) return expired;
      const intervalSeconds = state.intervalSeconds + SLOW_DOWN_SECONDS;
      return { kind: 'wait', state: { ...state, intervalSeconds }, line: `login: the IdP asked to poll more slowly; every ${intervalSeconds} s now` };
    }
    case 'access_denied':
      return { kind: 'failed', message: `login: the sign-in was refused in the browser (access_denied)${described}; run \`provisioner login\` to try again` };
    case 'expired_token':
      return expired;
    default:
      return { kind: 'failed', message: `login: the IdP refused the device code: ${error.data.error}${described}` };
  }
}

/** Asks the IdP for a device code and a user code (RFC 8628 §3.1, §3.2). */
export async function startDeviceAuthorization(idp: Discovery, options: { clientId: string; audience?: string; scope: string }, postForm: IdpPostForm): Promise<DeviceAuthorization> {
  if (!idp.device_authorization_endpoint) {
    throw new IdpError(`login: the IdP ${idp.issuer} offers no device authorization endpoint; ask its administrators to enable the device authorization grant (RFC 8628) for the client ${options.clientId}`);
  }
  const form: Record<string, string> = { client_id: options.clientId, scope: options.scope };
  if (options.audience) {
    form.audience = options.audience;
    // RFC 8707: a resource indicator is an absolute URI; an audience that is one is sent as one too.
    if (URL.canParse(options.audience)) form.resource = options.audience;
  }
  const { status, json } = await postForm(idp.device_authorization_endpoint, form);
  if (status !== 200) {
    const error = oauthErrorSchema.safeParse(json);
    const why = error.success ? `${error.data.error}${error.data.error_description ? ` (${error.data.error_description})` : ''}` : `status ${status}`;
    throw new IdpError(`login: the IdP ${idp.issuer} refused the device authorization for client ${options.clientId}: ${why}; check api.oidc.cliClientId (PROVISIONER_OIDC_CLI_CLIENT_ID) and api.oidc.audience`);
  }
  const parsed = deviceAnswerSchema.safeParse(json);
  if (!parsed.success) throw new IdpError(`login: the IdP's device authorization answer is not usable: ${parsed.error.issues[0]?.message} at ${parsed.error.issues[0]?.path.join('.')}`);
  return parsed.data;
}

export type Clock = { now(): number; sleep(ms: number): Promise<void> };
export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Polls the token endpoint until `nextPoll` says done or failed. */
export async function pollForTokens(
  idp: Discovery,
  device: DeviceAuthorization,
  options: { clientId: string; say: (line: string) => void; postForm: IdpPostForm; clock?: Clock },
): Promise<TokenAnswer> {
  const clock = options.clock ?? realClock;
  let state = initialPollState(device, clock.now());
  for (;;) {
    await clock.sleep(state.intervalSeconds * 1000);
    const answer = await options.postForm(idp.token_endpoint, { grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: options.clientId }).catch((err: Error) => ({ unreachable: err.message }));
    const step = nextPoll(state, answer, clock.now());
    if (step.kind === 'done') return step.tokens;
    if (step.kind === 'failed') throw new IdpError(step.message);
    if (step.line) options.say(step.line);
    state = step.state;
  }
}
