// The SCIM 2.0 HTTP API of a target app (RFC 7644 §3), on scimmy's resource classes. We write the
// few routes ourselves instead of mounting scimmy-routers because that router cannot send ETag or
// Location headers, check If-Match (§3.14), or serve two apps with different settings in one
// process (it configures scimmy globally), and its list answers mis-page past the last page.
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import { SCIM_BASE_PATH } from './apps-file.js';
import type { ListWindow, ScimContext, TargetState } from './context.js';
import { clientDetail } from './engine-errors.js';
import { assertIfMatch, ifNoneMatchMatches } from './etag.js';
import type { FaultInjector } from './faults.js';
import { assertMembersFilterAllowed, memberFilterAsApplied, schemasAsDeclared } from './hidden-members.js';
import { applyMembershipPatch, assertFilteredMemberRemovals, membershipOperations } from './membership-patch.js';
import { allowOnly } from './method-not-allowed.js';
import { rewriteExtensionOperations } from './patch-extension.js';
import { assertRemoveTargets } from './patch.js';
import { assertNoNullValues, assertPatchShape } from './request-body.js';
import { endpoints, listedPage, scimResources } from './resources.js';
import { isScimError, SCIM_CONTENT_TYPE, scimError, sendScimError } from './scim-errors.js';
import { searchAllTypes, searchParams } from './search.js';
import type { ResourceType } from './store.js';

type Json = Record<string, unknown>;

export type ScimRouterOptions = {
  state: TargetState;
  faults: FaultInjector;
  /** The most resources one list page holds (ServiceProviderConfig filter.maxResults). */
  maxResults: number;
  authenticationSchemes: Json[];
};

function query(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

function integer(req: Request, name: string): number | undefined {
  const value = query(req, name);
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^[+-]?\d+$/.test(value.trim())) throw scimError(400, 'invalidValue', `${name} must be an integer`);
  return Number(value);
}

/** attributes / excludedAttributes (RFC 7644 §3.9), as scimmy's Resource constructor takes them. */
function projection(req: Request): { attributes?: string; excludedAttributes?: string } {
  const attributes = query(req, 'attributes');
  const excludedAttributes = query(req, 'excludedAttributes');
  return { ...(attributes ? { attributes } : {}), ...(excludedAttributes ? { excludedAttributes } : {}) };
}

/**
 * scimmy makes locations from one server-relative base path for every app in the process; clients
 * get absolute URIs (RFC 7643 §3.1) under the base path of the app they called.
 */
function absolute(body: Json, origin: string, basePath: string): Json {
  const json = JSON.parse(JSON.stringify(body)) as Json;
  const fix = (resource: Json) => {
    const meta = resource.meta as Json | undefined;
    if (meta && typeof meta.location === 'string' && meta.location.startsWith('/')) {
      const local = meta.location.startsWith(`${SCIM_BASE_PATH}/`) ? `${basePath}${meta.location.slice(SCIM_BASE_PATH.length)}` : meta.location;
      meta.location = `${origin}${local}`;
    }
  };
  fix(json);
  if (Array.isArray(json.Resources)) (json.Resources as Json[]).forEach(fix);
  return json;
}

