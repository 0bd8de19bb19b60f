import {
  deregisterAgentInstance,
  heartbeatInstances,
  markInstanceDisconnected,
  markStaleInstances,
  purgeRegistrations,
  pruneEvents,
  registerAgentInstance,
  type HeartbeatItem,
  type StaleSweepOptions,
  type StaleSweepTenant,
} from '../../src/db/registry-sql';
import { ErrorCode } from '../../src/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { appErrorOf, eventsOf, lastEventId, registrationOf, sqlStateOfFailure, testClock } from './support';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('liveness in SQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  /** Registers `instances` of one new agent in a new tenant at `now`. */
  async function setup(instances: string[], now: Date): Promise<{ tenantId: string; agent: string }> {
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    for (const instanceId of instances) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId, now });
    }
    return { tenantId, agent };
  }

  /** One sweep with the defaults of DESIGN.md (45 s, 50 %, 10, 10 min); this tenant's line. */
  async function sweep(
    tenantId: string,
    now: Date,
    overrides: Partial<StaleSweepOptions> = {},
  ): Promise<StaleSweepTenant | undefined> {
    const rows = await markStaleInstances(t.db, {
      now,
      staleAfterMs: 45_000,
      maxShare: 0.5,
      minActive: 10,
      holdCeilingMs: 10 * MINUTE,
      ...overrides,
    });
    return rows.find((row) => row.tenantId === tenantId);
  }

  async function heartbeat(tenantId: string, items: Omit<HeartbeatItem, 'tenantId'>[], now: Date) {
    return heartbeatInstances(
      t.db,
      items.map((item) => ({ tenantId, ...item })),
      now,
    );
  }

  describe('heartbeat batch', () => {
    it('reports ok, changed, revived and not_registered, in input order, with one event per change', async () => {
      const at = testClock();
      const { tenantId, agent } = await setup(['same', 'change', 'silent', 'gone'], at(0));
      await heartbeat(tenantId, [{ instanceId: 'same' }, { instanceId: 'change' }, { instanceId: 'gone' }], at(30));
      expect((await sweep(tenantId, at(60), { minActive: 1000 }))?.marked).toBe(1); // 'silent' is stale
      await deregisterAgentInstance(t.db, tenantId, 'gone', { now: at(61) });
      const before = await registrationOf(t.db, tenantId, 'same');
      const cursor = await lastEventId(t.db);

      const results = await heartbeat(
        tenantId,
        [
          { instanceId: 'same' },
          { instanceId: 'change', health: 'degraded', workload: 2 },
          { instanceId: 'silent' },
          { instanceId: 'unknown' },
          { instanceId: 'gone' },
        ],
        at(70),
      );

      expect(results.map((r) => r.outcome)).toEqual(['ok', 'changed', 'revived', 'not_registered', 'not_registered']);
      expect(results[0].registrationId).toBe(before?.id);
      expect(results[3].registrationId).toBeNull();
      const same = await registrationOf(t.db, tenantId, 'same');
      expect(same).toMatchObject({ last_health_check: at(70), updated_at: before?.updated_at, health_status: 'healthy' });
      expect(await registrationOf(t.db, tenantId, 'change')).toMatchObject({
        health_status: 'degraded',
        current_workload: 2,
        last_health_check: at(70),
      });
      expect(await registrationOf(t.db, tenantId, 'silent')).toMatchObject({
        registration_status: 'active',
        health_status: 'healthy',
        reconnect_count: 1,
      });
      expect(await registrationOf(t.db, tenantId, 'gone')).toMatchObject({ registration_status: 'deregistered' });
      const events = (await eventsOf(t.db, tenantId, cursor)).sort((x, y) => x.kind.localeCompare(y.kind));
      expect(events.map((e) => [e.kind, e.instance_id, e.registration_status, e.health_status, e.agent_id])).toEqual([
        ['health_changed', 'change', 'active', 'degraded', agent],
        ['reconnected', 'silent', 'active', 'healthy', agent],
      ]);
      expect(events[0].payload).toMatchObject({ previous_health: 'healthy', previous_workload: 0, current_workload: 2 });
      expect(events.every((e) => e.occurred_at.getTime() === at(70).getTime())).toBe(true);
    });

    it('writes only last_health_check and no event when nothing changes', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      await heartbeat(tenantId, [{ instanceId: 'i-1', health: 'degraded', workload: 1 }], at(10));
      const before = await registrationOf(t.db, tenantId, 'i-1');
      const cursor = await lastEventId(t.db);

      const results = await heartbeat(tenantId, [{ instanceId: 'i-1', health: 'degraded', workload: 1 }], at(20));
      const repeat = await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(30));

      expect([...results, ...repeat].map((r) => r.outcome)).toEqual(['ok', 'ok']);
      // the same report again only extends its streak (flap damping); the heartbeat without one does not
      expect(await registrationOf(t.db, tenantId, 'i-1')).toEqual({
        ...before,
        last_health_check: at(30),
        reported_health_streak: 2,
      });
      expect(await eventsOf(t.db, tenantId, cursor)).toEqual([]);
    });

    it('never moves last_health_check backwards', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(50));

      await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(40));

      expect((await registrationOf(t.db, tenantId, 'i-1'))?.last_health_check).toEqual(at(50));
    });

    it('takes the last of duplicate heartbeats in one batch and reports the outcome for each', async () => {
      const at = testClock();
      const { tenantId } = await setup(['dup'], at(0));
      const cursor = await lastEventId(t.db);

      const results = await heartbeat(
        tenantId,
        [
          { instanceId: 'dup', health: 'degraded', workload: 1 },
          { instanceId: 'dup', health: 'unhealthy', workload: 4 },
        ],
        at(10),
      );

      expect(results.map((r) => r.outcome)).toEqual(['changed', 'changed']);
      expect(await registrationOf(t.db, tenantId, 'dup')).toMatchObject({
        health_status: 'unhealthy',
        current_workload: 4,
      });
      expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.health_status])).toEqual([
        ['health_changed', 'unhealthy'],
      ]);
    });

    it('ignores a health it does not accept instead of failing the batch', async () => {
      const at = testClock();
      const { tenantId } = await setup(['bogus', 'self-disconnect', 'fine'], at(0));

      const results = await heartbeat(
        tenantId,
        [
          { instanceId: 'bogus', health: 'on-fire' as never },
          { instanceId: 'self-disconnect', health: 'disconnected' as never },
          { instanceId: 'fine', health: 'degraded', workload: -5 },
        ],
        at(10),
      );

      expect(results.map((r) => r.outcome)).toEqual(['ok', 'ok', 'changed']);
      expect((await registrationOf(t.db, tenantId, 'bogus'))?.health_status).toBe('healthy');
      expect((await registrationOf(t.db, tenantId, 'self-disconnect'))?.health_status).toBe('healthy');
      expect(await registrationOf(t.db, tenantId, 'fine')).toMatchObject({ health_status: 'degraded', current_workload: 0 });
    });

    it('makes a disconnected instance healthy again', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      await markInstanceDisconnected(t.db, tenantId, 'i-1', { now: at(5) });
      const cursor = await lastEventId(t.db);

      const [result] = await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(10));

      expect(result.outcome).toBe('changed');
      expect((await registrationOf(t.db, tenantId, 'i-1'))?.health_status).toBe('healthy');
      expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.health_status])).toEqual([
        ['health_changed', 'healthy'],
      ]);
    });

    it("never touches another tenant's instance of the same id", async () => {
      const at = testClock();
      const mine = await setup(['shared'], at(0));
      const other = await setup(['shared'], at(0));
      const before = await registrationOf(t.db, other.tenantId, 'shared');

      await heartbeat(mine.tenantId, [{ instanceId: 'shared', health: 'unhealthy', workload: 3 }], at(10));

      expect(await registrationOf(t.db, other.tenantId, 'shared')).toEqual(before);
    });
  });

  describe('deregister', () => {
    it('deregisters once, refuses heartbeats after, and reports a second call as was_active false', async () => {
      const at = testClock();
      const { tenantId, agent } = await setup(['i-1'], at(0));
      await heartbeat(tenantId, [{ instanceId: 'i-1', workload: 3 }], at(5));
      const cursor = await lastEventId(t.db);

      const first = await deregisterAgentInstance(t.db, tenantId, 'i-1', { now: at(10), reason: 'shutdown' });
      const [afterwards] = await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(11));
      const second = await deregisterAgentInstance(t.db, tenantId, 'i-1', { now: at(12) });

      expect(first.wasActive).toBe(true);
      expect(second).toEqual({ registrationId: first.registrationId, wasActive: false });
      expect(afterwards).toEqual({ registrationId: null, outcome: 'not_registered' });
      expect(await registrationOf(t.db, tenantId, 'i-1')).toMatchObject({
        registration_status: 'deregistered',
        health_status: 'disconnected',
        current_workload: 0,
        deregistered_at: at(10),
      });
      const events = await eventsOf(t.db, tenantId, cursor);
      expect(events.map((e) => [e.kind, e.instance_id, e.registration_status, e.health_status, e.agent_id])).toEqual([
        ['deregistered', 'i-1', 'deregistered', 'disconnected', agent],
      ]);
      expect(events[0].payload).toMatchObject({ reason: 'shutdown', previous_status: 'active' });
    });

    it('refuses an unknown instance with RGNRG / NOT_REGISTERED', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      const other = await setup(['only-there'], at(0));

      const state = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.deregister_agent_instance($1, 'nope')`, [tenantId]),
      );
      const error = await appErrorOf(() => deregisterAgentInstance(t.db, tenantId, 'only-there'));

      expect(state).toBe('RGNRG');
      expect(error.extensions.code).toBe(ErrorCode.NOT_REGISTERED);
      expect((await registrationOf(t.db, other.tenantId, 'only-there'))?.registration_status).toBe('active');
    });
  });

  describe('mark_instance_disconnected', () => {
    it('marks an active instance disconnected once, keeping it active', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      const cursor = await lastEventId(t.db);

      const first = await markInstanceDisconnected(t.db, tenantId, 'i-1', { now: at(5) });
      const second = await markInstanceDisconnected(t.db, tenantId, 'i-1', { now: at(6) });

      expect([first, second]).toEqual([true, false]);
      expect(await registrationOf(t.db, tenantId, 'i-1')).toMatchObject({
        registration_status: 'active',
        health_status: 'disconnected',
        last_health_check: at(0),
      });
      expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.registration_status, e.health_status])).toEqual(
        [['disconnected', 'active', 'disconnected']],
      );
    });

    it('with a connection id, touches only a registration still bound to that connection', async () => {
      const at = testClock();
      const tenantId = await createTenant(t.db);
      const agent = agentId();
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1', connectionDetails: { connection_id: 'old' }, now: at(0) });
      // the agent reconnected on a new socket before the old one's close was handled
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1', connectionDetails: { connection_id: 'new' }, now: at(1) });
      const cursor = await lastEventId(t.db);

      const late = await markInstanceDisconnected(t.db, tenantId, 'i-1', { connectionId: 'old', now: at(2) });
      const stateAfterLate = (await registrationOf(t.db, tenantId, 'i-1'))?.health_status;
      const current = await markInstanceDisconnected(t.db, tenantId, 'i-1', { connectionId: 'new', now: at(3) });

      expect(late).toBe(false);
      expect(stateAfterLate).toBe('healthy');
      expect(current).toBe(true);
      expect((await registrationOf(t.db, tenantId, 'i-1'))?.health_status).toBe('disconnected');
      expect((await eventsOf(t.db, tenantId, cursor)).map((e) => e.kind)).toEqual(['disconnected']);
    });

    it('leaves stale, deregistered and unknown instances alone', async () => {
      const at = testClock();
      const { tenantId } = await setup(['stale', 'gone'], at(0));
      await sweep(tenantId, at(60), { minActive: 1000 });
      await registerAgentInstance(t.db, { tenantId, agentId: agentId(), instanceId: 'x', now: at(60) });
      await deregisterAgentInstance(t.db, tenantId, 'x', { now: at(61) });
      const cursor = await lastEventId(t.db);

      const results = await Promise.all(
        ['stale', 'x', 'unknown'].map((id) => markInstanceDisconnected(t.db, tenantId, id, { now: at(62) })),
      );

      expect(results).toEqual([false, false, false]);
      expect(await eventsOf(t.db, tenantId, cursor)).toEqual([]);
    });
  });

  describe('stale sweep', () => {
    it('marks an instance that registered and never heartbeated stale after the timeout, not before', async () => {
      const at = testClock();
      const { tenantId, agent } = await setup(['quiet'], at(0));
      const cursor = await lastEventId(t.db);

      const early = await sweep(tenantId, at(45));
      const late = await sweep(tenantId, at(46));

      expect(early).toBeUndefined();
      expect(late).toMatchObject({ candidates: 1, active: 1, marked: 1, held: false });
      expect(await registrationOf(t.db, tenantId, 'quiet')).toMatchObject({
        registration_status: 'stale',
        health_status: 'unknown',
        updated_at: at(46),
      });
      const events = await eventsOf(t.db, tenantId, cursor);
      expect(events.map((e) => [e.kind, e.instance_id, e.registration_status, e.health_status, e.agent_id])).toEqual([
        ['stale', 'quiet', 'stale', 'unknown', agent],
      ]);
      expect(await sweep(tenantId, at(100))).toBeUndefined(); // idempotent: nothing more to do
      expect(await eventsOf(t.db, tenantId, cursor)).toHaveLength(1);
    });

    it('revives a stale instance on its next heartbeat, as a reconnection', async () => {
      const at = testClock();
      const { tenantId } = await setup(['i-1'], at(0));
      await sweep(tenantId, at(60));
      const cursor = await lastEventId(t.db);

      const [result] = await heartbeat(tenantId, [{ instanceId: 'i-1' }], at(70));

      expect(result.outcome).toBe('revived');
      expect(await registrationOf(t.db, tenantId, 'i-1')).toMatchObject({
        registration_status: 'active',
        health_status: 'healthy',
        reconnect_count: 1,
        last_health_check: at(70),
      });
      expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.registration_status, e.health_status])).toEqual(
        [['reconnected', 'active', 'healthy']],
      );
    });

    it('holds back when too many would go stale at once, then gives up at the ceiling', async () => {
      const at = testClock();
      const instances = Array.from({ length: 10 }, (_, i) => `i-${i}`);
      const { tenantId } = await setup(instances, at(0));
      // four keep heartbeating, six fall silent: 60 % > 50 % of 10 active
      await heartbeat(tenantId, instances.slice(0, 4).map((instanceId) => ({ instanceId })), at(50));
      const cursor = await lastEventId(t.db);

      const first = await sweep(tenantId, at(60));
      const repeated = await sweep(tenantId, at(60));
      const holds = await t.db.query(`select * from mcp.sweep_holds where tenant_id = $1`, [tenantId]);
      await heartbeat(tenantId, instances.slice(0, 4).map((instanceId) => ({ instanceId })), at(60 + 5 * 60));
      const stillHolding = await sweep(tenantId, at(60 + 5 * 60));
      const eventsWhileHolding = await eventsOf(t.db, tenantId, cursor);
      await heartbeat(tenantId, instances.slice(0, 4).map((instanceId) => ({ instanceId })), at(60 + 10 * 60));
      const gaveUp = await sweep(tenantId, at(60 + 10 * 60));

      expect(first).toEqual({ tenantId, candidates: 6, active: 10, marked: 0, held: true, heldSince: at(60) });
      expect(repeated).toEqual(first);
      expect(holds).toEqual([{ tenant_id: tenantId, held_since: at(60), candidates: 6, active: 10 }]);
      expect(stillHolding).toMatchObject({ marked: 0, held: true, heldSince: at(60) });
      expect(eventsWhileHolding.map((e) => [e.kind, e.payload.holding])).toEqual([['self_preservation', true]]);
      expect(eventsWhileHolding[0].payload).toMatchObject({ candidates: 6, active: 10 });
      expect(gaveUp).toMatchObject({ candidates: 6, active: 10, marked: 6, held: false });
      const after = await eventsOf(t.db, tenantId, eventsWhileHolding[0].id);
      expect(after.map((e) => [e.kind, e.payload.gave_up ?? null])).toEqual([
        ['self_preservation', true],
        ...Array.from({ length: 6 }, () => ['stale', null]),
      ]);
      expect(new Set(after.slice(1).map((e) => e.instance_id))).toEqual(new Set(instances.slice(4)));
      expect(await t.db.query(`select * from mcp.sweep_holds where tenant_id = $1`, [tenantId])).toEqual([]);
    });

    it('starts a new hold with a full ceiling when an earlier hold ended without giving up', async () => {
      const at = testClock();
      const instances = Array.from({ length: 10 }, (_, i) => `i-${i}`);
      const { tenantId } = await setup(instances, at(0));
      const everyone = (ids: string[]) => ids.map((instanceId) => ({ instanceId }));
      await heartbeat(tenantId, everyone(instances.slice(0, 4)), at(50));
      expect((await sweep(tenantId, at(60), { minActive: 5 }))?.held).toBe(true);
      // most of the silent ones come back: two candidates of ten is no reason to hold
      await heartbeat(tenantId, everyone(instances.slice(0, 8)), at(70));
      expect(await sweep(tenantId, at(110), { minActive: 5 })).toMatchObject({ marked: 2, held: false });
      // much later a second mass silence: 6 of 8 active stop, 20 min after the first hold began
      await heartbeat(tenantId, everyone(instances.slice(0, 8)), at(60 + 19 * 60));
      await heartbeat(tenantId, everyone(instances.slice(0, 2)), at(60 + 20 * 60));

      const second = await sweep(tenantId, at(60 + 20 * 60), { minActive: 5 });

      expect(second).toMatchObject({ candidates: 6, active: 8, marked: 0, held: true, heldSince: at(60 + 20 * 60) });
      const holdEvents = (await eventsOf(t.db, tenantId)).filter((e) => e.kind === 'self_preservation');
      expect(holdEvents.map((e) => [e.payload.holding, e.occurred_at])).toEqual([
        [true, at(60)],
        [false, at(110)],
        [true, at(60 + 20 * 60)],
      ]);
      expect(holdEvents[1].payload).toMatchObject({ ended: true });
    });

    it('does not hold back for a tenant below the minimum of active instances', async () => {
      const at = testClock();
      const { tenantId } = await setup(['a', 'b', 'c', 'd'], at(0));

      const result = await sweep(tenantId, at(60), { minActive: 5 });

      expect(result).toMatchObject({ candidates: 4, active: 4, marked: 4, held: false });
      expect((await eventsOf(t.db, tenantId)).filter((e) => e.kind === 'self_preservation')).toEqual([]);
    });

    it('does not hold back when the share is at most the limit', async () => {
      const at = testClock();
      const instances = Array.from({ length: 10 }, (_, i) => `i-${i}`);
      const { tenantId } = await setup(instances, at(0));
      await heartbeat(tenantId, instances.slice(0, 5).map((instanceId) => ({ instanceId })), at(50));

      const result = await sweep(tenantId, at(60));

      expect(result).toMatchObject({ candidates: 5, active: 10, marked: 5, held: false });
    });
  });
});

describe('purge and event retention', () => {
  // a database apart from the tests above: purge and prune act on every tenant at once
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  it('purges stale and deregistered rows older than the retention, with a purged event each', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    for (const instanceId of ['old-stale', 'old-gone', 'new-stale', 'new-gone', 'alive']) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId, now: at(0) });
    }
    await heartbeatInstances(t.db, ['new-stale', 'new-gone', 'alive'].map((instanceId) => ({ tenantId, instanceId })), at(HOUR / 1000));
    await markStaleInstances(t.db, { now: at(2 * 60), staleAfterMs: 45_000, maxShare: 1, minActive: 1000, holdCeilingMs: 0 });
    await deregisterAgentInstance(t.db, tenantId, 'old-gone', { now: at(10 * 60) });
    await markStaleInstances(t.db, { now: at(HOUR / 1000 + 120), staleAfterMs: 45_000, maxShare: 1, minActive: 1000, holdCeilingMs: 0 });
    await deregisterAgentInstance(t.db, tenantId, 'new-gone', { now: at(HOUR / 1000 + 200) });
    await heartbeatInstances(t.db, [{ tenantId, instanceId: 'alive' }], at(25 * 3600));
    const cursor = await lastEventId(t.db);

    const purged = await purgeRegistrations(t.db, 24 * HOUR, at(24 * 3600 + 30 * 60));

    expect(purged).toBe(2);
    const left = await t.db.query<{ instance_id: string; registration_status: string }>(
      `select instance_id, registration_status from mcp.agent_registrations where tenant_id = $1 order by instance_id`,
      [tenantId],
    );
    expect(left).toEqual([
      { instance_id: 'alive', registration_status: 'active' },
      { instance_id: 'new-gone', registration_status: 'deregistered' },
      { instance_id: 'new-stale', registration_status: 'stale' },
    ]);
    const events = await eventsOf(t.db, tenantId, cursor);
    expect(events.map((e) => [e.kind, e.instance_id, e.registration_status]).sort()).toEqual([
      ['purged', 'old-gone', 'deregistered'],
      ['purged', 'old-stale', 'stale'],
    ]);
    expect(await purgeRegistrations(t.db, 24 * HOUR, at(24 * 3600 + 30 * 60))).toBe(0);
  });

  it('prunes events older than the retention and keeps the rest', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    await registerAgentInstance(t.db, { tenantId, agentId: agentId(), instanceId: 'i-1', now: at(0) });
    await heartbeatInstances(t.db, [{ tenantId, instanceId: 'i-1', health: 'degraded' }], at(3 * 86_400));
    const [{ old }] = await t.db.query<{ old: number }>(
      `select count(*)::integer as old from mcp.registration_events where occurred_at < $1`,
      [at(86_400)],
    );

    const pruned = await pruneEvents(t.db, 2 * 86_400_000, at(3 * 86_400));

    expect(old).toBeGreaterThan(0);
    expect(pruned).toBe(old);
    expect((await eventsOf(t.db, tenantId)).map((e) => e.kind)).toEqual(['health_changed']);
  });
});
