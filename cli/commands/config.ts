// `provisioner config check`: what production mode would refuse in this configuration, one line
// per problem, before a deployment finds out (the same rules every long-running process applies at
// start in production mode: runtime/production-checks.ts).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConnectorsFile } from '../../connectors/config.js';
import { productionProblems, type LongRunningProcess } from '../../runtime/production-checks.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { say } from '../say.js';

const PROCESSES: readonly LongRunningProcess[] = ['worker', 'ingress', 'api'];

/** Every problem production mode would refuse for any of the processes, once each. */
export function productionReadiness(cfg: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const asProduction: Config = { ...cfg, mode: 'production' };
  const connectors = existsSync(cfg.connectors.file) ? loadConnectorsFile(cfg.connectors.file) : [];
  return [...new Set(PROCESSES.flatMap((name) => productionProblems({ cfg: asProduction, process: name, env, connectors })))];
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the configuration: is it fit for production?');
  config
    .command('check')
    .description('what production mode would refuse here (worker, ingress, api), one line each; exit 1 if anything')
    .action(() => {
      const cfg = loadConfig();
      const problems = productionReadiness(cfg);
      if (problems.length === 0) {
        say(`config: fit for production mode (${cfg.mode} mode now)`);
        return;
      }
      say(`config: production mode would refuse ${problems.length} thing${problems.length === 1 ? '' : 's'} (${cfg.mode} mode now):`);
      for (const line of problems) say(`  ${line}`);
      process.exitCode = 1;
    });
}
