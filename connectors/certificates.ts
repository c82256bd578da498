// Certificate failures, for every connector that speaks TLS (SCIM over undici, LDAP over ldapts):
// a server certificate that could not be verified is not a transient failure, retrying will not
// help; the message says which CA to give.

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

/** The OpenSSL/Node code of an error that says the server's certificate could not be verified, else undefined. */
export function certificateErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && certificateCodes.has(code) ? code : undefined;
}
