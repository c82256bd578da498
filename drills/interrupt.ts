// What a drill started (its processes, a server or cluster of its own) is stopped when the drill is
// interrupted (Ctrl-C, SIGTERM), not only when it ends: the servers are detached and would otherwise
// outlive it on ports and folders `stack down` does not know.
const cleanups = new Set<() => Promise<void>>();
let installed = false;

/** Runs `cleanup` if the process is interrupted before the returned function is called. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`drill: ${signal}: stopping what the drill started\n`);
        void Promise.allSettled([...cleanups].map((c) => c())).finally(() => process.exit(130));
      });
    }
  }
  return () => {
    cleanups.delete(cleanup);
  };
}
