// /admin: the test and operations face of a target app, behind its own token and free of faults.
//   GET    /admin/faults            current faults, what is left of "next N", how often each fired
//   PUT    /admin/faults            replace the faults (body: Faults, see targets/apps-file.ts)
//   DELETE /admin/faults            no faults
//   GET    /admin/writes?since=&limit=   the write log, oldest first
//   GET    /admin/stats             counts of users, groups and writes
//   POST   /admin/reset             forget every user, group and logged write
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import { faultsSchema } from './apps-file.js';
import { credentials, sameSecret } from './auth.js';
import type { TargetState } from './context.js';
import type { FaultInjector } from './faults.js';

const writesQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

function invalid(res: Response, error: z.ZodError): void {
  res.status(400).json({ error: 'invalid_request', detail: z.prettifyError(error) });
}

export function adminRouter(options: { adminToken: string; state: TargetState; faults: FaultInjector; rotateTokens: () => string; reset: () => void }): Router {
  const { state, faults } = options;
  const router = Router();
  router.use((req, res, next) => {
    const token = credentials(req, 'Bearer');
    if (token === undefined || !sameSecret(token, options.adminToken)) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${state.name}-admin"`);
      res.status(401).json({ error: 'unauthorized', detail: 'the admin API needs Authorization: Bearer <admin token>' });
      return;
    }
    next();
  });
  router.use(express.json({ limit: '64kb' }));

  router.get('/faults', (_req, res) => {
    res.json(faults.view());
  });
  router.put('/faults', (req, res) => {
    const parsed = faultsSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(res, parsed.error);
    faults.set(parsed.data);
    state.logger.info({ faults: parsed.data }, 'faults set');
    res.json(faults.view());
  });
  router.delete('/faults', (_req, res) => {
    faults.clear();
    state.logger.info('faults cleared');
    res.json(faults.view());
  });

  router.get('/writes', (req, res) => {
    const parsed = writesQuery.safeParse(req.query);
    if (!parsed.success) return invalid(res, parsed.error);
    const writes = state.writes.list(parsed.data);
    res.json({ writes, lastSeq: state.writes.lastSeq });
  });
  router.get('/stats', (_req, res) => {
    res.json({ app: state.name, users: state.store.count('User'), groups: state.store.count('Group'), lastWriteSeq: state.writes.lastSeq });
  });
  // Rotates the app's SCIM bearer token: the old one is revoked (401) and the new one answered once,
  // as an identity provider's admin console does.
  router.post('/tokens/rotate', (_req, res) => {
    const token = options.rotateTokens();
    state.logger.info('bearer token rotated');
    res.json({ token });
  });
  router.post('/reset', (_req, res) => {
    options.reset();
    state.logger.info('state reset');
    res.json({ reset: true });
  });

  router.use((_req, res) => {
    res.status(404).json({ error: 'not_found', detail: 'no such admin endpoint' });
  });
  return router;
}
