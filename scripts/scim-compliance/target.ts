// Starts one SCIM target app for the compliance checker (scripts/scim-compliance.sh): 127.0.0.1 on
// a free port, the bearer token from SCIM_COMPLIANCE_TOKEN, warnings and errors logged to stderr.
// Its first stdout line is the SCIM base URL; SIGTERM, SIGINT or the end of stdin stops it.
//   node dist/scripts/scim-compliance/target.js [--profile standard]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLogger } from '../../observability/logger.js';
import { behaviourOf, profileNameSchema } from '../../targets/profiles.js';
import { startScimApp } from '../../targets/server.js';

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'standard' } } });
const profile = profileNameSchema.safeParse(values.profile);
const token = process.env.SCIM_COMPLIANCE_TOKEN;
if (!profile.success || !token) {
  process.stderr.write(`scim-compliance target: ${!token ? 'set SCIM_COMPLIANCE_TOKEN' : `--profile is one of ${profileNameSchema.options.join(', ')}`}\n`);
  process.exit(2);
}

const app = await startScimApp({
  name: 'compliance',
  bearerTokens: [token],
  adminToken: randomBytes(16).toString('hex'),
  behaviour: behaviourOf(profile.data),
  logger: createLogger({ level: 'warn', name: 'scim-target', destination: pino.destination(2) }),
});
process.stdout.write(`${app.scimUrl}\n`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop).resume();
