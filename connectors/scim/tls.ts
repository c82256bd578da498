// TLS for one SCIM app: the CA bundle its connector trusts (config `tls.caFile`, for an app whose
// certificate a private CA issued), used through an undici Agent for its SCIM and token requests
// alike, and the message for a certificate that could not be verified. Node's global fetch cannot
// take a CA per request; undici's fetch with an Agent({ connect: { ca } }) dispatcher can.
import { Agent, type Dispatcher } from 'undici';

export type TlsOptions = {
  /** The PEM CA bundle, read on use (a reader: a replaced file is picked up without a restart). */
  ca: () => string;
  /** Where the bundle comes from, for messages: "tls.caFile /etc/provisioner/crm-ca.pem". */
  source: string;
};

/** The dispatcher requests go through: one Agent per CA bundle, replaced when the bundle changes. */
export type DispatcherSource = () => Dispatcher | undefined;

export function tlsDispatcher(tls: TlsOptions | undefined): DispatcherSource {
  if (!tls) return () => undefined;
  let current: { ca: string; agent: Agent } | undefined;
  return () => {
    const ca = tls.ca();
    if (current?.ca !== ca) {
      const previous = current?.agent;
      current = { ca, agent: new Agent({ connect: { ca } }) };
      // Requests still on the old Agent finish; it then closes its connections.
      void previous?.close().catch(() => undefined);
    }
    return current.agent;
  };
}

/** OpenSSL and Node codes of a server certificate that could not be verified. */
const certificateCodes = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * When a request failed because the server's certificate could not be verified: what to do about
 * it (retrying will not help), else undefined.
 */
export function certificateProblem(err: unknown, tls: TlsOptions | undefined): string | undefined {
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code !== 'string' || !certificateCodes.has(code)) return undefined;
  return tls
    ? `the server's TLS certificate could not be verified against the CA in ${tls.source} (${code}); give the CA that issued the app's certificate`
    : `the server's TLS certificate could not be verified (${code}); if a private CA issued it, give that CA's certificate as tls.caFile in the app's connector config`;
}
