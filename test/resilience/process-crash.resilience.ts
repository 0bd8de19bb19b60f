import { monitorEventLoopDelay } from 'node:perf_hooks';
import { closeAgents, counts, startAgents, type TrackedAgent } from './support/load';
import { createScenarioDatabase, type ScenarioDatabase, seedTenant, withClient } from './support/postgres';
import { saveOutput, type Service, startService, waitFor } from './support/service';
import { histogram, percentile, recordSummary } from './support/summary';

const AGENTS = 500;
/** Must outlast a restart plus the reconnect backoff cap (1.5 s); a restart takes 1–5 s on a busy 2-core machine. */
const STALE_AFTER_MS = Number(process.env.RESILIENCE_STALE_AFTER_MS) || 8000;
const SWEEP_INTERVAL_MS = 250;
/** Liveness settings short enough that a missed restart grace would show within seconds. */
const LIVENESS = {
  HEARTBEAT_INTERVAL_MS: '1000',
  STALE_AFTER_MS: String(STALE_AFTER_MS),
  SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
  // self-preservation off: it would hide a mass stale marking, the very thing checked here
  SELF_PRESERVATION_MIN_ACTIVE: '1000000000',
};

interface Stored {
  rows: number;
  active: number;
  stale: number;
  staleEvents: number;
  registeredEvents: number;
  reconnectedEvents: number;
}

async function stored(url: string, tenantId: string): Promise<Stored> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<Stored>(
      `select (select count(*)::integer from mcp.agent_registrations where tenant_id = $1) as rows,
              (select count(*)::integer from mcp.agent_registrations where tenant_id = $1 and registration_status = 'active') as active,
              (select count(*)::integer from mcp.agent_registrations where tenant_id = $1 and registration_status = 'stale') as stale,
              (select count(*)::integer from mcp.registration_events where tenant_id = $1 and kind = 'stale') as "staleEvents",
              (select count(*)::integer from mcp.registration_events where tenant_id = $1 and kind = 'registered') as "registeredEvents",
              (select count(*)::integer from mcp.registration_events where tenant_id = $1 and kind = 'reconnected') as "reconnectedEvents"`,
      [tenantId],
    );
    return rows[0];
  });
}

async function reconnectCounts(url: string, tenantId: string): Promise<Map<string, number>> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ instance_id: string; reconnect_count: number }>(
      `select instance_id, reconnect_count from mcp.agent_registrations where tenant_id = $1`,
      [tenantId],
    );
    return new Map(rows.map((r) => [r.instance_id, r.reconnect_count]));
  });
}

