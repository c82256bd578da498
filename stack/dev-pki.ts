// The development certificate authority of the secured local stack (`stack up --secure`) and of the
// tests: a private CA, one server certificate for localhost and 127.0.0.1 that every local server
// presents (Kafka, Temporal, PostgreSQL, slapd, the HTTPS target app), and one client certificate
// (Temporal's mTLS). Made with the openssl CLI (EC P-256); nothing here is fit for production.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type DevPki = {
  dir: string;
  caFile: string;
  /** The CA's key: only the PKI itself uses it (to issue), never a server or a client. */
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
};

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim().split('\n')[0];
    throw new Error(`openssl ${args[0]} failed in ${dir}: ${stderr || (err as Error).message} (Debian: apt-get install -y openssl)`, { cause: err });
  }
}

export function devPkiFiles(dir: string): DevPki {
  const file = (f: string) => path.join(dir, f);
  return {
    dir,
    caFile: file('ca.crt'),
    caKeyFile: file('ca.key'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
  };
}

/** Issues a certificate signed by the CA in dir: a server one for localhost and 127.0.0.1, or a client one. */
function issue(dir: string, name: 'server' | 'client', subject: string, days: number): void {
  openssl(dir, ['req', ...ec, '-keyout', `${name}.key.tmp`, '-out', `${name}.csr`, '-subj', subject]);
  // PKCS#8: the form Kafka's PEM key store and every other server here read.
  openssl(dir, ['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.key.tmp`, '-out', `${name}.key`]);
  rmSync(path.join(dir, `${name}.key.tmp`));
  writeFileSync(
    path.join(dir, `${name}.ext`),
    name === 'server'
      ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n'
      : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', `${name}.ext`]);
}

/**
 * The PKI in dir, made when missing (idempotent: an existing CA and its certificates are kept, so
 * servers and clients started earlier go on trusting each other). Keys are readable by the owner only.
 */
export function ensureDevPki(dir: string, options: { name?: string; days?: number } = {}): DevPki {
  const pki = devPkiFiles(dir);
  if ([pki.caFile, pki.certFile, pki.keyFile, pki.clientCertFile, pki.clientKeyFile].every((f) => existsSync(f))) return pki;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const days = options.days ?? 825;
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(days), '-subj', `/CN=${options.name ?? 'Provisioner Development CA'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  issue(dir, 'server', '/CN=localhost', days);
  issue(dir, 'client', '/CN=provisioner', days);
  return pki;
}

/** The PEM text of a file of the PKI. */
export function readPem(file: string): string {
  return readFileSync(file, 'utf8');
}
