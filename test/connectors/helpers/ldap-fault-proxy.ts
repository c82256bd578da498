// A TCP proxy in front of the real slapd that breaks connections at chosen moments, for the LDAP
// side of the conformance kit's fault tests. It reads the LDAP messages (BER, RFC 4511 §4.1.1)
// passing through, so it can tell a write request from a search and pair a response with its
// request:
//   resetNextWrites(n):     the next n write requests are not forwarded; both sockets are closed
//                           (nothing was committed).
//   dropAfterCommitNext(n): the next n write requests are forwarded; when slapd's response comes
//                           back, both sockets are closed instead (committed, never answered).
import net from 'node:net';

/** LDAP protocolOp tags (RFC 4511 Appendix B): requests that write, and their responses. */
const WRITE_REQUESTS = new Map<number, number>([
  [0x68, 0x69], // AddRequest → AddResponse
  [0x66, 0x67], // ModifyRequest → ModifyResponse
  [0x4a, 0x6b], // DelRequest → DelResponse
  [0x6c, 0x6d], // ModifyDNRequest → ModifyDNResponse
]);

type Message = { bytes: Buffer; id: number; tag: number };

/** Splits a byte stream into whole LDAPMessages. */
class MessageReader {
  #buffer = Buffer.alloc(0);

  push(chunk: Buffer): Message[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: Message[] = [];
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      let length = b[1]!;
      let header = 2;
      if (length & 0x80) {
        const n = length & 0x7f;
        if (b.length < 2 + n) break;
        length = 0;
        for (let i = 0; i < n; i += 1) length = length * 256 + b[2 + i]!;
        header = 2 + n;
      }
      if (b.length < header + length) break;
      const bytes = b.subarray(0, header + length);
      // messageID INTEGER (tag 0x02), then the protocolOp's tag.
      const idLength = bytes[header + 1]!;
      let id = 0;
      for (let i = 0; i < idLength; i += 1) id = id * 256 + bytes[header + 2 + i]!;
      out.push({ bytes: Buffer.from(bytes), id, tag: bytes[header + 2 + idLength]! });
      this.#buffer = b.subarray(header + length);
    }
    return out;
  }
}

export type LdapFaultProxy = {
  /** ldap://127.0.0.1:<port> */
  url: string;
  resetNextWrites(n: number): void;
  dropAfterCommitNext(n: number): void;
  clear(): void;
  readonly stats: { reset: number; dropped: number };
  close(): Promise<void>;
};

export async function startLdapFaultProxy(targetUrl: string): Promise<LdapFaultProxy> {
  const target = new URL(targetUrl);
  let resetNext = 0;
  let dropNext = 0;
  const stats = { reset: 0, dropped: 0 };
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 389), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', kill);
    upstream.on('error', kill);

    const fromClient = new MessageReader();
    const fromServer = new MessageReader();
    /** Response tags of committed writes whose answer must never arrive, by message id. */
    const swallow = new Map<number, number>();

    client.on('data', (chunk: Buffer) => {
      for (const message of fromClient.push(chunk)) {
        const response = WRITE_REQUESTS.get(message.tag);
        if (response !== undefined && resetNext > 0) {
          resetNext -= 1;
          stats.reset += 1;
          kill();
          return;
        }
        if (response !== undefined && dropNext > 0) {
          dropNext -= 1;
          swallow.set(message.id, response);
        }
        upstream.write(message.bytes);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const message of fromServer.push(chunk)) {
        if (swallow.get(message.id) === message.tag) {
          stats.dropped += 1;
          kill();
          return;
        }
        client.write(message.bytes);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ldap://127.0.0.1:${port}`,
    resetNextWrites: (n) => (resetNext = n),
    dropAfterCommitNext: (n) => (dropNext = n),
    clear: () => {
      resetNext = 0;
      dropNext = 0;
    },
    stats,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