describe.each([1, 2])('process crash: SIGKILL of an API process under %i-process load', (processes) => {
  let database: ScenarioDatabase;
  let services: Service[] = [];
  let agents: TrackedAgent[] = [];

  beforeAll(async () => {
    database = await createScenarioDatabase();
  });
  afterAll(async () => {
    await closeAgents(agents);
    for (const [i, service] of services.entries()) {
      await service.stop();
      saveOutput(service, `crash-${processes}p-${i}`);
    }
    await database?.drop();
  });

  it(`${AGENTS} AgentClients reconnect with jitter under their ids after a restart on the same port; no duplicates, nothing stale${
    processes === 2 ? "; the other process's agents are not disturbed" : ''
  }`, async () => {
    const env = { DATABASE_URL: database.url, ...LIVENESS };
    for (let i = 0; i < processes; i++) services.push(await startService(env));
    const tenant = await seedTenant(database.url);
    agents = await startAgents(
      services.map((s) => s.wsUrl),
      AGENTS,
      { apiKey: tenant.agentKey, agentId: 'crash-agent', backoff: { baseMs: 250, capMs: 1500 }, requestTimeoutMs: 5000 },
    );
    const victims = agents.filter((a) => a.index % processes === 0);
    const bystanders = agents.filter((a) => a.index % processes !== 0);
    const ids = new Map(agents.map((a) => [a, a.client.instanceId!]));
    expect(new Set(ids.values()).size).toBe(AGENTS);
    // every agent heartbeats on the server's interval before the crash
    await waitFor(() => agents.every((a) => a.heartbeatAt.length >= 1), 15_000, 50, 'first heartbeats');
    const before = await reconnectCounts(database.url, tenant.tenantId);

    const victim = services[0];
    const ownLag = monitorEventLoopDelay({ resolution: 20 });
    ownLag.enable();
    const killedAt = Date.now();
    await victim.kill();
    const restarted = await startService(env, { port: victim.port });
    services[0] = restarted;
    const readyAt = Date.now();
    const downMs = readyAt - killedAt;
    // the premise: the restart is shorter than the stale timeout (minus the backoff cap)
    expect(downMs).toBeLessThan(STALE_AFTER_MS - 1500);

    await waitFor(
      () => victims.every((a) => a.registeredAt.some((t) => t > killedAt)),
      20_000,
      25,
      'every agent of the killed process registered again',
    );
    const registeredMs = victims.map((a) => a.registeredAt.find((t) => t > killedAt)! - killedAt);
    // the start of the attempt that succeeded: the last one scheduled before the registration
    ownLag.disable();
    const reconnectMs = victims.map((a) => {
      const registered = a.registeredAt.find((t) => t > killedAt)!;
      return Math.max(...a.attemptAt.filter((t) => t <= registered)) - killedAt;
    });
    // outlive the restart grace by several sweeps: a missed grace would now show as stale
    const outlived = readyAt + STALE_AFTER_MS + 4 * SWEEP_INTERVAL_MS;
    await waitFor(() => Date.now() > outlived, outlived - Date.now() + 5_000, 50, 'the restart grace outlived');

    // same ids, no duplicates, reconnect counts up, nothing stale
    expect(agents.every((a) => a.client.instanceId === ids.get(a))).toBe(true);
    const after = await reconnectCounts(database.url, tenant.tenantId);
    const state = await stored(database.url, tenant.tenantId);
    expect(state).toMatchObject({ rows: AGENTS, active: AGENTS, stale: 0, staleEvents: 0, registeredEvents: AGENTS });
    expect(state.reconnectedEvents).toBeGreaterThanOrEqual(victims.length);
    expect(victims.filter((a) => after.get(ids.get(a)!)! <= before.get(ids.get(a)!)!)).toEqual([]);
    expect(bystanders.filter((a) => after.get(ids.get(a)!) !== before.get(ids.get(a)!))).toEqual([]);

    // jitter: the comebacks are spread out, not a herd within a few ms
    const sorted = [...reconnectMs].sort((a, b) => a - b);
    const spreadMs = sorted.at(-1)! - sorted[0];
    const p10 = percentile(reconnectMs, 10);
    const p90 = percentile(reconnectMs, 90);
    const busiest50ms = Math.max(...sorted.map((t) => sorted.filter((u) => u >= t && u < t + 50).length));
    expect(p90 - p10).toBeGreaterThanOrEqual(200);
    expect(busiest50ms).toBeLessThan(victims.length * 0.25);
    const attempts = victims.map((a) => a.reconnectDelays.length);

    // the other process's agents: never disconnected, kept heartbeating through the crash
    const calm =
      processes === 2
        ? {
            disconnected: bystanders.filter((a) => a.disconnectedAt.length > 0).length,
            withErrors: bystanders.filter((a) => a.errors.length > 0).length,
            heartbeatingDuringOutage: bystanders.filter((a) => a.heartbeatAt.some((t) => t > killedAt && t < readyAt + 1000)).length,
          }
        : undefined;
    const bystanderErrors = new Map<string, number>();
    for (const a of bystanders) for (const e of a.errors) bystanderErrors.set(e, (bystanderErrors.get(e) ?? 0) + 1);
    if (calm && calm.disconnected > 0) {
      const first = Math.min(...bystanders.flatMap((a) => a.disconnectedAt));
      throw new Error(
        `${calm.disconnected} agents of the other process were disconnected (first ${first - killedAt} ms after the kill; ` +
          `close codes: ${[...new Set(bystanders.flatMap((a) => a.disconnectCodes))].join(',')}; errors: ${counts(bystanderErrors)}; this process's event-loop delay max ${(ownLag.max / 1e6).toFixed(0)} ms)`,
      );
    }
    if (calm) expect(calm).toEqual({ disconnected: 0, withErrors: 0, heartbeatingDuringOutage: bystanders.length });
    expect(services.every((s) => s.child.exitCode === null)).toBe(true);

    recordSummary(`${processes === 1 ? '2' : '6'}. process crash, ${processes} API process(es), ${AGENTS} AgentClients (backoff base 250 ms, cap 1500 ms)`, {
      'killed process agents': victims.length,
      'event-loop delay of the test process during the crash, max ms': (ownLag.max / 1e6).toFixed(0),
      'down (SIGKILL → restarted process ready on the same port) ms': downMs,
      'successful reconnect attempt, ms after the kill (min / p10 / p50 / p90 / max)': `${sorted[0]} / ${p10} / ${percentile(reconnectMs, 50)} / ${p90} / ${sorted.at(-1)}`,
      'registered again, ms after the kill (min / p50 / max)': `${Math.min(...registeredMs)} / ${percentile(registeredMs, 50)} / ${Math.max(...registeredMs)}`,
      'spread ms': spreadMs,
      'most reconnects within any 50 ms': busiest50ms,
      'reconnect attempts per agent (min / p50 / max)': `${Math.min(...attempts)} / ${percentile(attempts, 50)} / ${Math.max(...attempts)}`,
      'histogram of successful reconnect attempts (ms after the kill)': histogram(reconnectMs, 12).join('\n'),
      'rows / active / stale / stale events': `${state.rows} / ${state.active} / ${state.stale} / ${state.staleEvents}`,
      'registered / reconnected events': `${state.registeredEvents} / ${state.reconnectedEvents}`,
      ...(calm
        ? {
            'other process agents': bystanders.length,
            'other process: disconnected / with errors / heartbeat acknowledged during the outage': `${calm.disconnected} / ${calm.withErrors} / ${calm.heartbeatingDuringOutage}`,
          }
        : {}),
    });
  });
});
