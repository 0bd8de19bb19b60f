import { Client } from 'pg';
import { markStaleInstances } from '../../src/db/registry-sql';
import type { EventKind } from '../../src/events/types';
import { startTestApp, type TestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { streamsOpen, subscribe, type Subscriber } from '../events/subscriber';
import { eventually } from '../events/support';

describe('registrationEvents subscription (graphql-ws on /graphql)', () => {
  let apps: TestApp[];
  let subscribers: Subscriber[];

  beforeEach(() => {
    apps = [];
    subscribers = [];
  });
  afterEach(async () => {
    for (const s of subscribers) await s.dispose();
    // the second app of a pair shares the first one's database: stop it first
    for (const t of [...apps].reverse()) await t.dispose();
  });

  const start = async (options: Parameters<typeof startTestApp>[0] = {}) => {
    const t = await startTestApp(options);
    apps.push(t);
    return t;
  };
  const watch = (t: TestApp, key: string, variables: Parameters<typeof subscribe>[2] = {}) => {
    const s = subscribe(t.url, key, variables);
    subscribers.push(s);
    return s;
  };
  const gql = async (t: TestApp, key: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions: { code: string } }> };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };

  it("delivers every kind of change to the tenant's dashboard, in order, and none to another tenant's", async () => {
    const t = await start();
    const { db } = t.database;
    const { lifecycle, configurations, events } = t.app.services;
    const tenantA = await createTenant(db);
    const tenantB = await createTenant(db);
    const dashboardA = watch(t, await createApiKey(db, tenantA, 'viewer'));
    const dashboardB = watch(t, await createApiKey(db, tenantB, 'viewer'));
    await streamsOpen(t.app, 2);

    const agent = agentId();
    await lifecycle.register(tenantA, { agentId: agent, instanceId: 'a-1' });
    await lifecycle.heartbeat(tenantA, { instanceId: 'a-1', health: 'degraded' }, 'graphql');
    await lifecycle.heartbeat(tenantA, { instanceId: 'a-1' }, 'graphql'); // changes nothing: no event
    await lifecycle.disconnected(tenantA, 'a-1');
    // a sweep returns nothing while another one (the app's own) holds the sweep lock: retry
    await eventually(async () => {
      const swept = await markStaleInstances(db, {
        now: new Date(Date.now() + 3_600_000),
        staleAfterMs: 1000,
        maxShare: 1,
        minActive: 1_000_000,
        holdCeilingMs: 1000,
      });
      return swept.some((tenant) => tenant.tenantId === tenantA && tenant.marked === 1);
    });
    events.written();
    await lifecycle.register(tenantA, { agentId: agent, instanceId: 'a-1' });
    const [config] = await db.query<{ id: string; version: number }>(
      `select id, version from mcp.agent_configurations where tenant_id = $1`,
      [tenantA],
    );
    await configurations.update(tenantA, config.id, config.version, { temperature: 1.5 });
    await lifecycle.deregister(tenantA, 'a-1');
    await lifecycle.register(tenantB, { agentId: agent, instanceId: 'b-1' });

    const expected: EventKind[] = [
      'configuration_changed',
      'registered',
      'health_changed',
      'disconnected',
      'stale',
      'reconnected',
      'configuration_changed',
      'deregistered',
    ];
    await dashboardA.until((seen) => seen.length >= expected.length);
    await dashboardB.until((seen) => seen.some((e) => e.kind === 'registered'));
    expect(dashboardA.events.map((e) => e.kind)).toEqual(expected);
    expect(dashboardA.events.every((e) => e.tenantId === tenantA)).toBe(true);
    expect(dashboardA.events[1]).toMatchObject({
      agentId: agent,
      instanceId: 'a-1',
      registrationStatus: 'active',
      healthStatus: 'healthy',
    });
    expect(dashboardA.events[2]).toMatchObject({ kind: 'health_changed', healthStatus: 'degraded' });
    expect(dashboardA.events[4]).toMatchObject({ kind: 'stale', registrationStatus: 'stale' });
    expect(dashboardA.events[7]).toMatchObject({ kind: 'deregistered', registrationStatus: 'deregistered' });
    expect(dashboardB.events.every((e) => e.tenantId === tenantB)).toBe(true);
    expect(dashboardB.events.some((e) => e.instanceId === 'a-1')).toBe(false);
    // the ids the dashboard saw are exactly the tenant's log
    const log = await db.query<{ id: string }>(
      `select id::text as id from mcp.registration_events where tenant_id = $1 order by tx_id, id`,
      [tenantA],
    );
    expect(dashboardA.events.map((e) => e.id)).toEqual(log.map((r) => r.id));
  });

  it('filters by agent and kind', async () => {
    const t = await start();
    const { db } = t.database;
    const tenant = await createTenant(db);
    const [watched, other] = [agentId('watched'), agentId('other')];
    const dashboard = watch(t, await createApiKey(db, tenant, 'viewer'), { agentId: watched, kinds: ['registered', 'deregistered'] });
    const everything = watch(t, await createApiKey(db, tenant, 'viewer'));
    await streamsOpen(t.app, 2);
    const { lifecycle } = t.app.services;
    await lifecycle.register(tenant, { agentId: other, instanceId: 'o-1' });
    await lifecycle.register(tenant, { agentId: watched, instanceId: 'w-1' });
    await lifecycle.heartbeat(tenant, { instanceId: 'w-1', health: 'unhealthy' }, 'graphql');
    await lifecycle.deregister(tenant, 'w-1');
    await everything.until((seen) => seen.some((e) => e.kind === 'deregistered'));
    await dashboard.until((seen) => seen.length >= 2);
    expect(dashboard.events.map((e) => [e.kind, e.instanceId])).toEqual([
      ['registered', 'w-1'],
      ['deregistered', 'w-1'],
    ]);
  });

  it('resumes with since: exactly the missed events, then live ones', async () => {
    const t = await start();
    const { db } = t.database;
    const tenant = await createTenant(db);
    const key = await createApiKey(db, tenant, 'viewer');
    const { lifecycle } = t.app.services;
    const agent = agentId();

    const first = watch(t, key, { kinds: ['registered'] });
    await streamsOpen(t.app, 1);
    await lifecycle.register(tenant, { agentId: agent, instanceId: 'i-1' });
    await lifecycle.register(tenant, { agentId: agent, instanceId: 'i-2' });
    await first.until((seen) => seen.length >= 2);
    await first.dispose();
    await streamsOpen(t.app, 0);

    for (const n of [3, 4, 5]) await lifecycle.register(tenant, { agentId: agent, instanceId: `i-${n}` });
    const resumed = watch(t, key, { kinds: ['registered'], since: first.events[1].id });
    await resumed.until((seen) => seen.length >= 3);
    await lifecycle.register(tenant, { agentId: agent, instanceId: 'i-6' });
    await resumed.until((seen) => seen.length >= 4);
    expect(resumed.events.map((e) => e.instanceId)).toEqual(['i-3', 'i-4', 'i-5', 'i-6']);
    expect(first.events.map((e) => e.instanceId)).toEqual(['i-1', 'i-2']);
  });

  it("refuses a since that is not one of the tenant's events (BAD_USER_INPUT)", async () => {
    const t = await start();
    const { db } = t.database;
    const [tenant, other] = [await createTenant(db), await createTenant(db)];
    await t.app.services.lifecycle.register(other, { agentId: agentId(), instanceId: 'x' });
    const [foreign] = await db.query<{ id: string }>(`select id from mcp.registration_events where tenant_id = $1 limit 1`, [
      other,
    ]);
    const dashboard = watch(t, await createApiKey(db, tenant, 'viewer'), { since: foreign.id });
    await eventually(() => dashboard.errors.length > 0);
    expect(dashboard.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(dashboard.events).toEqual([]);
  });

  it('refuses agent keys (FORBIDDEN): dashboards subscribe with viewer, admin or operator keys', async () => {
    const t = await start();
    const tenant = await createTenant(t.database.db);
    const dashboard = watch(t, await createApiKey(t.database.db, tenant, 'agent'));
    await eventually(() => dashboard.errors.length > 0);
    expect(dashboard.errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
  });

  it('returns subscriptions and feed listeners to their baseline after clients leave', async () => {
    const t = await start();
    const { db } = t.database;
    const tenant = await createTenant(db);
    const key = await createApiKey(db, tenant, 'viewer');
    const listeners = t.app.services.eventLog.listenerCount;
    const many = Array.from({ length: 10 }, (_, i) => watch(t, key, i % 2 ? { since: undefined } : { kinds: ['stale'] }));
    await streamsOpen(t.app, 10);
    expect(t.app.services.eventLog.listenerCount).toBe(listeners + 10);
    await t.app.services.lifecycle.register(tenant, { agentId: agentId(), instanceId: 'i' });
    await many[1].until((seen) => seen.length > 0);
    for (const s of many) await s.dispose();
    await streamsOpen(t.app, 0);
    await eventually(() => t.app.graphqlSockets.size === 0);
    expect(t.app.services.eventLog.listenerCount).toBe(listeners);
  });

  it('closes the sockets of a revoked key with 4403', async () => {
    const t = await start({ env: { SUBSCRIPTION_AUTH_CHECK_MS: '50' } });
    const { db } = t.database;
    const tenant = await createTenant(db);
    const revoked = watch(t, await createApiKey(db, tenant, 'viewer', 'to revoke'));
    const kept = watch(t, await createApiKey(db, tenant, 'viewer', 'kept'));
    await streamsOpen(t.app, 2);
    await db.query(`update mcp.api_keys set revoked_at = now() where name = 'to revoke'`);
    await eventually(() => revoked.closeCodes.length > 0);
    expect(revoked.closeCodes).toEqual([4403]);
    await t.app.services.lifecycle.register(tenant, { agentId: agentId(), instanceId: 'after' });
    await kept.until((seen) => seen.some((e) => e.instanceId === 'after'));
    expect(kept.closeCodes).toEqual([]);
  });

  postgresOnly('holds a table lock on a second connection')(
    'a socket that connects while a revocation check is in flight is not taken for revoked',
    async () => {
      // the timer is out of the way: the test runs the check itself
      const t = await start({ env: { SUBSCRIPTION_AUTH_CHECK_MS: '3600000' } });
      const { db } = t.database;
      const tenant = await createTenant(db);
      const first = watch(t, await createApiKey(db, tenant, 'viewer', 'first'));
      await streamsOpen(t.app, 1);
      const laterKey = await createApiKey(db, tenant, 'viewer', 'later');
      // cached now, so the later socket authenticates without reading api_keys
      expect(await t.app.services.auth.authenticate(laterKey)).not.toBeNull();
      const locker = new Client({ connectionString: t.database.url });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table mcp.api_keys in access exclusive mode');
        const check = t.app.graphqlSockets.closeRevoked(); // its query waits for the lock
        const later = watch(t, laterKey);
        await streamsOpen(t.app, 2);
        await locker.query('rollback');
        expect(await check).toBe(0);
        expect(await t.app.graphqlSockets.closeRevoked()).toBe(0);
        expect(later.closeCodes).toEqual([]);
        expect(first.closeCodes).toEqual([]);
        expect(t.app.services.eventStreams.size).toBe(2);
      } finally {
        await locker.end();
      }
    },
  );

  it('a slow subscriber neither grows server memory without bound nor holds back others, and loses nothing', async () => {
    const maxQueue = 20;
    const t = await start({ env: { SUBSCRIPTION_MAX_QUEUE: String(maxQueue) } });
    const { db } = t.database;
    const tenant = await createTenant(db);
    const key = await createApiKey(db, tenant, 'viewer');
    const slow = watch(t, key);
    const fast = watch(t, key);
    await streamsOpen(t.app, 2);
    // the slow client stops reading its socket: once the kernel buffers are full, the
    // server cannot write to it; ~10 MB of events makes sure they fill
    slow.pause(true);
    const total = 5000;
    await db.query(
      `insert into mcp.registration_events (tenant_id, kind, instance_id, payload)
       select $1, 'stale', 'i-' || n, jsonb_build_object('pad', repeat('x', 2000)) from generate_series(1, $2::integer) n`,
      [tenant, total],
    );
    let maxQueued = 0;
    const sample = setInterval(() => {
      maxQueued = Math.max(maxQueued, t.app.services.eventStreams.queued);
    }, 1);
    try {
      t.app.services.events.written();
      await fast.until((seen) => seen.length >= total, 30_000);
      // the fast one got everything while the slow one is still stuck
      expect(slow.events.length).toBeLessThan(total);
      slow.pause(false);
      await slow.until((seen) => seen.length >= total, 30_000);
    } finally {
      clearInterval(sample);
    }
    const expected = Array.from({ length: total }, (_, n) => `i-${n + 1}`);
    expect(fast.events.map((e) => e.instanceId)).toEqual(expected);
    expect(slow.events.map((e) => e.instanceId)).toEqual(expected);
    // two subscriptions, each bounded by its queue
    expect(maxQueued).toBeLessThanOrEqual(2 * (maxQueue + 1));
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^agent_registry_subscription_overflows_total [1-9]/m);
  });

  postgresOnly('needs concurrent transactions')(
    'out-of-order commits: every event reaches the subscriber exactly once',
    async () => {
      const t = await start();
      const { db } = t.database;
      const tenant = await createTenant(db);
      const dashboard = watch(t, await createApiKey(db, tenant, 'viewer'));
      await streamsOpen(t.app, 1);
      const writers = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const client = new Client({ connectionString: t.database.url });
          await client.connect();
          return client;
        }),
      );
      try {
        for (let round = 0; round < 3; round++) {
          for (const [n, client] of writers.entries()) {
            await client.query('begin');
            await client.query(`insert into mcp.registration_events (tenant_id, kind, instance_id) values ($1, 'registered', $2)`, [
              tenant,
              `r${round}-w${n}`,
            ]);
          }
          // higher ids commit first; the app reads between the commits
          for (const client of [...writers].reverse()) {
            await client.query('commit');
            t.app.services.events.written();
            await t.app.services.eventLog.flush();
          }
        }
      } finally {
        await Promise.all(writers.map((client) => client.end()));
      }
      await dashboard.until((seen) => seen.length >= 30);
      const log = await db.query<{ id: string }>(
        `select id::text as id from mcp.registration_events where tenant_id = $1 order by tx_id, id`,
        [tenant],
      );
      expect(dashboard.events.map((e) => e.id)).toEqual(log.map((r) => r.id));
      expect(new Set(dashboard.events.map((e) => e.id)).size).toBe(30);
    },
  );

  postgresOnly('kills a backend with pg_terminate_backend')(
    "killing the subscriber process's LISTEN connection while events flow loses nothing",
    async () => {
      const writer = await start({ env: { EVENT_POLL_INTERVAL_MS: '60000' } });
      const reader = await start({ database: writer.database, env: { EVENT_POLL_INTERVAL_MS: '60000' } });
      const { db } = writer.database;
      const tenant = await createTenant(db);
      const dashboard = watch(reader, await createApiKey(db, tenant, 'viewer'), { kinds: ['registered'] });
      await streamsOpen(reader.app, 1);
      const pid = reader.app.services.eventLog.listenerBackendPid;
      expect(pid).not.toBeNull();
      const registering = (async () => {
        for (let n = 0; n < 40; n++) {
          await writer.app.services.lifecycle.register(tenant, { agentId: 'flowing', instanceId: `i-${n}` });
          if (n === 10) await db.query(`select pg_terminate_backend($1)`, [pid]);
        }
      })();
      await registering;
      await eventually(() => ![null, pid].includes(reader.app.services.eventLog.listenerBackendPid));
      await dashboard.until((seen) => seen.length >= 40, 20_000);
      expect(dashboard.events.map((e) => e.instanceId)).toEqual(Array.from({ length: 40 }, (_, n) => `i-${n}`));
    },
  );

  postgresOnly('two app processes need a shared server database')(
    'a change made through process A reaches a subscriber on process B',
    async () => {
      const a = await start();
      const b = await start({ database: a.database });
      const { db } = a.database;
      const tenant = await createTenant(db);
      const dashboard = watch(b, await createApiKey(db, tenant, 'viewer'));
      const agentKey = await createApiKey(db, tenant, 'agent');
      await streamsOpen(b.app, 1);

      const latencies: number[] = [];
      for (let n = 0; n < 20; n++) {
        const seen = dashboard.events.length;
        await gql(a, agentKey, `mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`, {
          input: { agentId: 'cross-process', instanceId: `i-${n}` },
        });
        const committed = performance.now();
        await dashboard.until((events) => events.slice(seen).some((e) => e.instanceId === `i-${n}` && e.kind === 'registered'));
        const at = dashboard.events.findIndex((e) => e.instanceId === `i-${n}` && e.kind === 'registered');
        latencies.push(dashboard.receivedAt[at] - committed);
      }
      latencies.sort((x, y) => x - y);
      // informational: commit (mutation answered) to subscriber, across processes
      console.log(`cross-process event latency ms: p50 ${latencies[10].toFixed(1)}, max ${latencies[19].toFixed(1)}`);
      expect(dashboard.events.filter((e) => e.kind === 'registered').map((e) => e.instanceId)).toEqual(
        Array.from({ length: 20 }, (_, n) => `i-${n}`),
      );
    },
  );
});
