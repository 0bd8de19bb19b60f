// usage: npm run build && npx tsc -p tsconfig.bench.json --outDir dist && [HB=10] node bench/tools/heap-after-heartbeats.js
// The API process's heap (from its /metrics: used, total, RSS, and each V8 space) at start, with
// 2,000 agents connected, after HB seconds of closed-loop heartbeats, and every 10 s for 40 s
// after the fleet closed: how much of the loop's garbage the old generation holds, and when V8
// collects it (the pick row's p99 after the heartbeat loop, session 10). A scratch database,
// dropped after. BENCH_SERVICE_NODE_OPTIONS and the service's settings apply.
const { ROOT, withScratchService } = require('./scratch-service');
const { connectFleet, heartbeatClosedLoop } = require(ROOT + '/dist/bench/lib/agents-load');

const SECONDS = Number(process.env.HB || 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

withScratchService('scratch_heap', async ({ seeded, service }) => {
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
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
