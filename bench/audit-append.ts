// Benchmark (not a test): audit appends per second against the real PostgreSQL. Three shapes:
//   1 writer          one append at a time, each its own transaction (latency-bound)
//   N writers, shared N concurrent writers in one process sharing a store: group commit batches them
//   N writers, apart  N writers with a store and connection each (like N worker processes): one
//                     record per transaction, all contending for the head's row lock
// Each run uses a throw-away schema and keys, verifies the chain it wrote, and drops the schema.
//
// Build and run (bench/ is not part of tsconfig.build.json):
//   npx tsc --outDir /tmp/bench-out --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --strict --skipLibCheck --esModuleInterop --types node bench/audit-append.ts
//   cp package.json /tmp/bench-out/ && ln -sfn "$PWD/node_modules" /tmp/bench-out/node_modules \
//     && ln -sfn "$PWD/store/migrations" /tmp/bench-out/store/migrations
//   node /tmp/bench-out/bench/audit-append.js [--records 8000] [--writers 8] [--subjects 200]
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { loadConfig, ownerConnection, runtimeConnection } from '../schemas/config.js';
import type { AuditEntry } from '../store/audit-record.js';
import { verifyAuditChain } from '../store/audit-verify.js';
import { createStorePool } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { createSigner, createVerifier, generateSigningSeed } from '../store/signing.js';
import { createStore, type Store } from '../store/store.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '8000' },
    writers: { type: 'string', default: '8' },
    subjects: { type: 'string', default: '200' },
  },
});
const total = Number(values.records);
const writerCount = Number(values.writers);
const subjects = Number(values.subjects);

const cfg = loadConfig();
// As the worker connects: the runtime role (TLS, password file); the owner, when there is one, makes and drops the schema.
const runtime = runtimeConnection(cfg);
const owner = ownerConnection(cfg);
const signer = createSigner('bench', generateSigningSeed());
const keys = {
  signer,
  verifier: createVerifier([{ id: signer.keyId, publicKey: signer.publicKey }]),
  kek: { activeId: 'bench', keys: new Map([['bench', randomBytes(32)]]) },
};

// A typical record: a grant by the identity workflow, about a person, with a sealed account reference.
const entry = (w: number, i: number): AuditEntry => ({
  actor: { type: 'system', id: 'identity-workflow' },
  action: 'grant.added',
  reason: 'birthright rule engineering-base',
  eventId: `evt-${w}-${i}`,
  workflowId: `identity/B${(w * 7919 + i) % subjects}`,
  policyVersion: 'policy-0123456789ab',
  subject: { employeeId: `B${(w * 7919 + i) % subjects}` },
  changes: [{ op: 'grant', app: 'crm', entitlement: 'group:sales', outcome: 'applied', account: `acct-${w}-${i}` }],
});

async function run(label: string, writers: number, separate: boolean): Promise<void> {
  const schema = `bench_audit_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = createStorePool(runtime, { schema, max: writers + 1 });
  const ownerPool = owner ? createStorePool(owner, { schema, max: 1 }) : admin;
  const { rows: [me] } = await admin.query<{ role: string }>('select current_user as role');
  await migrate(ownerPool, { schema, runtimeRole: me!.role });
  const shared = createStore({ pool: admin, schema, keys });
  const pools: pg.Pool[] = [];
  const storeFor = (): Store => {
    if (!separate) return shared;
    const pool = createStorePool(runtime, { schema, max: 1 });
    pools.push(pool);
    return createStore({ pool, schema, keys });
  };
  try {
    // Warm-up: create the subjects (their pseudonyms and keys) so the timed part measures appends.
    await Promise.all(Array.from({ length: subjects }, (_, s) =>
      shared.audit({ actor: { type: 'system', id: 'bench' }, action: 'bench.warmup', reason: 'warm-up', subject: { employeeId: `B${s}` } })));
    const stores = Array.from({ length: writers }, storeFor);
    const each = Math.floor(total / writers);
    const started = process.hrtime.bigint();
    await Promise.all(stores.map(async (store, w) => {
      for (let i = 0; i < each; i += 1) await store.audit(entry(w, i));
    }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const appended = each * writers;
    const verifyStarted = process.hrtime.bigint();
    const verified = await verifyAuditChain(admin, { verifier: keys.verifier });
    const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
    if (!verified.ok) throw new Error(`the benchmark's chain does not verify: ${verified.problem?.message}`);
    console.log(
      `${label.padEnd(22)} ${appended} appends in ${seconds.toFixed(2)} s = ${(appended / seconds).toFixed(0).padStart(5)} appends/s ` +
        `(${((seconds * 1000 * writers) / appended).toFixed(2)} ms per append per writer); ` +
        `verify: ${verified.verified} records in ${verifySeconds.toFixed(2)} s = ${(verified.verified / verifySeconds).toFixed(0)} records/s`,
    );
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await ownerPool.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
    if (ownerPool !== admin) await ownerPool.end();
  }
}

const cpu = os.cpus();
console.log(`audit-append: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ` +
  `PostgreSQL at ${runtime.url.replace(/\/\/[^@]*@/, '//***@')} (TLS ${runtime.tls.mode}), ${total} records per run`);
await run('1 writer', 1, false);
await run(`${writerCount} writers, shared`, writerCount, false);
await run(`${writerCount} writers, apart`, writerCount, true);
