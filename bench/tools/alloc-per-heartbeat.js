// usage: npm run build && npx tsc -p tsconfig.bench.json --outDir dist && [HB=8] [TOP=25] [OUT=file.heapprofile] node bench/tools/alloc-per-heartbeat.js
// What the API process allocates per acknowledged heartbeat in the closed loop (2,000 agents),
// and where: V8's sampling heap profiler over the inspector, counting objects already collected
// by scavenges and mark-compacts too (--heap-prof keeps only what is alive at the end). Bytes
// per ack, then the allocation sites and their callers by share. What a heartbeat allocates
// while it waits for its batch survives scavenges and is promoted (session 11). A scratch
// database, dropped after; the inspector listens on 127.0.0.1 only.
const fs = require('fs');
process.env.BENCH_SERVICE_NODE_OPTIONS = `${process.env.BENCH_SERVICE_NODE_OPTIONS ?? ''} --inspect=127.0.0.1:9239`;
const { ROOT, withScratchService } = require('./scratch-service');
const WebSocket = require(ROOT + '/node_modules/ws');
const { connectFleet, heartbeatClosedLoop } = require(ROOT + '/dist/bench/lib/agents-load');

const SECONDS = Number(process.env.HB || 8);
const TOP = Number(process.env.TOP || 25);

/** Self bytes by function and by its 3 nearest callers, of a sampling heap profile. */
function summarize(profile, acks) {
  let total = 0;
  const byFunction = new Map();
  const byStack = new Map();
  const name = ({ functionName, url, lineNumber }) => {
    const pkg = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1];
    const where = pkg ?? (url.includes('/dist/src/') ? `ours:${url.split('/dist/src/')[1]}` : url.startsWith('node:') ? url : url.split('/').pop());
    return `${functionName || '(anon)'} ${where}:${lineNumber}`;
  };
  const walk = (node, stack) => {
    const frames = [name(node.callFrame), ...stack];
    if (node.selfSize) {
      total += node.selfSize;
      byFunction.set(frames[0], (byFunction.get(frames[0]) ?? 0) + node.selfSize);
      const key = frames.slice(0, 4).join(' < ');
      byStack.set(key, (byStack.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, frames);
  };
  walk(profile.head, []);
  console.log(`sampled ${(total / 1e6).toFixed(1)} MB over ${acks} acks: ${(total / acks / 1024).toFixed(2)} KB per ack`);
  const top = (map) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP).forEach(([key, bytes]) => console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${(bytes / acks).toFixed(0).padStart(5)} B/ack  ${key}`));
  console.log('--- by function');
  top(byFunction);
  console.log('--- by function and its callers');
  top(byStack);
}

withScratchService('scratch_alloc', async ({ seeded, service }) => {
  const [{ webSocketDebuggerUrl }] = await (await fetch('http://127.0.0.1:9239/json/list')).json();
  const inspector = new WebSocket(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => inspector.once('open', resolve).once('error', reject));
  let id = 0;
  const waiting = new Map();
  inspector.on('message', (data) => {
    const message = JSON.parse(data);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const callId = ++id;
      waiting.set(callId, (message) => (message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result)));
      inspector.send(JSON.stringify({ id: callId, method, params }));
    });
  const fleet = await connectFleet(`${service.url.replace('http', 'ws')}/agents`, seeded.agentKey, 2000, { agentId: 'alloc', prefix: 'alloc' });
  try {
    await heartbeatClosedLoop(fleet.connections, 3); // warm-up, not sampled
    await call('HeapProfiler.enable');
    await call('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    const run = await heartbeatClosedLoop(fleet.connections, SECONDS);
    const { profile } = await call('HeapProfiler.stopSampling');
    console.log(`closed loop: ${run.perSecond.toFixed(0)} acks/s for ${SECONDS} s, ${run.acked} acked, ${run.failed} failed`);
    if (process.env.OUT) fs.writeFileSync(process.env.OUT, JSON.stringify(profile));
    summarize(profile, run.acked);
  } finally {
    inspector.close();
    await fleet.close();
  }
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
