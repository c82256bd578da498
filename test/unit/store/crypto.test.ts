import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionError, open, seal } from '../../../crypto/aes-gcm.js';
import { createSigner, createVerifier, fingerprint, generateSigningSeed, publicKeyOfSeed } from '../../../store/signing.js';

describe('AES-256-GCM sealing', () => {
  const key = randomBytes(32);

  it('opens what it sealed, in the same context only', () => {
    const sealed = seal(key, Buffer.from('Ada Lovelace'), 'audit:1|person-a');
    expect(open(key, sealed, 'audit:1|person-a').toString()).toBe('Ada Lovelace');
    expect(() => open(key, sealed, 'audit:2|person-a')).toThrow(DecryptionError);
    expect(() => open(randomBytes(32), sealed, 'audit:1|person-a')).toThrow(DecryptionError);
  });

  it('detects an altered ciphertext and never repeats an IV', () => {
    const sealed = seal(key, Buffer.from('x'), 'c');
    const altered = Buffer.from(sealed);
    altered[14] = altered[14]! ^ 1;
    expect(() => open(key, altered, 'c')).toThrow(DecryptionError);
    expect(seal(key, Buffer.from('x'), 'c').equals(sealed)).toBe(false);
  });

  it('refuses keys of the wrong size', () => {
    expect(() => seal(randomBytes(16), Buffer.from('x'), 'c')).toThrow(RangeError);
  });
});

describe('Ed25519 audit signatures', () => {
  const seed = generateSigningSeed();
  const signer = createSigner('k1', seed);
  const verifier = createVerifier([{ id: 'k1', publicKey: publicKeyOfSeed(seed) }]);

  it('verifies with the public key alone', () => {
    const sig = signer.sign('record', 'abc');
    expect(verifier.verify('record', 'k1', 'abc', sig)).toBe(true);
    expect(verifier.verify('record', 'k1', 'abd', sig)).toBe(false);
  });

  it('keeps purposes apart: a record signature is not a checkpoint signature', () => {
    expect(verifier.verify('checkpoint', 'k1', 'abc', signer.sign('record', 'abc'))).toBe(false);
  });

  it('rejects unknown key ids, other keys and malformed signatures', () => {
    const other = createSigner('k1', generateSigningSeed());
    expect(verifier.verify('record', 'k2', 'abc', signer.sign('record', 'abc'))).toBe(false);
    expect(verifier.verify('record', 'k1', 'abc', other.sign('record', 'abc'))).toBe(false);
    expect(verifier.verify('record', 'k1', 'abc', 'bm90IGEgc2lnbmF0dXJl')).toBe(false);
  });

  it('derives a stable key id from the public key', () => {
    expect(fingerprint(publicKeyOfSeed(seed))).toBe(fingerprint(signer.publicKey));
    expect(fingerprint(signer.publicKey)).toMatch(/^ed25519-[0-9a-f]{16}$/);
  });
});
