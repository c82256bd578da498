// Signed ITSM decisions (docs: README "Signed approval decisions"). Anyone who can write to
// `itsm.requests` could otherwise decide any approval in any approver's name, so an
// `itsm.approval.decided` event is taken only with a signature of the ITSM that authenticated the
// approver: a compact JWS (a JWT, RFC 7519) in the event's `signature` extension attribute.
//
// - Header: `typ` is `itsm-decision+jwt` (explicit typing, RFC 8725 §3.11: no other token of the
//   ITSM's key passes for a decision); `alg` is one of the asymmetric algorithms below (a shared
//   secret would let the receiver forge decisions too); `kid` picks the key from a JWKS.
// - Claims: `iss` the ITSM's name (itsm.issuer), `aud` this system (itsm.audience), `sub` the
//   approver the ITSM authenticated, `jti` the event id, `iat`; and the decision itself:
//   `approvalId`, `decision`, `ticketId` and `comment` when the event carries them.
// - Verified against itsm.decisionKeys: a JWKS file (several keys, chosen by `kid`: rotation) or
//   a PEM file of public keys, re-read when it changes. A decision older than
//   itsm.decisionMaxAgeMinutes (by `iat`) is stale.
//
// In development the local stack signs with a development ITSM key generated under
// <dataDir>/keys (its public half is the default itsm.decisionKeys); production mode refuses it
// (runtime/production-checks.ts). Signatures are required in both modes.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

/** The JWS `typ` of a decision. */
export const DECISION_JWT_TYPE = 'itsm-decision+jwt';
/** Asymmetric only: whoever verifies must not be able to sign. */
export const DECISION_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
/** The `kid` of the development ITSM key (production mode refuses any key with it). */
export const DEV_ITSM_KEY_ID = 'provisioner-dev-itsm-1';
/** The development ITSM's name (the default itsm.issuer). */
export const DEV_ITSM_ISSUER = 'provisioner-dev-itsm';

/** Why a decision is not taken (the dead letter's reason code). */
export type DecisionRefusalCode = 'unsigned-decision' | 'bad-signature' | 'stale-decision' | 'decision-mismatch';

/** What a signature binds: the decided event's id and subject's decision fields. */
export type SignedDecision = {
  eventId: string;
  approvalId: string;
  approverId: string;
  decision: 'approved' | 'rejected';
  ticketId?: string;
  comment?: string;
};

/** What the signature of a decided event must bind: its id and its data's decision fields. */
export function decisionOf(event: { id: string; data: { approvalId: string; approverId: string; decision: 'approved' | 'rejected'; ticketId?: string | undefined; comment?: string | undefined } }): SignedDecision {
  const { approvalId, approverId, decision, ticketId, comment } = event.data;
  return { eventId: event.id, approvalId, approverId, decision, ...(ticketId !== undefined ? { ticketId } : {}), ...(comment !== undefined ? { comment } : {}) };
}

export type DecisionCheck = { ok: true; keyId?: string } | { ok: false; code: DecisionRefusalCode; text: string };

/** The development ITSM's key pair: the private JWK (signs) and the JWKS of its public half (verifies). */
export function devItsmKeyFiles(dataDir: string): { privateKey: string; publicKeys: string } {
  const dir = path.join(dataDir, 'keys');
  return { privateKey: path.join(dir, 'itsm-dev-signing.jwk'), publicKeys: path.join(dir, 'itsm-dev-decisions.jwks.json') };
}

