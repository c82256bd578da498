// Signed ITSM decisions (crypto/decision-signatures.ts): what verifies, and the reason code of each
// way a decision can fail to.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDecisionVerifier, decisionOf, DEV_ITSM_KEY_ID, ensureDevItsmKey, signDecision, type SignedDecision } from '../../crypto/decision-signatures.js';
import { signDecisionLines, validateEventFile } from '../../ingress/event-files.js';
import { loadConfig } from '../../schemas/config.js';
import { accessRequested, approvalDecided } from '../integration/fixtures/itsm-events.js';

const dir = mkdtempSync(path.join(tmpdir(), 'decision-signatures-'));
const dev = ensureDevItsmKey(dir);
const ITSM = { issuer: 'servicenow-prod', audience: 'provisioner' };
const verifier = createDecisionVerifier({ keysFile: dev.publicKeys, ...ITSM, maxAgeMinutes: 60 });
const decision: SignedDecision = { eventId: 'evt-1', approvalId: 'req-RITM1.1.1', approverId: 'E00021', decision: 'approved', ticketId: 'RITM1', comment: 'ok' };
const sign = (d: SignedDecision = decision, options: Partial<Parameters<typeof signDecision>[1]> = {}) => signDecision(d, { keyFile: dev.privateKey, ...ITSM, ...options });

/** Another key pair, as files: its private JWK (with a kid) and its public PEM. */
function otherKey(kind: 'ec' | 'ed25519', kid: string): { privateJwk: string; publicPem: string } {
  const pair = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const privateJwk = path.join(dir, `${kid}.jwk`);
  writeFileSync(privateJwk, JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), kid, alg: kind === 'ec' ? 'ES256' : 'EdDSA' }));
  const publicPem = path.join(dir, `${kid}.pem`);
  writeFileSync(publicPem, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateJwk, publicPem };
}

