import type { PoolClient } from 'pg';
import { pgQueryable, type Queryable } from '../../src/db/client';
import {
  heartbeatInstances,
  markStaleInstances,
  purgeRegistrations,
  registerAgentInstance,
  type HeartbeatItem,
  type RegisterResult,
} from '../../src/db/registry-sql';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { eventsOf, registrationOf, testClock } from './support';

const POOL_SIZE = 50;
const needsConnections = postgresOnly('needs many parallel connections; PGlite has exactly one');

/** Settles every promise; returns the values and the errors. */
async function settle<T>(promises: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    values: results.filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled').map((r) => r.value),
    errors: results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason),
  };
}

/** Polls until backend `pid` waits on a lock or `done()` is true; fails after the deadline. */
async function untilBlockedOrDone(db: Queryable, pid: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    const rows = await db.query(`select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'`, [pid]);
    if (rows.length > 0) return;
    if (Date.now() > deadline) throw new Error(`backend ${pid} neither blocked nor finished`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('SQL layer under real concurrency', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ poolSize: POOL_SIZE });
    if (t.db.pool) {
      // open every connection up front, so that the calls below really run at once
      const clients = await Promise.all(Array.from({ length: POOL_SIZE }, () => t.db.pool!.connect()));
      clients.forEach((client) => client.release());
    }
  });
  afterAll(() => t.dispose());

  needsConnections('200 simultaneous registrations of one new instance: one of each row, one is_new, no error', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId('race');

    const { values, errors } = await settle(
      Array.from({ length: 200 }, (_, i) =>
        registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'only', connectionDetails: { call: i } }),
      ),
    );

    expect(errors).toEqual([]);
    expect(values.filter((r) => r.isNew)).toHaveLength(1);
    expect(new Set(values.map((r) => r.registrationId)).size).toBe(1);
    const [counts] = await t.db.query<{ manifests: number; configurations: number; registrations: number }>(
      `select (select count(*) from mcp.agent_manifests where agent_id = $2)::integer as manifests,
              (select count(*) from mcp.agent_configurations where tenant_id = $1)::integer as configurations,
              (select count(*) from mcp.agent_registrations where tenant_id = $1)::integer as registrations`,
      [tenantId, agent],
    );
    expect(counts).toEqual({ manifests: 1, configurations: 1, registrations: 1 });
    expect((await registrationOf(t.db, tenantId, 'only'))?.reconnect_count).toBe(199);
    const kinds = (await eventsOf(t.db, tenantId)).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'registered')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'reconnected')).toHaveLength(199);
    expect(kinds.filter((k) => k === 'configuration_changed')).toHaveLength(1);
  });

  needsConnections('50 tenants registering the same new agent at once: one manifest, 50 configurations, no error', async () => {
    const tenants = await Promise.all(Array.from({ length: 50 }, () => createTenant(t.db)));
    const agent = agentId('shared');

    const { values, errors } = await settle(
      tenants.map((tenantId) => registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1' })),
    );

    expect(errors).toEqual([]);
    expect(values.every((r) => r.isNew)).toBe(true);
    expect(new Set(values.map((r) => r.manifestId)).size).toBe(1);
    const [counts] = await t.db.query<{ manifests: number; configurations: number; registrations: number }>(
      `select (select count(*) from mcp.agent_manifests where agent_id = $1)::integer as manifests,
              (select count(*) from mcp.agent_configurations c join mcp.agent_manifests m on m.id = c.manifest_id
                where m.agent_id = $1)::integer as configurations,
              (select count(*) from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
                where m.agent_id = $1)::integer as registrations`,
      [agent],
    );
    expect(counts).toEqual({ manifests: 1, configurations: 50, registrations: 50 });
  });

  needsConnections('100 instances of one new agent registering at once: one configuration, 100 new registrations', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId('fleet');

    const { values, errors } = await settle(
      Array.from({ length: 100 }, (_, i) => registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: `i-${i}` })),
    );

    expect(errors).toEqual([]);
    expect(values.every((r) => r.isNew)).toBe(true);
    expect(new Set(values.map((r) => r.configId)).size).toBe(1);
    expect(new Set(values.map((r) => r.registrationId)).size).toBe(100);
    const [{ count }] = await t.db.query<{ count: number }>(
      `select count(*)::integer as count from mcp.agent_configurations where tenant_id = $1`,
      [tenantId],
    );
    expect(count).toBe(1);
  });

  needsConnections('concurrent heartbeat batches over overlapping instances: no deadlock, no error, one event per change', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    const instances = Array.from({ length: 60 }, (_, i) => `hb-${i}`);
    for (const instanceId of instances) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId, now: at(0) });
    }
    const before = (await eventsOf(t.db, tenantId)).length;
    const healths = ['healthy', 'degraded', 'unhealthy'] as const;
    // 40 batches of 40 instances each, every batch in its own (shuffled) order and
    // overlapping every other batch; health and workload vary so that rows really change
    const batches: HeartbeatItem[][] = Array.from({ length: 40 }, (_, b) =>
      instances
        .map((instanceId, i) => ({ instanceId, key: (i * 7919 + b * 104729) % 997 }))
        .sort((x, y) => x.key - y.key)
        .slice(0, 40)
        .map(({ instanceId }, i) => ({
          tenantId,
          instanceId,
          health: healths[(b + i) % 3],
          workload: (b * 3 + i) % 5,
        })),
    );

    const { values, errors } = await settle(batches.map((batch, b) => heartbeatInstances(t.db, batch, at(1 + b))));

    expect(errors).toEqual([]);
    const outcomes = values.flat().map((r) => r.outcome);
    expect(outcomes).toHaveLength(40 * 40);
    expect(outcomes.every((o) => o === 'ok' || o === 'changed')).toBe(true);
    const events = (await eventsOf(t.db, tenantId)).slice(before);
    expect(events.every((e) => e.kind === 'health_changed')).toBe(true);
    expect(events).toHaveLength(outcomes.filter((o) => o === 'changed').length);
  });

  // A heartbeat batch locks its rows in id order. A multi-row writer that meets them in
  // another order must not wait for a row the batch holds while holding one the batch
  // wants next. Each case freezes that interleaving with explicit transactions: the batch
  // has locked the lower id; the writer runs; the batch then reaches the higher id.
  const multiRowWriters: Array<[string, (db: Queryable, at: (s: number) => Date) => Promise<unknown>, boolean]> = [
    [
      'the stale sweep',
      (db, at) =>
        markStaleInstances(db, { now: at(100), staleAfterMs: 30_000, maxShare: 1, minActive: 1000, holdCeilingMs: 600_000 }),
      false,
    ],
    ['the purge', (db, at) => purgeRegistrations(db, 3_600_000, at(2 * 3600)), true],
  ];
  for (const [name, writer, staleFirst] of multiRowWriters) {
    needsConnections(`${name} and a heartbeat batch meeting the same rows in opposite orders do not deadlock`, async () => {
      const at = testClock();
      const tenantId = await createTenant(t.db);
      const agent = agentId();
      const a = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'a', now: at(0) });
      const b = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'b', now: at(0) });
      const [low, high] = [a, b].sort((x, y) => (x.registrationId < y.registrationId ? -1 : 1));
      const instanceOf = (r: RegisterResult) => (r === a ? 'a' : 'b');
      // the lower id gets the newer heartbeat and the later physical position, so the
      // writer meets the higher id first while the batch locks the lower id first
      if (staleFirst) {
        await t.db.query(`update mcp.agent_registrations set registration_status = 'stale' where tenant_id = $1`, [tenantId]);
      }
      await t.db.query(`update mcp.agent_registrations set last_health_check = $2 where id = $1`, [
        low.registrationId,
        at(1),
      ]);
      const heartbeater = await t.db.pool!.connect();
      const writerClient = await t.db.pool!.connect();
      const pidOf = async (client: PoolClient) =>
        (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
      const [heartbeaterPid, writerPid] = [await pidOf(heartbeater), await pidOf(writerClient)];
      const errors: unknown[] = [];
      try {
        await heartbeater.query('begin');
        await heartbeatInstances(pgQueryable(heartbeater), [{ tenantId, instanceId: instanceOf(low) }], at(100));
        await writerClient.query('begin');
        let writerDone = false;
        const written = writer(pgQueryable(writerClient), at)
          .catch((error: unknown) => void errors.push(error))
          .finally(() => (writerDone = true));
        await untilBlockedOrDone(t.db, writerPid, () => writerDone);
        let heartbeatDone = false;
        const heartbeat = heartbeatInstances(pgQueryable(heartbeater), [{ tenantId, instanceId: instanceOf(high) }], at(100))
          .catch((error: unknown) => void errors.push(error))
          .finally(() => (heartbeatDone = true));
        await untilBlockedOrDone(t.db, heartbeaterPid, () => heartbeatDone);
        // each commits once its statement is done; a deadlock, if any, is detected after
        // deadlock_timeout (1 s) and ends one of them with 40P01
        await Promise.all([
          written.then(() => writerClient.query('commit')),
          heartbeat.then(() => heartbeater.query('commit')),
        ]);
      } finally {
        await heartbeater.query('rollback').catch(() => undefined);
        await writerClient.query('rollback').catch(() => undefined);
        heartbeater.release();
        writerClient.release();
      }

      expect(errors.map((e) => (e as { code?: string }).code ?? e)).toEqual([]);
      expect((await registrationOf(t.db, tenantId, instanceOf(low)))?.registration_status).toBe('active');
    });
  }

  needsConnections('two sweeps at once mark each instance stale exactly once', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    for (let i = 0; i < 20; i++) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: `s-${i}`, now: at(0) });
    }
    const options = { now: at(120), staleAfterMs: 45_000, maxShare: 1, minActive: 1_000_000, holdCeilingMs: 600_000 };

    const { values, errors } = await settle(Array.from({ length: 2 }, () => markStaleInstances(t.db, options)));

    expect(errors).toEqual([]);
    const marked = values.flat().filter((r) => r.tenantId === tenantId).reduce((sum, r) => sum + r.marked, 0);
    expect(marked).toBe(20);
    const stale = (await eventsOf(t.db, tenantId)).filter((e) => e.kind === 'stale');
    expect(stale).toHaveLength(20);
    expect(new Set(stale.map((e) => e.instance_id)).size).toBe(20);
  });

  needsConnections('a sweep while another sweep is in its transaction returns at once and changes nothing', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    await registerAgentInstance(t.db, { tenantId, agentId: agentId(), instanceId: 'x', now: at(0) });
    const first = await t.db.pool!.connect();
    try {
      await first.query('begin');
      const { rows: firstRows } = await first.query(
        `select * from mcp.mark_stale_instances($1, interval '45 seconds', 1.0, 1000)`,
        [at(120)],
      );

      const second = await markStaleInstances(t.db, {
        now: at(120),
        staleAfterMs: 45_000,
        maxShare: 1,
        minActive: 1000,
        holdCeilingMs: 600_000,
      });
      await first.query('commit');

      expect(firstRows.filter((r) => r.tenant_id === tenantId)).toHaveLength(1);
      expect(second).toEqual([]);
    } finally {
      await first.query('rollback').catch(() => undefined);
      first.release();
    }
    expect((await eventsOf(t.db, tenantId)).filter((e) => e.kind === 'stale')).toHaveLength(1);
  });
});
