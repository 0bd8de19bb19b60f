import { recommendScaling, type ScalingComputation, type ScalingOptions } from '../../src/db/scaling-sql';
import { heartbeatInstances, registerAgentInstance } from '../../src/db/registry-sql';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { eventsOf, sqlStateOfFailure, testClock } from './support';

const POOL_SIZE = 20;
const needsConnections = postgresOnly('needs parallel connections; PGlite has exactly one');

/**
 * mcp.recommend_scaling: HPA's desired = ceil(active × utilisation / target), a tolerance
 * band, a scale-down stabilisation window, a scaling_recommended event per change.
 */
describe('scaling signal in SQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ poolSize: POOL_SIZE });
  });
  afterAll(() => t.dispose());

  /** A new tenant with one agent of `instances` active instances, max_workload `maxWorkload`. */
  async function setup(instances: number, maxWorkload: number, now: Date, tenantId?: string) {
    const tenant = tenantId ?? (await createTenant(t.db));
    const agent = agentId('scale');
    // the configuration exists even without instances, as after createConfiguration
    const [{ id: configurationId }] = await t.db.query<{ id: string }>(
      `with m as (insert into mcp.agent_manifests (agent_id, agent_type, name) values ($2, 'scale', $2) returning id)
       insert into mcp.agent_configurations (tenant_id, manifest_id, name) select $1, m.id, $2 from m returning id`,
      [tenant, agent],
    );
    for (let i = 0; i < instances; i++) {
      await registerAgentInstance(t.db, { tenantId: tenant, agentId: agent, instanceId: `${agent}-${i}`, now });
    }
    await t.db.query(`update mcp.agent_configurations set max_workload = $2 where id = $1`, [configurationId, maxWorkload]);
    /** Sets the instances' workloads (one heartbeat each). */
    const load = (workloads: number[], at: Date) =>
      heartbeatInstances(
        t.db,
        workloads.map((workload, i) => ({ tenantId: tenant, instanceId: `${agent}-${i}`, workload })),
        at,
      );
    return { tenantId: tenant, agent, configurationId, load };
  }

  const DEFAULTS = { targetUtilisation: 0.7, tolerance: 0.1, stabilisationMs: 300_000 };

  /** One computation; this configuration's row. */
  async function recommend(configurationId: string, now: Date, options: Partial<ScalingOptions> = {}): Promise<ScalingComputation> {
    const rows = await recommendScaling(t.db, { ...DEFAULTS, ...options, now });
    const row = rows.find((r) => r.configurationId === configurationId);
    if (!row) throw new Error(`no computation for ${configurationId}`);
    return row;
  }

  async function scalingEvents(tenantId: string) {
    return (await eventsOf(t.db, tenantId)).filter((e) => e.kind === 'scaling_recommended');
  }

  it('computes utilisation and desired as HPA does: 4 instances at 36 of 40 with target 0.7 → 6, with one event', async () => {
    const at = testClock();
    const { tenantId, agent, configurationId, load } = await setup(4, 10, at(0));
    await load([9, 9, 9, 9], at(1));

    const row = await recommend(configurationId, at(2));

    expect(row).toEqual({
      tenantId,
      configurationId,
      agentId: agent,
      active: 4,
      utilisation: 0.9,
      proposed: 6, // ceil(4 × 0.9 / 0.7) = ceil(5.14)
      desired: 6,
      previousDesired: 4, // first computation: compared with the active count
      changed: true,
    });
    const events = await scalingEvents(tenantId);
    expect(events.map((e) => [e.agent_id, e.configuration_id, e.instance_id, e.occurred_at])).toEqual([
      [agent, configurationId, null, at(2)],
    ]);
    expect(events[0].payload).toEqual({
      desired: 6,
      previous_desired: 4,
      proposed: 6,
      active: 4,
      workload: 36,
      capacity: 40,
      utilisation: 0.9,
      target_utilisation: 0.7,
    });
    const [stored] = await t.db.query(`select * from mcp.scaling_recommendations where configuration_id = $1`, [configurationId]);
    expect(stored).toMatchObject({ tenant_id: tenantId, active: 4, desired: 6, proposed: 6, computed_at: at(2), changed_at: at(2) });
  });

  it('stays at the active count within the tolerance band (|utilisation / target − 1| ≤ 0.1), and leaves it outside', async () => {
    const at = testClock();
    const { tenantId, configurationId, load } = await setup(10, 10, at(0));
    const noWindow = { stabilisationMs: 0 };
    const expectDesired = async (total: number, s: number, desired: number) => {
      await load(Array.from({ length: 10 }, (_, i) => Math.floor(total / 10) + (i < total % 10 ? 1 : 0)), at(s));
      expect((await recommend(configurationId, at(s), noWindow)).desired).toBe(desired);
    };

    await expectDesired(77, 1, 10); // 0.77 / 0.7 = 1.1: on the edge of the band, still inside
    await expectDesired(63, 2, 10); // 0.63 / 0.7 = 0.9: inside
    expect(await scalingEvents(tenantId)).toEqual([]);
    await expectDesired(78, 3, 12); // 1.114: ceil(78 / 7) = 12
    await expectDesired(62, 4, 9); // 0.886: ceil(62 / 7) = 9
    await expectDesired(70, 5, 10); // exactly on target

    expect((await scalingEvents(tenantId)).map((e) => e.payload.desired)).toEqual([12, 9, 10]);
  });

  it('a wider tolerance holds more: with 0.2, 0.84 / 0.7 = 1.2 stays put', async () => {
    const at = testClock();
    const { configurationId, load } = await setup(10, 10, at(0));
    await load(Array.from({ length: 10 }, (_, i) => (i < 4 ? 9 : 8)), at(1)); // 84

    expect((await recommend(configurationId, at(2), { tolerance: 0.2, stabilisationMs: 0 })).desired).toBe(10);
    expect((await recommend(configurationId, at(3), { tolerance: 0.1, stabilisationMs: 0 })).desired).toBe(12);
  });

  it('scales up at once, and down only to the highest proposal within the stabilisation window', async () => {
    const at = testClock();
    const { tenantId, configurationId, load } = await setup(4, 10, at(0));
    const step = async (workloads: number[], s: number) => {
      await load(workloads, at(s));
      const row = await recommend(configurationId, at(s));
      return [row.proposed, row.desired];
    };

    expect(await step([9, 9, 9, 9], 0)).toEqual([6, 6]); // up at once
    expect(await step([2, 2, 2, 2], 60)).toEqual([2, 6]); // 8 → 2, held at 6 (proposal of 0 s in the window)
    expect(await step([4, 4, 4, 3], 200)).toEqual([3, 6]); // 15 → 3, still held
    expect(await step([4, 4, 4, 3], 301)).toEqual([3, 3]); // 0 s left the window: max(2 at 60 s, 3 at 200 s, 3) = 3
    expect(await step([2, 2, 2, 2], 501)).toEqual([2, 3]); // 3 of 301 s is still in the window
    expect(await step([2, 2, 2, 2], 602)).toEqual([2, 2]);
    expect(await step([10, 10, 10, 10], 603)).toEqual([6, 6]); // 40 → ceil(40 / 7) = 6: up at once, whatever the window holds

    expect((await scalingEvents(tenantId)).map((e) => [e.payload.previous_desired, e.payload.desired, e.occurred_at])).toEqual([
      [4, 6, at(0)],
      [6, 3, at(301)],
      [3, 2, at(602)],
      [2, 6, at(603)],
    ]);
    // proposals older than the window are gone
    const [{ oldest }] = await t.db.query<{ oldest: Date }>(
      `select min(proposed_at) as oldest from mcp.scaling_proposals where configuration_id = $1`,
      [configurationId],
    );
    expect(oldest.getTime()).toBeGreaterThan(at(603 - 300).getTime());
  });

  it('emits once per change: the same computation again, or later with the same figures, writes nothing', async () => {
    const at = testClock();
    const { tenantId, configurationId, load } = await setup(4, 10, at(0));
    await load([9, 9, 9, 9], at(1));

    await recommend(configurationId, at(2));
    const again = await recommend(configurationId, at(2));
    const later = await recommend(configurationId, at(30));

    expect([again.changed, later.changed]).toEqual([false, false]);
    expect([again.desired, later.desired]).toEqual([6, 6]);
    expect(await scalingEvents(tenantId)).toHaveLength(1);
    const [stored] = await t.db.query(`select computed_at, changed_at from mcp.scaling_recommendations where configuration_id = $1`, [
      configurationId,
    ]);
    expect(stored).toEqual({ computed_at: at(30), changed_at: at(2) });
  });

  it('a configuration without instances recommends 0 and says nothing', async () => {
    const at = testClock();
    const { tenantId, configurationId } = await setup(0, 10, at(0));

    const row = await recommend(configurationId, at(1));

    expect(row).toMatchObject({ active: 0, utilisation: 0, proposed: 0, desired: 0, previousDesired: 0, changed: false });
    expect(await scalingEvents(tenantId)).toEqual([]);
  });

  it('keeps tenants apart: rows and events carry their own tenant, and one tenant changing leaves the other silent', async () => {
    const at = testClock();
    const busy = await setup(4, 10, at(0));
    const quiet = await setup(4, 10, at(0));
    await busy.load([9, 9, 9, 9], at(1));
    await quiet.load([7, 7, 7, 7], at(1)); // exactly on target

    const [b, q] = [await recommend(busy.configurationId, at(2)), await recommend(quiet.configurationId, at(2))];

    expect([b.tenantId, b.desired, q.tenantId, q.desired]).toEqual([busy.tenantId, 6, quiet.tenantId, 4]);
    expect((await scalingEvents(busy.tenantId)).map((e) => e.configuration_id)).toEqual([busy.configurationId]);
    expect(await scalingEvents(quiet.tenantId)).toEqual([]);
    const rows = await t.db.query<{ tenant_id: string }>(
      `select tenant_id from mcp.scaling_recommendations where configuration_id = any($1::uuid[]) order by desired`,
      [[busy.configurationId, quiet.configurationId]],
    );
    expect(rows.map((r) => r.tenant_id)).toEqual([quiet.tenantId, busy.tenantId]);
  });

  it('recommends at least 1 while an instance is active, even at no workload (HPA minReplicas 1)', async () => {
    const at = testClock();
    const { tenantId, configurationId } = await setup(3, 10, at(0)); // no workload reported

    const row = await recommend(configurationId, at(1));

    expect(row).toMatchObject({ active: 3, utilisation: 0, proposed: 1, desired: 1, previousDesired: 3, changed: true });
    expect((await scalingEvents(tenantId)).map((e) => e.payload.desired)).toEqual([1]);
  });

  it('counts only active instances: a stale or deregistered one is not capacity', async () => {
    const at = testClock();
    const { tenantId, agent, configurationId, load } = await setup(4, 10, at(0));
    await load([7, 7, 7, 7], at(1));
    await t.db.query(`select mcp.deregister_agent_instance($1, $2, $3)`, [tenantId, `${agent}-3`, at(2)]);

    const row = await recommend(configurationId, at(3));

    expect(row).toMatchObject({ active: 3, proposed: 3 }); // 21 / 30 = 0.7
  });

  it('deleting a configuration deletes its recommendation and window', async () => {
    const at = testClock();
    const { configurationId, load } = await setup(2, 10, at(0));
    await load([9, 9], at(1));
    await recommend(configurationId, at(2));

    await t.db.query(`delete from mcp.agent_configurations where id = $1`, [configurationId]);

    const [counts] = await t.db.query<{ recommendations: number; proposals: number }>(
      `select (select count(*) from mcp.scaling_recommendations where configuration_id = $1)::int as recommendations,
              (select count(*) from mcp.scaling_proposals where configuration_id = $1)::int as proposals`,
      [configurationId],
    );
    expect(counts).toEqual({ recommendations: 0, proposals: 0 });
  });

  it('refuses a target of 0 or a negative tolerance with RGINP', async () => {
    const call = (target: number, tolerance: number) =>
      t.db.query(`select * from mcp.recommend_scaling(now(), $1, $2, interval '5 minutes')`, [target, tolerance]);

    expect(await sqlStateOfFailure(() => call(0, 0.1))).toBe('RGINP');
    expect(await sqlStateOfFailure(() => call(0.7, -0.1))).toBe('RGINP');
  });

  needsConnections('20 processes computing at the same moment: one event per change, every recommendation the same', async () => {
    const at = testClock();
    const { tenantId, configurationId, load } = await setup(4, 10, at(0));
    await load([9, 9, 9, 9], at(1));

    const results = await Promise.all(Array.from({ length: 20 }, () => recommendScaling(t.db, { ...DEFAULTS, now: at(2) })));
    // and once more each after all of them: the state in the database, not in any caller, decides
    const after = await Promise.all(Array.from({ length: 20 }, () => recommendScaling(t.db, { ...DEFAULTS, now: at(3) })));

    const mine = [...results, ...after].flatMap((rows) => rows.filter((r) => r.configurationId === configurationId));
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((r) => r.desired))).toEqual(new Set([6]));
    expect(mine.filter((r) => r.changed)).toHaveLength(1);
    expect(await scalingEvents(tenantId)).toHaveLength(1);
  });
});
