import type { PickInstanceQuery, RegistrationCircuitsQuery, ReportInstanceOutcomeMutation } from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

/**
 * pickInstance, reportInstanceOutcome and Registration.circuit through GraphQL
 * (executeOperation): roles, coded errors, the burst spread of power of two choices,
 * the group-commit writer, and tenant isolation of every new field, mutation and event.
 */
describe('routing over GraphQL', () => {
  let h: Harness;
  let t: TenantKeys;
  let other: TenantKeys;
  beforeAll(async () => {
    h = await createHarness({ DATABASE_POOL_SIZE: '20' });
    t = await h.tenant();
    other = await h.tenant();
  });
  afterAll(() => h.dispose());

  /** Registers `count` instances of a new agent in `tenant`; returns the agent id and instance ids. */
  async function instances(tenant: TenantKeys, count: number, prefix = 'r'): Promise<{ agent: string; ids: string[] }> {
    const agent = agentId(prefix);
    const ids = Array.from({ length: count }, (_, i) => `${agent}-${i}`);
    for (const instanceId of ids) {
      const result = await h.run(tenant.agent, op('RegisterAgentInstance'), {
        input: { agentId: agent, instanceId, capabilities: ['chat'], connectionDetails: { url: `http://${instanceId}` } },
      });
      expect(result.errors).toBeUndefined();
    }
    return { agent, ids };
  }

  const pick = (principal: TenantKeys['viewer'], variables: Record<string, unknown>) =>
    h.run<PickInstanceQuery>(principal, op('PickInstance'), variables);
  const report = (principal: TenantKeys['agent'], instanceId: string, outcome: string, tenantId?: string) =>
    h.run<ReportInstanceOutcomeMutation>(principal, op('ReportInstanceOutcome'), { instanceId, outcome, tenantId });

  it('viewer, admin and agent keys pick an instance with fallbacks and connection details; operators name the tenant', async () => {
    const { agent, ids } = await instances(t, 4);
    for (const principal of [t.viewer, t.admin, t.agent]) {
      const result = await pick(principal, { agentId: agent, fallbacks: 2 });
      expect(result.errors).toBeUndefined();
      const picked = result.data!.pickInstance;
      expect(ids).toContain(picked.instance.instanceId);
      expect(picked.instance.connectionDetails).toMatchObject({ url: `http://${picked.instance.instanceId}` });
      expect(picked.fallbacks).toHaveLength(2);
      expect(picked.fallbacks.map((f) => f.instanceId)).not.toContain(picked.instance.instanceId);
      expect(picked).toMatchObject({ probe: false, affinityCapacity: null, counts: { instances: 4, eligible: 4 } });
    }
    const byOperator = await pick(h.operator, { agentId: agent, tenantId: t.id });
    expect(ids).toContain(byOperator.data?.pickInstance.instance.instanceId);
    expect(codeOf(await pick(h.operator, { agentId: agent }))).toBe('FORBIDDEN');
    const withKey = await pick(t.viewer, { agentId: agent, affinityKey: 'user-7' });
    expect(withKey.data?.pickInstance.affinityCapacity).toBe(1);
  });

  it('NO_HEALTHY_INSTANCE carries the counts; unknown agent NOT_FOUND; bad input BAD_USER_INPUT naming the field', async () => {
    const { agent, ids } = await instances(t, 2);
    const none = await pick(t.viewer, { agentId: agent, exclude: [ids[0]], capabilities: ['voice'] });
    expect(none.data).toBeNull();
    expect(none.errors?.[0].extensions).toMatchObject({
      code: 'NO_HEALTHY_INSTANCE',
      counts: { instances: 2, active: 2, excluded: 1, missingCapabilities: 1, eligible: 0 },
    });
    expect(codeOf(await pick(t.viewer, { agentId: 'no-such-agent-here' }))).toBe('NOT_FOUND');
    for (const [variables, field] of [
      [{ agentId: 'Not Valid' }, 'agentId'],
      [{ agentId: agent, fallbacks: 11 }, 'fallbacks'],
      [{ agentId: agent, affinityKey: '' }, 'affinityKey'],
      [{ agentId: agent, affinityKey: 'a\u0000b' }, 'affinityKey'],
      [{ agentId: agent, exclude: ['x\u0000'] }, 'exclude[0]'],
      [{ agentId: agent, capabilities: ['ok', 'bad\u0000'] }, 'capabilities[1]'],
    ] as const) {
      const bad = await pick(t.viewer, variables);
      expect({ field, code: codeOf(bad), reported: bad.errors?.[0].extensions?.field }).toEqual({
        field,
        code: 'BAD_USER_INPUT',
        reported: field,
      });
    }
  });

  it('1,000 parallel picks between heartbeats: no instance gets more than twice its fair share (100 of 10)', async () => {
    const { agent, ids } = await instances(t, 10, 'burst');
    const results = await Promise.all(Array.from({ length: 1000 }, () => pick(t.agent, { agentId: agent, fallbacks: 0 })));
    expect(results.filter((r) => r.errors)).toEqual([]);
    const perInstance = new Map<string, number>();
    for (const r of results) {
      const id = r.data!.pickInstance.instance.instanceId;
      perInstance.set(id, (perInstance.get(id) ?? 0) + 1);
    }
    expect([...perInstance.keys()].sort()).toEqual([...ids].sort());
    expect(Math.max(...perInstance.values())).toBeLessThanOrEqual(200);
  }, 120_000);

  it('reportInstanceOutcome: agent and admin keys; 5 failures eject; the registration shows the circuit; pick avoids it', async () => {
    const { agent, ids } = await instances(t, 10, 'eject');
    const submit = jest.spyOn(h.app.services.outcomes, 'submit');
    try {
      const first = await report(t.admin, ids[0], 'failure');
      expect(first.data?.reportInstanceOutcome).toMatchObject({ instanceId: ids[0], result: 'recorded', circuit: 'closed' });
      expect(submit).toHaveBeenCalledWith({ tenantId: t.id, instanceId: ids[0], outcome: 'failure' });
    } finally {
      submit.mockRestore();
    }
    const rest = await Promise.all(Array.from({ length: 4 }, () => report(t.agent, ids[0], 'timeout')));
    expect(rest.map((r) => r.data?.reportInstanceOutcome.result).sort()).toEqual(['ejected', 'recorded', 'recorded', 'recorded']);

    const read = await h.run<RegistrationCircuitsQuery>(t.viewer, op('RegistrationCircuits'), { filter: { agentId: agent }, first: 20 });
    const circuits = Object.fromEntries(read.data!.registrations.nodes.map((n) => [n.instanceId, n.circuit]));
    expect(circuits[ids[0]]).toMatchObject({ state: 'open', consecutiveFailures: 5, ejectionCount: 1, probeInFlight: false });
    expect(circuits[ids[0]].ejectedUntil).not.toBeNull();
    expect(circuits[ids[1]]).toEqual({
      state: 'closed',
      consecutiveFailures: 0,
      ejectionCount: 0,
      ejectedAt: null,
      ejectedUntil: null,
      probeInFlight: false,
    });
    for (let i = 0; i < 30; i++) {
      const picked = await pick(t.viewer, { agentId: agent, fallbacks: 9 });
      expect(picked.data!.pickInstance.instance.instanceId).not.toBe(ids[0]);
      expect(picked.data!.pickInstance.fallbacks.map((f) => f.instanceId)).not.toContain(ids[0]);
      expect(picked.data!.pickInstance.counts.ejected).toBe(1);
    }
    const events = await h.run(t.viewer, op('Events'), { filter: { kinds: ['ejected'] }, first: 10 });
    expect(events.data?.events.nodes.map((e: { instanceId: string }) => e.instanceId)).toEqual([ids[0]]);

    expect(codeOf(await report(t.viewer, ids[0], 'failure'))).toBe('FORBIDDEN');
    expect(codeOf(await report(t.agent, 'no-such-instance', 'failure'))).toBe('NOT_FOUND');
    expect(codeOf(await report(h.operator, ids[1], 'success'))).toBe('FORBIDDEN');
    expect((await report(h.operator, ids[1], 'success', t.id)).data?.reportInstanceOutcome.result).toBe('recorded');
    expect(codeOf(await report(t.agent, '', 'failure'))).toBe('BAD_USER_INPUT');
  });

  it('Registration.circuit shows the decayed ejection count of a closed circuit (3 ejections, restored 65 s ago → 1; open → as stored)', async () => {
    const { agent, ids } = await instances(t, 2, 'decay');
    // restored 65 s ago after three ejections (two whole steps of the default 30 s base), and
    // one still open after three: written as mcp.report_instance_outcomes leaves them
    await h.database.db.query(
      `insert into mcp.instance_circuits (registration_id, tenant_id, ejection_count, ejected_at, ejected_until, restored_at)
       select r.id, r.tenant_id, 3,
              case when r.instance_id = $2 then now() end,
              case when r.instance_id = $2 then now() + interval '90 seconds' end,
              now() - interval '65 seconds'
       from mcp.agent_registrations r where r.tenant_id = $1 and r.instance_id = any($3)`,
      [t.id, ids[1], ids],
    );
    const read = await h.run<RegistrationCircuitsQuery>(t.viewer, op('RegistrationCircuits'), { filter: { agentId: agent }, first: 20 });
    const circuits = Object.fromEntries(read.data!.registrations.nodes.map((n) => [n.instanceId, n.circuit]));
    expect(circuits[ids[0]]).toMatchObject({ state: 'closed', ejectionCount: 1 });
    expect(circuits[ids[1]]).toMatchObject({ state: 'open', ejectionCount: 3 });
  });

  it('another tenant sees none of it: picks, outcome reports, circuits and ejected events', async () => {
    const { agent, ids } = await instances(t, 3, 'iso');
    for (let i = 0; i < 5; i++) await report(t.agent, ids[0], 'failure');

    // picking the same agent id in another tenant finds no instance of this one
    const theirs = await pick(other.viewer, { agentId: agent });
    expect(theirs.errors?.[0].extensions).toMatchObject({ code: 'NO_HEALTHY_INSTANCE', counts: { instances: 0 } });
    // reporting about this tenant's instance from another tenant is NOT_FOUND and changes nothing
    for (let i = 0; i < 6; i++) expect(codeOf(await report(other.agent, ids[1], 'failure'))).toBe('NOT_FOUND');
    expect(codeOf(await report(other.admin, ids[1], 'failure', t.id))).toBe('FORBIDDEN');
    const mine = await h.run<RegistrationCircuitsQuery>(t.viewer, op('RegistrationCircuits'), { filter: { agentId: agent } });
    const state = Object.fromEntries(mine.data!.registrations.nodes.map((n) => [n.instanceId, n.circuit.state]));
    expect(state).toEqual({ [ids[0]]: 'open', [ids[1]]: 'closed', [ids[2]]: 'closed' });
    // their registrations and events show nothing of this tenant
    const theirRegistrations = await h.run<RegistrationCircuitsQuery>(other.viewer, op('RegistrationCircuits'), { filter: { agentId: agent } });
    expect(theirRegistrations.data!.registrations.nodes).toEqual([]);
    const theirEvents = await h.run(other.viewer, op('Events'), { filter: { kinds: ['ejected', 'restored'] } });
    expect(theirEvents.data?.events.nodes).toEqual([]);
    expect(codeOf(await pick(other.viewer, { agentId: agent, tenantId: t.id }))).toBe('FORBIDDEN');
  });

  it('the ejected-instances gauge is on /metrics, labelled by tenant id and agent', async () => {
    const { agent, ids } = await instances(other, 2, 'gauge');
    for (let i = 0; i < 5; i++) await report(other.agent, ids[0], 'failure');
    const text = await h.app.services.metrics.registry.metrics();
    expect(text).toContain(`agent_registry_ejected_instances{tenant_id="${other.id}",agent_id="${agent}"} 1`);
  });

  it('a pick is one statement: without a key, with an affinity key, with exclusions and capabilities, and when nothing is eligible', async () => {
    const { agent, ids } = await instances(t, 5, 'one-trip');
    await pick(t.viewer, { agentId: agent }); // the viewer's key is cached from here on
    const statements = async (variables: Record<string, unknown>) => {
      const before = h.database.db.statementCount();
      const result = await pick(t.viewer, { agentId: agent, ...variables });
      return { sent: h.database.db.statementCount() - before, code: codeOf(result) ?? 'ok' };
    };
    expect(await statements({})).toEqual({ sent: 1, code: 'ok' });
    expect(await statements({ affinityKey: 'user-1', fallbacks: 4 })).toEqual({ sent: 1, code: 'ok' });
    expect(await statements({ exclude: ids.slice(0, 2), capabilities: ['chat'] })).toEqual({ sent: 1, code: 'ok' });
    expect(await statements({ exclude: ids })).toEqual({ sent: 1, code: 'NO_HEALTHY_INSTANCE' });
  });
});

