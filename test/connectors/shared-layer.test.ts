// The pieces every connector shares: the HTTP status table, the retry layer, credentials and
// redaction, and the escaping of SCIM filters and LDAP DNs and filters. Pure logic, no server.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialError, redactSecrets, secretReader } from '../../connectors/credentials.js';
import { AuthError, InvalidRequestError, NotFoundError, TransientError } from '../../connectors/errors.js';
import { classifyStatus, errorForStatus, retryAfterMs } from '../../connectors/http-status.js';
import { escapeDnValue, escapeFilterValue, firstRdn, formatDn, isChildOf, normalizeDn, parseDn } from '../../connectors/ldap/escape.js';
import { classifyResultCode, ldapError } from '../../connectors/ldap/result-codes.js';
import { retryDelayMs, withRetries } from '../../connectors/retry.js';
import { equalityLookup, memberValuePath } from '../../connectors/scim/filter.js';

describe('the HTTP status table', () => {
  it.each([
    [401, 'auth'], [403, 'auth'], [404, 'not-found'], [408, 'transient'], [409, 'invalid'], [412, 'transient'],
    [400, 'invalid'], [422, 'invalid'], [429, 'transient'], [500, 'transient'], [501, 'invalid'], [502, 'transient'],
    [503, 'transient'], [504, 'transient'], [302, 'invalid'],
  ] as const)('%i is %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });

  it('maps classes to error types, keeping Retry-After on transient errors', () => {
    const e = errorForStatus('crm', 429, 'slow down', 2000);
    expect(e).toBeInstanceOf(TransientError);
    expect(e.retryAfterMs).toBe(2000);
    expect(e.retryable).toBe(true);
    expect(errorForStatus('crm', 401, 'no')).toBeInstanceOf(AuthError);
    expect(errorForStatus('crm', 404, 'no')).toBeInstanceOf(NotFoundError);
    expect(errorForStatus('crm', 400, 'no')).toBeInstanceOf(InvalidRequestError);
    expect(errorForStatus('crm', 400, 'no').retryable).toBe(false);
  });

  it('parses Retry-After as seconds or as an HTTP date (RFC 9110 §10.2.3)', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('-1')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('LDAP result codes', () => {
  it('classify what a verb did not handle: busy is transient, rights are auth, 53 is never success', () => {
    expect(classifyResultCode(51)).toBe('transient');
    expect(classifyResultCode(52)).toBe('transient');
    expect(classifyResultCode(49)).toBe('auth');
    expect(classifyResultCode(50)).toBe('auth');
    expect(classifyResultCode(32)).toBe('not-found');
    expect(classifyResultCode(53)).toBe('invalid');
    expect(classifyResultCode(68)).toBe('invalid');
    expect(classifyResultCode(20)).toBe('invalid');
    expect(ldapError('dir', 'add', Object.assign(new Error('x'), { code: 53 }))).toBeInstanceOf(InvalidRequestError);
    expect(ldapError('dir', 'add', new Error('Connection closed before message response was received'))).toBeInstanceOf(TransientError);
    expect(ldapError('dir', 'add', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(TransientError);
  });
});

describe('the retry layer', () => {
  it('waits at least Retry-After, and backs off exponentially otherwise', () => {
    const policy = { maxAttempts: 5, initialDelayMs: 100, backoffCoefficient: 2, maxDelayMs: 1000 };
    expect(retryDelayMs(new TransientError('x', 'a'), 1, policy)).toBe(100);
    expect(retryDelayMs(new TransientError('x', 'a'), 3, policy)).toBe(400);
    expect(retryDelayMs(new TransientError('x', 'a'), 10, policy)).toBe(1000);
    expect(retryDelayMs(new TransientError('x', 'a', 2500), 1, policy)).toBe(2500);
    expect(retryDelayMs(new TransientError('x', 'a', 50), 3, policy)).toBe(400);
  });

  it('retries transient errors only, and stops after maxAttempts', async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls += 1;
        if (calls === 1) throw new TransientError('429', 'a', 1500);
        if (calls === 2) throw new TransientError('503', 'a');
        return 'ok';
      },
      { sleep, initialDelayMs: 10 },
    );
    expect(result).toBe('ok');
    expect(slept).toEqual([1500, 20]);

    calls = 0;
    await expect(withRetries(async () => { calls += 1; throw new AuthError('401', 'a'); }, { sleep })).rejects.toBeInstanceOf(AuthError);
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetries(async () => { calls += 1; throw new TypeError('bug'); }, { sleep })).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetries(async () => { calls += 1; throw new TransientError('503', 'a'); }, { sleep, maxAttempts: 3 })).rejects.toBeInstanceOf(TransientError);
    expect(calls).toBe(3);
  });
});

describe('credentials', () => {
  it('are read from the environment variable named in config, on every use', () => {
    const env: NodeJS.ProcessEnv = { CRM_TOKEN: 'first-token-value' };
    const read = secretReader({ env: 'CRM_TOKEN' }, { purpose: 'the bearer token of app crm', env });
    expect(read()).toBe('first-token-value');
    env.CRM_TOKEN = 'second-token-value';
    expect(read()).toBe('second-token-value');
    delete env.CRM_TOKEN;
    expect(() => read()).toThrow(CredentialError);
    expect(() => read()).toThrow(/environment variable CRM_TOKEN, which is not set/);
  });

  it('are read from the file named in config and re-read when it is rotated', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secret-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, 'file-token-one\n');
    const read = secretReader({ file: 'token' }, { purpose: 'the token', root: dir });
    expect(read()).toBe('file-token-one');
    writeFileSync(file, 'file-token-two-longer\n');
    expect(read()).toBe('file-token-two-longer');
    const missing = secretReader({ file: 'nope' }, { purpose: 'the token', root: dir });
    expect(() => missing()).toThrow(/which cannot be read/);
  });

  it('are scrubbed from text, in plain, URL-encoded and base64 forms', () => {
    const secret = 's3cr3t/with+chars';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${Buffer.from(secret).toString('base64')}`;
    expect(redactSecrets(text, [secret])).toBe('a [redacted] b [redacted] c [redacted]');
  });
});

describe('SCIM filters', () => {
  it('quote values as JSON strings and use a superset plus an exact comparison for values needing escapes', () => {
    expect(equalityLookup('externalId', 'E-1')).toEqual({ filter: 'externalId eq "E-1"', precise: true });
    expect(equalityLookup('externalId', '*)(uid=*')).toEqual({ filter: 'externalId eq "*)(uid=*"', precise: true });
    expect(equalityLookup('externalId', 'x" or userName pr or "')).toEqual({ filter: 'externalId sw "x"', precise: false });
    expect(equalityLookup('userName', '"lead')).toEqual({ filter: 'userName pr', precise: false });
    expect(equalityLookup('externalId', 'a\u0000b')).toEqual({ filter: 'externalId sw "a"', precise: false });
    expect(equalityLookup('emails.value', 'a@b.c').filter).toBe('emails.value eq "a@b.c"');
    expect(() => equalityLookup('userName pr or x', 'v')).toThrow(TypeError);
    expect(memberValuePath('2819c223')).toBe('members[value eq "2819c223"]');
  });
});

describe('LDAP DNs and filters (RFC 4514, RFC 4515)', () => {
  it('escape every special character of a DN value as a hex pair', () => {
    expect(escapeDnValue('plain.name')).toBe('plain.name');
    expect(escapeDnValue('doe, john+cn=admin;<x>"\\')).toBe('doe\\2C john\\2Bcn\\3Dadmin\\3B\\3Cx\\3E\\22\\5C');
    expect(escapeDnValue('#lead')).toBe('\\23lead');
    expect(escapeDnValue('mid#dle')).toBe('mid#dle');
    expect(escapeDnValue(' both ')).toBe('\\20both\\20');
    expect(escapeDnValue('nul\u0000x')).toBe('nul\\00x');
    expect(escapeDnValue('ünïcødé Ε')).toBe('ünïcødé Ε');
    expect(() => escapeDnValue('')).toThrow(RangeError);
  });

  it('escape filter metacharacters', () => {
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2A\\29\\28uid=\\2A');
    expect(escapeFilterValue('a\\b\u0000')).toBe('a\\5Cb\\00');
  });

  it('parse DNs back, hex pairs and escaped specials alike', () => {
    const value = 'doe, john+cn=admin;<x>"\\ # nul\u0000 ü ';
    const dn = `uid=${escapeDnValue(value)},ou=people,dc=example,dc=com`;
    expect(parseDn(dn)[0]).toEqual([{ type: 'uid', value }]);
    expect(parseDn('uid=a\\,b\\+c,ou=x')[0]).toEqual([{ type: 'uid', value: 'a,b+c' }]);
    expect(parseDn('cn=a+sn=b,ou=x')[0]).toEqual([{ type: 'cn', value: 'a' }, { type: 'sn', value: 'b' }]);
    expect(parseDn('uid=\\C3\\BC,ou=x')[0]).toEqual([{ type: 'uid', value: 'ü' }]);
    expect(formatDn(parseDn(dn))).toBe(dn);
    expect(firstRdn(dn)).toBe(`uid=${escapeDnValue(value)}`);
    expect(isChildOf(dn, 'OU=People,DC=example,DC=com')).toBe(true);
    expect(isChildOf(dn, 'ou=disabled,dc=example,dc=com')).toBe(false);
    expect(normalizeDn('OU=People, DC=Example')).toBe('ou=people,dc=example');
    expect(() => parseDn('no-equals-sign')).toThrow(RangeError);
  });
});
