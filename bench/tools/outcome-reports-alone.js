// usage: npm run build && npx tsc -p tsconfig.bench.json --outDir dist && [RATE=5000] [PER_MSG=125] [FAIL=0.01] [SECONDS=8] [ROUNDS=3] [CLIENT=ts] node bench/tools/outcome-reports-alone.js
// What an outcome report costs each process without the heartbeat loop beside it: a scratch
// database with 2,000 registered instances, the service (one process), and 10 raw agent
// sockets each sending `agent.report_outcomes` messages of PER_MSG reports (FAIL of them
// failures) at RATE reports/s in all, as the TypeScript client does beside the bench's
// heartbeat loop (~125-190 reports a message). Prints, per round, the CPU per report of the
// API process, of PostgreSQL's processes and of this process, after subtracting what the
// service and PostgreSQL use while the sockets are silent. BENCH_SERVICE_NODE_OPTIONS applies,
// and so do the service's settings (OUTCOME_BATCH_INTERVAL_MS=0, say). CLIENT=ts sends through
// 10 TypeScript clients instead (`reportOutcome()` per report at RATE, as the bench's outcome
// row does; PER_MSG does not apply: a client's messages hold what was reported while its
// previous one was in flight).
const { ROOT, withScratchService } = require('./scratch-service');
const { cpuMs, postgresCpuSnapshot, postgresCpuSince } = require(ROOT + '/dist/bench/lib/service');
const { seedRegistrations } = require(ROOT + '/dist/bench/lib/seed');
const { connectFleet } = require(ROOT + '/dist/bench/lib/agents-load');
const { AgentClient } = require(ROOT + '/dist/src/client/agent-client');
const PER_MSG = Number(process.env.PER_MSG || 125), CALLERS = 10, RATE = Number(process.env.RATE || 5000), SECONDS = Number(process.env.SECONDS || 8), ROUNDS = Number(process.env.ROUNDS || 3);
const FAIL = Number(process.env.FAIL ?? 0.01);
withScratchService('scratch_rep', async ({ seeded, service }) => {
  const wsUrl = `${service.url.replace('http', 'ws')}/agents`;
  const target = () => `target-seed-${1 + Math.floor(Math.random() * 2000)}`;
  const outcome = () => (Math.random() < FAIL ? 'failure' : 'success');
  let callers, phase;
  if (process.env.CLIENT === 'ts') {
    const clients = Array.from({ length: CALLERS }, (_, i) => new AgentClient({ url: wsUrl, apiKey: seeded.agentKey, agentId: 'caller', instanceId: `caller-${i}`, requestTimeoutMs: 30_000 }));
    await Promise.all(clients.map((c) => c.start()));
    callers = { close: () => Promise.all(clients.map((c) => c.close())) };
    // as the bench's reportAtRate: RATE reports a second, evenly spread, counted in flight
    phase = async (seconds) => {
      const total = RATE * seconds, started = performance.now(); let sent = 0, done = 0, failed = 0, inflight = 0, drained = null;
      const settle = (ok) => { if (ok) done++; else failed++; if (--inflight === 0 && drained) drained(); };
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
        for (; sent < due; sent++) { inflight++; clients[sent % CALLERS].reportOutcome(target(), outcome()).then(() => settle(true), () => settle(false)); }
        await new Promise((r) => setTimeout(r, 5));
      }
      if (inflight > 0) await new Promise((r) => (drained = r));
      return { sent: done, failed };
    };
  } else {
    callers = await connectFleet(`${service.url.replace('http', 'ws')}/agents`, seeded.agentKey, CALLERS, { agentId: 'caller', prefix: 'caller' });
    const msg = () => ({ reports: Array.from({ length: PER_MSG }, () => ({ instance_id: target(), outcome: outcome() })) });
    const interval = (PER_MSG * CALLERS * 1000) / RATE; // ms between one caller's messages
    phase = async (seconds) => {
      const end = performance.now() + seconds * 1000; let sent = 0, failed = 0;
      await Promise.all(callers.connections.map(async (c, i) => {
        await new Promise((r) => setTimeout(r, (i * interval) / CALLERS));
        let next = performance.now();
        while (performance.now() < end) {
          const r = await c.request('agent.report_outcomes', msg()); if (r.ok) sent += PER_MSG; else failed++;
          next += interval; const wait = next - performance.now(); if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }));
      return { sent, failed };
    };
  }
  await phase(3);
  const s0 = cpuMs(service.pid), p0 = postgresCpuSnapshot();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const idleS = (cpuMs(service.pid) - s0) / SECONDS, idleP = postgresCpuSince(p0) / SECONDS;
  console.log(`silent: API ${idleS.toFixed(1)} ms/s, PG ${idleP.toFixed(1)} ms/s (subtracted)`);
  for (let round = 0; round < ROUNDS; round++) {
    const s0 = cpuMs(service.pid), b0 = process.cpuUsage(), p0 = postgresCpuSnapshot(), t0 = performance.now();
    const { sent, failed } = await phase(SECONDS);
    const secs0 = (performance.now() - t0) / 1000, s = cpuMs(service.pid) - s0 - idleS * secs0, p = postgresCpuSince(p0) - idleP * secs0, bu = process.cpuUsage(b0), b = (bu.user + bu.system) / 1000, secs = (performance.now() - t0) / 1000;
    const us = (ms) => ((ms * 1000) / sent).toFixed(1);
    console.log(`round ${round}: ${(sent / secs).toFixed(0)} reports/s failed ${failed}; µs per report: API ${us(s)} PG ${us(p)} ${process.env.CLIENT === 'ts' ? 'TS clients' : 'raw client'} ${us(b)} (API ${(s / secs / 10).toFixed(0)} % of a core)`);
  }
  await callers.close();
}, (db, seeded) => seedRegistrations(db, seeded.tenantId, 'target', 2000)).catch((e) => { console.error(e); process.exit(1); });
