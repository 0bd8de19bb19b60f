import { deregisterAgentInstance, heartbeatInstances, registerAgentInstance, type ReportedHealth } from '../../src/db/registry-sql';
import { ErrorCode } from '../../src/errors';
import { pickInstance, type PickRequest } from '../../src/routing/routing-sql';
import { createTestDatabase, postgresOnly, type TestDatabase, usingPostgres } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { appErrorOf, sqlStateOfFailure } from './support';

const within = (value: number, low: number, high: number) => value >= low && value <= high;

/**
 * 10,000 picks and keys on PostgreSQL, as the issue asks. The embedded PGlite runs the same
 * SQL about five times slower (WebAssembly, one connection): 2,000 there keep the suite short.
 */
const N = usingPostgres ? 10_000 : 2_000;
const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * mcp.pick_instance, directly: eligibility, health tiers, power of two choices, fallbacks,
 * the counts of NO_HEALTHY_INSTANCE, tenant scoping, and affinity (consistent hashing with
 * bounded loads), with the figures the issue asks for in the test names.
 */
describe('mcp.pick_instance', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  interface Instance {
    id: string;
    health?: ReportedHealth;
    workload?: number;
    capabilities?: string[];
  }

  /** A new tenant and agent with these instances (health and workload set by a heartbeat). */
  async function setup(instances: Instance[], tenantId?: string): Promise<{ tenantId: string; agent: string }> {
    const tenant = tenantId ?? (await createTenant(t.db));
    const agent = agentId('pick');
    for (const instance of instances) {
      await registerAgentInstance(t.db, {
        tenantId: tenant,
        agentId: agent,
        instanceId: instance.id,
        capabilities: instance.capabilities ?? ['chat'],
      });
    }
    await heartbeatInstances(
      t.db,
      instances.map((i) => ({ tenantId: tenant, instanceId: i.id, health: i.health ?? 'healthy', workload: i.workload ?? 0 })),
    );
    return { tenantId: tenant, agent };
  }

  const pick = (tenantId: string, agent: string, extra: Partial<PickRequest> = {}) =>
    pickInstance(t.db, { tenantId, agentId: agent, fallbacks: 3, epsilon: 0.25, probeTimeoutMs: 10_000, ...extra });

  /**
   * How often each instance is chosen by `n` picks, in one statement. The arguments mention
   * `g` so that the planner calls the function once per row, not once for the whole join.
   */
  async function chosenCounts(tenantId: string, agent: string, n: number, exclude: string[] = []): Promise<Record<string, number>> {
    const rows = await t.db.query<{ instance_id: string; count: number }>(
      `select p.instance_id, count(*)::integer as count
       from generate_series(1, $3) g, lateral mcp.pick_instance($1, $2, null, case when g > 0 then $4::text[] end) p
       where p.rank = 0 group by p.instance_id`,
      [tenantId, agent, n, exclude],
    );
    return Object.fromEntries(rows.map((r) => [r.instance_id, r.count]));
  }

  it(`${fmt(N)} picks choose only eligible healthy instances, in power-of-two-choices shares by load (7/16, 5/16, 3/16, 1/16 of 4)`, async () => {
    const { tenantId, agent } = await setup([
      { id: 'h0', workload: 0 },
      { id: 'h2', workload: 2 },
      { id: 'h4', workload: 4 },
      { id: 'h6', workload: 6 },
      { id: 'full', workload: 10 }, // at max_workload (10): overloaded
      { id: 'd0', health: 'degraded', workload: 0 },
      { id: 'u0', health: 'unhealthy', workload: 0 },
      { id: 'nocap', workload: 0, capabilities: ['other'] },
    ]);
    const counts = await chosenCounts(tenantId, agent, N, []);
    expect(Object.keys(counts).sort()).toEqual(['h0', 'h2', 'h4', 'h6', 'nocap']);
    // with capability 'chat' required, 'nocap' is out too
    const rows = await t.db.query<{ instance_id: string; count: number }>(
      `select p.instance_id, count(*)::integer as count
       from generate_series(1, $3) g, lateral mcp.pick_instance($1, $2, null, '{}', case when g > 0 then array['chat'] end) p
       where p.rank = 0 group by p.instance_id`,
      [tenantId, agent, N],
    );
    const shares = Object.fromEntries(rows.map((r) => [r.instance_id, r.count]));
    expect(Object.keys(shares).sort()).toEqual(['h0', 'h2', 'h4', 'h6']);
    // two of four at random, the less loaded wins: rank i (0 = least loaded) wins (2(4-i)-1)/16
    // of the picks; allowed: five standard deviations of N draws either side
    const expected = { h0: 7 / 16, h2: 5 / 16, h4: 3 / 16, h6: 1 / 16 };
    for (const [id, p] of Object.entries(expected)) {
      const slack = 5 * Math.sqrt(N * p * (1 - p));
      expect({ id, count: shares[id], within: within(shares[id], N * p - slack, N * p + slack) }).toMatchObject({ id, within: true });
    }
  }, 120_000);

  it('prefers healthy over degraded, and picks unhealthy only when nothing else is eligible', async () => {
    const { tenantId, agent } = await setup([
      { id: 'h', workload: 9 },
      { id: 'd', health: 'degraded', workload: 0 },
      { id: 'u', health: 'unhealthy', workload: 0 },
    ]);
    expect(await chosenCounts(tenantId, agent, 200)).toEqual({ h: 200 });
    expect(await chosenCounts(tenantId, agent, 200, ['h'])).toEqual({ d: 200 });
    expect(await chosenCounts(tenantId, agent, 200, ['h', 'd'])).toEqual({ u: 200 });
  }, 60_000);

  it('returns fallbacks in order: best tier by load first, never the chosen one, at most the number asked', async () => {
    const { tenantId, agent } = await setup([
      { id: 'a', workload: 1 },
      { id: 'b', workload: 5 },
      { id: 'c', health: 'degraded', workload: 0 },
      { id: 'd', health: 'unhealthy', workload: 0 },
    ]);
    const result = await pick(tenantId, agent, { fallbacks: 10, exclude: ['b'] });
    expect(result.chosen?.instanceId).toBe('a');
    expect(result.fallbacks.map((f) => f.instanceId)).toEqual(['c', 'd']);
    expect(result.chosen).toMatchObject({ healthStatus: 'healthy', currentWorkload: 1, maxWorkload: 10 });
    const short = await pick(tenantId, agent, { fallbacks: 1 });
    expect(short.fallbacks).toHaveLength(1);
    expect(short.fallbacks[0].instanceId).not.toBe(short.chosen?.instanceId);
    expect((await pick(tenantId, agent, { fallbacks: 0 })).fallbacks).toEqual([]);
  });

  it('when nothing is eligible, says why: excluded, disconnected, missing capabilities, overloaded, stale', async () => {
    const { tenantId, agent } = await setup([
      { id: 'x', workload: 0 },
      { id: 'over', workload: 12 },
      { id: 'cap', workload: 0, capabilities: ['voice'] },
      { id: 'gone', workload: 0 },
      { id: 'off', workload: 0 },
    ]);
    await t.db.query(`select mcp.mark_instance_disconnected($1, 'off')`, [tenantId]);
    await t.db.query(`update mcp.agent_registrations set registration_status = 'stale' where tenant_id = $1 and instance_id = 'gone'`, [
      tenantId,
    ]);
    const none = await pick(tenantId, agent, { exclude: ['x'], capabilities: ['chat'] });
    expect(none.chosen).toBeNull();
    expect(none.fallbacks).toEqual([]);
    expect(none.counts).toEqual({
      instances: 5,
      active: 4,
      excluded: 1,
      disconnected: 1,
      ejected: 0,
      missingCapabilities: 1,
      overloaded: 1,
      eligible: 0,
    });
  });

  it('an instance without capabilities of its own has its manifest’s', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId('capless');
    await t.db.query(`insert into mcp.agent_manifests (agent_id, agent_type, name, capabilities) values ($1, 'x', 'x', array['search'])`, [
      agent,
    ]);
    await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'plain' });
    expect((await pick(tenantId, agent, { capabilities: ['search'] })).chosen?.instanceId).toBe('plain');
    expect((await pick(tenantId, agent, { capabilities: ['voice'] })).counts.missingCapabilities).toBe(1);
  });

  it('an unknown agent is RGAGT (NOT_FOUND); a disabled one is RGDIS (AGENT_DISABLED)', async () => {
    const tenantId = await createTenant(t.db);
    expect(await sqlStateOfFailure(() => t.db.query(`select * from mcp.pick_instance($1, 'no-such-agent')`, [tenantId]))).toBe('RGAGT');
    expect((await appErrorOf(() => pick(tenantId, 'no-such-agent'))).code).toBe(ErrorCode.NOT_FOUND);
    const { agent } = await setup([{ id: 'one' }], tenantId);
    await t.db.query(`update mcp.agent_configurations set enabled = false where tenant_id = $1`, [tenantId]);
    expect((await appErrorOf(() => pick(tenantId, agent))).code).toBe(ErrorCode.AGENT_DISABLED);
  });

  postgresOnly('per-transaction scan counters are PostgreSQL statistics')(
    'reads only the agent’s own registrations, through the (tenant, manifest, status) index: no sequential scan beside 2,000 of another agent',
    async () => {
      const { tenantId, agent } = await setup([{ id: 'ix-1' }, { id: 'ix-2', workload: 3 }, { id: 'ix-3', health: 'degraded' }]);
      // a fresh table and a crowded tenant: 2,000 registrations of another agent, no statistics yet
      await t.db.query(
        `select mcp.register_agent_instance($1, $2, $2 || '-' || g, null, '{}'::jsonb) from generate_series(1, 2000) g`,
        [tenantId, agentId('crowd')],
      );
      const read = await t.db.transaction(async (tx) => {
        // what this backend read, as in routing-circuit.test.ts: the difference inside one
        // transaction (PostgreSQL 15 flushes these counters at most once a second)
        const counters = async () => {
          const [row] = await tx.query<{ seq: string; status: string }>(
            `select pg_stat_get_xact_tuples_returned('mcp.agent_registrations'::regclass) as seq,
                    pg_stat_get_xact_tuples_returned('mcp.agent_registrations_tenant_manifest_status_idx'::regclass) as status`,
          );
          return { seq: Number(row.seq), status: Number(row.status) };
        };
        const before = await counters();
        for (const affinityKey of [undefined, 'user-9']) {
          const picked = await pickInstance(tx, { tenantId, agentId: agent, fallbacks: 3, epsilon: 0.25, probeTimeoutMs: 10_000, affinityKey });
          expect(picked.chosen?.instanceId).toMatch(/^ix-/);
        }
        const after = await counters();
        return { seq: after.seq - before.seq, status: after.status - before.status };
      });
      expect(read.seq).toBe(0);
      // two picks of three instances: a handful of index entries, not the tenant's 2,003
      expect(read.status).toBeGreaterThanOrEqual(3);
      expect(read.status).toBeLessThanOrEqual(2 * 3 * 2);
    },
  );

  it('is tenant-scoped: another tenant with the same agent sees none of these instances', async () => {
    const { tenantId, agent } = await setup([{ id: 'mine' }]);
    const other = await createTenant(t.db);
    const theirs = await pick(other, agent);
    expect(theirs.chosen).toBeNull();
    expect(theirs.counts.instances).toBe(0);
    await registerAgentInstance(t.db, { tenantId: other, agentId: agent, instanceId: 'theirs' });
    expect(await chosenCounts(other, agent, 50)).toEqual({ theirs: 50 });
    expect(await chosenCounts(tenantId, agent, 50)).toEqual({ mine: 50 });
  });

  describe('affinity: consistent hashing with bounded loads', () => {
    const KEYS = N;

    /** The instance each of KEYS keys is sent to, in one statement (loads unchanged). */
    async function assignment(tenantId: string, agent: string): Promise<Map<string, string>> {
      const rows = await t.db.query<{ key: string; instance_id: string }>(
        `select 'key-' || g as key, p.instance_id
         from generate_series(1, $3) g, lateral mcp.pick_instance($1, $2, 'key-' || g) p where p.rank = 0`,
        [tenantId, agent, KEYS],
      );
      return new Map(rows.map((r) => [r.key, r.instance_id]));
    }

    const instances = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `inst-${String(i).padStart(2, '0')}` }));

    it('is deterministic: the same key gets the same instance on every call, from any connection', async () => {
      const { tenantId, agent } = await setup(instances(5));
      const first = await pick(tenantId, agent, { affinityKey: 'session-42' });
      for (let i = 0; i < 20; i++) {
        expect((await pick(tenantId, agent, { affinityKey: 'session-42' })).chosen?.instanceId).toBe(first.chosen?.instanceId);
      }
      expect(first.capacity).toBe(1); // ceil(1.25 × (0 + 1) / 5)
    });

    it(`with 10 instances, removing one moves only the keys it held: about 1/10 of ${fmt(N)} keys, at most 15 %`, async () => {
      const { tenantId, agent } = await setup(instances(10));
      const before = await assignment(tenantId, agent);
      expect(before.size).toBe(KEYS);
      const perInstance = new Map<string, number>();
      for (const id of before.values()) perInstance.set(id, (perInstance.get(id) ?? 0) + 1);
      expect(perInstance.size).toBe(10);

      await deregisterAgentInstance(t.db, tenantId, 'inst-03');
      const after = await assignment(tenantId, agent);
      const moved = [...before].filter(([key, id]) => after.get(key) !== id);
      expect(moved.every(([, id]) => id === 'inst-03')).toBe(true);
      expect(moved.length).toBe(perInstance.get('inst-03'));
      expect({ moved: moved.length / KEYS, within: within(moved.length / KEYS, 0.05, 0.15) }).toMatchObject({ within: true });
    }, 120_000);

    it(`with 10 instances, adding an 11th moves about 1/11 of ${fmt(N)} keys, at most 1.5/11, all to the new one`, async () => {
      const { tenantId, agent } = await setup(instances(10));
      const before = await assignment(tenantId, agent);
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'inst-new', capabilities: ['chat'] });
      const after = await assignment(tenantId, agent);
      const moved = [...before].filter(([key, id]) => after.get(key) !== id);
      expect(moved.every(([key]) => after.get(key) === 'inst-new')).toBe(true);
      expect({ moved: moved.length / KEYS, within: within(moved.length / KEYS, 0.04, 1.5 / 11) }).toMatchObject({ within: true });
    }, 120_000);

    it(`${fmt(N)} requests over 50 skewed keys on 10 instances: no instance above ceil(1.25 × average) = ${fmt(Math.ceil((1.25 * N) / 10))}; the bound moves some hot keys`, async () => {
      const { tenantId, agent } = await setup(instances(10));
      await t.db.query(`update mcp.agent_configurations set max_workload = 1000000 where tenant_id = $1`, [tenantId]);
      // a plain table: the pool may run each statement on another connection
      await t.db.exec(`create table public.affinity_trace (n integer, key text, instance_id text, capacity integer, load_before integer)`);
      // each request adds 1 to its instance's workload (as if it never finished): the load the bound is about.
      // Keys are skewed (key k has weight ~ 1/k): without the bound, the hottest keys would pile onto few instances.
      await t.db.exec(`
        do $$
        declare
          v_key text;
          v_pick record;
        begin
          for n in 1..${N} loop
            v_key := 'hot-' || (floor(50 * power(random(), 3)))::integer;
            select p.* into v_pick from mcp.pick_instance('${tenantId}', '${agent}', v_key) p where p.rank = 0;
            insert into affinity_trace values (n, v_key, v_pick.instance_id, v_pick.capacity, v_pick.current_workload);
            update mcp.agent_registrations set current_workload = current_workload + 1 where id = v_pick.registration_id;
          end loop;
        end $$`);
      const [bound] = await t.db.query<{ over: number; max_load: number; total: number }>(
        `select count(*) filter (where load_before + 1 > capacity)::integer as over,
                (select max(current_workload) from mcp.agent_registrations where tenant_id = '${tenantId}')::integer as max_load,
                count(*)::integer as total
         from affinity_trace`,
      );
      expect(bound.total).toBe(N);
      expect(bound.over).toBe(0); // every assignment fitted the bound of its moment
      expect(bound.max_load).toBeLessThanOrEqual(Math.ceil(1.25 * (N / 10)));
      // the bound was needed: some key's requests went to more than one instance
      const [spread] = await t.db.query<{ keys_moved: number }>(
        `select count(*)::integer as keys_moved from (select key from affinity_trace group by key having count(distinct instance_id) > 1) k`,
      );
      expect(spread.keys_moved).toBeGreaterThan(0);
    }, 180_000);
  });
});
