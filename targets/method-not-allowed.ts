// A method an endpoint does not support is 405 Method Not Allowed with an Allow header naming the
// ones it does (RFC 9110 §15.5.6: "MUST generate an Allow header field"), in a SCIM error body
// (RFC 7644 §3.12). The discovery endpoints are read-only (RFC 7644 §4: "An HTTP GET to this
// endpoint"); a resource's endpoints take what RFC 7644 §3.2 lists for them.
import type { Request, Response, Router } from 'express';
import { sendScimError } from './scim-errors.js';

/** Registers, after a path's routes, a 405 answer for every other method on it. */
export function allowOnly(router: Router, paths: string | string[], methods: readonly string[]): void {
  // Express answers HEAD with the GET route (RFC 9110 §9.3.2).
  const allow = (methods.includes('GET') ? [...methods, 'HEAD'] : [...methods]).join(', ');
  router.all(paths, (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendScimError(res, 405, undefined, `${req.method} is not supported here; this endpoint supports ${allow}`);
  });
}
