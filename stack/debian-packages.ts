// System packages (PostgreSQL, OpenLDAP) from Debian's archive: installed by the setup when it runs
// as root on a Debian-family system; otherwise the exact command is printed and the setup stops.
import { existsSync } from 'node:fs';
import { MissingPrerequisiteError, run, type Reporter } from './shell.js';

let updated = false;

export async function installDebianPackages(packages: string[], why: string, report: Reporter): Promise<void> {
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new MissingPrerequisiteError(
      `${why} is not installed. Install it with:\n  sudo sh -c '${command}'\n(or point the stack at your own server through the environment, or use \`docker compose up\`)`,
    );
  }
  report(`installing ${packages.join(', ')} from Debian's archive (${why})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    await run('apt-get', ['update'], { env, onLine: (l) => /^(Get|Err)/.test(l) && report(`  ${l}`) });
    updated = true;
  }
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    env,
    onLine: (l) => /^(Get|Setting up|E:)/.test(l) && report(`  ${l}`),
  });
}
