// TLS for one SCIM app: the CA bundle its connector trusts (config `tls.caFile`, for an app whose
// certificate a private CA issued), used through an undici Agent for its SCIM and token requests
// alike, and the message for a certificate that could not be verified. Node's global fetch cannot
// take a CA per request; undici's fetch with an Agent({ connect: { ca } }) dispatcher can.
import { Agent, type Dispatcher } from 'undici';
import { certificateErrorCode } from '../certificates.js';

export type TlsOptions = {
  /** The PEM CA bundle, read on use (a reader: a replaced file is picked up without a restart). */
  ca: () => string;
  /** Where the bundle comes from, for messages: "tls.caFile /etc/provisioner/crm-ca.pem". */
  source: string;
};

/** The dispatcher requests go through: one Agent per CA bundle, replaced when the bundle changes. */
export type DispatcherSource = () => Dispatcher | undefined;

export type TlsDispatcher = {
  current: DispatcherSource;
  /** Closes the Agent's connections (the connector's close). */
  close(): Promise<void>;
};

export function tlsDispatcher(tls: TlsOptions | undefined): TlsDispatcher {
  if (!tls) return { current: () => undefined, close: async () => undefined };
  let agent: { ca: string; agent: Agent } | undefined;
  return {
    current: () => {
      const ca = tls.ca();
      if (agent?.ca !== ca) {
        const previous = agent?.agent;
        agent = { ca, agent: new Agent({ connect: { ca } }) };
        // Requests still on the old Agent finish; it then closes its connections.
        void previous?.close().catch(() => undefined);
      }
      return agent.agent;
    },
    close: async () => {
      await agent?.agent.close();
      agent = undefined;
    },
  };
}


/**
 * When a request failed because the server's certificate could not be verified: what to do about
 * it (retrying will not help), else undefined.
 */
export function certificateProblem(err: unknown, tls: TlsOptions | undefined): string | undefined {
  const code = certificateErrorCode((err as { cause?: unknown }).cause);
  if (!code) return undefined;
  return tls
    ? `the server's TLS certificate could not be verified against the CA in ${tls.source} (${code}); give the CA that issued the app's certificate`
    : `the server's TLS certificate could not be verified (${code}); if a private CA issued it, give that CA's certificate as tls.caFile in the app's connector config`;
}
