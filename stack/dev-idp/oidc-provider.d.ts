// The part of oidc-provider 8's API (a JavaScript package without type declarations) that the
// development IdP uses. Its configuration is documented in node_modules/oidc-provider/lib/helpers/defaults.js.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type Configuration = Record<string, unknown>;

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
  }

  export class Grant {
    constructor(init: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(indicator: string, scope: string): void;
    save(): Promise<string>;
    static find(id: string): Promise<Grant | undefined>;
  }

  /** The koa context oidc-provider hands to its configuration helpers. */
  export interface ProviderContext {
    body: unknown;
    type: string;
    status: number;
    oidc: { params?: Record<string, unknown>; client?: { clientId: string } };
  }

  export interface ProviderToken {
    kind: string;
    accountId?: string;
    clientId?: string;
  }

  export const errors: { InvalidTarget: new (description?: string) => Error };

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    Grant: typeof Grant;
    on(event: string, listener: (...args: any[]) => void): this;
  }
}
