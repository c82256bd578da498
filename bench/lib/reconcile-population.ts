// The reconciliation benchmark's population (bench/reconcile.ts): N people, what the policy wants
// each of them to have in one application (the compare's desired side), the accounts that
// application holds with 1 % seeded drift of each kind, and the findings that drift must produce
// (the ground truth). Pure and deterministic in (N, seed): the SCIM and the directory seeders
// (reconcile-seed.ts) write the same accounts in their own shapes.
//
// Each drifted account drifts in exactly one way, so each seeded drift is exactly one finding:
//   missing-account       an active person without an account;
//   uncorrelated-account  an active person without an account, and an account without a
//                         correlation key whose userName is theirs (the correlation rule adopts it);
//   orphan-account        an account whose correlation key names nobody in the store;
//   missing-entitlement   an account lacking one of its person's desired groups;
//   extra-entitlement     an account holding a group its person is not meant to have;
//   wrong-state           a disabled account of an active person, or an enabled one of a leaver;
//   attribute-drift       an account whose `title` differs from the policy's value.
// Everyone else (and their account) matches exactly: a finding outside the truth is a false positive.
import type { DriftKind } from '../../policy/drift.js';
import { rng } from './args.js';

export const GROUPS = ['rb-sales', 'rb-support', 'rb-engineering', 'rb-finance'] as const;

/** One account in the application, in connector-neutral terms; the seeders write it in their shape. */
export type SeedAccount = {
  /** Stable within the population: the SCIM id and the LDAP RDN are made from it. */
  key: string;
  /** Absent: an account without a correlation key. */
  externalId?: string;
  userName: string;
  email: string;
  givenName: string;
  familyName: string;
  title: string;
  /** A person: false for a leaver, whose account should be disabled and hold nothing. */
  active: boolean;
  /** Indexes into GROUPS: the policy's (a person) or the held ones (an account). */
  groups: number[];
};

/** A person in the store, with what the policy wants their account to be. */
export type Person = Omit<SeedAccount, 'key' | 'externalId'> & { index: number; employeeId: string };

export type TruthFinding = { kind: DriftKind; employeeId?: string; accountKey?: string; group?: number; attribute?: string };

export type Population = {
  people: Person[];
  accounts: SeedAccount[];
  truth: TruthFinding[];
  /** How many accounts of each kind were seeded (the same for every kind). */
  perKind: number;
};

const DRIFT_KINDS: DriftKind[] = ['missing-account', 'uncorrelated-account', 'orphan-account', 'missing-entitlement', 'extra-entitlement', 'wrong-state', 'attribute-drift'];
const TITLES = ['Analyst', 'Engineer', 'Manager', 'Consultant', 'Designer'];

export const employeeIdOf = (i: number) => `RB${String(i).padStart(7, '0')}`;

export function generatePopulation(count: number, seed: number, share = 0.01): Population {
  const random = rng(seed);
  const perKind = Math.max(1, Math.round(count * share));
  const people: Person[] = [];
  for (let i = 0; i < count; i += 1) {
    const active = i % 20 !== 19; // 5 % leavers
    people.push({
      index: i,
      employeeId: employeeIdOf(i),
      userName: `rb.user${i}@bench.example`,
      email: `rb.user${i}@bench.example`,
      givenName: `Given${i}`,
      familyName: `Family${i}`,
      title: TITLES[i % TITLES.length]!,
      active,
      groups: active ? [i % GROUPS.length, (i + 1) % GROUPS.length] : [],
    });
  }
  // A deterministic shuffle of the people; drift takes disjoint slices of it.
  const order = people.map((p) => p.index);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const activeOrder = order.filter((i) => people[i]!.active);
  const leaverOrder = order.filter((i) => !people[i]!.active);
  const kindOf = new Map<number, DriftKind>();
  let next = 0;
  for (const kind of DRIFT_KINDS) {
    if (kind === 'orphan-account') continue; // orphans are extra accounts, not people
    const take = kind === 'wrong-state' ? [...activeOrder.slice(next, next + Math.ceil(perKind / 2)), ...leaverOrder.slice(0, Math.floor(perKind / 2))] : activeOrder.slice(next, next + perKind);
    next += kind === 'wrong-state' ? Math.ceil(perKind / 2) : perKind;
    for (const i of take) kindOf.set(i, kind);
  }
  if (next > activeOrder.length) throw new RangeError(`${count} people are too few for ${perKind} drifted accounts of each kind`);

  const accounts: SeedAccount[] = [];
  const truth: TruthFinding[] = [];
  const accountOf = (p: Person): SeedAccount => ({
    key: `a${p.index}`,
    externalId: p.employeeId,
    userName: p.userName,
    email: p.email,
    givenName: p.givenName,
    familyName: p.familyName,
    title: p.title,
    active: p.active,
    groups: [...p.groups],
  });
  for (const p of people) {
    const kind = kindOf.get(p.index);
    const account = accountOf(p);
    switch (kind) {
      case undefined:
        accounts.push(account);
        break;
      case 'missing-account':
        truth.push({ kind, employeeId: p.employeeId });
        break;
      case 'uncorrelated-account': {
        const { externalId: _key, ...keyless } = account;
        accounts.push({ ...keyless, key: `u${p.index}`, groups: [] });
        truth.push({ kind, employeeId: p.employeeId, accountKey: `u${p.index}` });
        break;
      }
      case 'missing-entitlement': {
        const lost = account.groups.pop()!;
        accounts.push(account);
        truth.push({ kind, employeeId: p.employeeId, group: lost });
        break;
      }
      case 'extra-entitlement': {
        const extra = [0, 1, 2, 3].find((g) => !account.groups.includes(g))!;
        account.groups.push(extra);
        accounts.push(account);
        truth.push({ kind, employeeId: p.employeeId, group: extra });
        break;
      }
      case 'wrong-state':
        accounts.push({ ...account, active: !p.active });
        truth.push({ kind, employeeId: p.employeeId });
        break;
      case 'attribute-drift':
        accounts.push({ ...account, title: `${p.title} (old)` });
        truth.push({ kind, employeeId: p.employeeId, attribute: 'title' });
        break;
      default:
        throw new TypeError(`unexpected drift kind ${kind}`);
    }
  }
  for (let j = 0; j < perKind; j += 1) {
    // A correlation key that names nobody: a person who left before the store knew them.
    const key = `o${j}`;
    accounts.push({ key, externalId: `RBX${String(j).padStart(6, '0')}`, userName: `rb.orphan${j}@bench.example`, email: `rb.orphan${j}@bench.example`, givenName: `Orphan${j}`, familyName: 'Gone', title: 'Analyst', active: true, groups: [j % GROUPS.length] });
    truth.push({ kind: 'orphan-account', accountKey: key });
  }
  return { people, accounts, truth, perKind };
}