/**
 * The routing knobs of the environment (README configuration table) reach the database: the
 * same steps on a harness with the defaults and on one with ROUTING_AFFINITY_EPSILON,
 * CIRCUIT_FAILURE_THRESHOLD and CIRCUIT_BASE_EJECTION_MS set, with different answers.
 */
describe('routing knobs from the environment', () => {
  let defaults: Harness;
  let tuned: Harness;
  beforeAll(async () => {
    defaults = await createHarness();
    tuned = await createHarness({ ROUTING_AFFINITY_EPSILON: '3', CIRCUIT_FAILURE_THRESHOLD: '2', CIRCUIT_BASE_EJECTION_MS: '45000' });
  });
  afterAll(async () => {
    await defaults?.dispose();
    await tuned?.dispose();
  });

  /** Registers 4 instances of a new agent (default configuration: max_workload 10). */
  async function fourInstances(h: Harness, tenant: TenantKeys, prefix: string): Promise<{ agent: string; ids: string[] }> {
    const agent = agentId(prefix);
    const ids = Array.from({ length: 4 }, (_, i) => `${agent}-${i}`);
    for (const instanceId of ids) {
      const result = await h.run(tenant.agent, op('RegisterAgentInstance'), { input: { agentId: agent, instanceId } });
      expect(result.errors).toBeUndefined();
    }
    return { agent, ids };
  }

  /**
   * The affinity key's instance with every load 0, then again after that instance reported
   * workload 2 (the others 0): the capacity is ceil((1 + ε) × (2 + 1) / 4), 1 with ε = 0.25
   * (2 + 1 does not fit: the key moves) and 3 with ε = 3 (it fits: the key stays).
   */
  async function affinityUnderLoad(h: Harness) {
    const tenant = await h.tenant();
    const { agent } = await fourInstances(h, tenant, 'knob-affinity');
    const pickFor = async () => {
      const result = await h.run<PickInstanceQuery>(tenant.viewer, op('PickInstance'), { agentId: agent, affinityKey: 'user-42' });
      expect(result.errors).toBeUndefined();
      return result.data!.pickInstance;
    };
    const idle = await pickFor();
    const owner = idle.instance.instanceId;
    const beat = await h.run(tenant.agent, op('Heartbeat'), { instanceId: owner, workload: 2 });
    expect(beat.errors).toBeUndefined();
    const loaded = await pickFor();
    return { owner, idleCapacity: idle.affinityCapacity, loadedCapacity: loaded.affinityCapacity, loadedPick: loaded.instance.instanceId };
  }

  it('ROUTING_AFFINITY_EPSILON: an owner at workload 2 of 4 instances keeps its key with ε = 3 (capacity 3), not with the default 0.25 (capacity 1)', async () => {
    const byDefault = await affinityUnderLoad(defaults);
    expect(byDefault).toMatchObject({ idleCapacity: 1, loadedCapacity: 1 });
    expect(byDefault.loadedPick).not.toBe(byDefault.owner);
    const withEpsilon3 = await affinityUnderLoad(tuned);
    expect(withEpsilon3).toMatchObject({ idleCapacity: 1, loadedCapacity: 3 });
    expect(withEpsilon3.loadedPick).toBe(withEpsilon3.owner);
  });

  it('CIRCUIT_FAILURE_THRESHOLD 2 ejects on the second failure (the default 5 does not); CIRCUIT_BASE_EJECTION_MS 45000 ejects for 45 s', async () => {
    const twoFailures = async (h: Harness) => {
      const tenant = await h.tenant();
      const { agent, ids } = await fourInstances(h, tenant, 'knob-circuit');
      const results: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await h.run<ReportInstanceOutcomeMutation>(tenant.agent, op('ReportInstanceOutcome'), { instanceId: ids[0], outcome: 'failure' });
        expect(r.errors).toBeUndefined();
        results.push(r.data!.reportInstanceOutcome.result);
      }
      const read = await h.run<RegistrationCircuitsQuery>(tenant.viewer, op('RegistrationCircuits'), { filter: { agentId: agent }, first: 10 });
      const circuit = read.data!.registrations.nodes.find((n) => n.instanceId === ids[0])!.circuit;
      return { results, circuit };
    };
    const byDefault = await twoFailures(defaults);
    expect(byDefault.results).toEqual(['recorded', 'recorded']);
    expect(byDefault.circuit).toMatchObject({ state: 'closed', consecutiveFailures: 2, ejectedUntil: null });
    const tunedRun = await twoFailures(tuned);
    expect(tunedRun.results).toEqual(['recorded', 'ejected']);
    expect(tunedRun.circuit).toMatchObject({ state: 'open', consecutiveFailures: 2, ejectionCount: 1 });
    expect(Date.parse(String(tunedRun.circuit.ejectedUntil)) - Date.parse(String(tunedRun.circuit.ejectedAt))).toBe(45_000);
  });
});
