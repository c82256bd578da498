// The development IdP's oidc-provider configuration: two first-party clients (the CLI on the
// device authorization grant, a self-hosted Temporal UI on the authorization code flow), JWT access
// tokens for the audience asked for (default provisioner-api) carrying `employee_id` and `groups`,
// and our own login page (interactions.ts) instead of the package's development interactions.
import type { Configuration, ProviderContext, ProviderToken } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { DEV_IDP_CLI_CLIENT_ID } from '../../schemas/dev-idp.js';
import { findPerson, type Person } from './people.js';
import type { PrivateJwks } from './keys.js';
import { escapeHtml, htmlPage } from './interactions.js';

export const TEMPORAL_UI_CLIENT_ID = 'temporal-ui';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8707 wants a resource indicator to be an absolute URI; an audience that is not one (such as
 * `provisioner-api`, asked for with the `audience` parameter as Auth0 and others take it) is
 * carried under this prefix and comes out as the token's `aud` unchanged.
 */
const AUDIENCE_URN = 'urn:provisioner:dev-idp:audience:';
const audienceSyntax = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

export const resourceIndicator = (audience: string) => {
  try {
    new URL(audience);
    return audience;
  } catch {
    return `${AUDIENCE_URN}${audience}`;
  }
};
const audienceOf = (indicator: string) => (indicator.startsWith(AUDIENCE_URN) ? indicator.slice(AUDIENCE_URN.length) : indicator);

export type DevIdpOptions = {
  people: readonly Person[];
  jwks: PrivateJwks;
  cookieKey: string;
  /** Access token lifetime in seconds (tests ask for a few). */
  accessTokenTtlSeconds: number;
  /** The audience when the client asks for none. */
  defaultAudience: string;
  temporalUi: { secret: string; redirectUris: string[] };
};

export function devIdpConfiguration(options: DevIdpOptions): Configuration {
  const claimsOf = (person: Person) => ({
    sub: person.employeeId,
    employee_id: person.employeeId,
    name: person.name,
    email: person.email,
    groups: person.groups,
  });
  return {
    clients: [
      {
        client_id: DEV_IDP_CLI_CLIENT_ID,
        client_name: 'provisioner CLI',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: TEMPORAL_UI_CLIENT_ID,
        client_name: 'Temporal UI',
        client_secret: options.temporalUi.secret,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: options.temporalUi.redirectUris,
      },
    ],
    jwks: options.jwks,
    cookies: { keys: [options.cookieKey] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['name', 'employee_id'], email: ['email'], groups: ['groups'] },
    extraParams: ['audience'],
    pkce: { methods: ['S256'] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx: ProviderContext, form: string, _out: unknown, err?: { name?: string; userCode?: string }) => {
          const problem = !err ? undefined : err.name === 'AbortedError' ? 'The sign-in was aborted.' : err.userCode || err.name === 'NoCodeError' ? 'That code is not right; try again.' : 'The sign-in failed; start again.';
          ctx.body = htmlPage('Sign in to provisioner', `${problem ? `<p class="problem">${problem}</p>` : '<p>Enter the code your terminal shows.</p>'}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        userCodeConfirmSource: (ctx: ProviderContext, form: string, client: { clientName?: string; clientId: string }, _info: unknown, userCode: string) => {
          ctx.body = htmlPage('Confirm the device', `<p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> asks to sign in with code <code id="user-code">${escapeHtml(userCode)}</code>.</p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button><button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
        },
        successSource: (ctx: ProviderContext) => {
          ctx.body = htmlPage('Signed in', '<p id="signed-in">You are signed in; return to your terminal.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx: ProviderContext, _client: unknown, oneOf?: string[]) => {
          if (oneOf) return oneOf[0];
          const asked = ctx.oidc.params?.audience;
          return resourceIndicator(typeof asked === 'string' && asked ? asked : options.defaultAudience);
        },
        // The device code and refresh token exchanges take the audience granted at the start.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: ProviderContext, indicator: string) => {
          const audience = audienceOf(indicator);
          if (!audienceSyntax.test(audience)) throw new errors.InvalidTarget('the audience is not one this IdP issues tokens for');
          return {
            scope: 'openid',
            audience,
            accessTokenTTL: options.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The API reads who and which groups from the access token itself.
    extraTokenClaims: (_ctx: ProviderContext, token: ProviderToken) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const person = findPerson(options.people, token.accountId);
      return person ? { employee_id: person.employeeId, groups: person.groups } : undefined;
    },
    findAccount: (_ctx: ProviderContext, sub: string) => {
      const person = findPerson(options.people, sub);
      return person ? { accountId: person.employeeId, claims: () => claimsOf(person) } : undefined;
    },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds,
      DeviceCode: 600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
      IdToken: 3600,
      AuthorizationCode: 60,
    },
    interactions: { url: (_ctx: ProviderContext, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    renderError: (ctx: ProviderContext, out: { error?: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = htmlPage('Sign-in failed', `<p class="problem" id="error">${escapeHtml(out.error ?? 'error')}: ${escapeHtml(out.error_description ?? '')}</p>`);
    },
  };
}

