import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { devSecretFile, loadJwtSettings, verifyToken } from '../../api/auth.js';
import { registerApiCommands } from '../../cli/commands/api.js';
import { ConfigError, loadConfig } from '../../schemas/config.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

async function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  const program = new Command().exitOverride();
  registerApiCommands(program);
  try {
    await program.parseAsync(['node', 'provisioner', ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
    vi.mocked(process.stderr.write).mockRestore();
  }
  return { stdout: out.join(''), stderr: err.join('') };
}

describe('provisioner api token', () => {
  it('refuses without a secret, creates one with --dev (mode 0600), and mints a token that verifies', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'api-cli-'));
    process.env.PROVISIONER_DATA = dataDir;
    delete process.env.PROVISIONER_API_JWT_SECRET;
    delete process.env.PROVISIONER_API_JWT_SECRET_FILE;
    await expect(run(['api', 'token', '--sub', 'E1001', '--roles', 'operator,approver'])).rejects.toThrow(/no API JWT secret is configured/);

    const { stdout, stderr } = await run(['api', 'token', '--sub', 'E1001', '--roles', 'operator,approver', '--ttl', '15m', '--dev']);
    expect(stderr).toContain(devSecretFile(dataDir));
    expect(statSync(devSecretFile(dataDir)).mode & 0o777).toBe(0o600);
    const caller = await verifyToken(loadJwtSettings(loadConfig({ env: { PROVISIONER_DATA: dataDir }, root: dataDir }))!, stdout.trim());
    expect(caller).toEqual({ employeeId: 'E1001', roles: ['operator', 'approver'] });

    // The secret is reused, not replaced.
    const again = await run(['api', 'token', '--sub', 'E1002', '--roles', 'auditor', '--dev']);
    expect(again.stderr).toBe('');
    expect(await verifyToken(loadJwtSettings(loadConfig({ env: { PROVISIONER_DATA: dataDir }, root: dataDir }))!, again.stdout.trim())).toEqual({ employeeId: 'E1002', roles: ['auditor'] });
  });

  it('refuses unknown roles, a bad ttl and an unsafe employee id', async () => {
    process.env.PROVISIONER_DATA = mkdtempSync(path.join(tmpdir(), 'api-cli-'));
    process.env.PROVISIONER_API_JWT_SECRET = 'x'.repeat(40);
    await expect(run(['api', 'token', '--sub', 'E1', '--roles', 'operator,root'])).rejects.toThrow(/not: root/);
    await expect(run(['api', 'token', '--sub', 'E1', '--roles', 'operator', '--ttl', 'forever'])).rejects.toThrow(/--ttl/);
    await expect(run(['api', 'token', '--sub', 'E 1', '--roles', 'operator'])).rejects.toThrow(/--sub/);
  });
});

describe('the API port', () => {
  it('is http.apiPort, set by PROVISIONER_API_PORT, default 9467', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'api-port-'));
    expect(loadConfig({ env: {}, root }).http.apiPort).toBe(9467);
    expect(loadConfig({ env: { PROVISIONER_API_PORT: '9999' }, root }).http.apiPort).toBe(9999);
    expect(() => loadConfig({ env: { PROVISIONER_API_PORT: 'http' }, root })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { PROVISIONER_API_PORT: 'http' }, root })).toThrow(/http\.apiPort \(set by PROVISIONER_API_PORT\)/);
  });
});