export function scimRouter(options: ScimRouterOptions): Router {
  const { state, faults } = options;
  const router = Router();
  router.use(express.json({ type: ['application/scim+json', 'application/json'], limit: '1mb' }));

  const context = (req: Request, list?: ListWindow): ScimContext => ({
    target: state,
    method: req.method as ScimContext['method'],
    // An app without versions (the `etags: false` behaviour) ignores If-Match.
    ...(state.behaviour.etags && req.get('if-match') !== undefined ? { ifMatch: req.get('if-match')! } : {}),
    origin: `${req.protocol}://${req.get('host') ?? 'localhost'}`,
    ...(list ? { list } : {}),
  });

  const send = (req: Request, res: Response, status: number, body: unknown, version?: string) => {
    if (version) res.setHeader('ETag', version);
    // RFC 7644 §3.14: a GET whose If-None-Match names the current version is 304 Not Modified.
    // (Express's own check gives up when the client also sends Cache-Control: no-cache, as fetch does.)
    if (version && req.method === 'GET' && ifNoneMatchMatches(req.get('if-none-match'), version)) {
      res.status(304).end();
      return;
    }
    const json = absolute(body as Json, `${req.protocol}://${req.get('host') ?? 'localhost'}`, state.behaviour.basePath);
    res.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(json));
  };

  const versionOf = (type: ResourceType, id: string | undefined) => (id && state.behaviour.etags ? state.store.get(type, id)?.meta.version : undefined);

  /** A write has been applied: answer it (late, if a fault says so), unless a fault says to drop the connection instead. */
  const answerWrite = (req: Request, res: Response, answer: () => void) => {
    if (faults.takeDropAfterCommit()) {
      state.logger.warn({ method: req.method, path: req.originalUrl }, 'fault: write committed, connection dropped');
      req.socket.destroy();
      return;
    }
    const delay = faults.writeAnswerDelay();
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  };

  async function list(type: ResourceType, req: Request, res: Response, params: {
    filter?: string; attributes?: string; excludedAttributes?: string; sortBy?: string; sortOrder?: string; startIndex?: number; count?: number;
  }) {
    if (params.sortOrder !== undefined && !['ascending', 'descending'].includes(params.sortOrder)) {
      throw scimError(400, 'invalidValue', 'sortOrder must be "ascending" or "descending"');
    }
    // RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0; we cap count at maxResults.
    const window: ListWindow = {
      startIndex: Math.max(1, params.startIndex ?? 1),
      count: Math.min(Math.max(0, params.count ?? options.maxResults), options.maxResults),
      ...(params.sortBy ? { sortBy: params.sortBy } : {}),
      sortOrder: params.sortOrder === 'descending' ? 'descending' : 'ascending',
    };
    const { attributes, excludedAttributes } = params;
    assertMembersFilterAllowed(state.behaviour, type, params.filter);
    const filter = memberFilterAsApplied(state.behaviour, type, params.filter);
    if (filter === undefined && !attributes && !excludedAttributes && !window.sortBy) {
      // The listing a reconciliation reads, page after page: built without scimmy (resources.ts presentListed).
      const { total, resources } = listedPage(type, window, context(req, window));
      const body: Json = { schemas: [SCIMMY.Messages.ListResponse.id], totalResults: total, Resources: resources, startIndex: window.startIndex, itemsPerPage: resources.length };
      if (state.behaviour.totalResults === 'absent') delete body.totalResults;
      else if (state.behaviour.totalResults === 'approximate') body.totalResults = resources.length;
      res.status(200).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
      return;
    }
    const resource = new scimResources[type](undefined, {
      ...(filter !== undefined ? { filter } : {}),
      ...(attributes ? { attributes } : {}),
      ...(excludedAttributes ? { excludedAttributes } : {}),
      count: window.count,
    });
    // Our egress filters, sorts and cuts the page; scimmy's ListResponse would cut it again by
    // startIndex (and keeps a page past the end), so it sees startIndex 1 and we set the real one.
    const page = (await resource.read(context(req, window))) as unknown as InstanceType<typeof SCIMMY.Messages.ListResponse>;
    page.startIndex = window.startIndex;
    page.itemsPerPage = page.Resources.length; // RFC 7644 §3.4.2: the number of resources returned
    // Profiles (profiles.ts): servers that leave totalResults out, or give only the page's size.
    if (state.behaviour.totalResults === 'absent') delete (page as { totalResults?: number }).totalResults;
    else if (state.behaviour.totalResults === 'approximate') page.totalResults = page.Resources.length;
    send(req, res, 200, page);
  }

  for (const type of ['User', 'Group'] as const) {
    const Resource = scimResources[type];
    const base = `/${endpoints[type]}`;

    // RFC 7644 §3.4.2: list and filter.
    router.get(base, async (req, res) => {
      const filter = query(req, 'filter');
      const sortBy = query(req, 'sortBy');
      const sortOrder = query(req, 'sortOrder');
      const startIndex = integer(req, 'startIndex');
      const count = integer(req, 'count');
      await list(type, req, res, {
        ...(filter !== undefined ? { filter } : {}),
        ...projection(req),
        ...(sortBy ? { sortBy } : {}),
        ...(sortOrder ? { sortOrder } : {}),
        ...(startIndex !== undefined ? { startIndex } : {}),
        ...(count !== undefined ? { count } : {}),
      });
    });

    // RFC 7644 §3.4.3: the same query as a POST body.
    router.post(`${base}/.search`, async (req, res) => {
      await list(type, req, res, searchParams(req.body));
    });
    allowOnly(router, `${base}/.search`, ['POST']);

    // RFC 7644 §3.4.1: read one.
    router.get(`${base}/:id`, async (req, res) => {
      const id = req.params.id!;
      const body = await new Resource(id, projection(req)).read(context(req));
      send(req, res, 200, body, versionOf(type, id));
    });

    // RFC 7644 §3.3: create; 201 with Location and the resource.
    router.post(base, async (req, res) => {
      assertNoNullValues(req.body);
      const written = (await new Resource(undefined, projection(req)).write(req.body, context(req))) as unknown as Json;
      answerWrite(req, res, () => {
        const json = absolute(written, `${req.protocol}://${req.get('host') ?? 'localhost'}`, state.behaviour.basePath);
        const location = (json.meta as Json | undefined)?.location;
        if (typeof location === 'string') res.setHeader('Location', location);
        send(req, res, 201, json, versionOf(type, json.id as string));
      });
    });

    // RFC 7644 §3.5.1: replace.
    router.put(`${base}/:id`, async (req, res) => {
      const id = req.params.id!;
      assertNoNullValues(req.body);
      const written = await new Resource(id, projection(req)).write(req.body, context(req));
      answerWrite(req, res, () => send(req, res, 200, written, versionOf(type, id)));
    });

    // RFC 7644 §3.5.2: modify. 204 with the new ETag, or 200 with the resource when the client
    // names the attributes it wants back (§3.9): returning a large group on every membership
    // change would cost more than the change.
    router.patch(`${base}/:id`, async (req, res) => {
      // RFC 7644 §3.5.2: a service provider that does not support PATCH answers 501.
      if (!state.behaviour.patch) throw scimError(501, undefined, 'PATCH is not supported here (ServiceProviderConfig patch.supported is false): replace the resource with PUT');
      const id = req.params.id!;
      const ctx = context(req);
      assertPatchShape(req.body);
      const patch = rewriteExtensionOperations(req.body, Resource.schema.definition);
      const message = new SCIMMY.Messages.PatchOp(patch as never); // invalidSyntax / invalidValue / invalidPath
      const stored = state.store.get(type, id);
      if (!stored) throw scimError(404, undefined, `${type} ${id} not found`);
      assertIfMatch(ctx.ifMatch, stored.meta.version, `${type} ${id}`);
      if (type === 'Group' && state.behaviour.memberPatch === 'filter-only') assertFilteredMemberRemovals(message);
      const membership = type === 'Group' ? membershipOperations(message) : undefined;
      if (membership) {
        const added = membership.flatMap((m) => (m.kind === 'add' ? m.members : [])).map((m) => state.store.get('User', String(m.value))?.externalId);
        const refused = faults.refusesMembers(String(stored.displayName ?? ''), added);
        if (refused !== undefined) throw scimError(refused, refused === 400 ? 'invalidValue' : 'uniqueness', `the member cannot be added to this group (injected fault)`);
        applyMembershipPatch(stored, membership, ctx);
      } else {
        await assertRemoveTargets(patch, (await new Resource(id).read(ctx)) as never);
        await new Resource(id).patch(patch as never, ctx);
      }
      const wanted = projection(req);
      if (wanted.attributes === undefined && wanted.excludedAttributes === undefined) {
        answerWrite(req, res, () => {
          const version = versionOf(type, id);
          if (version) res.setHeader('ETag', version);
          res.status(204).end();
        });
        return;
      }
      const body = await new Resource(id, wanted).read(ctx);
      answerWrite(req, res, () => send(req, res, 200, body, versionOf(type, id)));
    });

    // RFC 7644 §3.6: delete; 204.
    router.delete(`${base}/:id`, async (req, res) => {
      // A fault: the delete answered as done and lost.
      if (type === 'User' && state.store.get(type, req.params.id!) && faults.takeLostUserDelete()) return void res.status(204).end();
      await new Resource(req.params.id!).dispose(context(req));
      answerWrite(req, res, () => res.status(204).end());
    });

    allowOnly(router, base, ['GET', 'POST']);
    allowOnly(router, `${base}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE']);
  }

  // RFC 7644 §3.4.3: a search at the root, across every resource type.
  router.post('/.search', async (req, res) => {
    send(req, res, 200, await searchAllTypes(searchParams(req.body), options.maxResults, (list) => context(req, list)));
  });
  allowOnly(router, '/.search', ['POST']);

  // RFC 7644 §4: discovery. The ServiceProviderConfig is this app's, not scimmy's global one.
  router.get('/ServiceProviderConfig', (req, res) => {
    const config = new SCIMMY.Schemas.ServiceProviderConfig(
      {
        patch: { supported: state.behaviour.patch },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: options.maxResults },
        changePassword: { supported: false },
        sort: { supported: true },
        etag: { supported: state.behaviour.etags },
        authenticationSchemes: options.authenticationSchemes,
      } as never,
      `${SCIM_BASE_PATH}/ServiceProviderConfig`,
    );
    send(req, res, 200, config);
  });
  router.get(['/ResourceTypes', '/ResourceTypes/:id'], async (req, res) => {
    const id = req.params.id as string | undefined;
    send(req, res, 200, await (id ? new SCIMMY.Resources.ResourceType(id) : new SCIMMY.Resources.ResourceType()).read());
  });
  router.get(['/Schemas', '/Schemas/:id'], async (req, res) => {
    const id = req.params.id as string | undefined;
    send(req, res, 200, schemasAsDeclared(await (id ? new SCIMMY.Resources.Schema(id) : new SCIMMY.Resources.Schema()).read(), state.behaviour));
  });
  allowOnly(router, ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/:id', '/Schemas', '/Schemas/:id'], ['GET']);
  router.all(['/Bulk', '/Me'], () => {
    throw scimError(501, undefined, 'not implemented by this service provider');
  });

  router.use(() => {
    throw scimError(404, undefined, 'endpoint not found');
  });
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (isScimError(err)) {
      const { detail, engineMessage } = clientDetail(err.message);
      if (engineMessage) state.logger.warn({ err, method: req.method, path: req.originalUrl }, 'SCIM request failed inside scimmy');
      return sendScimError(res, err.status, err.scimType || undefined, detail);
    }
    if (e.type === 'entity.parse.failed') return sendScimError(res, 400, 'invalidSyntax', 'the request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendScimError(res, 413, undefined, 'the request body is too large');
    state.logger.error({ err, method: req.method, path: req.originalUrl }, 'SCIM request failed');
    sendScimError(res, 500, undefined, 'internal server error');
  });
  return router;
}
