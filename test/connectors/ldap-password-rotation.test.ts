// The directory's bind password by reference, as the worker builds the LDAP connector
// (runtime/connectors.ts): a password file (ldap.bindPasswordFile) is read on use, so a rotated
// password is used by the next bind without a restart. Against the real slapd of the local stack.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../connectors/errors.js';
import { createLogger } from '../../observability/logger.js';
import { loadPolicyDir } from '../../policy/loader.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';

const base = loadConfig();
const call = () => ({ idempotencyKey: 'ldap-rotation', correlationId: 'ldap-rotation', signal: AbortSignal.timeout(5000) });

describe('the directory connector the worker builds', () => {
  it('binds with a rotated password file on the next call, without a restart', async () => {
    const loaded = loadPolicyDir(path.join(projectRoot, 'examples', 'policy'));
    if (!loaded.ok) throw new Error('the example policy does not load');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ldap-secret-')), 'bind-password');
    writeFileSync(file, 'not-the-password\n');
    const cfg = { ...base, ldap: { ...base.ldap, bindPassword: 'not-this-one-either', bindPasswordFile: file } };
    const { connectors } = connectorsForPolicy(cfg, loaded.policy, [], createLogger({ level: 'silent' }), { env: {} });
    const directory = connectors.get('directory')!;
    try {
      await expect(directory.getAccount({ employeeId: 'E-LDAP-ROT-1' }, call())).rejects.toBeInstanceOf(AuthError);
      // A call reads over several pooled connections at once: binds it began with the old password may
      // still be in flight when it fails. Once they have settled, the next bind reads the new file.
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(file, `${base.ldap.bindPassword}\n`);
      expect(await directory.getAccount({ employeeId: 'E-LDAP-ROT-1' }, call())).toBeUndefined();
    } finally {
      await directory.close?.();
    }
  });
});
