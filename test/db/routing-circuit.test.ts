import { registerAgentInstance } from '../../src/db/registry-sql';
import {
  type CircuitPolicy,
  type InstanceOutcome,
  type OutcomeReportResult,
  pickInstance,
  reportInstanceOutcomes,
} from '../../src/routing/routing-sql';
import { pgQueryable } from '../../src/db/client';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { eventsOf, lastEventId, testClock } from './support';

const POLICY: CircuitPolicy = { failureThreshold: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedShare: 0.1 };
const needsConnections = postgresOnly('needs parallel connections; PGlite has exactly one');

/**
 * Circuit breaking in SQL (mcp.report_instance_outcomes and the probe of
 * mcp.pick_instance), with a controlled clock: ejection after consecutive failures,
 * half-open single probe, restoration, re-ejection for longer, the ejection ceiling.
 */
describe('circuit breaking in SQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ poolSize: 30 });
  });
  afterAll(() => t.dispose());

  async function setup(count: number): Promise<{ tenantId: string; agent: string; ids: string[] }> {
    const tenantId = await createTenant(t.db);
    const agent = agentId('cb');
    const ids = Array.from({ length: count }, (_, i) => `i-${String(i).padStart(2, '0')}`);
    for (const instanceId of ids) await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId });
    return { tenantId, agent, ids };
  }

  const report = (tenantId: string, instanceId: string, outcomes: InstanceOutcome[], now: Date, policy = POLICY) =>
    reportInstanceOutcomes(
      t.db,
      outcomes.map((outcome) => ({ tenantId, instanceId, outcome })),
      policy,
      now,
    );

  const pick = (tenantId: string, agent: string, now: Date, exclude: string[] = []) =>
    pickInstance(t.db, { tenantId, agentId: agent, exclude, fallbacks: 3, epsilon: 0.25, probeTimeoutMs: 10_000, now });

  const circuit = async (tenantId: string, instanceId: string) => {
    const [row] = await t.db.query<{ consecutive_failures: number; ejection_count: number; ejected_until: Date | null; probe_started_at: Date | null }>(
      `select c.consecutive_failures, c.ejection_count, c.ejected_until, c.probe_started_at
       from mcp.instance_circuits c join mcp.agent_registrations r on r.id = c.registration_id
       where r.tenant_id = $1 and r.instance_id = $2`,
      [tenantId, instanceId],
    );
    return row;
  };

  const results = (rs: OutcomeReportResult[]) => rs.map((r) => `${r.result}/${r.circuit}`);

  it('a batch mixing clean successes with other instances’ failures answers each in order and writes back only the failing circuits', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(6);
    // ids[4] has a failure on record: its successes are not clean (they reset the count)
    await report(tenantId, ids[4], ['failure'], at(0));
    const items: { tenantId: string; instanceId: string; outcome: InstanceOutcome }[] = [
      { tenantId, instanceId: ids[0], outcome: 'failure' },
      { tenantId, instanceId: ids[1], outcome: 'success' },
      { tenantId, instanceId: ids[2], outcome: 'failure' },
      { tenantId, instanceId: ids[3], outcome: 'success' },
      { tenantId, instanceId: ids[0], outcome: 'timeout' },
      { tenantId, instanceId: ids[1], outcome: 'success' },
      { tenantId, instanceId: ids[4], outcome: 'success' },
      { tenantId, instanceId: ids[5], outcome: 'success' },
      { tenantId, instanceId: ids[5], outcome: 'failure' },
      { tenantId, instanceId: ids[2], outcome: 'success' },
      { tenantId, instanceId: 'nobody', outcome: 'success' },
    ];
    const answers = await reportInstanceOutcomes(t.db, items, POLICY, at(1));
    expect(answers.map((a) => `${a.result}/${a.circuit}`)).toEqual([
      ...Array(10).fill('recorded/closed'),
      'not_found/null',
    ]);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ consecutive_failures: 2 });
    expect(await circuit(tenantId, ids[1])).toBeUndefined();
    // a failure then a success of the same instance: the success resets the count
    expect(await circuit(tenantId, ids[2])).toMatchObject({ consecutive_failures: 0 });
    expect(await circuit(tenantId, ids[3])).toBeUndefined();
    expect(await circuit(tenantId, ids[4])).toMatchObject({ consecutive_failures: 0 });
    // a success then a failure of the same instance in one batch: not clean, the failure counts
    expect(await circuit(tenantId, ids[5])).toMatchObject({ consecutive_failures: 1 });
  });

  it('an unknown outcome is answered invalid and counts nothing, beside successes and failures of the same instances', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(3);
    const since = await lastEventId(t.db);
    const bogus = 'bogus' as InstanceOutcome;
    const answers = await reportInstanceOutcomes(
      t.db,
      [
        { tenantId, instanceId: ids[0], outcome: bogus },
        { tenantId, instanceId: ids[0], outcome: 'success' },
        { tenantId, instanceId: ids[1], outcome: 'success' },
        { tenantId, instanceId: ids[2], outcome: 'failure' },
        { tenantId, instanceId: ids[2], outcome: bogus },
        { tenantId, instanceId: 'nobody', outcome: bogus },
      ],
      POLICY,
      at(0),
    );
    expect(answers.map((a) => `${a.result}/${a.circuit}`)).toEqual([
      'invalid/closed',
      'recorded/closed',
      'recorded/closed',
      'recorded/closed',
      'invalid/closed',
      'not_found/null',
    ]);
    expect(await circuit(tenantId, ids[0])).toBeUndefined();
    expect(await circuit(tenantId, ids[1])).toBeUndefined();
    expect(await circuit(tenantId, ids[2])).toMatchObject({ consecutive_failures: 1 });
    expect(await eventsOf(t.db, tenantId, since)).toEqual([]);
  });

  it('5 consecutive failures or timeouts eject for 30 s; a success in between starts the count again', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(10);
    const since = await lastEventId(t.db);
    expect(results(await report(tenantId, ids[0], ['failure', 'timeout', 'failure', 'failure', 'success'], at(0)))).toEqual([
      'recorded/closed',
      'recorded/closed',
      'recorded/closed',
      'recorded/closed',
      'recorded/closed',
    ]);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ consecutive_failures: 0, ejection_count: 0 });
    expect(results(await report(tenantId, ids[0], ['failure', 'failure', 'timeout', 'failure'], at(1)))).toEqual(
      Array(4).fill('recorded/closed'),
    );
    expect(results(await report(tenantId, ids[0], ['failure'], at(2)))).toEqual(['ejected/open']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ consecutive_failures: 5, ejection_count: 1, ejected_until: at(32) });

    const events = await eventsOf(t.db, tenantId, since);
    expect(events.map((e) => [e.kind, e.instance_id, e.payload])).toEqual([
      [
        'ejected',
        ids[0],
        expect.objectContaining({ reason: 'consecutive_failures', consecutive_failures: 5, ejection_count: 1 }),
      ],
    ]);
  });

  it('a success for a closed circuit without failures writes nothing', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(2);
    const since = await lastEventId(t.db);
    expect(results(await report(tenantId, ids[0], ['success', 'success'], at(0)))).toEqual(['recorded/closed', 'recorded/closed']);
    expect(await circuit(tenantId, ids[0])).toBeUndefined();
    expect(await eventsOf(t.db, tenantId, since)).toEqual([]);
  });

  it('an ejected instance is never picked; after 30 s it is half-open for exactly one probe at a time; the probe’s success restores it', async () => {
    const at = testClock();
    const { tenantId, agent, ids } = await setup(10);
    await report(tenantId, ids[0], Array(5).fill('failure'), at(0));
    const others = ids.slice(1);

    // open: not picked, counted as ejected
    for (let s = 1; s < 30; s += 7) {
      const none = await pick(tenantId, agent, at(s), others);
      expect(none.chosen).toBeNull();
      expect(none.counts).toMatchObject({ ejected: 1, eligible: 0, excluded: 9 });
    }
    // half-open: one probe, then nothing until the probe reports or times out (10 s)
    const probe = await pick(tenantId, agent, at(31), others);
    expect(probe).toMatchObject({ chosen: { instanceId: ids[0] }, probe: true });
    const whileProbing = await pick(tenantId, agent, at(32), others);
    expect(whileProbing.chosen).toBeNull();
    expect(whileProbing.counts.ejected).toBe(1);
    // a half-open instance is never a fallback
    for (let i = 0; i < 20; i++) {
      const normal = await pick(tenantId, agent, at(33));
      expect(normal.chosen?.instanceId).not.toBe(ids[0]);
      expect(normal.fallbacks.map((f) => f.instanceId)).not.toContain(ids[0]);
    }
    // the probe timed out without an outcome: another probe may go
    expect(await pick(tenantId, agent, at(42), others)).toMatchObject({ chosen: { instanceId: ids[0] }, probe: true });

    const since = await lastEventId(t.db);
    expect(results(await report(tenantId, ids[0], ['success'], at(43)))).toEqual(['restored/closed']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ consecutive_failures: 0, ejection_count: 1, ejected_until: null, probe_started_at: null });
    expect((await eventsOf(t.db, tenantId, since)).map((e) => [e.kind, e.instance_id])).toEqual([['restored', ids[0]]]);
    const back = await pick(tenantId, agent, at(44), others);
    expect(back).toMatchObject({ chosen: { instanceId: ids[0] }, probe: false });
  });

  it('a failed probe ejects again for base × ejections (60 s, then 90 s), capped at the maximum', async () => {
    const at = testClock();
    const { tenantId, agent, ids } = await setup(10);
    const others = ids.slice(1);
    await report(tenantId, ids[0], Array(5).fill('failure'), at(0));
    expect((await pick(tenantId, agent, at(30), others)).probe).toBe(true);
    expect(results(await report(tenantId, ids[0], ['timeout'], at(31)))).toEqual(['ejected/open']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 2, ejected_until: at(91) });
    expect((await pick(tenantId, agent, at(90), others)).chosen).toBeNull();
    expect((await pick(tenantId, agent, at(91), others)).probe).toBe(true);
    expect(results(await report(tenantId, ids[0], ['failure'], at(92)))).toEqual(['ejected/open']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 3, ejected_until: at(182) });
    // capped: a fourth ejection with a 100 s maximum lasts 100 s, not 120 s
    await pick(tenantId, agent, at(182), others);
    await report(tenantId, ids[0], ['failure'], at(183), { ...POLICY, maxEjectionMs: 100_000 });
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 4, ejected_until: at(283) });
    // reports while open are counted but eject nothing more
    expect(results(await report(tenantId, ids[0], ['failure', 'success'], at(200)))).toEqual(['recorded/open', 'recorded/open']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 4, ejected_until: at(283) });
  });

  it('the ejection count decays while closed: one off per 30 s since the restore (3 ejections, 65 s closed → the next lasts 60 s, not 120 s)', async () => {
    const at = testClock();
    const { tenantId, agent, ids } = await setup(10);
    const others = ids.slice(1);
    // three ejections in a row (30, 60, 90 s), then a successful probe at 183 s
    await report(tenantId, ids[0], Array(5).fill('failure'), at(0));
    await pick(tenantId, agent, at(30), others);
    await report(tenantId, ids[0], ['failure'], at(31));
    await pick(tenantId, agent, at(91), others);
    await report(tenantId, ids[0], ['failure'], at(92));
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 3, ejected_until: at(182) });
    expect((await pick(tenantId, agent, at(182), others)).probe).toBe(true);
    expect(results(await report(tenantId, ids[0], ['success'], at(183)))).toEqual(['restored/closed']);

    // 65 s closed (two whole steps of 30 s): 3 → 1, and the next ejection is the second: 60 s
    await report(tenantId, ids[0], Array(4).fill('failure'), at(240));
    expect(results(await report(tenantId, ids[0], ['failure'], at(248)))).toEqual(['ejected/open']);
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 2, ejected_until: at(308) });

    // restored again at 309 s; failing 10 s later (no whole step): 2 → 3, 90 s
    expect((await pick(tenantId, agent, at(308), others)).probe).toBe(true);
    expect(results(await report(tenantId, ids[0], ['success'], at(309)))).toEqual(['restored/closed']);
    await report(tenantId, ids[0], Array(5).fill('failure'), at(319));
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 3, ejected_until: at(409) });

    // long closed (an hour after the next restore): back to the first ejection's 30 s
    await pick(tenantId, agent, at(409), others);
    await report(tenantId, ids[0], ['success'], at(410));
    await report(tenantId, ids[0], Array(5).fill('failure'), at(4010));
    expect(await circuit(tenantId, ids[0])).toMatchObject({ ejection_count: 1, ejected_until: at(4040) });
  });

  it('never ejects more than 10 % of an agent’s active instances (2 of 20), and at least one of 3', async () => {
    const at = testClock();
    const big = await setup(20);
    const last = [];
    for (const id of big.ids.slice(0, 3)) last.push((await report(big.tenantId, id, Array(5).fill('failure'), at(0))).at(-1)!.result);
    expect(last).toEqual(['ejected', 'ejected', 'held']);
    const counts = (await pick(big.tenantId, big.agent, at(1))).counts;
    expect(counts).toMatchObject({ ejected: 2, eligible: 18 });
    // held failures keep counting, and eject once a slot is free (the others were restored)
    for (const id of big.ids.slice(0, 2)) {
      await pick(big.tenantId, big.agent, at(31), big.ids.filter((x) => x !== id));
      expect(results(await report(big.tenantId, id, ['success'], at(31)))).toEqual(['restored/closed']);
    }
    expect(results(await report(big.tenantId, big.ids[2], ['failure'], at(32)))).toEqual(['ejected/open']);

    const small = await setup(3);
    const first = await report(small.tenantId, small.ids[0], Array(5).fill('failure'), at(0));
    const second = await report(small.tenantId, small.ids[1], Array(5).fill('failure'), at(0));
    expect([first.at(-1)!.result, second.at(-1)!.result]).toEqual(['ejected', 'held']);
  });

  it('one batch ejecting several instances of one agent respects the ceiling too', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(10);
    const batch = ids.slice(0, 3).flatMap((instanceId) => Array.from({ length: 5 }, () => ({ tenantId, instanceId, outcome: 'failure' as const })));
    const rs = await reportInstanceOutcomes(t.db, batch, POLICY, at(0));
    expect(rs.filter((r) => r.result === 'ejected')).toHaveLength(1);
    expect(rs.filter((r) => r.result === 'held')).toHaveLength(2);
  });

  it('is tenant-scoped: reports naming another tenant’s instance are not_found and change nothing', async () => {
    const at = testClock();
    const mine = await setup(3);
    const other = await createTenant(t.db);
    const since = await lastEventId(t.db);
    const rs = await reportInstanceOutcomes(
      t.db,
      Array.from({ length: 6 }, () => ({ tenantId: other, instanceId: mine.ids[0], outcome: 'failure' as const })),
      POLICY,
      at(0),
    );
    expect(rs.map((r) => r.result)).toEqual(Array(6).fill('not_found'));
    expect(await circuit(mine.tenantId, mine.ids[0])).toBeUndefined();
    expect(await eventsOf(t.db, mine.tenantId, since)).toEqual([]);
    expect(await eventsOf(t.db, other, since)).toEqual([]);
  });

  it('reports for deregistered or unknown instances are not_found; a bad outcome is invalid; the batch goes on', async () => {
    const at = testClock();
    const { tenantId, ids } = await setup(2);
    await t.db.query(`select mcp.deregister_agent_instance($1, $2)`, [tenantId, ids[1]]);
    const rows = await t.db.query<{ ordinal: number; result: string }>(
      `select ordinal, result from mcp.report_instance_outcomes($1, $2, $3, $4) order by ordinal`,
      [[tenantId, tenantId, tenantId, tenantId], [ids[0], ids[1], 'nope', ids[0]], ['failure', 'failure', 'failure', 'maybe'], at(0)],
    );
    expect(rows.map((r) => r.result)).toEqual(['recorded', 'not_found', 'not_found', 'invalid']);
  });

  needsConnections('20 parallel batches failing 20 instances of one agent eject exactly 2 (10 %): the ceiling holds across processes', async () => {
    const at = testClock();
    const { tenantId, agent, ids } = await setup(20);
    const settled = await Promise.all(ids.map((id) => report(tenantId, id, Array(5).fill('failure'), at(0))));
    const last = settled.map((rs) => rs.at(-1)!.result).sort();
    expect(last.filter((r) => r === 'ejected')).toHaveLength(2);
    expect(last.filter((r) => r === 'held')).toHaveLength(18);
    expect((await pick(tenantId, agent, at(1))).counts.ejected).toBe(2);
  });

  needsConnections('of 20 parallel picks of a half-open instance, exactly one gets the probe', async () => {
    const at = testClock();
    const { tenantId, agent, ids } = await setup(10);
    await report(tenantId, ids[0], Array(5).fill('failure'), at(0));
    const connections = await Promise.all(Array.from({ length: 20 }, () => t.db.pool!.connect()));
    try {
      const picks = await Promise.all(
        connections.map((client) =>
          pickInstance(pgQueryable(client), {
            tenantId,
            agentId: agent,
            exclude: ids.slice(1),
            fallbacks: 3,
            epsilon: 0.25,
            probeTimeoutMs: 10_000,
            now: at(31),
          }),
        ),
      );
      expect(picks.filter((p) => p.chosen?.instanceId === ids[0])).toHaveLength(1);
      expect(picks.filter((p) => p.chosen === null)).toHaveLength(19);
    } finally {
      for (const client of connections) client.release();
    }
  });

  postgresOnly('per-transaction scan counters are PostgreSQL statistics')(
    'a batch finds each report’s registration by its key, whatever the statistics say: no scan of an agent’s registrations',
    async () => {
      // a fresh table: autovacuum has not analyzed it, so the planner has no statistics (the
      // first version then read every active registration through the status index, per batch)
      const { tenantId, ids } = await setup(400);
      const now = new Date();
      const items = ids.slice(0, 20).map((instanceId, i) => ({
        tenantId,
        instanceId,
        outcome: (i % 4 === 0 ? 'failure' : 'success') as InstanceOutcome,
      }));
      const read = await t.db.transaction(async (tx) => {
        // this backend's counters: rows read by sequential scans of the table, and index
        // entries read through each of its indexes. On PostgreSQL 15 they also hold what
        // earlier transactions of the same pooled connection read until the backend flushes
        // its statistics (at most once a second), so the batch's own reads are the difference
        // (nothing is flushed inside a transaction)
        const counters = async () => {
          const [row] = await tx.query<{ seq: string; key: string; status: string }>(
            `select pg_stat_get_xact_tuples_returned('mcp.agent_registrations'::regclass) as seq,
                    pg_stat_get_xact_tuples_returned('mcp.agent_registrations_tenant_id_instance_id_key'::regclass) as key,
                    pg_stat_get_xact_tuples_returned('mcp.agent_registrations_tenant_manifest_status_idx'::regclass) as status`,
          );
          return { seq: Number(row.seq), key: Number(row.key), status: Number(row.status) };
        };
        const before = await counters();
        const results = await reportInstanceOutcomes(tx, items, POLICY, now);
        expect(results.map((r) => r.result)).toEqual(items.map(() => 'recorded'));
        const after = await counters();
        return { seq: after.seq - before.seq, key: after.key - before.key, status: after.status - before.status };
      });
      expect(read).toEqual({ seq: 0, key: expect.any(Number), status: 0 });
      expect(read.key).toBeGreaterThanOrEqual(20);
    },
  );
});
