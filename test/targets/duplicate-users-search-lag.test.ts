// An app that enforces no uniqueness on users and whose filtered searches lag its writes (as some
// SaaS SCIM servers do; the scim-drop drill's broken variant): a second user with another's
// userName and externalId is created, and a filter does not find a user until `searchLagMs` after
// its creation, while a read by id and an unfiltered list do at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviourOf } from '../../targets/profiles.js';
import { startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let clock = Date.now();
let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp({ now: () => clock, behaviour: behaviourOf('standard', { duplicateUsers: true, searchLagMs: 5_000 }) });
});
afterAll(async () => {
  await app.close();
});

const byExternalId = async (externalId: string) => (await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`)).body.Resources ?? [];

describe('duplicateUsers and searchLagMs', () => {
  it('creates a second user with the same userName and externalId, and finds them by filter only after the lag', async () => {
    const first = await app.scim('POST', '/Users', { body: userBody('twin', { externalId: 'E-TWIN' }) });
    expect(first.status).toBe(201);
    expect(await byExternalId('E-TWIN')).toHaveLength(0);
    expect((await app.scim('GET', `/Users/${first.body.id}`)).status).toBe(200);
    expect((await app.scim('GET', '/Users')).body.totalResults).toBe(1);
    expect((await app.scim('POST', '/Users', { body: userBody('twin', { externalId: 'E-TWIN' }) })).status).toBe(201);
    clock += 5_000;
    expect(await byExternalId('E-TWIN')).toHaveLength(2);
  });

  it('the standard profile enforces uniqueness and has no lag', () => {
    expect(behaviourOf('standard')).toMatchObject({ duplicateUsers: false, searchLagMs: 0 });
  });
});
