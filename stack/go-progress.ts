// Progress of a `go install` / `go build` for the person waiting on it (the Temporal CLI, the
// secured Temporal server, Prometheus): modules downloaded, checksum trouble, and a heartbeat while
// the compiler runs silently (minutes on two cores).
import type { Reporter } from './shell.js';

/** Reports every 25 modules downloaded, and checksum trouble, as `<name>: ...`. */
export function goProgress(report: Reporter, name: string): (line: string) => void {
  let modules = 0;
  return (line) => {
    if (line.startsWith('go: downloading')) {
      modules += 1;
      if (modules % 25 === 0) report(`${name}: ${modules} Go modules downloaded...`);
    } else if (/verifying|SECURITY|checksum/i.test(line)) {
      report(`${name}: ${line} (the Go checksum database must be reachable; it is not disabled)`);
    }
  };
}

/** Says every `everyMs` that the build still runs, until the returned function is called. */
export function buildHeartbeat(report: Reporter, name: string, everyMs = 30_000): () => void {
  const started = Date.now();
  const timer = setInterval(() => report(`${name}: still building (${Math.round((Date.now() - started) / 1000)} s)...`), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
