// A server a drill owns (its own Temporal, PostgreSQL or slapd), started in the scenario's prepare
// and kept, under the address the pipeline reaches it at, for the scenario's inject to find; the
// undo forgets it and releases it (stops or removes it). A start that fails releases it at once.
export async function startOwnedServer<K, S extends { start(): Promise<unknown> }>(servers: Map<K, S>, key: K, server: S, release: () => Promise<void>): Promise<() => Promise<void>> {
  const undo = async () => {
    servers.delete(key);
    await release();
  };
  try {
    await server.start();
  } catch (err) {
    // The start's own error is the one to see: a release that fails too is added to it, never in its place.
    const released = await undo().then(() => undefined, (e: unknown) => e);
    throw released === undefined ? err : new AggregateError([err, released], `${(err as Error).message} (and releasing it failed: ${(released as Error).message})`);
  }
  servers.set(key, server);
  return undo;
}
