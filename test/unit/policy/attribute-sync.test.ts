import { describe, expect, it } from 'vitest';
import type { AccountRef } from '../../../connectors/contract.js';
import { planIdentity, type ActualAccount } from '../../../policy/planner.js';
import { undoOf } from '../../../policy/undo-step.js';
import { baseFiles, compiled, load, NOW, person } from './fixtures.js';

// chat maps a few attributes and allows renames; directory keeps the default map (rename: action-required).
const mapped = baseFiles['applications.yaml']!.replace(
  `  - id: chat
    connector: scim
    config: chat
    owner: owners
    classification: internal
`,
  `  - id: chat
    connector: scim
    config: chat
    owner: owners
    classification: internal
    rename: allowed
    attributes:
      userName: (givenName + "." + familyName).lowerAscii()
      name.givenName: givenName
      name.familyName: familyName
      emails: email
      title: title
      department: department
`,
);
const policy = compiled({ 'applications.yaml': mapped });

const named = { givenName: 'Ada', familyName: 'Lovelace', email: 'ada@example.com', department: 'eng', title: 'Engineer' };
const ref = (app: string): AccountRef => ({ app, id: `${app}-1`, externalId: 'E1' });
const chatHas = { userName: 'ada.lovelace', 'name.givenName': 'Ada', 'name.familyName': 'Lovelace', emails: 'ada@example.com', title: 'Engineer', department: 'eng' };
const directoryHas = { uid: 'ada@example.com', cn: 'Ada Lovelace', sn: 'Lovelace', givenName: 'Ada', mail: 'ada@example.com', displayName: 'Ada Lovelace' };
const actual = (chat = chatHas, directory = directoryHas): ActualAccount[] => [
  { app: 'chat', account: ref('chat'), active: true, entitlements: ['all-staff', 'eng'], attributes: chat },
  { app: 'code', account: ref('code'), active: true, entitlements: ['developers'] },
  { app: 'directory', account: ref('directory'), active: true, entitlements: ['staff'], attributes: directory },
];
const plan = (attrs: Record<string, unknown>, accounts = actual()) => planIdentity(policy, { identity: person({ ...named, ...attrs }), actual: accounts, now: NOW }).plan;

describe('attribute maps: checked when the policy loads', () => {
  const problems = (attributes: string, connector = 'scim') =>
    load({ 'applications.yaml': `applications:\n  - id: chat\n    connector: ${connector}\n    config: chat\n    owner: owners\n    classification: internal\n    attributes:\n${attributes}\n` }).problems.map((p) => `${p.path}: ${p.message}`)
      // The one-application policy breaks the base roles' references: only the map's problems matter here.
      .filter((p) => p.startsWith('applications[0].attributes'));

  it('refuses an expression that is not a string, naming the attribute and the column', () => {
    expect(problems('      title: level')).toContainEqual(expect.stringMatching(/applications\[0\]\.attributes\.title: CEL type error at column \d+: an attribute value must be of type string, this one is int/));
  });

  it('refuses an undeclared attribute and an attribute outside the vocabulary', () => {
    const found = problems('      title: costCentre\n      nickName: givenName');
    expect(found.some((p) => p.includes('attributes.title') && /costCentre/.test(p))).toBe(true);
    expect(found.some((p) => p.includes('unknown scim account attribute "nickName"'))).toBe(true);
  });

  it('refuses employeeNumber for LDAP: it is the correlation key', () => {
    expect(problems('      employeeNumber: employeeId', 'ldap')).toContainEqual(expect.stringContaining('employeeNumber is the correlation key'));
  });

  it('accepts derived values: concatenation, lowerAscii, string() of an int', () => {
    expect(problems('      userName: (givenName + "." + familyName).lowerAscii()\n      title: title + " (" + string(level) + ")"')).toEqual([]);
  });
});

