import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatKeyEntry, KeyConfigError, parseKeyEntries } from '../../../crypto/keyring.js';
import { generateSigningSeed, publicKeyOfSeed } from '../../../store/signing.js';
import { defaultKeyPaths, loadStoreKeys } from '../../../store/store-keys.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'store-keys-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('key entries', () => {
  it('parse `<id>:<base64>` separated by commas or lines, with comments; the first is active', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const entries = parseKeyEntries(`# rotated 2026-01, old kept\nnew:${a.toString('base64')}\n old:${b.toString('base64')} # retired, still opens`, 'test', 32);
    expect(entries.map((e) => e.id)).toEqual(['new', 'old']);
    expect(entries[0]!.material.equals(a)).toBe(true);
  });

  it('explain what is wrong without ever echoing key material', () => {
    const secret = randomBytes(16).toString('base64');
    for (const text of [`k1:${secret}`, secret, `bad id!:${secret}`]) {
      let message = '';
      try {
        parseKeyEntries(text, 'PROVISIONER_STORE_KEK', 32);
      } catch (err) {
        expect(err).toBeInstanceOf(KeyConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/PROVISIONER_STORE_KEK/);
      expect(message).not.toContain(secret);
    }
    const dup = formatKeyEntry({ id: 'k', material: randomBytes(32) });
    expect(() => parseKeyEntries(`${dup},${dup}`, 'x', 32)).toThrow(/twice/);
  });
});

describe('loadStoreKeys', () => {
  it('takes keys from the environment: signing key, extra verify keys, KEKs', () => {
    const seed = generateSigningSeed();
    const retired = generateSigningSeed();
    const keys = loadStoreKeys({
      dataDir: tempDir(),
      env: {
        PROVISIONER_AUDIT_SIGNING_KEY: formatKeyEntry({ id: 'audit-2026', material: seed }),
        PROVISIONER_AUDIT_VERIFY_KEYS: formatKeyEntry({ id: 'audit-2025', material: publicKeyOfSeed(retired) }),
        PROVISIONER_STORE_KEK: `${formatKeyEntry({ id: 'kek-2', material: randomBytes(32) })},${formatKeyEntry({ id: 'kek-1', material: randomBytes(32) })}`,
      },
    });
    expect(keys.signer?.keyId).toBe('audit-2026');
    expect(keys.verifier.keyIds().sort()).toEqual(['audit-2025', 'audit-2026']);
    expect(keys.kek?.activeId).toBe('kek-2');
    expect([...keys.kek!.keys.keys()]).toEqual(['kek-2', 'kek-1']);
  });

  it('without keys and without permission to create them, can neither sign nor seal', () => {
    const keys = loadStoreKeys({ dataDir: tempDir(), env: {} });
    expect(keys.signer).toBeUndefined();
    expect(keys.kek).toBeUndefined();
    expect(keys.verifier.keyIds()).toEqual([]);
  });

  it('verify-only: public keys from a file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'verify.keys');
    writeFileSync(file, formatKeyEntry({ id: 'pub', material: publicKeyOfSeed(generateSigningSeed()) }));
    const keys = loadStoreKeys({ dataDir: dir, env: { PROVISIONER_AUDIT_VERIFY_KEYS_FILE: file } });
    expect(keys.signer).toBeUndefined();
    expect(keys.verifier.keyIds()).toEqual(['pub']);
  });

  it('for the local stack, generates key files readable by their owner only, and reuses them', () => {
    const dir = tempDir();
    const first = loadStoreKeys({ dataDir: dir, env: {}, create: true });
    const paths = defaultKeyPaths(dir);
    for (const file of [paths.signing, paths.kek]) expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadStoreKeys({ dataDir: dir, env: {}, create: false });
    expect(second.signer?.keyId).toBe(first.signer?.keyId);
    expect(second.signer?.publicKey.equals(first.signer!.publicKey)).toBe(true);
    expect(readFileSync(paths.signing, 'utf8')).toMatch(/^# generated for the local stack/);
  });
});
