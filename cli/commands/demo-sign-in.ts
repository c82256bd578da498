// The demo's people sign in at the local stack's development IdP as `provisioner login` does (the
// device authorization grant, RFC 8628): the CLI's own discovery, device request and polling, with
// the person's browser played over HTTP against the IdP's pages and the password from its people
// file. The API then verifies the token as it would the organisation's IdP's.
import { loadPeople } from '../../stack/dev-idp/people.js';
import { completeDeviceSignIn } from '../../stack/dev-idp/browser-sign-in.js';
import type { Config } from '../../schemas/config.js';
import { discoverForLogin, loginHttp } from '../login/discovery.js';
import { pollForTokens, startDeviceAuthorization } from '../login/device-flow.js';
import { loginSettings } from '../login/token-source.js';
import { LOGIN_SCOPE } from './login.js';

/** An access token for `employeeId` from the development IdP; throws when it is not the one the CLI signs in with. */
export async function signInAtDevIdp(cfg: Config, employeeId: string): Promise<string> {
  const settings = loginSettings(cfg);
  if (!settings?.developmentIdp) throw new Error('the demo signs its people in at the local development IdP; unset api.oidc (PROVISIONER_OIDC_ISSUER) to use it');
  const person = loadPeople(cfg.stack.idpPeopleFile).find((p) => p.employeeId === employeeId);
  if (!person) throw new Error(`${employeeId} is not in the development IdP's people file ${cfg.stack.idpPeopleFile}`);
  const http = loginHttp(settings);
  try {
    const idp = await discoverForLogin(settings.issuer, http);
    const device = await startDeviceAuthorization(idp, { clientId: settings.clientId, scope: LOGIN_SCOPE, ...(settings.audience ? { audience: settings.audience } : {}) }, http.postForm);
    await completeDeviceSignIn({ verificationUri: device.verification_uri, userCode: device.user_code, employeeId, password: person.password });
    const tokens = await pollForTokens(idp, device, { clientId: settings.clientId, say: () => undefined, postForm: http.postForm });
    return tokens.access_token;
  } finally {
    await http.close();
  }
}