describe('attribute sync: planning updates', () => {
  it('plans nothing when every mapped value is there (after trim and NFC)', () => {
    // "Lovelace " and a decomposed é compare equal to what the application holds.
    const p = plan({ familyName: 'Lovelace ' });
    expect(p.steps).toEqual([]);
    const nfc = plan({ givenName: 'Ade\u0300le' }, actual({ ...chatHas, userName: 'adèle.lovelace', 'name.givenName': 'Adèle' }, { ...directoryHas, cn: 'Adèle Lovelace', givenName: 'Adèle', displayName: 'Adèle Lovelace' }));
    expect(nfc.steps).toEqual([]);
  });

  it('updates exactly the differing attributes, from and to, in every application that reports them', () => {
    const p = plan({ familyName: 'King', email: 'ada.king@example.com' });
    const chat = p.steps.find((s) => s.key === 'updateAccount/chat')!;
    expect(chat).toMatchObject({ action: 'updateAccount', account: ref('chat'), reason: 'attributes differ: emails, name.familyName, userName' });
    expect(chat.attributes).toEqual({
      userName: { from: 'ada.lovelace', to: 'ada.king' },
      'name.familyName': { from: 'Lovelace', to: 'King' },
      emails: { from: 'ada@example.com', to: 'ada.king@example.com' },
    });
    expect(chat.fenced).toBeUndefined();
    const directory = p.steps.find((s) => s.key === 'updateAccount/directory')!;
    expect(directory.attributes).toEqual({
      cn: { from: 'Ada Lovelace', to: 'Ada King' },
      sn: { from: 'Lovelace', to: 'King' },
      displayName: { from: 'Ada Lovelace', to: 'Ada King' },
      mail: { from: 'ada@example.com', to: 'ada.king@example.com' },
    });
    // code reports no attributes: nothing is compared, nothing updated.
    expect(p.steps.some((s) => s.app === 'code')).toBe(false);
    expect(p.kind).toBe('mover');
  });

  it('plans a rename the application does not allow for a human: its own step, action-required, nothing to call', () => {
    const p = plan({ email: 'ada.king@example.com' });
    const rename = p.steps.find((s) => s.key === 'updateAccount/directory/rename')!;
    expect(rename.attributes).toEqual({ uid: { from: 'ada@example.com', to: 'ada.king@example.com' } });
    expect(rename.actionRequired).toMatch(/directory does not rename accounts \(rename: action-required\)/);
    // The mail change still goes through, in a step of its own.
    expect(p.steps.find((s) => s.key === 'updateAccount/directory')!.attributes).toEqual({ mail: { from: 'ada@example.com', to: 'ada.king@example.com' } });
    expect(undoOf(rename)).toMatchObject({ kind: 'nothing' });
  });

  it('clears an attribute the person no longer has (empty), and leaves one it cannot compute', () => {
    const p = plan({ title: '', department: undefined });
    expect(p.steps.find((s) => s.key === 'updateAccount/chat')!.attributes).toEqual({ title: { from: 'Engineer', to: null } });
  });

  it('never updates a leaver', () => {
    const p = plan({ status: 'terminated', familyName: 'King' });
    expect(p.steps.some((s) => s.action === 'updateAccount')).toBe(false);
  });

  it('creates an account of an application with a map with its mapped values; without a map, as before', () => {
    const p = planIdentity(policy, { identity: person({ ...named, department: 'eng' }), actual: [], now: NOW }).plan;
    expect(p.steps.find((s) => s.key === 'ensureAccount/chat')!.attributes).toEqual({
      userName: { from: null, to: 'ada.lovelace' },
      'name.givenName': { from: null, to: 'Ada' },
      'name.familyName': { from: null, to: 'Lovelace' },
      emails: { from: null, to: 'ada@example.com' },
      title: { from: null, to: 'Engineer' },
      department: { from: null, to: 'eng' },
    });
    expect(p.steps.find((s) => s.key === 'ensureAccount/directory')!.attributes).toBeUndefined();
  });

  it('undoes an update with the update back to the values before', () => {
    const step = plan({ familyName: 'King' }).steps.find((s) => s.key === 'updateAccount/chat')!;
    const undo = undoOf(step);
    expect(undo).toMatchObject({ kind: 'step', step: { action: 'updateAccount', key: 'undo/updateAccount/chat', account: ref('chat') } });
    expect(undo.kind === 'step' && undo.step.attributes).toEqual({ userName: { from: 'ada.king', to: 'ada.lovelace' }, 'name.familyName': { from: 'King', to: 'Lovelace' } });
  });
});
