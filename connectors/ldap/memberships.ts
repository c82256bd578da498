// After a rename, move or delete, waits until the refint overlay has rewritten (or removed) the
// entry's DN in the groups it belongs to. slapd's refint does that in a background thread after the
// operation has answered, so without this a revoke right after a disable would find no value under
// the new DN (16) and report already-in-state while refint then puts it back. If refint does not
// catch up within `refintWaitMs` (it is not configured, say), the connector makes the same change
// itself.
import { Attribute, Change } from 'ldapts';
import type { Logger } from 'pino';
import type { CallContext } from '../contract.js';
import type { LdapPool } from './pool.js';
import { LdapResult, resultCode } from './result-codes.js';

export type SettleOptions = {
  pool: LdapPool;
  /** LdapConnectorOptions.refintWaitMs. */
  refintWaitMs?: number | undefined;
  /** The member a group keeps so a removal never empties it. */
  placeholder: (groupDn: string) => string;
  log?: Logger | undefined;
};

/** Waits for `groups` to list `newDn` (none: no longer list `oldDn`), rewriting them after the wait. */
export async function settleMemberships(options: SettleOptions, groups: string[], oldDn: string, newDn: string | undefined, call: CallContext): Promise<void> {
  if (groups.length === 0) return;
  const { pool } = options;
  const deadline = Date.now() + (options.refintWaitMs ?? 3_000);
  let pending = groups;
  for (;;) {
    const still: string[] = [];
    for (const group of pending) {
      const hasOld = await compareMember(pool, group, oldDn, call);
      const settled = !hasOld && (newDn === undefined || (await compareMember(pool, group, newDn, call)));
      if (!settled) still.push(group);
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  options.log?.warn({ groups: pending.length }, 'refint did not rewrite member DNs in time; rewriting them');
  for (const group of pending) {
    const changes = [
      ...(newDn ? [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [newDn] }) })] : []),
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [oldDn] }) }),
    ];
    for (const change of changes) {
      try {
        await pool.run('modify', call, (c) => c.modify(group, change));
      } catch (err) {
        const code = resultCode(err);
        if (code === LdapResult.attributeOrValueExists || code === LdapResult.noSuchAttribute || code === LdapResult.noSuchObject) continue;
        if (code === LdapResult.objectClassViolation) {
          const keep = new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [options.placeholder(group)] }) });
          await pool.run('modify', call, (c) => c.modify(group, [keep, change]));
          continue;
        }
        throw pool.error('rewrite a member DN', err);
      }
    }
  }
}

/** Does `group` list `dn` as a member? The server compares (distinguishedNameMatch); a missing group lists no one. */
async function compareMember(pool: LdapPool, group: string, dn: string, call: CallContext): Promise<boolean> {
  try {
    return await pool.run('compare', call, (c) => c.compare(group, 'member', dn));
  } catch (err) {
    if (resultCode(err) === LdapResult.noSuchObject) return false;
    throw pool.error('compare a member', err);
  }
}
