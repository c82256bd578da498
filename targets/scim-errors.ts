// SCIM error answers (RFC 7644 §3.12) built from scimmy's error vocabulary.
import type { Response } from 'express';
import SCIMMY from 'scimmy';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** A SCIM protocol error: `new ScimError(409, 'uniqueness', '...')`. */
export const ScimError = SCIMMY.Types.Error;
export type ScimError = InstanceType<typeof SCIMMY.Types.Error>;

/** Builds a scimmy SCIM error; `scimType` is one of RFC 7644 §3.12's keywords, or none. */
export function scimError(status: number, scimType: string | undefined, detail: string): ScimError {
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

export function isScimError(err: unknown): err is ScimError {
  return err instanceof SCIMMY.Types.Error;
}

export type ScimErrorBody = { schemas: string[]; status: string; scimType?: string; detail?: string };

/**
 * The body of an error answer. scimmy's ErrorResponse accepts only the status codes RFC 7644
 * §3.12 lists; 401 and 429/5xx answers from the auth and fault layers use the same shape.
 */
export function scimErrorBody(status: number, scimType: string | undefined, detail: string): ScimErrorBody {
  try {
    const message = new SCIMMY.Messages.ErrorResponse({ status, scimType, detail } as never);
    return JSON.parse(JSON.stringify(message)) as ScimErrorBody;
  } catch {
    return {
      schemas: [SCIMMY.Messages.ErrorResponse.id],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    };
  }
}

export function sendScimError(res: Response, status: number, scimType: string | undefined, detail: string): void {
  if (res.headersSent) return;
  res.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(scimErrorBody(status, scimType, detail)));
}
