// What scimmy passes through to our ingress/egress/degress handlers for each request: the app the
// request is for (scimmy's resource declarations are process-wide; the apps in a process are not).
import type { Logger } from 'pino';
import type { Behaviour } from './profiles.js';
import { scimError } from './scim-errors.js';
import type { ResourceStore } from './store.js';
import type { WriteLog } from './write-log.js';

export type TargetState = {
  name: string;
  store: ResourceStore;
  writes: WriteLog;
  /** Called after every applied write (persists the state). */
  changed: () => void;
  logger: Logger;
  /** How this app behaves where SCIM servers differ (profiles.ts). */
  behaviour: Behaviour;
};

export type ListWindow = {
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder: 'ascending' | 'descending';
};

export type ScimContext = {
  target: TargetState;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The request's If-Match header (RFC 7644 §3.14), checked where the write is applied. */
  ifMatch?: string;
  /** scheme://host:port the client used, for absolute $ref and meta.location values. */
  origin: string;
  /** Pagination and sorting of a list request (RFC 7644 §3.4.2.3, §3.4.2.4). */
  list?: ListWindow;
};

export function contextOf(ctx: unknown): ScimContext {
  if (ctx === null || typeof ctx !== 'object' || !('target' in ctx)) {
    throw scimError(500, undefined, 'SCIM handler called without a target app context');
  }
  return ctx as ScimContext;
}
