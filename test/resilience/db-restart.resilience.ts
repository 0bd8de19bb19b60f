import {
  closeAgents,
  counts,
  HeartbeatLoad,
  expectNothingLostNothingMasked,
  RegistrationLoad,
  startAgents,
  type TrackedAgent,
} from './support/load';
import { createScenarioDatabase, type ScenarioDatabase, seedTenant, type Tenant, ThrowawayCluster, withClient } from './support/postgres';
import { readyz, saveOutput, type Service, startService, waitFor } from './support/service';
import { recordSummary } from './support/summary';

const AGENTS = 200;
const RESTARTS = 2;
const unavailable = ThrowawayCluster.unavailableReason();

(unavailable ? describe.skip : describe)(
  `database restart: a throwaway PostgreSQL 15 cluster restarted under load${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    let cluster: ThrowawayCluster | undefined;
    let database: ScenarioDatabase;
    let service: Service;
    let tenant: Tenant;
    let agents: TrackedAgent[] = [];

    beforeAll(async () => {
      cluster = await ThrowawayCluster.create();
      database = await createScenarioDatabase(cluster.url);
      service = await startService({
        DATABASE_URL: database.url,
        HEARTBEAT_INTERVAL_MS: '5000',
        STALE_AFTER_MS: '20000',
        SWEEP_INTERVAL_MS: '250',
        SELF_PRESERVATION_MIN_ACTIVE: '1000000000',
        WS_RATE_LIMIT_PER_SEC: '1000',
        WS_RATE_BURST: '1000',
      });
      tenant = await seedTenant(database.url);
    });
    afterAll(async () => {
      await closeAgents(agents);
      await service?.stop();
      saveOutput(service, 'db-restart');
      await cluster?.destroy();
    });

    it(`${AGENTS} agents and a GraphQL registration loop ride out ${RESTARTS} restarts (pg_ctl -m fast): /readyz 503 while down, recovery by itself, nothing acknowledged lost, nothing stale`, async () => {
      const backend = [service.url];
      agents = await startAgents(backend, AGENTS, {
        apiKey: tenant.agentKey,
        agentId: 'restart-agent',
        backoff: { baseMs: 100, capMs: 2000 },
        requestTimeoutMs: 10_000,
      });
      const ids = agents.map((a) => a.client.instanceId!);
      const heartbeats = new HeartbeatLoad(agents, 250, 180_000);
      const registrations = new RegistrationLoad(backend, tenant.agentKey, 'restart-gql', 4, 180_000);
      const rounds: string[] = [];
      try {
        await waitFor(() => heartbeats.ackCount > AGENTS && registrations.acked.length > 20, 30_000, 50, 'warm-up');
        for (let round = 0; round < RESTARTS; round++) {
          const failedBefore = heartbeats.failureCount();
          const stopAt = Date.now();
          await cluster!.stop();
          const stoppedMs = Date.now() - stopAt;
          await waitFor(async () => (await readyz(service.url)) === 503, 15_000, 50, '/readyz 503 while the database is down');
          const readyz503Ms = Date.now() - stopAt;
          await waitFor(() => heartbeats.failureCount() > failedBefore + AGENTS, 15_000, 50, 'heartbeats failing while down');
          const startAt = Date.now();
          await cluster!.start();
          const downMs = Date.now() - stopAt;
          await waitFor(async () => (await readyz(service.url)) === 200, 20_000, 50, '/readyz 200 after the restart');
          const readyMs = Date.now() - startAt;
          await waitFor(
            () => heartbeats.lastAckSentAt > startAt && registrations.lastAckSentAt > startAt,
            20_000,
            10,
            'load acknowledged again',
          );
          const recoveredMs = Date.now() - startAt;
          const listening = await waitFor(
            () =>
              withClient(database.url, async (c) => {
                const { rows } = await c.query(
                  `select pid from pg_stat_activity where datname = current_database() and application_name = 'agent-registry-events'`,
                );
                return rows.length === 1;
              }),
            20_000,
            50,
            'LISTEN connection back',
          );
          expect(listening).toBe(true);
          rounds.push(
            `round ${round + 1}: stop took ${stoppedMs} ms, /readyz 503 after ${readyz503Ms} ms, down ${downMs} ms; ` +
              `after start: /readyz 200 in ${readyMs} ms, load acknowledged in ${recoveredMs} ms, LISTEN back`,
          );
          // the next restart only once the load flows again: a full round of heartbeats acknowledged
          const acked = heartbeats.ackCount;
          await waitFor(() => heartbeats.ackCount >= acked + AGENTS, 15_000, 50, `a heartbeat round after restart ${round + 1}`);
        }
        await heartbeats.stop();
        await registrations.stop();

        await expectNothingLostNothingMasked(database.url, tenant.tenantId, agents, heartbeats, registrations);
        const [state] = await withClient(database.url, async (c) =>
          (
            await c.query<{ rows: number; active: number; stale: number }>(
              `select count(*)::integer as rows,
                      count(*) filter (where registration_status = 'active')::integer as active,
                      (select count(*)::integer from mcp.registration_events where kind = 'stale') as stale
               from mcp.agent_registrations where instance_id = any($1)`,
              [ids],
            )
          ).rows,
        );
        expect(state).toEqual({ rows: AGENTS, active: AGENTS, stale: 0 });
        expect(agents.filter((a) => a.disconnectedAt.length > 0).length).toBe(0);
        expect(service.child.exitCode).toBeNull();

        recordSummary(`3. database restart (own PostgreSQL 15 cluster on port ${cluster!.port}, pg_ctl -m fast, ×${RESTARTS})`, {
          agents: AGENTS,
          rounds: rounds.join('\n'),
          'heartbeats acknowledged (each verified by its event)': heartbeats.ackCount,
          'heartbeats failed (by code)': counts(heartbeats.failures),
          'registrations acknowledged (each verified in the table)': registrations.acked.length,
          'registrations failed (status:code)': counts(registrations.failures),
          'agent rows / active / stale events': `${state.rows} / ${state.active} / ${state.stale}`,
          'agent sockets dropped': 0,
        });
      } finally {
        await heartbeats.stop();
        await registrations.stop();
      }
    });
  },
);
