import type { AgentSummariesQuery, ReportInstanceOutcomeMutation } from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

/**
 * AgentSummary.ejectedCount: the active instances of an agent whose circuit is open or
 * half-open (the definition of the ejection ceiling and of the agent_registry_ejected_instances
 * gauge), within the tenant, read by the summaries' own statement. The app runs a manual
 * clock so that an ejection can end (half-open) without waiting.
 */
describe('AgentSummary.ejectedCount', () => {
  let now = Date.parse('2026-06-01T12:00:00.000Z');
  const clock = { now: () => new Date(now) };
  let h: Harness;
  let t: TenantKeys;
  let other: TenantKeys;
  /** One agent id in both tenants: the same manifest, two configurations. */
  const agent = agentId('ej');
  const quiet = agentId('ej-quiet');
  const ids = Array.from({ length: 20 }, (_, i) => `${agent}-${i}`);

  beforeAll(async () => {
    h = await createHarness({}, { clock });
    t = await h.tenant();
    other = await h.tenant();
    // 20 instances: the ceiling (10 %) lets 2 be ejected at once
    for (const instanceId of ids) await register(t, agent, instanceId);
    await register(t, quiet, `${quiet}-0`);
    // the other tenant: the same agent and the same instance ids
    for (const instanceId of ids.slice(0, 10)) await register(other, agent, instanceId);
  });
  afterAll(() => h.dispose());

  async function register(tenant: TenantKeys, agentIdentifier: string, instanceId: string) {
    const result = await h.run(tenant.agent, op('RegisterAgentInstance'), { input: { agentId: agentIdentifier, instanceId } });
    expect(result.errors).toBeUndefined();
  }
  async function report(tenant: TenantKeys, instanceId: string, outcome: string, times = 1): Promise<string[]> {
    const results: string[] = [];
    for (let i = 0; i < times; i++) {
      const r = await h.run<ReportInstanceOutcomeMutation>(tenant.agent, op('ReportInstanceOutcome'), { instanceId, outcome });
      expect(r.errors).toBeUndefined();
      results.push(r.data!.reportInstanceOutcome.result);
    }
    return results;
  }
  /** agentId → [activeCount, ejectedCount] as `principal` sees them. */
  async function summaries(principal: TenantKeys['viewer'], tenantId?: string): Promise<Record<string, [number, number]>> {
    const result = await h.run<AgentSummariesQuery>(principal, op('AgentSummaries'), { tenantId });
    expect(result.errors).toBeUndefined();
    return Object.fromEntries(result.data!.agentSummaries.nodes.map((n) => [n.agentId, [n.activeCount, n.ejectedCount]]));
  }
  async function gauge(tenantId: string): Promise<string | undefined> {
    const text = await h.app.services.metrics.render();
    return text.split('\n').find((line) => line.startsWith(`agent_registry_ejected_instances{tenant_id="${tenantId}",agent_id="${agent}"}`));
  }

  it('counts open and half-open circuits of active instances, in the tenant only; closed, restored and deregistered ones are not counted', async () => {
    expect(await summaries(t.viewer)).toEqual({ [agent]: [20, 0], [quiet]: [1, 0] });

    // two ejected; a third with 4 failures is still closed
    expect(await report(t, ids[0], 'failure', 5)).toEqual(['recorded', 'recorded', 'recorded', 'recorded', 'ejected']);
    expect(await report(t, ids[1], 'timeout', 5)).toContain('ejected');
    expect(await report(t, ids[2], 'failure', 4)).not.toContain('ejected');
    // the other tenant ejects its own instance of the same id
    expect(await report(other, ids[3], 'failure', 5)).toContain('ejected');

    expect(await summaries(t.viewer)).toEqual({ [agent]: [20, 2], [quiet]: [1, 0] });
    expect(await summaries(other.viewer)).toEqual({ [agent]: [10, 1] });

    // the ejection (30 s) is over: half-open until a probe succeeds, still ejected for the
    // ceiling and the gauge, and so here
    now += 31_000;
    expect(await summaries(t.viewer)).toEqual({ [agent]: [20, 2], [quiet]: [1, 0] });
    expect(await gauge(t.id)).toBe(`agent_registry_ejected_instances{tenant_id="${t.id}",agent_id="${agent}"} 2`);

    // a half-open instance's success restores it
    expect(await report(t, ids[0], 'success')).toEqual(['restored']);
    expect(await summaries(t.viewer)).toEqual({ [agent]: [20, 1], [quiet]: [1, 0] });

    // an ejected instance that leaves is no longer an active one
    expect((await h.run(t.agent, op('DeregisterAgentInstance'), { instanceId: ids[1] })).errors).toBeUndefined();
    expect(await summaries(t.viewer)).toEqual({ [agent]: [19, 0], [quiet]: [1, 0] });
    expect(await summaries(other.viewer)).toEqual({ [agent]: [10, 1] });
  });

  it("an operator sees a tenant's count by naming it; another tenant's admin cannot", async () => {
    expect(await summaries(h.operator, other.id)).toEqual({ [agent]: [10, 1] });
    expect(codeOf(await h.run(t.admin, op('AgentSummaries'), { tenantId: other.id }))).toBe('FORBIDDEN');
  });

  it('adds no statement to the page, whatever the number of agents', async () => {
    const statements = async (query: string) => {
      const before = h.database.db.statementCount();
      const result = await h.run(t.viewer, query);
      expect(result.errors).toBeUndefined();
      expect(result.data!.agentSummaries.nodes).toHaveLength(2);
      return h.database.db.statementCount() - before;
    };

    const without = await statements('{ agentSummaries { totalCount nodes { agentId activeCount } } }');
    const withRouting = await statements(
      '{ agentSummaries { totalCount nodes { agentId activeCount ejectedCount scaling { desiredInstances } } } }',
    );

    expect(withRouting).toBe(without);
    // the page, its counts and its total are one statement (the key is cached by now)
    expect(without).toBe(1);
  });
});
