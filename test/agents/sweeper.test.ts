import type { Clock } from '../../src/clock';
import { deregisterAgentInstance, heartbeatInstances, registerAgentInstance } from '../../src/db/registry-sql';
import { StaleSweeper, type StaleSweeperOptions } from '../../src/liveness/sweeper';
import { createLogger } from '../../src/logger';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { startTestApp } from '../helpers/app';

class TestClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const T0 = Date.parse('2026-11-25T00:00:00Z');
const STALE = 45_000;

describe('stale sweeper (controlled clock, real database)', () => {
  let t: TestDatabase;
  let clock: TestClock;
  const sweepers: StaleSweeper[] = [];
  const sweeper = (options: Partial<StaleSweeperOptions> = {}) => {
    const s = new StaleSweeper({
      db: t.db,
      logger: createLogger('silent'),
      clock,
      staleAfterMs: STALE,
      sweepIntervalMs: 3_600_000,
      selfPreservationMinActive: 1000,
      ...options,
    });
    sweepers.push(s);
    return s;
  };
  /** Registers `count` instances of one agent in `tenantId` at the clock's time. */
  const register = async (tenantId: string, count: number, prefix = 'i') => {
    const agent = agentId();
    for (let i = 0; i < count; i++) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: `${prefix}-${i}`, now: clock.now() });
    }
  };
  const statuses = async (tenantId: string) =>
    Object.fromEntries(
      (
        await t.db.query<{ registration_status: string; n: number }>(
          `select registration_status, count(*)::integer as n from mcp.agent_registrations where tenant_id = $1 group by 1`,
          [tenantId],
        )
      ).map((r) => [r.registration_status, r.n]),
    );

  beforeEach(async () => {
    t = await createTestDatabase();
    clock = new TestClock(T0);
  });
  afterEach(async () => {
    await Promise.all(sweepers.splice(0).map((s) => s.stop()));
    await t.dispose();
  });

  it('marks nothing stale until one full stale timeout after start (restart grace), then marks the silent ones', async () => {
    const tenantId = await createTenant(t.db);
    await register(tenantId, 3);
    clock.advance(10 * STALE); // the registry was down for a long time
    const s = sweeper();
    s.start();
    expect(await s.sweep()).toMatchObject({ skipped: 'grace', marked: 0 });
    clock.advance(STALE - 1);
    expect(await s.sweep()).toMatchObject({ skipped: 'grace', marked: 0 });
    expect(await statuses(tenantId)).toEqual({ active: 3 });

    clock.advance(1);
    expect(await s.sweep()).toMatchObject({ marked: 3, held: [] });
    expect(await statuses(tenantId)).toEqual({ stale: 3 });
    const [events] = await t.db.query<{ n: number }>(
      `select count(*)::integer as n from mcp.registration_events where tenant_id = $1 and kind = 'stale'`,
      [tenantId],
    );
    expect(events.n).toBe(3);
    expect((await s.sweep()).marked).toBe(0); // idempotent
  });

  it('marks only instances whose last heartbeat is older than the stale timeout', async () => {
    const tenantId = await createTenant(t.db);
    const s = sweeper();
    s.start();
    await register(tenantId, 2, 'old');
    clock.advance(STALE - 1000);
    await register(tenantId, 1, 'young');
    clock.advance(1001);
    expect((await s.sweep()).marked).toBe(2);
    expect(await statuses(tenantId)).toEqual({ active: 1, stale: 2 });
  });

  /**
   * The production defaults (15 s heartbeats on spread phases, 45 s stale, 5 s sweeps),
   * simulated second by second on the test clock: `silent` of 20 agents stop together at
   * 60 s. Their last heartbeats lie up to 15 s apart, so they cross the cutoff over several
   * sweeps. Returns the statuses after 150 s and whether a hold began.
   */
  const spreadPhases = async (silent: number) => {
    const s = sweeper({
      sweepIntervalMs: 5_000,
      selfPreservationMinActive: 10,
      selfPreservationShare: 0.5,
      selfPreservationCeilingMs: 600_000,
    });
    const tenantId = await createTenant(t.db);
    const agent = agentId('phase');
    const phases = Array.from({ length: 20 }, (_, i) => Math.round((i * 15_000) / 20));
    for (let i = 0; i < 20; i++) {
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: `p-${i}`, now: new Date(T0 + phases[i]) });
    }
    s.start(); // the grace period ends 45 s in
    let held = false;
    for (let second = 1; second <= 150; second++) {
      clock.advance(1_000);
      const elapsed = clock.ms - T0;
      const due = phases
        .map((phase, i) => ({ phase, i }))
        .filter(({ phase, i }) => (elapsed - phase) % 15_000 < 1_000 && elapsed > phase && !(i < silent && elapsed >= 60_000));
      if (due.length > 0) {
        await heartbeatInstances(t.db, due.map(({ i }) => ({ tenantId, instanceId: `p-${i}` })), clock.now());
      }
      if (second % 5 === 0) held = (await s.sweep()).held.length > 0 || held;
    }
    return { held, statuses: await statuses(tenantId) };
  };

  it('self-preservation holds when 16 of 20 agents on spread heartbeat phases fall silent together', async () => {
    const { held, statuses: after } = await spreadPhases(16);
    expect(held).toBe(true);
    // what went stale before the window's share was passed is at most half of 20
    expect(after.stale ?? 0).toBeLessThanOrEqual(10);
    expect(after.active).toBeGreaterThanOrEqual(10);
  });

  it('self-preservation lets 3 of 20 silent agents on spread phases go stale as usual', async () => {
    const { held, statuses: after } = await spreadPhases(3);
    expect(held).toBe(false);
    expect(after).toEqual({ active: 17, stale: 3 });
  });

  it('self-preservation: holds back for a tenant losing more than the share at once, says so, and gives up after the ceiling', async () => {
    const held = jest.fn();
    const written = jest.fn();
    const s = sweeper({
      selfPreservationMinActive: 10,
      selfPreservationShare: 0.5,
      selfPreservationCeilingMs: 600_000,
      onHeld: held,
      onWritten: written,
    });
    const massive = await createTenant(t.db); // 6 of 10 go silent: more than half
    const normal = await createTenant(t.db); // 4 of 10 go silent: below the share
    const small = await createTenant(t.db); // 3 of 3 go silent, but below the minimum count
    s.start();
    await register(massive, 6, 'silent');
    await register(normal, 4, 'silent');
    await register(small, 3, 'silent');
    clock.advance(STALE + 1);
    await register(massive, 4, 'alive');
    await register(normal, 6, 'alive');

    const report = await s.sweep();
    expect(report.held).toEqual([
      expect.objectContaining({ tenantId: massive, candidates: 6, active: 10, marked: 0, held: true }),
    ]);
    expect(report.marked).toBe(4 + 3);
    expect(held).toHaveBeenLastCalledWith(1);
    expect(written).toHaveBeenCalled();
    expect(await statuses(massive)).toEqual({ active: 10 });
    expect(await statuses(normal)).toEqual({ active: 6, stale: 4 });
    expect(await statuses(small)).toEqual({ stale: 3 });
    const [event] = await t.db.query<{ payload: Record<string, unknown> }>(
      `select payload from mcp.registration_events where tenant_id = $1 and kind = 'self_preservation'`,
      [massive],
    );
    expect(event.payload).toMatchObject({ holding: true, candidates: 6, active: 10 });

    // still within the ceiling: keeps holding (the live ones keep heartbeating meanwhile)
    clock.advance(599_000);
    await t.db.query(`update mcp.agent_registrations set last_health_check = $2 where tenant_id = $1 and instance_id like 'alive-%'`, [
      massive,
      clock.now(),
    ]);
    expect((await s.sweep()).held).toHaveLength(1);
    expect(await statuses(massive)).toEqual({ active: 10 });

    clock.advance(1_001);
    const gaveUp = await s.sweep();
    expect(gaveUp.held).toEqual([]);
    expect(held).toHaveBeenLastCalledWith(0);
    expect(await statuses(massive)).toEqual({ active: 4, stale: 6 });
  });

  it('purges stale and deregistered registrations after purgeAfterMs', async () => {
    const tenantId = await createTenant(t.db);
    const s = sweeper({ purgeAfterMs: 3_600_000, purgeEveryMs: 0 });
    s.start();
    await register(tenantId, 2);
    await deregisterAgentInstance(t.db, tenantId, 'i-1', { now: clock.now() });
    clock.advance(STALE + 1);
    expect(await s.sweep()).toMatchObject({ marked: 1, purged: 0 });
    clock.advance(3_600_000);
    expect(await s.sweep()).toMatchObject({ purged: 2 });
    expect(await statuses(tenantId)).toEqual({});
  });

  postgresOnly('needs parallel connections')('several processes sweeping at once mark each instance stale exactly once', async () => {
    const tenantId = await createTenant(t.db);
    const all = Array.from({ length: 4 }, () => sweeper());
    all.forEach((s) => s.start());
    await register(tenantId, 20);
    clock.advance(STALE + 1);
    const reports = await Promise.all(all.map((s) => s.sweep()));
    const [events] = await t.db.query<{ n: number }>(
      `select count(*)::integer as n from mcp.registration_events where tenant_id = $1 and kind = 'stale'`,
      [tenantId],
    );
    expect(await statuses(tenantId)).toEqual({ stale: 20 });
    expect(events.n).toBe(20);
    expect(reports.reduce((sum, r) => sum + r.marked, 0)).toBe(20);
  });
});

describe('the app wires the sweeper', () => {
  it('its sweeps hold back under self-preservation and export agent_registry_sweep_held_tenants', async () => {
    const clock = new TestClock(T0);
    const t = await startTestApp({ clock, env: { STALE_AFTER_MS: String(STALE), SWEEP_INTERVAL_MS: '3600000' } });
    try {
      const tenantId = await createTenant(t.database.db);
      const agent = agentId();
      for (let i = 0; i < 12; i++) await t.app.services.lifecycle.register(tenantId, { agentId: agent, instanceId: `sp-${i}` });
      clock.advance(2 * STALE); // every instance went silent at once
      const report = await t.app.sweeper.sweep();
      expect(report.held).toEqual([expect.objectContaining({ tenantId, candidates: 12, active: 12, held: true })]);
      expect(await t.app.services.metrics.render()).toMatch(/^agent_registry_sweep_held_tenants 1$/m);
    } finally {
      await t.dispose();
    }
  });
});