describe('signed ITSM decisions', () => {
  it('a decision signed by the ITSM key, as the event says, verifies', async () => {
    expect(await verifier.verify(await sign(), decision)).toEqual({ ok: true, keyId: DEV_ITSM_KEY_ID });
    const bare = { eventId: 'evt-2', approvalId: 'req-RITM1.1.1', approverId: 'E00021', decision: 'rejected' } as const;
    expect((await verifier.verify(await sign(bare), bare)).ok).toBe(true);
  });

  it('an unsigned decision is refused as unsigned-decision', async () => {
    expect(await verifier.verify(undefined, decision)).toMatchObject({ ok: false, code: 'unsigned-decision' });
  });

  it('a decision signed by another key, or not a JWS at all, is refused as bad-signature', async () => {
    const other = otherKey('ed25519', DEV_ITSM_KEY_ID);
    expect(await verifier.verify(await sign(decision, { keyFile: other.privateJwk }), decision)).toMatchObject({ ok: false, code: 'bad-signature' });
    expect(await verifier.verify('not.a.jws', decision)).toMatchObject({ ok: false, code: 'bad-signature' });
  });

  it('a signature with a shared secret (HS256), another issuer, audience or type is refused as bad-signature', async () => {
    const hs = await new SignJWT({ approvalId: decision.approvalId, decision: 'approved', ticketId: 'RITM1', comment: 'ok' })
      .setProtectedHeader({ alg: 'HS256', typ: 'itsm-decision+jwt' })
      .setIssuer(ITSM.issuer).setAudience(ITSM.audience).setSubject('E00021').setJti('evt-1').setIssuedAt()
      .sign(new Uint8Array(32));
    expect(await verifier.verify(hs, decision)).toMatchObject({ ok: false, code: 'bad-signature' });
    expect(await verifier.verify(await sign(decision, { issuer: 'someone-else' }), decision)).toMatchObject({ ok: false, code: 'bad-signature', text: expect.stringMatching(/iss/) });
    expect(await verifier.verify(await sign(decision, { audience: 'another-system' }), decision)).toMatchObject({ ok: false, code: 'bad-signature', text: expect.stringMatching(/aud/) });
  });

  it('a decision signed for another approver, approval, decision, comment or event is refused as decision-mismatch', async () => {
    const signature = await sign();
    for (const [field, value] of [['approverId', 'E00099'], ['approvalId', 'req-RITM1.1.2'], ['decision', 'rejected'], ['comment', 'changed'], ['eventId', 'evt-9'], ['ticketId', undefined]] as const) {
      const sent = { ...decision, [field]: value };
      const answer = await verifier.verify(signature, sent);
      expect(answer, field).toMatchObject({ ok: false, code: 'decision-mismatch' });
    }
    expect(await verifier.verify(signature, { ...decision, approverId: 'E00099' })).toMatchObject({ text: expect.stringMatching(/another approver \(sub\)/) });
  });

  it('a decision signed longer ago than the maximum age, or in the future, is refused as stale-decision', async () => {
    expect(await verifier.verify(await sign(decision, { issuedAt: new Date(Date.now() - 90 * 60_000) }), decision)).toMatchObject({ ok: false, code: 'stale-decision' });
    expect(await verifier.verify(await sign(decision, { issuedAt: new Date(Date.now() + 10 * 60_000) }), decision)).toMatchObject({ ok: false, code: 'stale-decision' });
  });

  it('a JWKS of several keys verifies each by its kid (rotation), and is re-read when it changes', async () => {
    const a = otherKey('ec', 'itsm-2026');
    const b = otherKey('ed25519', 'itsm-2027');
    const jwks = path.join(dir, 'rotation.jwks.json');
    const pub = (pemFile: string, kid: string) => ({ ...createPublicKey(readFileSync(pemFile)).export({ format: 'jwk' }), kid });
    writeFileSync(jwks, JSON.stringify({ keys: [pub(a.publicPem, 'itsm-2026')] }));
    const rotating = createDecisionVerifier({ keysFile: jwks, ...ITSM, maxAgeMinutes: 60 });
    const byB = await sign(decision, { keyFile: b.privateJwk });
    expect(await rotating.verify(await sign(decision, { keyFile: a.privateJwk }), decision)).toEqual({ ok: true, keyId: 'itsm-2026' });
    expect(await rotating.verify(byB, decision)).toMatchObject({ ok: false, code: 'bad-signature' });
    // The ITSM's new key is added to the file: taken without a restart.
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(jwks, JSON.stringify({ keys: [pub(a.publicPem, 'itsm-2026'), pub(b.publicPem, 'itsm-2027')] }));
    expect(await rotating.verify(byB, decision)).toEqual({ ok: true, keyId: 'itsm-2027' });
  });

  it('a PEM public key file verifies the decisions of its private key', async () => {
    const k = otherKey('ec', 'pem-key');
    const pem = createDecisionVerifier({ keysFile: k.publicPem, ...ITSM, maxAgeMinutes: 60 });
    expect((await pem.verify(await sign(decision, { keyFile: k.privateJwk }), decision)).ok).toBe(true);
    expect(await pem.verify(await sign(), decision)).toMatchObject({ ok: false, code: 'bad-signature' });
  });

  it('a JWKS holding a private key is refused', async () => {
    const file = path.join(dir, 'private.jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [JSON.parse(readFileSync(dev.privateKey, 'utf8'))] }));
    await expect(createDecisionVerifier({ keysFile: file, ...ITSM, maxAgeMinutes: 60 }).verify(await sign(), decision)).rejects.toThrow(/holds a private key/);
  });

  it('sign-decisions and publish --sign sign each decision of a file with the development ITSM key, and leave the other lines as they are', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sign-decisions-'));
    const cfg = loadConfig({ env: { PROVISIONER_DATA: dataDir } });
    const request = JSON.stringify(accessRequested('RITM9', 'E00025'));
    const text = [request, '// a comment', JSON.stringify(approvalDecided('req-RITM9.1.1', 'E00025', { data: { ticketId: 'RITM9' } })), ''].join('\n');
    const signedText = await signDecisionLines(cfg, text);
    const lines = signedText.split('\n');
    expect(lines[0]).toBe(request);
    expect(lines[1]).toBe('// a comment');
    const { events, errors } = validateEventFile(signedText);
    expect(errors).toEqual([]);
    const decided = events.find((e) => e.type === 'itsm.approval.decided')!;
    const event = decided.event as Extract<typeof decided.event, { type: 'itsm.approval.decided' }>;
    const devVerifier = createDecisionVerifier({ keysFile: ensureDevItsmKey(dataDir).publicKeys, issuer: cfg.itsm.issuer, audience: cfg.itsm.audience, maxAgeMinutes: 60 });
    expect(await devVerifier.verify(event.signature, decisionOf(event))).toEqual({ ok: true, keyId: DEV_ITSM_KEY_ID });
    // Production mode has no development key to sign with.
    await expect(signDecisionLines(loadConfig({ env: { PROVISIONER_DATA: dataDir, PROVISIONER_MODE: 'production' } }), text)).rejects.toThrow(/give the ITSM's private key with --key/);
  });
});
