// A throwaway private CA and a server certificate it signs, for target apps serving HTTPS in tests:
// the development PKI (stack/dev-pki.ts) in a temporary folder, valid two days, for localhost and
// 127.0.0.1, so the connector meets a certificate that only a CA it is given can verify.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDevPki, readPem } from '../../stack/dev-pki.js';

export type TestPki = {
  dir: string;
  /** The CA certificate: PEM text and its file. */
  ca: string;
  caFile: string;
  /** The server's certificate and key: PEM text and files. */
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** A client certificate the CA issued (mutual TLS). */
  clientCertFile: string;
  clientKeyFile: string;
  remove: () => void;
};

/** A CA named `name` and a server certificate it issued for localhost and 127.0.0.1. */
export function createTestPki(name = 'Provisioner Test CA'): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'test-pki-'));
  const pki = ensureDevPki(dir, { name, days: 2 });
  return {
    dir,
    ca: readPem(pki.caFile),
    caFile: pki.caFile,
    cert: readPem(pki.certFile),
    key: readPem(pki.keyFile),
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    clientCertFile: pki.clientCertFile,
    clientKeyFile: pki.clientKeyFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
