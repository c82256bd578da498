// When a reconciliation may remove: never from a listing that may be incomplete, because a
// complete listing's silence is what a removal rests on. Each rule that holds names itself; any
// one of them stops every removal (revoke, disable) of the run, and the run says why. Additions
// and reports go on: a missing account found in a partial listing is still missing.
// Pure: the listing's summary and the policy's share in, reasons out.

export type ListingSummary = {
  /** Accounts the listing returned (after de-duplication). */
  accounts: number;
  /** The listing ended on its last page; false when a page failed for good. */
  complete: boolean;
  /** Why a page failed, when one did. */
  failure?: string;
  /** The application's own count (SCIM totalResults), when it gave one. */
  reportedTotal?: number;
  /** Accounts whose memberships the application could not say. */
  entitlementsUnknown: number;
};

export type RemovalSafetyInput = {
  listing: ListingSummary;
  /** The accounts of the application's last complete listing; absent: none before. */
  previousAccounts?: number;
  /** The largest share (0-1) a listing may shrink by against the last complete one. */
  maxShrink: number;
};

export type RemovalBlock = { rule: 'quarantined' | 'failed-page' | 'empty-listing' | 'shrank' | 'unproven-total' | 'entitlements-unknown'; reason: string };

export function removalBlocks(input: RemovalSafetyInput): RemovalBlock[] {
  const { listing, previousAccounts, maxShrink } = input;
  const blocks: RemovalBlock[] = [];
  if (!listing.complete) blocks.push({ rule: 'failed-page', reason: `the listing did not complete${listing.failure ? `: ${listing.failure}` : ''}` });
  if (listing.accounts === 0 && previousAccounts !== undefined && previousAccounts > 0) {
    blocks.push({ rule: 'empty-listing', reason: `the listing is empty and the last complete one held ${previousAccounts} accounts` });
  } else if (previousAccounts !== undefined && previousAccounts > 0 && listing.accounts < previousAccounts * (1 - maxShrink)) {
    const share = 1 - listing.accounts / previousAccounts;
    blocks.push({ rule: 'shrank', reason: `the listing shrank by ${(share * 100).toFixed(1)} % (${previousAccounts} → ${listing.accounts}), more than maxShrink ${(maxShrink * 100).toFixed(1)} %` });
  }
  if (listing.reportedTotal !== undefined && listing.reportedTotal !== listing.accounts) {
    blocks.push({ rule: 'unproven-total', reason: `the application reported ${listing.reportedTotal} accounts and the listing holds ${listing.accounts}` });
  }
  if (listing.entitlementsUnknown > 0) {
    blocks.push({ rule: 'entitlements-unknown', reason: `${listing.entitlementsUnknown} account(s) came without their memberships` });
  }
  return blocks;
}
