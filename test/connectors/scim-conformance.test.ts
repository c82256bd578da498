// The conformance kit against the real SCIM target app (targets/), once per behaviour profile
// (targets/profiles.ts): one app per test, the connector authenticating with OAuth2 client
// credentials, the app cutting list pages at 7 resources. Apps of profiles with their own base path
// serve HTTPS with a certificate from a private CA the connector is given (tls), as SaaS apps do.
// The 429 test waits out Retry-After (about 3 s), so it runs on the standard and saas profiles only:
// it tests the connector's retry, which no profile changes.
import { afterAll } from 'vitest';
import { describeConformance } from '../../connectors/conformance/kit.js';
import type { FaultKind } from '../../connectors/conformance/target.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { behaviourOf, profileNames, profiles, type ProfileName } from '../../targets/profiles.js';
import { startTestScimApp, userBody, groupBody, type TestScimApp } from '../helpers/scim-app.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';

type User = { id: string; externalId?: string; userName: string; groups?: Array<{ value: string }> };

/** Every user of the app, read page by page with the app's own bearer token (not the connector). */
async function allUsers(app: TestScimApp): Promise<User[]> {
  const users: User[] = [];
  for (let start = 1; ; ) {
    const page = await app.scim<{ Resources?: User[] }>('GET', `/Users?startIndex=${start}&count=50`);
    if (page.status !== 200) throw new Error(`list users: ${page.status}`);
    const items = page.body.Resources ?? [];
    users.push(...items);
    start += items.length;
    // Until an empty page: some profiles leave totalResults out or make it approximate.
    if (items.length === 0) return users;
  }
}

/** A group's members as the app's write log tells them (for apps that never show members). */
async function membersFromWrites(app: TestScimApp, group: string): Promise<Set<string>> {
  const members = new Set<string>();
  for (const w of await app.admin.writes()) {
    if (w.resourceType !== 'Group' || w.id !== group) continue;
    for (const id of w.membersAdded ?? []) members.add(id);
    for (const id of w.membersRemoved ?? []) members.delete(id);
  }
  return members;
}

const withKey = async (app: TestScimApp, employeeId: string) => (await allUsers(app)).filter((u) => u.externalId === employeeId);

let pki: TestPki | undefined;
const privateCa = () => (pki ??= createTestPki('Conformance Private CA'));
afterAll(() => pki?.remove());

const fullFaults: FaultKind[] = ['rate-limit', 'server-error', 'drop-after-commit'];
const faultKindsOf = (profile: ProfileName): FaultKind[] => (profile === 'standard' || profile === 'saas' ? fullFaults : ['server-error', 'drop-after-commit']);

for (const profile of profileNames) {
  const https = profiles[profile].basePath !== profiles.standard.basePath;
  // A server that shows memberships nowhere: the inspector reads them from the app's write log.
  const readable = profiles[profile].userGroups || profiles[profile].groupMembers !== 'hidden';
  describeConformance(`SCIM 2.0 (target app, ${profile} profile${https ? ', HTTPS with a private CA' : ''}, OAuth2 client credentials)`, async () => {
    const ca = https ? privateCa() : undefined;
    const app = await startTestScimApp({ maxResults: 7, behaviour: behaviourOf(profile), ...(ca ? { tls: { cert: ca.cert, key: ca.key }, trustCa: ca.ca } : {}) });
    const connector = new ScimConnector({
      app: 'scim-test',
      baseUrl: app.scimUrl,
      auth: { kind: 'oauth2', tokenUrl: app.oauth.tokenUrl, clientId: app.oauth.clientId, clientSecret: () => app.oauth.clientSecret },
      timeoutMs: 5_000,
      ...(ca ? { tls: { ca: () => ca.ca, source: 'the test CA' } } : {}),
    });
    let armed: FaultKind | undefined;
    return {
      connector,
      async createEntitlement(name) {
        const res = await app.scim('POST', '/Groups', { body: groupBody(name) });
        if (res.status !== 201) throw new Error(`create group: ${res.status}`);
        return res.body.id as string;
      },
      async createForeignAccount({ userName, email }) {
        const res = await app.scim('POST', '/Users', { body: userBody(userName, { emails: [{ value: email, primary: true }] }) });
        if (res.status !== 201) throw new Error(`create foreign user: ${res.status}`);
        const id = res.body.id as string;
        return { snapshot: async () => (await app.scim('GET', `/Users/${id}`)).body as unknown };
      },
      inspect: {
        accountsWithKey: async (employeeId) => (await withKey(app, employeeId)).length,
        allKeys: async () => (await allUsers(app)).map((u) => u.externalId ?? ''),
        async isMember(employeeId, group) {
          const [user] = await withKey(app, employeeId);
          if (!user) return false;
          if (!readable) return (await membersFromWrites(app, group)).has(user.id);
          const res = await app.scim<{ members?: Array<{ value: string }> }>('GET', `/Groups/${group}`);
          return (res.body.members ?? []).some((m) => m.value === user.id);
        },
        async snapshot(employeeId) {
          const users = await withKey(app, employeeId);
          return Promise.all(users.map(async (u) => (await app.scim('GET', `/Users/${u.id}`)).body as unknown));
        },
      },
      faults: {
        supported: new Set<FaultKind>(['rate-limit', 'server-error', 'drop-after-commit']),
        async inject(kind, times) {
          armed = kind;
          if (kind === 'server-error') await app.admin.setFaults({ failNext: times });
          if (kind === 'drop-after-commit') await app.admin.setFaults({ dropAfterCommitNext: times });
          if (kind === 'rate-limit') {
            // A token bucket of 2 requests refilled at 2/s; 429 carries Retry-After (computed: 1 s).
            // Spend the bucket first so the connector's first request is the one refused.
            // Three: a grant may read the user, read its memberships and write.
            await app.admin.setFaults({ rateLimit: { requestsPerSecond: 2, burst: 3 } });
            for (let i = 0; i < 3; i += 1) await app.scim('GET', '/ServiceProviderConfig');
          }
        },
        async fired(kind) {
          const { injected } = await app.admin.faults();
          if (kind !== armed) return 0;
          return kind === 'rate-limit' ? injected.rateLimited : kind === 'server-error' ? injected.failed : kind === 'drop-after-commit' ? injected.dropped : 0;
        },
        async clear() {
          armed = undefined;
          await app.admin.clearFaults();
        },
      },
      close: () => app.close(),
    };
  }, { attributeNames: { identifier: 'userName', familyName: 'name.familyName', email: 'emails', title: 'title', manager: 'manager' }, faultKinds: faultKindsOf(profile), userNamesCaseExact: profiles[profile].userNameCaseExact, membershipsReadable: readable });
}
