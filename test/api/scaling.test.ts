import type { AgentSummariesQuery, ConfigurationsScalingQuery } from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

/** The scaling signal through GraphQL (configurations, agent summaries, events) and /metrics. */
describe('scaling signal through the API', () => {
  let h: Harness;
  let t: TenantKeys;
  let other: TenantKeys;
  let agent: string;
  let otherAgent: string;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant('scaling-tenant-name');
    other = await h.tenant('other-tenant-name');
    agent = agentId('scale');
    otherAgent = agentId('scale');
    // t: 4 instances of max_workload 10 reporting 36 → utilisation 0.9 → 6 wanted;
    // other: 2 instances exactly on target → 2
    await register(t, agent, [9, 9, 9, 9]);
    await register(other, otherAgent, [7, 7]);
    await h.app.scaling.recommend();
  });
  afterAll(() => h.dispose());

  async function register(keys: TenantKeys, agentIdentifier: string, workloads: number[]) {
    for (const [i, workload] of workloads.entries()) {
      const registered = await h.run(keys.agent, op('RegisterAgentInstance'), { input: { agentId: agentIdentifier, instanceId: `i-${i}` } });
      expect(registered.errors).toBeUndefined();
      const beat = await h.run(keys.agent, op('Heartbeat'), { instanceId: `i-${i}`, workload });
      expect(beat.errors).toBeUndefined();
    }
  }

  it('configurations carry their recommendation', async () => {
    const result = await h.run<ConfigurationsScalingQuery>(t.viewer, op('ConfigurationsScaling'));

    expect(result.errors).toBeUndefined();
    expect(result.data!.configurations.nodes).toEqual([
      {
        id: expect.any(String),
        agentId: agent,
        scaling: {
          activeInstances: 4,
          workload: 36,
          capacity: 40,
          utilisation: 0.9,
          targetUtilisation: 0.7,
          proposedInstances: 6,
          desiredInstances: 6,
          computedAt: expect.any(String),
          changedAt: expect.any(String),
        },
      },
    ]);
  });

  it('agent summaries carry the same recommendation', async () => {
    const result = await h.run<AgentSummariesQuery>(t.viewer, op('AgentSummaries'));

    expect(result.errors).toBeUndefined();
    expect(result.data!.agentSummaries.nodes.map((n) => [n.agentId, n.activeCount, n.scaling?.desiredInstances, n.scaling?.utilisation])).toEqual([
      [agent, 4, 6, 0.9],
    ]);
  });

  it('a change is one scaling_recommended event, in its own tenant only', async () => {
    await h.app.scaling.recommend(); // the same figures again: no second event

    const mine = await h.run(t.viewer, op('Events'), { filter: { kinds: ['scaling_recommended'] } });
    expect(mine.errors).toBeUndefined();
    expect(mine.data?.events.nodes.map((e: { agentId: string; payload: Record<string, unknown> }) => [e.agentId, e.payload.desired, e.payload.previous_desired])).toEqual([
      [agent, 6, 4],
    ]);
    // the other tenant's recommendation equals its active count: nothing to say
    const theirs = await h.run(other.viewer, op('Events'), { filter: { kinds: ['scaling_recommended'] } });
    expect(theirs.data?.events.nodes).toEqual([]);
  });

  it("another tenant's keys see nothing of it; an operator sees it by naming the tenant", async () => {
    const foreignConfigurations = await h.run<ConfigurationsScalingQuery>(other.viewer, op('ConfigurationsScaling'));
    expect(foreignConfigurations.data!.configurations.nodes.map((n) => [n.agentId, n.scaling?.desiredInstances])).toEqual([[otherAgent, 2]]);
    const foreignSummaries = await h.run<AgentSummariesQuery>(other.admin, op('AgentSummaries'));
    expect(foreignSummaries.data!.agentSummaries.nodes.map((n) => n.agentId)).toEqual([otherAgent]);
    expect(codeOf(await h.run(other.admin, op('ConfigurationsScaling'), { tenantId: t.id }))).toBe('FORBIDDEN');

    const operator = await h.run<ConfigurationsScalingQuery>(h.operator, op('ConfigurationsScaling'), { tenantId: t.id });
    expect(operator.data!.configurations.nodes.map((n) => n.scaling?.desiredInstances)).toEqual([6]);
  });

  it('a configuration not computed yet has scaling null', async () => {
    const fresh = agentId('fresh');
    await h.run(h.operator, op('CreateManifest'), { input: { agentId: fresh, agentType: 'x', name: 'Fresh' } });
    expect((await h.run(t.admin, op('CreateConfiguration'), { input: { agentId: fresh } })).errors).toBeUndefined();

    const result = await h.run<ConfigurationsScalingQuery>(t.viewer, op('ConfigurationsScaling'));

    expect(result.data!.configurations.nodes.find((n) => n.agentId === fresh)?.scaling).toBeNull();
    await h.app.scaling.recommend();
    const after = await h.run<ConfigurationsScalingQuery>(t.viewer, op('ConfigurationsScaling'));
    expect(after.data!.configurations.nodes.find((n) => n.agentId === fresh)?.scaling).toMatchObject({ activeInstances: 0, desiredInstances: 0 });
  });

  it('/metrics has the desired-instances and utilisation gauges, labelled by tenant id and agent id, never tenant names', async () => {
    const text = await h.app.services.metrics.render();

    expect(text).toContain(`agent_registry_desired_instances{tenant_id="${t.id}",agent_id="${agent}"} 6`);
    expect(text).toContain(`agent_registry_utilisation{tenant_id="${t.id}",agent_id="${agent}"} 0.9`);
    expect(text).toContain(`agent_registry_desired_instances{tenant_id="${other.id}",agent_id="${otherAgent}"} 2`);
    expect(text).not.toContain('scaling-tenant-name');
    expect(text).not.toContain('other-tenant-name');
  });
});