/** Creates the development ITSM key pair (Ed25519) when missing; returns its files. Two processes racing keep the first. */
export function ensureDevItsmKey(dataDir: string): { privateKey: string; publicKeys: string } {
  const files = devItsmKeyFiles(dataDir);
  if (existsSync(files.privateKey) && existsSync(files.publicKeys)) return files;
  mkdirSync(path.dirname(files.privateKey), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const meta = { kid: DEV_ITSM_KEY_ID, alg: 'EdDSA', use: 'sig' };
  try {
    writeFileSync(files.privateKey, `${JSON.stringify({ ...privateKey.export({ format: 'jwk' }), ...meta })}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // The public half is always derived from the private key on disk (the race's winner).
  const jwk = JSON.parse(readFileSync(files.privateKey, 'utf8')) as JWK;
  const pub = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' });
  writeFileSync(files.publicKeys, `${JSON.stringify({ keys: [{ ...pub, ...meta }] }, null, 2)}\n`, { mode: 0o644 });
  return files;
}

type KeySource = { kind: 'jwks'; keys: JWK[] } | { kind: 'pem'; keys: KeyObject[] };

/** Reads a JWKS file (`{"keys": [...]}`) or a PEM file of one or more public keys (or certificates). */
export function readDecisionKeys(file: string): KeySource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`itsm: cannot read the decision keys file ${file} (itsm.decisionKeys, PROVISIONER_ITSM_DECISION_KEYS): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (text.trimStart().startsWith('{')) {
    let jwks: { keys?: unknown };
    try {
      jwks = JSON.parse(text) as { keys?: unknown };
    } catch {
      throw new Error(`itsm: the decision keys file ${file} is neither a JWKS (JSON) nor PEM`);
    }
    const keys = Array.isArray(jwks.keys) ? (jwks.keys as JWK[]) : [];
    if (keys.length === 0) throw new Error(`itsm: the JWKS ${file} has no keys`);
    if (keys.some((k) => k.d !== undefined)) throw new Error(`itsm: the JWKS ${file} holds a private key; give the ITSM's public keys only`);
    return { kind: 'jwks', keys };
  }
  const blocks = text.match(/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----[\s\S]+?-----END \1-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`itsm: the decision keys file ${file} holds no PEM public key or certificate (nor is it a JWKS)`);
  return { kind: 'pem', keys: blocks.map((b) => createPublicKey(b)) };
}

export type DecisionVerifierOptions = {
  /** A JWKS file or a PEM file of public keys. */
  keysFile: string;
  issuer: string;
  audience: string;
  maxAgeMinutes: number;
};

const text = (err: unknown) => (err as Error).message;

/** Compares the signed claims with the event: every field must be the same, absent on both or equal. */
export function decisionMismatch(claims: JWTPayload, event: SignedDecision): string | undefined {
  const pairs: Array<[claim: string, signed: unknown, sent: unknown]> = [
    ['jti', claims.jti, event.eventId],
    ['sub', claims.sub, event.approverId],
    ['approvalId', claims.approvalId, event.approvalId],
    ['decision', claims.decision, event.decision],
    ['ticketId', claims.ticketId, event.ticketId],
    ['comment', claims.comment, event.comment],
  ];
  const wrong = pairs.filter(([, signed, sent]) => signed !== sent).map(([claim]) => claim);
  if (wrong.length === 0) return undefined;
  const what: Record<string, string> = { jti: 'event id', sub: 'approver', approvalId: 'approval', decision: 'decision', ticketId: 'ticket', comment: 'comment' };
  return `the signature is for another ${wrong.map((c) => `${what[c]} (${c})`).join(', ')} than the event names`;
}

/**
 * Verifies the `signature` of decided events. The keys file is re-read when its modification time
 * changes (a key added or rotated without a restart).
 */
export function createDecisionVerifier(options: DecisionVerifierOptions) {
  let loaded: { mtimeMs: number; source: KeySource } | undefined;
  const keys = (): KeySource => {
    const mtimeMs = statSync(options.keysFile).mtimeMs;
    if (!loaded || loaded.mtimeMs !== mtimeMs) loaded = { mtimeMs, source: readDecisionKeys(options.keysFile) };
    return loaded.source;
  };
  const verifyOptions = {
    algorithms: [...DECISION_ALGORITHMS],
    typ: DECISION_JWT_TYPE,
    issuer: options.issuer,
    audience: options.audience,
    maxTokenAge: `${options.maxAgeMinutes}m`,
    clockTolerance: 60,
    requiredClaims: ['iat', 'sub', 'jti'],
  };

  async function verifyWith(source: KeySource, jws: string) {
    if (source.kind === 'jwks') return jwtVerify(jws, createLocalJWKSet({ keys: source.keys }), verifyOptions);
    let last: unknown;
    for (const key of source.keys) {
      try {
        return await jwtVerify(jws, key, verifyOptions);
      } catch (err) {
        last = err;
        // Only a signature that does not match this key is a reason to try the next one.
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed) && !(err instanceof TypeError) && !(err instanceof joseErrors.JOSENotSupported)) throw err;
      }
    }
    throw last;
  }

  return {
    /** Reads the keys now: a start fails at once on a missing or malformed file. */
    check(): void {
      keys();
    },
    async verify(signature: string | undefined, event: SignedDecision): Promise<DecisionCheck> {
      if (signature === undefined) return { ok: false, code: 'unsigned-decision', text: `decision ${event.eventId} carries no signature: the ITSM signs every decision (see the README's event formats)` };
      // A keys file that cannot be read is this system's trouble, not the decision's: it throws (the batch is retried).
      const source = keys();
      let verified: Awaited<ReturnType<typeof jwtVerify>>;
      try {
        verified = await verifyWith(source, signature);
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) return { ok: false, code: 'stale-decision', text: `decision ${event.eventId}: ${text(err)}` };
        if (err instanceof joseErrors.JWTClaimValidationFailed) {
          if (err.claim === 'iat') return { ok: false, code: 'stale-decision', text: `decision ${event.eventId}: signed more than ${options.maxAgeMinutes} minute(s) ago, or in the future (${text(err)})` };
          return { ok: false, code: 'bad-signature', text: `decision ${event.eventId}: the signature's ${err.claim} claim is not accepted (${text(err)}); expected iss ${options.issuer}, aud ${options.audience}` };
        }
        return { ok: false, code: 'bad-signature', text: `decision ${event.eventId}: the signature does not verify with the ITSM's keys (${text(err)})` };
      }
      const mismatch = decisionMismatch(verified.payload, event);
      if (mismatch) return { ok: false, code: 'decision-mismatch', text: `decision ${event.eventId}: ${mismatch}` };
      return { ok: true, ...(verified.protectedHeader.kid ? { keyId: verified.protectedHeader.kid } : {}) };
    },
  };
}

