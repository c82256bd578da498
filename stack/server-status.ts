// What `stack status` reports for each server.
export type ServerStatus = {
  name: string;
  /** Where it listens. */
  where: string;
  /** Started by the project (false: given by the user through the environment). */
  managed: boolean;
  /** PID of the process the project started, when it is alive. */
  pid: number | undefined;
  healthy: boolean;
  detail?: string;
};
