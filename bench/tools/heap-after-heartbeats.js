// usage: npm run build && npx tsc -p tsconfig.bench.json --outDir dist && [HB=10] node bench/tools/heap-after-heartbeats.js
// The API process's heap (from its /metrics: used, total, RSS, and each V8 space) at start, with
// 2,000 agents connected, after HB seconds of closed-loop heartbeats, and every 10 s for 40 s
// after the fleet closed: how much of the loop's garbage the old generation holds, and when V8
// collects it (the pick row's p99 after the heartbeat loop, session 10). A scratch database,
// dropped after. BENCH_SERVICE_NODE_OPTIONS and the service's settings apply.
const path = require('path');
const { spawnSync } = require('child_process');
const ROOT = path.resolve(__dirname, '..', '..');
const { Client } = require(ROOT + '/node_modules/pg');
const { startService } = require(ROOT + '/dist/bench/lib/service');
const { seedTenant } = require(ROOT + '/dist/bench/lib/seed');
const { connectFleet, heartbeatClosedLoop } = require(ROOT + '/dist/bench/lib/agents-load');

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.HB || 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function admin(sql) {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(sql);
  await c.end();
}

(async () => {
  const name = 'scratch_heap_' + process.pid;
  await admin(`create database ${name}`);
  const db = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  let service;
  try {
    const m = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/db/migrate-cli.js')], { env: { ...process.env, DATABASE_URL: db }, encoding: 'utf8' });
    if (m.status !== 0) throw new Error(m.stderr);
    const seeded = await seedTenant(db);
    service = await startService({ NODE_ENV: 'production', DATABASE_URL: db, BOOTSTRAP: 'false', DATABASE_POOL_SIZE: '16', WS_RATE_LIMIT_PER_SEC: '1000', WS_RATE_BURST: '1000', WORKERS: '1' });

    const heap = async (label) => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const mb = (metric) => Number(text.match(new RegExp(`^${metric}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'))?.[1] ?? 0) / 1e6;
      const spaces = [...text.matchAll(/^nodejs_heap_space_size_used_bytes\{space="([^"]+)"\} ([0-9.e+]+)$/gm)]
        .filter((s) => Number(s[2]) > 0)
        .map((s) => `${s[1]} ${(Number(s[2]) / 1e6).toFixed(1)}`)
        .join(', ');
      console.log(
        `${label.padEnd(26)} heap used ${mb('nodejs_heap_size_used_bytes').toFixed(1)} MB, total ${mb('nodejs_heap_size_total_bytes').toFixed(1)}, ` +
          `RSS ${mb('process_resident_memory_bytes').toFixed(1)}; used by space: ${spaces}`,
      );
    };

    await heap('started');
    await sleep(15_000);
    await heap('started +15 s');
    const fleet = await connectFleet(`${service.url.replace('http', 'ws')}/agents`, seeded.agentKey, 2000, { agentId: 'heap', prefix: 'heap' });
    await heap('2,000 agents connected');
    const run = await heartbeatClosedLoop(fleet.connections, SECONDS);
    console.log(`closed loop: ${run.perSecond.toFixed(0)} acks/s for ${SECONDS} s`);
    await heap('after the closed loop');
    await fleet.close();
    await heap('fleet closed');
    for (let i = 1; i <= 4; i++) {
      await sleep(10_000);
      await heap(`fleet closed +${i * 10} s`);
    }
  } finally {
    await service?.stop();
    await admin(`drop database if exists ${name} with (force)`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
