// The development IdP's login page: the interaction oidc-provider sends a person to. `login` asks
// for an employee id and password (checked against the people file); `consent` is granted at once,
// as every client here is first-party. Nothing here is oidc-provider's development interactions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { authenticate, type Person } from './people.js';

const MAX_FORM_BYTES = 16 * 1024;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain page: no scripts, no outside resources. */
export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}input,button{display:block;margin:.5em 0;font-size:1em}.problem{color:#b00020}.dev{color:#666;font-size:.8em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}<p class="dev">provisioner's development identity provider: never for production.</p></body></html>`;
}

function loginPage(uid: string, problem?: string): string {
  return htmlPage(
    'Sign in',
    `${problem ? `<p class="problem" id="problem">${escapeHtml(problem)}</p>` : ''}
<form id="login" method="post" action="/interaction/${encodeURIComponent(uid)}/login" autocomplete="off">
<label>Employee id <input name="username" autofocus required></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/** First-party clients: consent is the organisation's, so the grant is made without asking. */
async function grantConsent(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (!accountId || typeof clientId !== 'string') throw new Error('consent without a signed-in person or a client');
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
  if (!grant) throw new Error('the grant of this interaction is gone');
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
}

export type InteractionLog = (event: { msg: string; employeeId?: string; uid?: string }) => void;

/**
 * Handles /interaction/<uid> (GET: the login page, or consent granted) and
 * /interaction/<uid>/login (POST: the form). Returns false for any other path.
 */
export async function handleInteraction(provider: Provider, people: readonly Person[], req: IncomingMessage, res: ServerResponse, log: InteractionLog): Promise<boolean> {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(new URL(req.url ?? '/', 'http://idp').pathname);
  if (!match) return false;
  const [, uid, login] = match;
  try {
    if (!login && req.method === 'GET') {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'consent') await grantConsent(provider, req, res);
      else send(res, 200, loginPage(uid!));
      return true;
    }
    if (login && req.method === 'POST') {
      await provider.interactionDetails(req, res);
      const form = await readForm(req);
      const person = authenticate(people, form.get('username') ?? '', form.get('password') ?? '');
      if (!person) {
        log({ msg: 'sign-in refused: unknown employee id or wrong password', uid: uid! });
        send(res, 401, loginPage(uid!, 'Unknown employee id or wrong password.'));
        return true;
      }
      log({ msg: 'signed in', employeeId: person.employeeId, uid: uid! });
      await provider.interactionFinished(req, res, { login: { accountId: person.employeeId } }, { mergeWithLastSubmission: false });
      return true;
    }
    send(res, 405, htmlPage('Not allowed', '<p class="problem">That method is not served here.</p>'));
  } catch (err) {
    // An expired or unknown interaction (its cookie is gone): start the sign-in again.
    log({ msg: `interaction failed: ${(err as Error).message}`, uid: uid! });
    send(res, 400, htmlPage('Sign-in failed', `<p class="problem" id="problem">${escapeHtml((err as Error).message)}; start the sign-in again.</p>`));
  }
  return true;
}
