import autocannon from 'autocannon';
import { Client } from 'pg';
import { connectFleet, heartbeatClosedLoop, heartbeatFixedRate } from './agents-load';
import { httpFixedRate } from './http-load';
import { pgbench } from './pgbench';
import { percentile, round } from './stats';

/**
 * Routing scenarios (src/routing/): pickInstance against pgbench running the same SQL
 * function, pick latency at a fixed rate while agents heartbeat, and the cost of outcome
 * reports (group commit) to heartbeats.
 */

export interface BenchRow {
  scenario: string;
  figure: string;
  baseline: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  note?: string;
}

export interface RoutingBenchOptions {
  url: string;
  benchDb: string;
  tenantId: string;
  agentKey: string;
  viewerKey: string;
  seconds: number;
  connections: number;
  agents: number;
  log: (...args: unknown[]) => void;
}

const PICK_AGENT = 'bench-pick';
const PICK_INSTANCES = 20;
const PICK = `query Pick($agentId: String!) {
  pickInstance(agentId: $agentId) { instance { instanceId connectionDetails } fallbacks { instanceId } probe }
}`;

/** PICK_INSTANCES instances of bench-pick with spread health and workloads (what picks choose from). */
async function seedPickAgent(benchDb: string, tenantId: string): Promise<void> {
  const client = new Client({ connectionString: benchDb });
  await client.connect();
  try {
    await client.query(
      `select mcp.register_agent_instance($1, $2, $2 || '-' || g, null, jsonb_build_object('url', 'http://10.0.0.' || g)) from generate_series(1, $3) g`,
      [tenantId, PICK_AGENT, PICK_INSTANCES],
    );
    await client.query(
      `update mcp.agent_registrations set current_workload = (hashtext(instance_id) & 7),
         health_status = case when hashtext(instance_id) % 5 = 0 then 'degraded'::mcp.health_status else 'healthy' end
       where tenant_id = $1 and instance_id like $2`,
      [tenantId, `${PICK_AGENT}-%`],
    );
  } finally {
    await client.end();
  }
}

/** pickInstance over GraphQL (32 connections) against pgbench calling mcp.pick_instance (32 clients). */
export async function scenarioPicks(o: RoutingBenchOptions): Promise<BenchRow[]> {
  await seedPickAgent(o.benchDb, o.tenantId);
  o.log('picks: pgbench baseline (mcp.pick_instance, 32 clients)');
  const baseline = pgbench(o.benchDb, `select * from mcp.pick_instance(:tenant::uuid, '${PICK_AGENT}');\n`, {
    clients: o.connections,
    seconds: o.seconds,
    vars: { tenant: o.tenantId },
  });
  o.log('picks: GraphQL pickInstance, closed loop');
  const body = JSON.stringify({ query: PICK, variables: { agentId: PICK_AGENT } });
  const result = await autocannon({
    url: `${o.url}/graphql`,
    connections: o.connections,
    duration: o.seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${o.viewerKey}` },
    body,
  });
  const rps = result['2xx'] / (result.duration || o.seconds);
  const ratio = rps / baseline.tps;
  const rows: BenchRow[] = [
    {
      scenario: `pickInstance (${PICK_INSTANCES} instances, 32 conns)`,
      figure: `${round(rps)} picks/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`,
      baseline: `${round(baseline.tps)} picks/s (pgbench, same SQL function)`,
      ratio: round(ratio, 2),
      target: '≥ 0.35',
      pass: ratio >= 0.35 && result.non2xx === 0 && result.errors === 0,
    },
  ];

  // every agent heartbeats every 5 s (a third of the default 15 s interval)
  const heartbeatRate = Math.max(1, Math.round(o.agents / 5));
  o.log(`picks: 500/s while ${o.agents} agents heartbeat (${heartbeatRate}/s)`);
  const fleet = await connectFleet(`${o.url.replace('http', 'ws')}/agents`, o.agentKey, o.agents, {
    agentId: 'bench-pick-heartbeat',
    prefix: 'pickhb',
  });
  try {
    const [picks, beats] = await Promise.all([
      // open loop, evenly spread (autocannon's overallRate is a burst per second: see http-load.ts)
      httpFixedRate({
        url: `${o.url}/graphql`,
        connections: o.connections,
        seconds: o.seconds,
        rate: 500,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.viewerKey}` },
        body,
      }),
      heartbeatFixedRate(fleet.connections, heartbeatRate, o.seconds),
    ]);
    rows.push({
      scenario: `pickInstance at 500/s, ${o.agents} agents heartbeating (${heartbeatRate}/s)`,
      figure: `${round(picks.perSecond)} picks/s, p50 ${round(picks.p50)} ms, p99 ${round(picks.p99)} ms; heartbeats ${round(beats.perSecond)}/s p99 ${round(beats.p99)} ms, failed ${beats.failed}, register errors ${fleet.errors}`,
      baseline: '—',
      ratio: null,
      target: 'p99 < 20 ms',
      pass: picks.p99 < 20 && picks.non2xx === 0 && picks.errors === 0 && beats.failed === 0,
    });
  } finally {
    await fleet.close();
  }
  return rows;
}

