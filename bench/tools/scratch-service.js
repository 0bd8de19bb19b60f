// Shared by the tools that start a service of their own (outcome-reports-alone.js, alloc-per-heartbeat.js,
// heap-after-heartbeats.js); not run by itself. A scratch database on BENCH_DATABASE_URL's
// server, migrated and seeded with a tenant, the service on it (one process, the bench's
// settings; BENCH_SERVICE_NODE_OPTIONS and the environment's settings apply), then the service
// stopped and the database dropped, whatever happened.
const path = require('path');
const { spawnSync } = require('child_process');
const ROOT = path.resolve(__dirname, '..', '..');
const { startService } = require(ROOT + '/dist/bench/lib/service');
const { seedTenant } = require(ROOT + '/dist/bench/lib/seed');
const { admin, dbUrl } = require(ROOT + '/dist/bench/lib/database');

/**
 * Runs `run({ db, seeded, service })` on a scratch database named `${prefix}_${pid}`;
 * `prepare(db, seeded)`, when given, seeds more before the service starts.
 */
async function withScratchService(prefix, run, prepare) {
  const name = `${prefix}_${process.pid}`;
  await admin(`create database ${name}`);
  const db = dbUrl(name);
  let service;
  try {
    const migrated = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/db/migrate-cli.js')], {
      env: { ...process.env, DATABASE_URL: db },
      encoding: 'utf8',
    });
    if (migrated.status !== 0) throw new Error(migrated.stderr);
    const seeded = await seedTenant(db);
    if (prepare) await prepare(db, seeded);
    service = await startService({
      NODE_ENV: 'production',
      DATABASE_URL: db,
      BOOTSTRAP: 'false',
      DATABASE_POOL_SIZE: '16',
      WS_RATE_LIMIT_PER_SEC: '1000',
      WS_RATE_BURST: '1000',
      WORKERS: '1',
    });
    return await run({ db, seeded, service });
  } finally {
    await service?.stop();
    await admin(`drop database if exists ${name} with (force)`);
  }
}

module.exports = { ROOT, withScratchService };
