import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { closeAgents, startAgents, type TrackedAgent } from './support/load';
import { createScenarioDatabase, type ScenarioDatabase, seedTenant, type Tenant } from './support/postgres';
import { assertRunning, rssBytes, saveOutput, scrapeMetrics, type Service, startService, waitFor } from './support/service';
import { percentile, recordSummary } from './support/summary';

const AGENTS = Number(process.env.RESILIENCE_SOAK_AGENTS) || 2000;
const SUBSCRIBERS = Number(process.env.RESILIENCE_SOAK_SUBSCRIBERS) || 200;
const SECONDS = Number(process.env.RESILIENCE_SOAK_SECONDS) || 300;
const HEARTBEAT_INTERVAL_MS = 5000;
/** Agents whose health or workload changes per second (each change is an event every subscriber gets). */
const CHANGES_PER_SEC = 10;
const SAMPLE_EVERY_MS = Math.min(5000, Math.max(1000, Math.floor((SECONDS * 1000) / 30)));
/** The first fifth (at least 10 s) is warm-up: JIT, pools and buffers settle. */
const WARM_UP_MS = Math.max(10_000, SECONDS * 200);

interface Sample {
  at: number;
  rss: number;
  lag: number;
  agentsSockets: number;
  graphqlSockets: number;
  subscriptions: number;
  queued: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

function gauges(metrics: Map<string, number>) {
  return {
    agentsSockets: metrics.get('agent_registry_websocket_connections{endpoint="agents"}') ?? 0,
    graphqlSockets: metrics.get('agent_registry_websocket_connections{endpoint="graphql"}') ?? 0,
    subscriptions: metrics.get('agent_registry_subscriptions_active') ?? 0,
    queued: metrics.get('agent_registry_subscription_queued_events') ?? 0,
    handles: metrics.get('nodejs_active_handles_total') ?? 0,
    failedHeartbeats: metrics.get('agent_registry_heartbeats_total{outcome="failed"}') ?? 0,
    heartbeats: [...metrics.entries()].filter(([k]) => k.startsWith('agent_registry_heartbeats_total{')).reduce((a, [, v]) => a + v, 0),
  };
}

describe(`soak: ${AGENTS} agents heartbeating and ${SUBSCRIBERS} subscribers for ${SECONDS} s`, () => {
  let database: ScenarioDatabase;
  let service: Service;
  let tenant: Tenant;
  let agents: TrackedAgent[] = [];
  let subscribers: Client[] = [];

  beforeAll(async () => {
    database = await createScenarioDatabase();
    service = await startService({
      DATABASE_URL: database.url,
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
      STALE_AFTER_MS: String(HEARTBEAT_INTERVAL_MS * 4),
    });
    tenant = await seedTenant(database.url);
  });
  afterAll(async () => {
    await closeAgents(agents);
    await Promise.all(subscribers.map((s) => s.dispose()));
    await service?.stop();
    saveOutput(service, 'soak');
    await database?.drop();
  });

  it('RSS and event-loop lag stay flat, nothing fails, and every connection and subscription gauge returns to its baseline', async () => {
    const baseline = gauges(await scrapeMetrics(service.url));

    // subscribers first, so that they see the agents arrive
    let delivered = 0;
    const subscriberErrors: unknown[] = [];
    const closes: number[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = createClient({
        url: `${service.wsUrl}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${tenant.viewerKey}` },
        lazy: false,
        retryAttempts: 0,
        shouldRetry: () => false,
        on: { closed: (event) => closes.push((event as { code: number }).code) },
      });
      subscribers.push(client);
      ready.push(new Promise((resolve) => client.on('connected', () => resolve())));
      client.subscribe(
        { query: 'subscription { registrationEvents { id kind instanceId } }' },
        { next: () => void delivered++, error: (error) => subscriberErrors.push(error), complete: () => undefined },
      );
    }
    await Promise.all(ready);
    await waitFor(async () => gauges(await scrapeMetrics(service.url)).subscriptions === SUBSCRIBERS, 30_000, 100, 'subscriptions open');

    agents = await startAgents([service.wsUrl], AGENTS, { apiKey: tenant.agentKey, agentId: 'soak-agent' }, 100);
    const soakStart = Date.now();
    const samples: Sample[] = [];
    const healths = ['healthy', 'degraded', 'unhealthy'] as const;
    let changes = 0;
    const changer = setInterval(() => {
      for (let i = 0; i < CHANGES_PER_SEC; i++) {
        const agent = agents[(changes * 7919 + i * 104729) % agents.length];
        agent.client.report(healths[changes % 3], changes % 11);
        changes++;
      }
    }, 1000);
    try {
      while (Date.now() - soakStart < SECONDS * 1000) {
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
        assertRunning(service);
        const metrics = await scrapeMetrics(service.url);
        const g = gauges(metrics);
        samples.push({
          at: Date.now() - soakStart,
          rss: rssBytes(service.pid),
          lag: metrics.get('nodejs_eventloop_lag_seconds') ?? NaN,
          agentsSockets: g.agentsSockets,
          graphqlSockets: g.graphqlSockets,
          subscriptions: g.subscriptions,
          queued: g.queued,
        });
      }
    } finally {
      clearInterval(changer);
    }
    const during = gauges(await scrapeMetrics(service.url));
    const troubled = agents.filter((a) => a.disconnectedAt.length > 0 || a.errors.length > 0).length;
    const agentErrors = agents.reduce((n, a) => n + a.errors.length, 0);

    // everyone leaves
    await closeAgents(agents);
    await Promise.all(subscribers.map((s) => s.dispose()));
    const left = await waitFor(
      async () => {
        const g = gauges(await scrapeMetrics(service.url));
        return g.agentsSockets === baseline.agentsSockets &&
          g.graphqlSockets === baseline.graphqlSockets &&
          g.subscriptions === baseline.subscriptions &&
          g.queued === baseline.queued
          ? g
          : undefined;
      },
      30_000,
      200,
      'gauges back to baseline',
    );

    const measured = samples.filter((s) => s.at >= WARM_UP_MS);
    const third = Math.max(1, Math.floor(measured.length / 3));
    const first = measured.slice(0, third);
    const last = measured.slice(-third);
    const rssFirst = mean(first.map((s) => s.rss));
    const rssLast = mean(last.map((s) => s.rss));
    const lagFirst = mean(first.map((s) => s.lag));
    const lagLast = mean(last.map((s) => s.lag));
    const heartbeatsDuring = during.heartbeats - baseline.heartbeats;

    expect(service.child.exitCode).toBeNull();
    expect(measured.length).toBeGreaterThanOrEqual(3);
    // no errors
    expect(subscriberErrors).toEqual([]);
    expect(closes.filter((code) => code !== 1000)).toEqual([]);
    expect(troubled).toBe(0);
    expect(agents.reduce((n, a) => n + a.errors.length, 0)).toBe(0);
    expect(during.failedHeartbeats).toBe(0);
    expect(samples.every((s) => s.agentsSockets === AGENTS && s.subscriptions === SUBSCRIBERS)).toBe(true);
    expect(delivered).toBeGreaterThan(0);
    // flat: coarse bounds on a shared, noisy machine
    expect(rssLast - rssFirst).toBeLessThan(Math.max(48 * 1048576, rssFirst * 0.2));
    expect(lagLast).toBeLessThan(lagFirst * 3 + 0.05);

    recordSummary(`5. soak: ${AGENTS} AgentClients (heartbeat every ${HEARTBEAT_INTERVAL_MS} ms, ${CHANGES_PER_SEC} health/workload changes/s) + ${SUBSCRIBERS} graphql-ws subscribers, ${SECONDS} s`, {
      'samples (every ms) / warm-up ms': `${samples.length} (${SAMPLE_EVERY_MS}) / ${WARM_UP_MS}`,
      'RSS MB: first third → last third after warm-up (min / max overall)': `${mb(rssFirst)} → ${mb(rssLast)} (${mb(Math.min(...samples.map((s) => s.rss)))} / ${mb(Math.max(...samples.map((s) => s.rss)))})`,
      'event-loop lag ms: first third → last third (p50 / max overall)': `${(lagFirst * 1000).toFixed(1)} → ${(lagLast * 1000).toFixed(1)} (${(percentile(samples.map((s) => s.lag), 50) * 1000).toFixed(1)} / ${(Math.max(...samples.map((s) => s.lag)) * 1000).toFixed(1)})`,
      'heartbeats handled / failed': `${heartbeatsDuring} / ${during.failedHeartbeats}`,
      'events delivered to subscribers': delivered,
      'subscription queue max (events)': Math.max(...samples.map((s) => s.queued)),
      'gauges before → during → after (agent sockets, graphql sockets, subscriptions, queued, active handles)': [baseline, during, left]
        .map((g) => `${g.agentsSockets}/${g.graphqlSockets}/${g.subscriptions}/${g.queued}/${g.handles}`)
        .join(' → '),
      'agents disconnected or with errors during the soak / client errors incl. leaving / subscriber errors': `${troubled} / ${agentErrors} / ${subscriberErrors.length}`,
      'RSS MB per sample': samples.map((s) => mb(s.rss)).join(' '),
      'lag ms per sample': samples.map((s) => (s.lag * 1000).toFixed(1)).join(' '),
    });
  });
});
