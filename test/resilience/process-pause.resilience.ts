import { closeAgents, counts, startAgents, type TrackedAgent } from './support/load';
import { createScenarioDatabase, type ScenarioDatabase, seedTenant } from './support/postgres';
import { saveOutput, type Service, startService, waitFor } from './support/service';
import { recordSummary } from './support/summary';

const AGENTS = 200;
const PING_INTERVAL_MS = 1000;
const PAUSE_MS = 2500;

describe('process pause: the API process stopped (SIGSTOP) for longer than its ping interval, then resumed', () => {
  let database: ScenarioDatabase;
  let service: Service;
  let agents: TrackedAgent[] = [];

  beforeAll(async () => {
    database = await createScenarioDatabase();
    service = await startService({
      DATABASE_URL: database.url,
      HEARTBEAT_INTERVAL_MS: String(PING_INTERVAL_MS),
      STALE_AFTER_MS: '15000',
    });
  });
  afterAll(async () => {
    await closeAgents(agents);
    if (service && service.child.exitCode === null) process.kill(service.pid, 'SIGCONT');
    await service?.stop();
    saveOutput(service, 'pause');
    await database?.drop();
  });

  it(`${AGENTS} agents that kept answering are not dropped because the server itself stalled for ${PAUSE_MS} ms`, async () => {
    const tenant = await seedTenant(database.url);
    agents = await startAgents([service.wsUrl], AGENTS, { apiKey: tenant.agentKey, agentId: 'pause-agent', requestTimeoutMs: 15_000 });
    await waitFor(() => agents.every((a) => a.heartbeatAt.length >= 1), 15_000, 50, 'first heartbeats');

    // a stall of the server's event loop (GC, CPU starvation, a paused VM), made exact
    process.kill(service.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt >= PAUSE_MS, PAUSE_MS + 1000, 10);
    process.kill(service.pid, 'SIGCONT');
    const resumedAt = Date.now();
    await waitFor(() => agents.every((a) => a.heartbeatAt.some((t) => t > resumedAt + PING_INTERVAL_MS)), 20_000, 50, 'heartbeats after the pause');

    const dropped = agents.filter((a) => a.disconnectedAt.length > 0);
    const closeCodes = new Map<string, number>();
    for (const a of dropped) for (const code of a.disconnectCodes) closeCodes.set(String(code), (closeCodes.get(String(code)) ?? 0) + 1);
    recordSummary(`7. process pause (SIGSTOP ${PAUSE_MS} ms, ping interval ${PING_INTERVAL_MS} ms)`, {
      agents: AGENTS,
      'agents dropped by the server after the pause': dropped.length,
      'their close codes': counts(closeCodes),
    });
    expect(dropped.length).toBe(0);
  });
});
