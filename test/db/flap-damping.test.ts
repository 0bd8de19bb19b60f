import {
  heartbeatInstances,
  markInstanceDisconnected,
  markStaleInstances,
  registerAgentInstance,
  type HeartbeatItem,
} from '../../src/db/registry-sql';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { eventsOf, lastEventId, registrationOf, sqlStateOfFailure, testClock } from './support';

/**
 * Flap damping in mcp.heartbeat_instances: a reported health change applies after
 * health_change_threshold identical reports in a row (Consul's success_before_passing /
 * failures_before_critical); the raw report is kept in reported_health(_streak).
 */
describe('flap damping in SQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  /** A new tenant with one agent whose configuration has `threshold`, and its instances registered at `now`. */
  async function setup(threshold: number, instances: string[], now: Date) {
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    for (const instanceId of instances) await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId, now });
    await t.db.query(`update mcp.agent_configurations set health_change_threshold = $2 where tenant_id = $1`, [
      tenantId,
      threshold,
    ]);
    return { tenantId, agent };
  }

  async function beat(tenantId: string, item: Omit<HeartbeatItem, 'tenantId'>, now: Date) {
    const [result] = await heartbeatInstances(t.db, [{ tenantId, ...item }], now);
    return result.outcome;
  }

  async function state(tenantId: string, instanceId: string) {
    const row = await registrationOf(t.db, tenantId, instanceId);
    return [row?.health_status, row?.reported_health, row?.reported_health_streak];
  }

  it('with K = 3, two unhealthy reports change nothing and write no event; the third applies, with one event', async () => {
    const at = testClock();
    const { tenantId, agent } = await setup(3, ['i-1'], at(0));
    const registered = await registrationOf(t.db, tenantId, 'i-1');
    const cursor = await lastEventId(t.db);

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(10))).toBe('ok');
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 1]);
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(20))).toBe('ok');
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 2]);
    // nothing applied yet: updated_at is untouched and the log has nothing new
    expect((await registrationOf(t.db, tenantId, 'i-1'))?.updated_at).toEqual(registered?.updated_at);
    expect(await eventsOf(t.db, tenantId, cursor)).toEqual([]);

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(30))).toBe('changed');

    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 3]);
    const events = await eventsOf(t.db, tenantId, cursor);
    expect(events.map((e) => [e.kind, e.agent_id, e.instance_id, e.health_status])).toEqual([
      ['health_changed', agent, 'i-1', 'unhealthy'],
    ]);
    expect(events[0].payload).toMatchObject({
      previous_health: 'healthy',
      reported_health: 'unhealthy',
      reported_health_streak: 3,
    });
    expect(events[0].occurred_at).toEqual(at(30));
    // a fourth identical report extends the streak and changes nothing else
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(40))).toBe('ok');
    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 4]);
    expect(await eventsOf(t.db, tenantId, cursor)).toHaveLength(1);
  });

  it('an interleaved good report resets the streak', async () => {
    const at = testClock();
    const { tenantId } = await setup(3, ['i-1'], at(0));
    const cursor = await lastEventId(t.db);

    for (const [s, health] of [
      [1, 'unhealthy'],
      [2, 'unhealthy'],
      [3, 'healthy'],
      [4, 'unhealthy'],
      [5, 'unhealthy'],
    ] as const) {
      expect(await beat(tenantId, { instanceId: 'i-1', health }, at(s))).toBe('ok');
    }
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 2]);
    expect(await eventsOf(t.db, tenantId, cursor)).toEqual([]);

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(6))).toBe('changed');
    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 3]);
  });

  it('a different bad report also resets it: degraded, unhealthy, degraded is a streak of one', async () => {
    const at = testClock();
    const { tenantId } = await setup(2, ['i-1'], at(0));

    await beat(tenantId, { instanceId: 'i-1', health: 'degraded' }, at(1));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(2));
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'degraded' }, at(3))).toBe('ok');

    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'degraded', 1]);
  });

  it('recovery is damped the same way', async () => {
    const at = testClock();
    const { tenantId } = await setup(2, ['i-1'], at(0));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(1));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(2));
    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 2]);
    const cursor = await lastEventId(t.db);

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'healthy' }, at(3))).toBe('ok');
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'healthy' }, at(4))).toBe('changed');

    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'healthy', 2]);
    expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.health_status, e.payload.previous_health])).toEqual([
      ['health_changed', 'healthy', 'unhealthy'],
    ]);
  });

  it('a heartbeat without a health neither extends nor breaks the streak; a workload change still applies at once', async () => {
    const at = testClock();
    const { tenantId } = await setup(3, ['i-1'], at(0));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(1));
    const cursor = await lastEventId(t.db);

    expect(await beat(tenantId, { instanceId: 'i-1' }, at(2))).toBe('ok');
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 1]);
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy', workload: 4 }, at(3))).toBe('changed');
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 2]);
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(4))).toBe('changed');

    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 3]);
    expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.health_status, e.payload.current_workload])).toEqual([
      ['healthy', 4],
      ['unhealthy', 4],
    ]);
  });

  it('the default K = 1 applies every reported change at once, as before', async () => {
    const at = testClock();
    const { tenantId } = await setup(1, ['i-1'], at(0));

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'degraded' }, at(1))).toBe('changed');
    expect(await beat(tenantId, { instanceId: 'i-1', health: 'healthy' }, at(2))).toBe('changed');

    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'healthy', 1]);
    const [row] = await t.db.query<{ threshold: number }>(
      `select column_default::integer as threshold from information_schema.columns
       where table_schema = 'mcp' and table_name = 'agent_configurations' and column_name = 'health_change_threshold'`,
    );
    expect(row.threshold).toBe(1);
  });

  it('one batch applies each instance by its own configuration', async () => {
    const at = testClock();
    const damped = await setup(3, ['same-id'], at(0));
    const prompt = await setup(1, ['same-id'], at(0));

    const results = await heartbeatInstances(
      t.db,
      [
        { tenantId: damped.tenantId, instanceId: 'same-id', health: 'degraded' },
        { tenantId: prompt.tenantId, instanceId: 'same-id', health: 'degraded' },
      ],
      at(1),
    );

    expect(results.map((r) => r.outcome)).toEqual(['ok', 'changed']);
    expect(await state(damped.tenantId, 'same-id')).toEqual(['healthy', 'degraded', 1]);
    expect(await state(prompt.tenantId, 'same-id')).toEqual(['degraded', 'degraded', 1]);
  });

  it('a stale instance takes its first report at once when it comes back', async () => {
    const at = testClock();
    const { tenantId } = await setup(3, ['gone-quiet'], at(0));
    const sweep = await markStaleInstances(t.db, { now: at(100), staleAfterMs: 45_000, maxShare: 1, minActive: 1000, holdCeilingMs: 1 });
    expect(sweep.find((s) => s.tenantId === tenantId)?.marked).toBe(1);

    expect(await beat(tenantId, { instanceId: 'gone-quiet', health: 'degraded' }, at(101))).toBe('revived');

    expect(await state(tenantId, 'gone-quiet')).toEqual(['degraded', 'degraded', 1]);
  });

  it('a disconnected instance applies its first report at once', async () => {
    const at = testClock();
    const { tenantId } = await setup(3, ['i-1'], at(0));
    await markInstanceDisconnected(t.db, tenantId, 'i-1', { now: at(1) });

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(2))).toBe('changed');

    expect(await state(tenantId, 'i-1')).toEqual(['unhealthy', 'unhealthy', 1]);
  });

  it('a reconnection clears the reported health and its streak: earlier reports do not count', async () => {
    const at = testClock();
    const { tenantId, agent } = await setup(3, ['i-1'], at(0));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(1));
    await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(2));

    await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1', now: at(3) });
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', null, 0]);

    expect(await beat(tenantId, { instanceId: 'i-1', health: 'unhealthy' }, at(4))).toBe('ok');
    expect(await state(tenantId, 'i-1')).toEqual(['healthy', 'unhealthy', 1]);
  });

  it("never touches another tenant's instance of the same id", async () => {
    const at = testClock();
    const mine = await setup(2, ['shared'], at(0));
    const other = await setup(2, ['shared'], at(0));
    const before = await registrationOf(t.db, other.tenantId, 'shared');

    await beat(mine.tenantId, { instanceId: 'shared', health: 'unhealthy' }, at(1));
    await beat(mine.tenantId, { instanceId: 'shared', health: 'unhealthy' }, at(2));

    expect(await state(mine.tenantId, 'shared')).toEqual(['unhealthy', 'unhealthy', 2]);
    expect(await registrationOf(t.db, other.tenantId, 'shared')).toEqual(before);
    expect(await eventsOf(t.db, other.tenantId, '0').then((e) => e.filter((x) => x.kind === 'health_changed'))).toEqual([]);
  });

  it('the threshold is 1 to 20, and changing it bumps the version with a configuration_changed event', async () => {
    const at = testClock();
    const { tenantId } = await setup(1, ['i-1'], at(0));
    const update = (value: number) =>
      t.db.query(`update mcp.agent_configurations set health_change_threshold = $2 where tenant_id = $1`, [tenantId, value]);

    expect(await sqlStateOfFailure(() => update(0))).toBe('23514');
    expect(await sqlStateOfFailure(() => update(21))).toBe('23514');
    const cursor = await lastEventId(t.db);
    await update(20);

    const [row] = await t.db.query<{ version: number; threshold: number }>(
      `select version, health_change_threshold as threshold from mcp.agent_configurations where tenant_id = $1`,
      [tenantId],
    );
    expect(row).toEqual({ version: 2, threshold: 20 });
    expect((await eventsOf(t.db, tenantId, cursor)).map((e) => [e.kind, e.payload.version])).toEqual([
      ['configuration_changed', 2],
    ]);
  });

  it('the version trigger still ignores an update that changes nothing, and still bumps for the old columns', async () => {
    const at = testClock();
    const { tenantId } = await setup(1, ['i-1'], at(0));
    const version = async () =>
      (await t.db.query<{ version: number }>(`select version from mcp.agent_configurations where tenant_id = $1`, [tenantId]))[0]
        .version;

    await t.db.query(`update mcp.agent_configurations set health_change_threshold = 1, name = name where tenant_id = $1`, [tenantId]);
    expect(await version()).toBe(1);
    await t.db.query(`update mcp.agent_configurations set settings = '{"a": 1}' where tenant_id = $1`, [tenantId]);
    expect(await version()).toBe(2);
  });
});
