// What the SCIM connector takes from a server's discovery answers (connectors/scim/discovery.ts
// factsFrom): tolerant of fields it does not know and of resources it cannot read, and RFC 7643's
// defaults for whatever a server does not serve.
import { describe, expect, it } from 'vitest';
import { factsFrom, GROUP_SCHEMA, RFC_DEFAULTS } from '../../connectors/scim/discovery.js';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const BASE = 'https://crm.example.com/api/scim';
const list = (...Resources: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: Resources.length, Resources });

describe('factsFrom', () => {
  it('a server with no discovery endpoints at all (404, 501) gets the RFC defaults', () => {
    expect(factsFrom({}, BASE)).toEqual(RFC_DEFAULTS);
  });

  it('takes filter, maxResults, patch, etag and sort from the ServiceProviderConfig, keeping fields it does not know', () => {
    const facts = factsFrom({ config: { filter: { supported: true, maxResults: 200 }, patch: { supported: true }, etag: { supported: false }, sort: { supported: true }, vendorExtras: { x: 1 } } }, BASE);
    expect(facts).toMatchObject({ filter: { supported: true, maxResults: 200 }, patch: true, etag: false, sort: true });
  });

  it('takes the User and Group endpoints from /ResourceTypes, relative or absolute under the base URL; anything else is ignored', () => {
    const facts = factsFrom(
      {
        types: list(
          { name: 'User', endpoint: '/Accounts', schema: USER_SCHEMA },
          { name: 'Group', endpoint: `${BASE}/Teams`, schema: GROUP_SCHEMA },
          { name: 'Device', endpoint: '/Devices', schema: 'urn:example:Device' },
          { name: 'broken' },
        ),
      },
      BASE,
    );
    expect(facts.endpoints).toEqual({ User: '/Accounts', Group: '/Teams' });
    expect(factsFrom({ types: list({ endpoint: 'https://elsewhere.example.com/Users', schema: USER_SCHEMA }, { endpoint: '/Users?x=1', schema: GROUP_SCHEMA }) }, BASE).endpoints).toEqual(RFC_DEFAULTS.endpoints);
  });

  it('reads whether users carry groups and groups show members from /Schemas (a bare array too)', () => {
    const schemas = [
      { id: USER_SCHEMA, attributes: [{ name: 'userName', returned: 'default' }, { name: 'groups', returned: 'request' }] },
      { id: GROUP_SCHEMA, attributes: [{ name: 'displayName' }, { name: 'members', returned: 'Never' }] },
    ];
    expect(factsFrom({ schemas: list(...schemas) }, BASE)).toMatchObject({ userGroups: 'request', groupMembers: 'never' });
    expect(factsFrom({ schemas }, BASE)).toMatchObject({ userGroups: 'request', groupMembers: 'never' });
    const without = factsFrom({ schemas: list({ id: USER_SCHEMA, attributes: [{ name: 'userName' }] }, { id: GROUP_SCHEMA, attributes: [{ name: 'members' }] }) }, BASE);
    expect(without).toMatchObject({ userGroups: 'undeclared', groupMembers: 'default' });
  });

  it('an answer that is not what the RFC describes changes nothing', () => {
    expect(factsFrom({ config: 'not json', types: { Resources: 'nope' }, schemas: 42 }, BASE)).toEqual(RFC_DEFAULTS);
  });
});
