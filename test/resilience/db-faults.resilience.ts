import {
  closeAgents,
  counts,
  HeartbeatLoad,
  expectNothingLostNothingMasked,
  RegistrationLoad,
  startAgents,
  type TrackedAgent,
} from './support/load';
import {
  adminUrl,
  createScenarioDatabase,
  type ScenarioDatabase,
  seedTenant,
  type Tenant,
  terminateConnections,
  withClient,
} from './support/postgres';
import { readyz, saveOutput, type Service, startService, waitFor } from './support/service';
import { recordSummary } from './support/summary';

const AGENTS = 200;
const FAULTS = 3;

/** The pid of the service's LISTEN connection (application_name agent-registry-events). */
async function listenerPid(database: ScenarioDatabase): Promise<number | undefined> {
  return withClient(adminUrl(), async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = $1 and application_name = 'agent-registry-events'`,
      [database.name],
    );
    return rows[0]?.pid;
  });
}

describe('database faults: every connection of the service terminated under load', () => {
  let database: ScenarioDatabase;
  let service: Service;
  let tenant: Tenant;
  let agents: TrackedAgent[] = [];

  beforeAll(async () => {
    database = await createScenarioDatabase();
    service = await startService({
      DATABASE_URL: database.url,
      HEARTBEAT_INTERVAL_MS: '60000',
      STALE_AFTER_MS: '120000',
      WS_RATE_LIMIT_PER_SEC: '1000',
      WS_RATE_BURST: '1000',
    });
    tenant = await seedTenant(database.url);
  });
  afterAll(async () => {
    await closeAgents(agents);
    await service?.stop();
    saveOutput(service, 'db-faults');
    await database?.drop();
  });

  it(`${AGENTS} agents heartbeating and a GraphQL registration loop survive ${FAULTS} mass terminations and an unreachable database; nothing acknowledged is lost`, async () => {
    const backend = [service.url];
    agents = await startAgents(backend, AGENTS, {
      apiKey: tenant.agentKey,
      agentId: 'fault-agent',
      backoff: { baseMs: 100, capMs: 2000 },
      requestTimeoutMs: 10_000,
    });
    const heartbeats = new HeartbeatLoad(agents, 250, 120_000);
    const registrations = new RegistrationLoad(backend, tenant.agentKey, 'fault-gql', 4, 120_000);
    try {
      await waitFor(() => heartbeats.ackCount > AGENTS && registrations.acked.length > 20, 30_000, 50, 'warm-up');

      // 1) every connection of the service terminated, a few times
      const recoveries: number[] = [];
      const terminated: number[] = [];
      const listenerPids: (number | undefined)[] = [await listenerPid(database)];
      expect(listenerPids[0]).toBeDefined();
      for (let round = 0; round < FAULTS; round++) {
        const at = Date.now();
        terminated.push(await terminateConnections(adminUrl(), database.name));
        await waitFor(
          () => heartbeats.lastAckSentAt > at && registrations.lastAckSentAt > at,
          15_000,
          10,
          `recovery after termination ${round + 1}`,
        );
        recoveries.push(Date.now() - at);
        // the event listener connects again by itself (a new backend)
        const before = listenerPids.at(-1);
        listenerPids.push(await waitFor(async () => {
          const pid = await listenerPid(database);
          return pid !== undefined && pid !== before ? pid : undefined;
        }, 15_000, 50, 'LISTEN connection back'));
        // the next fault only once the load flows again: a full round of heartbeats acknowledged
        const acked = heartbeats.ackCount;
        await waitFor(() => heartbeats.ackCount >= acked + AGENTS, 15_000, 50, `a heartbeat round after termination ${round + 1}`);
      }
      expect(terminated.every((n) => n >= 1)).toBe(true);
      expect(Math.max(...recoveries)).toBeLessThan(15_000);

      // 2) the database refuses new connections: /readyz says so, then recovers
      const ackedBeforeOutage = heartbeats.ackCount;
      const failedBeforeOutage = heartbeats.failureCount();
      await withClient(adminUrl(), (c) => c.query(`alter database ${database.name} allow_connections false`));
      const outageAt = Date.now();
      await terminateConnections(adminUrl(), database.name);
      await waitFor(async () => (await readyz(service.url)) === 503, 15_000, 50, '/readyz 503 while unreachable');
      const readyzDownAfter = Date.now() - outageAt;
      await waitFor(() => heartbeats.failureCount() > failedBeforeOutage + AGENTS, 15_000, 50, 'heartbeats failing');
      const outageStatuses = new Set<number>();
      for (let i = 0; i < 5; i++) outageStatuses.add(await readyz(service.url));
      expect([...outageStatuses]).toEqual([503]);
      await withClient(adminUrl(), (c) => c.query(`alter database ${database.name} allow_connections true`));
      const backAt = Date.now();
      await waitFor(async () => (await readyz(service.url)) === 200, 15_000, 50, '/readyz 200 again');
      const readyzUpAfter = Date.now() - backAt;
      await waitFor(
        () => heartbeats.lastAckSentAt > backAt && registrations.lastAckSentAt > backAt,
        15_000,
        10,
        'recovery after the outage',
      );
      const outageRecovery = Date.now() - backAt;
      const listenerAfterOutage = await waitFor(async () => {
        const pid = await listenerPid(database);
        return pid !== undefined && pid !== listenerPids.at(-1) ? pid : undefined;
      }, 15_000, 50, 'LISTEN connection back after the outage');
      expect(heartbeats.ackCount).toBeGreaterThan(ackedBeforeOutage);

      await heartbeats.stop();
      await registrations.stop();

      // every acknowledged heartbeat and registration is stored
      await expectNothingLostNothingMasked(database.url, tenant.tenantId, agents, heartbeats, registrations);
      expect(service.child.exitCode).toBeNull();
      // the agent sockets never dropped: the faults were the database's, not the API's
      expect(agents.filter((a) => a.disconnectedAt.length > 0).length).toBe(0);

      recordSummary('1. database faults (pg_terminate_backend ×3, then allow_connections false)', {
        agents: AGENTS,
        'connections terminated per round': terminated.join(', '),
        'recovery per round (ms, until a heartbeat and a registration sent after the fault were acknowledged)': recoveries.join(', '),
        'LISTEN backend pids': [...listenerPids, listenerAfterOutage].join(' → '),
        'outage: /readyz 503 after (ms)': readyzDownAfter,
        'outage: /readyz 200 after re-allow (ms)': readyzUpAfter,
        'outage: load recovered after re-allow (ms)': outageRecovery,
        'heartbeats acknowledged (each verified by its event)': heartbeats.ackCount,
        'heartbeats failed (by code)': counts(heartbeats.failures),
        'registrations acknowledged (each verified in the table)': registrations.acked.length,
        'registrations failed (status:code)': counts(registrations.failures),
      });
    } finally {
      await heartbeats.stop();
      await registrations.stop();
    }
  });
});
