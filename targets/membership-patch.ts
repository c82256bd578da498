// PATCH requests that only add or remove group members, applied to the stored member list.
//
// scimmy's Resource#patch turns the whole group into schema instances about six times per request
// (read, copy, inbound, outbound, ...), at roughly 70 µs per member each: a membership change on a
// 1,000-member group would cost about half a second of CPU, and the benchmark adds thousands of
// members. So for the shapes provisioning clients send for membership (RFC 7644 §3.5.2.1 add,
// §3.5.2.2 remove by filter, and remove by value as Entra ID sends it, §3.5.2.3 replace) we still
// validate the message with scimmy's PatchOp and select members with scimmy's Filter, but edit the
// list directly. Every other PATCH goes through scimmy's Resource#patch.
import SCIMMY from 'scimmy';
import type { ScimContext } from './context.js';
import { applyWrite } from './resources.js';
import { scimError } from './scim-errors.js';
import { membersOf, type StoredRecord } from './store.js';

type PatchMessage = InstanceType<typeof SCIMMY.Messages.PatchOp>;
type Member = Record<string, unknown>;

type MemberOperation =
  | { kind: 'add'; members: Member[] }
  | { kind: 'replace'; members: Member[] }
  | { kind: 'remove-filter'; expression: string }
  | { kind: 'remove-values'; members: Member[] };

const filteredMembers = /^members\[(.+)\]$/i;

function memberValues(value: unknown): Member[] | undefined {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.every((m) => m !== null && typeof m === 'object' && !Array.isArray(m) && typeof (m as Member).value === 'string')
    ? (list as Member[])
    : undefined;
}

/** The operations, when every one of them is a membership change this module handles. */
export function membershipOperations(message: PatchMessage): MemberOperation[] | undefined {
  const operations: MemberOperation[] = [];
  for (const { op, path, value } of message.Operations as Array<{ op: string; path?: string; value?: unknown }>) {
    const kind = op.toLowerCase();
    const target = path?.trim();
    const members = memberValues(value);
    if (kind === 'add' && target?.toLowerCase() === 'members' && members) operations.push({ kind: 'add', members });
    else if (kind === 'replace' && target?.toLowerCase() === 'members' && members) operations.push({ kind: 'replace', members });
    else if (kind === 'remove' && target && filteredMembers.test(target) && value === undefined) {
      operations.push({ kind: 'remove-filter', expression: filteredMembers.exec(target)![1]! });
    } else if (kind === 'remove' && target?.toLowerCase() === 'members' && members) operations.push({ kind: 'remove-values', members });
    else return undefined;
  }
  return operations;
}

/**
 * The `filter-only` behaviour: servers that remove a member only through a filtered path
 * (`members[value eq "<id>"]`, RFC 7644 §3.5.2.2) and refuse a `members` remove with a value list
 * (the form Entra ID sends). Throws 400 invalidPath for the first such operation.
 */
export function assertFilteredMemberRemovals(message: PatchMessage): void {
  (message.Operations as Array<{ op: string; path?: string; value?: unknown }>).forEach(({ op, path, value }, index) => {
    if (op.toLowerCase() !== 'remove' || value === undefined) return;
    const target = path?.trim().toLowerCase();
    if (target === 'members' || (target === undefined && value !== null && typeof value === 'object' && 'members' in value)) {
      throw scimError(
        400,
        'invalidPath',
        `operation ${index + 1}: this service provider removes group members only by a filtered path, e.g. members[value eq "<id>"]; a 'remove' of members with a value list is not supported`,
      );
    }
  });
}

/** Members a removal selects; RFC 7644 §3.12 noTarget when it selects none. */
function selected(current: Member[], filter: ConstructorParameters<typeof SCIMMY.Types.Filter>[0], what: string, index: number): Member[] {
  const found = new SCIMMY.Types.Filter(filter).match(current) as Member[];
  if (found.length === 0) throw scimError(400, 'noTarget', `${what} matches no member for 'remove' op of operation ${index + 1} in PatchOp request body`);
  return found;
}

/** Applies membership operations to a stored group; returns the group as stored afterwards. */
export function applyMembershipPatch(group: StoredRecord, operations: MemberOperation[], ctx: ScimContext): StoredRecord {
  let members: Member[] = membersOf(group).map((m) => ({ ...m }));
  operations.forEach((operation, index) => {
    switch (operation.kind) {
      case 'add': // adding a member already present changes nothing (§3.5.2.1); applyWrite de-duplicates
        members = [...members, ...operation.members];
        break;
      case 'replace':
        members = [...operation.members];
        break;
      case 'remove-filter': {
        const removed = new Set(selected(members, operation.expression, `members[${operation.expression}]`, index));
        members = members.filter((m) => !removed.has(m));
        break;
      }
      case 'remove-values': {
        const removed = new Set<Member>();
        for (const wanted of operation.members) {
          // A member is identified by its value; display or $ref a client echoes back do not have to match.
          for (const m of selected(members, { value: ['eq', wanted.value] }, `value ${JSON.stringify(wanted.value)}`, index)) removed.add(m);
        }
        members = members.filter((m) => !removed.has(m));
        break;
      }
    }
  });
  const { id, meta: _meta, ...attributes } = group;
  return applyWrite('Group', id, { ...attributes, members: members.map(({ $ref: _ref, ...m }) => m) }, ctx);
}
