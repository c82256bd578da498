// What the oracle compares of one application of a drill's pipeline, whatever its connector: its
// accounts (correlated by employee id) with the groups each holds, and, where the application keeps
// a write log (the drill's SCIM apps), how many times each person's account was created.
export type AppAccount = { id: string; externalId: string; active: boolean; groups: readonly string[] };

export type AppView = {
  name: string;
  accounts: AppAccount[];
  /** Creates per employee id, from the application's write log; absent where the application keeps none. */
  creates?: ReadonlyMap<string, number>;
};
