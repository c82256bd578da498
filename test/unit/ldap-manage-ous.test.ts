// Which LDAP OUs provisioner may create (ldap.manageOus): all three for the local stack by default,
// fewer for a directory someone else owns; `stack up` creates only those (with their parents).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ldapConnectorConfig } from '../../runtime/connectors.js';
import { ConfigError, loadConfig } from '../../schemas/config.js';
import { ouEntries } from '../../stack/slapd.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-manage-ous-'));

describe('ldap.manageOus', () => {
  it('defaults to people, groups and disabled, and LDAP_MANAGE_OUS names fewer (or none)', () => {
    expect(loadConfig({ env: {}, root }).ldap.manageOus).toEqual(['people', 'groups', 'disabled']);
    expect(loadConfig({ env: { LDAP_MANAGE_OUS: 'groups, disabled' }, root }).ldap.manageOus).toEqual(['groups', 'disabled']);
    expect(loadConfig({ env: { LDAP_MANAGE_OUS: 'none' }, root }).ldap.manageOus).toEqual([]);
    expect(() => loadConfig({ env: { LDAP_MANAGE_OUS: 'users' }, root })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { LDAP_MANAGE_OUS: 'users' }, root })).toThrow(/at ldap\.manageOus\.0 \(set by LDAP_MANAGE_OUS\)/);
  });

  it('reaches the directory connector, and `stack up` seeds only the managed OUs with their parents', () => {
    const cfg = loadConfig({ env: { LDAP_MANAGE_OUS: 'groups' }, root });
    cfg.ldap.ous = { people: 'ou=people,ou=second', groups: 'ou=groups,ou=second', disabled: 'ou=disabled,ou=second' };
    expect(ldapConnectorConfig(cfg, 'directory')).toMatchObject({ manageOus: ['groups'] });
    expect(ouEntries(cfg)).toEqual([
      { dn: 'ou=second,dc=provisioner,dc=local', ou: 'second' },
      { dn: 'ou=groups,ou=second,dc=provisioner,dc=local', ou: 'groups' },
    ]);
    expect(ouEntries({ ldap: { ...cfg.ldap, manageOus: [] } })).toEqual([]);
  });
});
