// Employee ids name people, and people are not told apart by letter case: an HRIS that sends
// `E1001` and an approver whose token says `e1001` are one person. Wherever identity decides
// something (the requester or the beneficiary deciding their own approval, who is eligible, who
// already voted), ids are compared by this rule. Upper-casing is locale-independent in JavaScript,
// so the rule is deterministic in workflow code.
export const employeeKey = (id: string): string => id.toUpperCase();

export function sameEmployee(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && employeeKey(a) === employeeKey(b);
}

export function includesEmployee(ids: readonly string[], id: string): boolean {
  return ids.some((x) => sameEmployee(x, id));
}
