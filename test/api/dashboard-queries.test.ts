import { type App, createApp } from '../../src/app';
import type { Principal, Role } from '../../src/auth/api-keys';
import { testConfig } from '../helpers/app';
import { type TestDatabase, createTestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';

/**
 * The queries the dashboard added to the API: registrations search and ordering, and
 * healthHistory. The app runs with a manual clock so every event has a known time.
 */
describe('dashboard queries', () => {
  const T0 = Date.parse('2026-06-01T12:00:00.000Z');
  let now = T0;
  const clock = { now: () => new Date(now) };
  let database: TestDatabase;
  let app: App;
  let tenantA: string;
  let tenantB: string;
  let viewerA: Principal;
  let viewerB: Principal;
  let agentA: Principal;
  const agent = agentId('hist');
  const other = agentId('other');

  const principal = async (tenantId: string | null, role: Role): Promise<Principal> => {
    const { apiKey } = await app.services.apiKeys.insert(tenantId, `${role} key`, role);
    return { keyId: apiKey.id, keyName: apiKey.name, role, tenantId };
  };
  const run = async (p: Principal, query: string, variables: Record<string, unknown> = {}) => {
    const response = await app.graphql.executeOperation({ query, variables }, { contextValue: app.contextFor(p) });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult as { data?: any; errors?: Array<{ extensions?: Record<string, unknown> }> };
  };
  const at = async (offsetSeconds: number, action: () => Promise<unknown>) => {
    now = T0 + offsetSeconds * 1000;
    await action();
  };
  const lifecycle = () => app.services.lifecycle;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await createApp(testConfig(), { db: database.db, clock });
    tenantA = await createTenant(database.db);
    tenantB = await createTenant(database.db);
    viewerA = await principal(tenantA, 'viewer');
    viewerB = await principal(tenantB, 'viewer');
    agentA = await principal(tenantA, 'agent');

    // tenant A: a-0 before the range; a-1 and a-2 come, change and go inside it
    await at(-60, () => lifecycle().register(tenantA, { agentId: agent, instanceId: 'a-0' }));
    await at(30, () => lifecycle().register(tenantA, { agentId: agent, instanceId: 'a-1' }));
    await at(30, () => lifecycle().register(tenantA, { agentId: other, instanceId: 'b-1' }));
    await at(90, () => lifecycle().register(tenantA, { agentId: agent, instanceId: 'a-2' }));
    await at(150, () => lifecycle().heartbeat(tenantA, { instanceId: 'a-1', health: 'degraded' }, 'graphql'));
    await at(200, () => lifecycle().deregister(tenantA, 'a-2'));
    await at(300, () => lifecycle().heartbeat(tenantA, { instanceId: 'a-1', health: 'unhealthy' }, 'graphql'));
    // tenant B: the same agent id and instance ids, never visible to A
    await at(30, () => lifecycle().register(tenantB, { agentId: agent, instanceId: 'a-1' }));
    await at(40, () => lifecycle().register(tenantB, { agentId: agent, instanceId: 'B-search-%_x' }));
    now = T0 + 600_000;
  });
  afterAll(async () => {
    await app.stop();
    await database.dispose();
  });

  const HISTORY = `query ($agentId: String, $from: DateTimeISO, $to: DateTimeISO, $bucketSeconds: Int, $tenantId: ID) {
    healthHistory(agentId: $agentId, from: $from, to: $to, bucketSeconds: $bucketSeconds, tenantId: $tenantId) {
      agentId from to bucketSeconds points { at healthy degraded unhealthy disconnected unknown active }
    }
  }`;
  const range = { from: new Date(T0).toISOString(), to: new Date(T0 + 600_000).toISOString(), bucketSeconds: 60 };
  const counts = (points: Array<Record<string, unknown>>) => points.map((p) => [p.healthy, p.degraded, p.unhealthy, p.active]);

  describe('healthHistory', () => {
    it('counts the active instances of an agent by health at the end of every bucket, from the log', async () => {
      const result = await run(viewerA, HISTORY, { agentId: agent, ...range });
      expect(result.errors).toBeUndefined();
      const history = result.data.healthHistory;
      expect(history.from).toBe(range.from);
      expect(history.points).toHaveLength(10);
      expect(history.points[0].at).toBe(new Date(T0 + 60_000).toISOString());
      expect(history.points[9].at).toBe(range.to);
      expect(counts(history.points)).toEqual([
        [2, 0, 0, 2], // 60 s: a-0, a-1
        [3, 0, 0, 3], // 120 s: + a-2
        [2, 1, 0, 3], // 180 s: a-1 degraded
        [1, 1, 0, 2], // 240 s: a-2 deregistered
        [1, 0, 1, 2], // 300 s: a-1 unhealthy (an event on the edge counts)
        [1, 0, 1, 2],
        [1, 0, 1, 2],
        [1, 0, 1, 2],
        [1, 0, 1, 2],
        [1, 0, 1, 2],
      ]);
    });

    it('the last point is the current state (agentSummaries)', async () => {
      const { data } = await run(viewerA, HISTORY, { agentId: agent, bucketSeconds: 60 }); // to: now (the clock)
      const last = data.healthHistory.points.at(-1);
      const summaries = await run(viewerA, `{ agentSummaries { nodes { agentId byHealth { healthy degraded unhealthy disconnected unknown } } } }`);
      const summary = summaries.data.agentSummaries.nodes.find((n: { agentId: string }) => n.agentId === agent);
      expect({ ...summary.byHealth }).toEqual({
        healthy: last.healthy,
        degraded: last.degraded,
        unhealthy: last.unhealthy,
        disconnected: last.disconnected,
        unknown: last.unknown,
      });
    });

    it('without agentId counts every agent of the tenant', async () => {
      const { data } = await run(viewerA, HISTORY, range);
      expect(data.healthHistory.points.map((p: { active: number }) => p.active)).toEqual([3, 4, 4, 3, 3, 3, 3, 3, 3, 3]);
    });

    it("another tenant's key sees only its own instances; a tenant key naming another tenant is FORBIDDEN", async () => {
      const { data } = await run(viewerB, HISTORY, { agentId: agent, ...range });
      expect(data.healthHistory.points.map((p: { active: number }) => p.active)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
      const named = await run(viewerB, HISTORY, { ...range, tenantId: tenantA });
      expect(named.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const asAgent = await run(agentA, HISTORY, range);
      expect(asAgent.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('an instance whose events were pruned counts by its current row from when it registered', async () => {
      await database.db.query(`delete from mcp.registration_events where tenant_id = $1 and instance_id = 'a-0'`, [tenantA]);
      const { data } = await run(viewerA, HISTORY, { agentId: agent, ...range });
      expect(data.healthHistory.points.map((p: { healthy: number }) => p.healthy)).toEqual([2, 3, 2, 1, 1, 1, 1, 1, 1, 1]);
    });

    it('refuses, with a coded BAD_USER_INPUT and no rows read, a range over 7 days, too many buckets, or from after to', async () => {
      const tooLong = await run(viewerA, HISTORY, { from: new Date(T0 - 8 * 86_400_000).toISOString(), to: range.to, bucketSeconds: 3600 });
      expect(tooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'historyRange' });
      const tooMany = await run(viewerA, HISTORY, { from: new Date(T0 - 86_400_000).toISOString(), to: range.to, bucketSeconds: 10 });
      expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'historyBuckets', field: 'bucketSeconds' });
      const backwards = await run(viewerA, HISTORY, { from: range.to, to: range.from });
      expect(backwards.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
      const zero = await run(viewerA, HISTORY, { ...range, bucketSeconds: 0 });
      expect(zero.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  const LIST = `query ($filter: RegistrationFilter, $orderBy: RegistrationOrder, $first: Int, $after: String) {
    registrations(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { instanceId healthStatus lastHealthCheck registeredAt agentId }
    }
  }`;
  const walk = async (p: Principal, variables: Record<string, unknown>) => {
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const result = await run(p, LIST, { ...variables, first: 2, after });
      expect(result.errors).toBeUndefined();
      ids.push(...result.data.registrations.nodes.map((n: { instanceId: string }) => n.instanceId));
      if (!result.data.registrations.pageInfo.hasNextPage) break;
      after = result.data.registrations.pageInfo.endCursor;
    }
    return ids;
  };

  describe('registrations: search and order', () => {
    it('instanceIdContains matches part of the id, case-insensitively, with % and _ taken literally', async () => {
      const some = await run(viewerA, LIST, { filter: { instanceIdContains: 'A-' } });
      expect(some.data.registrations.nodes.map((n: { instanceId: string }) => n.instanceId)).toEqual(['a-0', 'a-1', 'a-2']);
      const literal = await run(viewerB, LIST, { filter: { instanceIdContains: '%_' } });
      expect(literal.data.registrations.nodes.map((n: { instanceId: string }) => n.instanceId)).toEqual(['B-search-%_x']);
      const wildcardIsNotAWildcard = await run(viewerA, LIST, { filter: { instanceIdContains: '%' } });
      expect(wildcardIsNotAWildcard.data.registrations.totalCount).toBe(0);
      const tooLong = await run(viewerA, LIST, { filter: { instanceIdContains: 'x'.repeat(257) } });
      expect(tooLong.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });

    it("search never finds another tenant's instances", async () => {
      const result = await run(viewerA, LIST, { filter: { instanceIdContains: 'search' } });
      expect(result.data.registrations.totalCount).toBe(0);
    });

    it('pages through every order in that order, each row once, ties broken by instanceId', async () => {
      const all = (await run(viewerA, LIST, { first: 100 })).data.registrations.nodes as Array<Record<string, string>>;
      expect(all.map((n) => n.instanceId)).toEqual(['a-0', 'a-1', 'a-2', 'b-1']);
      const by = (key: string, desc: boolean) =>
        [...all]
          .sort((x, y) => (x[key] < y[key] ? -1 : x[key] > y[key] ? 1 : x.instanceId < y.instanceId ? -1 : 1) * (desc ? -1 : 1))
          .map((n) => n.instanceId);
      expect(await walk(viewerA, { orderBy: { field: 'lastHealthCheck', direction: 'desc' } })).toEqual(by('lastHealthCheck', true));
      expect(await walk(viewerA, { orderBy: { field: 'registeredAt', direction: 'asc' } })).toEqual(by('registeredAt', false));
      expect(await walk(viewerA, { orderBy: { field: 'instanceId', direction: 'desc' } })).toEqual(['b-1', 'a-2', 'a-1', 'a-0']);
      expect(await walk(viewerA, { orderBy: { field: 'agentId', direction: 'asc' } })).toEqual(by('agentId', false));
      // health in the enum's order, not alphabetical
      const rank = (n: Record<string, string>) => ['healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown'].indexOf(n.healthStatus);
      const byHealth = [...all].sort((x, y) => rank(x) - rank(y) || (x.instanceId < y.instanceId ? -1 : 1)).map((n) => n.instanceId);
      expect(new Set(all.map((n) => n.healthStatus)).size).toBeGreaterThanOrEqual(3);
      expect(await walk(viewerA, { orderBy: { field: 'healthStatus', direction: 'asc' } })).toEqual(byHealth);
      expect(await walk(viewerA, { orderBy: { field: 'healthStatus', direction: 'desc' } })).toEqual([...byHealth].reverse());
    });

    it('refuses a cursor of another order or a forged one with BAD_USER_INPUT', async () => {
      const first = await run(viewerA, LIST, { first: 1, orderBy: { field: 'lastHealthCheck', direction: 'desc' } });
      const cursor = first.data.registrations.pageInfo.endCursor;
      const otherOrder = await run(viewerA, LIST, { first: 1, after: cursor, orderBy: { field: 'registeredAt', direction: 'desc' } });
      expect(otherOrder.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      const forged = Buffer.from(`k:${JSON.stringify(['lastHealthCheck', 'desc', 'not a time', 'a-1'])}`).toString('base64url');
      const bad = await run(viewerA, LIST, { first: 1, after: forged, orderBy: { field: 'lastHealthCheck', direction: 'desc' } });
      expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      const forgedHealth = Buffer.from(`k:${JSON.stringify(['healthStatus', 'asc', 'great', 'a-1'])}`).toString('base64url');
      const badHealth = await run(viewerA, LIST, { first: 1, after: forgedHealth, orderBy: { field: 'healthStatus', direction: 'asc' } });
      expect(badHealth.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });
  });
});