/**
 * Heartbeats (closed loop over the agent sockets) alone, then with 5,000 outcome reports/s
 * (agent.report_outcome on other sockets, 1 % failures) alongside: the second rate over the first.
 */
export async function scenarioOutcomes(o: RoutingBenchOptions): Promise<BenchRow[]> {
  const wsUrl = `${o.url.replace('http', 'ws')}/agents`;
  // a socket handles its requests one after the other, each acknowledged after its batch
  // committed: 500 reporting sockets keep 5,000/s in flight with batches up to ~100 ms
  o.log(`outcomes: connecting ${o.agents} heartbeating agents and 500 reporters`);
  const fleet = await connectFleet(wsUrl, o.agentKey, o.agents, { agentId: 'bench-outcome-target', prefix: 'target' });
  const reporters = await connectFleet(wsUrl, o.agentKey, 500, { agentId: 'bench-outcome-reporter', prefix: 'reporter' });
  try {
    o.log('outcomes: heartbeats alone (closed loop)');
    const alone = await heartbeatClosedLoop(fleet.connections, o.seconds);
    o.log('outcomes: heartbeats with 5,000 reports/s');
    const rate = 5000;
    const total = rate * o.seconds;
    const latencies: number[] = [];
    let failed = 0;
    const reporting = (async () => {
      const started = performance.now();
      const inflight: Promise<void>[] = [];
      let sent = 0;
      while (sent < total && performance.now() - started < (o.seconds + 30) * 1000) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
        for (; sent < due; sent++) {
          const conn = reporters.connections[sent % reporters.connections.length];
          const target = `target-${Math.floor(Math.random() * o.agents)}`;
          const outcome = Math.random() < 0.01 ? 'failure' : 'success';
          inflight.push(
            conn.request('agent.report_outcome', { instance_id: target, outcome }).then((r) => {
              if (r.ok) latencies.push(r.ms);
              else failed++;
            }),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await Promise.all(inflight);
      return (performance.now() - started) / 1000;
    })();
    const [withReports, elapsed] = await Promise.all([heartbeatClosedLoop(fleet.connections, o.seconds), reporting]);
    const ratio = withReports.perSecond / alone.perSecond;
    return [
      {
        scenario: `heartbeats with 5,000 outcome reports/s (${o.agents} agents, closed loop)`,
        figure: `${round(withReports.perSecond)} acks/s p99 ${round(withReports.p99)} ms; reports ${round(latencies.length / elapsed)}/s p99 ${round(percentile(latencies, 99))} ms, failed ${failed}`,
        baseline: `${round(alone.perSecond)} acks/s p99 ${round(alone.p99)} ms (heartbeats alone)`,
        ratio: round(ratio, 2),
        target: '≥ 0.90',
        pass: ratio >= 0.9 && failed === 0 && withReports.failed === 0,
      },
    ];
  } finally {
    await reporters.close();
    await fleet.close();
  }
}