export type DecisionVerifier = ReturnType<typeof createDecisionVerifier>;

/** A signing key from a file: a private JWK (its `kid` and `alg` are used) or a PKCS#8 PEM private key. */
async function signingKeyOf(file: string): Promise<{ key: Parameters<SignJWT["sign"]>[0]; alg: string; kid?: string }> {
  const raw = readFileSync(file, 'utf8');
  if (raw.trimStart().startsWith('{')) {
    const jwk = JSON.parse(raw) as JWK;
    const alg = jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' ? 'ES256' : 'RS256');
    return { key: await importJWK(jwk, alg), alg, ...(jwk.kid ? { kid: jwk.kid } : {}) };
  }
  const key = createPrivateKey(raw);
  const type = key.asymmetricKeyType;
  const alg = type === 'ed25519' ? 'EdDSA' : type === 'ec' ? 'ES256' : 'RS256';
  return { key, alg };
}

/**
 * Signs a decision as an ITSM does: what the ingress verifies. `keyFile` is a private JWK or a
 * PKCS#8 PEM; `alg` and `kid` default to the JWK's (a PEM's kid must be given for a JWKS to pick it).
 */
export async function signDecision(
  decision: SignedDecision,
  options: { keyFile: string; issuer: string; audience: string; alg?: (typeof DECISION_ALGORITHMS)[number]; kid?: string; issuedAt?: Date },
): Promise<string> {
  const signing = await signingKeyOf(options.keyFile);
  const alg = options.alg ?? signing.alg;
  const kid = options.kid ?? signing.kid;
  const { eventId, approverId, ...claims } = decision;
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg, typ: DECISION_JWT_TYPE, ...(kid ? { kid } : {}) })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(approverId)
    .setJti(eventId)
    .setIssuedAt(options.issuedAt ?? new Date())
    .sign(signing.key);
}

/**
 * The file the ingress verifies decisions with: itsm.decisionKeys, or in development mode the
 * development ITSM key (generated when missing). Production mode never generates one.
 */
export function decisionKeysFile(cfg: { dataDir: string; mode: 'development' | 'production'; itsm: { decisionKeys?: string | undefined } }): string {
  if (cfg.itsm.decisionKeys) return cfg.itsm.decisionKeys;
  if (cfg.mode === 'production') {
    throw new Error("itsm: no decision keys in production mode; set PROVISIONER_ITSM_DECISION_KEYS (itsm.decisionKeys) to the ITSM's JWKS or PEM public key file");
  }
  return ensureDevItsmKey(cfg.dataDir).publicKeys;
}
