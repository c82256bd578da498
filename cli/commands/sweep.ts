// `provisioner sweep grants --now`: starts the grant sweep (the safety net of request grants,
// workflows/grant-sweep.ts) at once instead of at its schedule's next run. The sweep itself is the
// schedule's: same settings, same audit; a sweep already running makes this one skip.
import type { Command } from 'commander';
import { loadConfig } from '../../schemas/config.js';
import { triggerGrantSweep } from '../../runtime/grant-sweep-schedule.js';
import { withClient } from './status.js';
import { say } from '../say.js';

export function registerSweepCommands(program: Command): void {
  const sweep = program.command('sweep').description('the scheduled safety nets');
  sweep
    .command('grants')
    .description('request grants past their end that their person\'s workflow did not revoke: handed to it for revocation')
    .requiredOption('--now', 'run the sweep now (its schedule runs it every grantSweep.everyMinutes)')
    .action(async () => {
      const cfg = loadConfig();
      const scheduleId = await withClient(cfg, (client) => triggerGrantSweep(client, cfg.temporal.taskQueue));
      say(`grant sweep started by its schedule ${scheduleId} (skipped if one is running); its result is in the Temporal UI under Schedules`);
    });
}
