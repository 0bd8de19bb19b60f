import type { RegisterAgentInstanceMutation, RegistrationsQuery } from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

describe('registrations', () => {
  let h: Harness;
  let t: TenantKeys;
  beforeAll(async () => {
    h = await createHarness({ MAX_PAGE_SIZE: '50' });
    t = await h.tenant();
  });
  afterAll(() => h.dispose());

  const register = (input: Record<string, unknown>) =>
    h.run<RegisterAgentInstanceMutation>(t.agent, op('RegisterAgentInstance'), { input });

  it('register creates the manifest, the configuration and the registration, and returns the heartbeat interval', async () => {
    const agent = agentId('reg');
    const first = await register({ agentId: agent, instanceId: 'i-1', name: 'laptop', capabilities: ['code'], connectionDetails: { ip: '10.0.0.1' } });
    expect(first.errors).toBeUndefined();
    expect(first.data!.registerAgentInstance).toMatchObject({
      isNew: true,
      heartbeatIntervalMs: 15000,
      heartbeatIntervalSeconds: 15,
      registration: {
        tenantId: t.id,
        instanceId: 'i-1',
        agentId: agent,
        name: 'laptop',
        registrationStatus: 'active',
        healthStatus: 'healthy',
        capabilities: ['code'],
        connectionDetails: { ip: '10.0.0.1' },
        reconnectCount: 0,
      },
    });
    const again = await register({ agentId: agent, instanceId: 'i-1' });
    expect(again.data!.registerAgentInstance).toMatchObject({ isNew: false, registration: { reconnectCount: 1, name: 'laptop' } });
    const manifest = await h.run(t.viewer, op('Manifest'), { agentId: agent });
    expect(manifest.data?.manifest.agentId).toBe(agent);
  });

  it('heartbeat reports health and workload; deregister ends it; a heartbeat after that is NOT_REGISTERED', async () => {
    const agent = agentId('hb');
    await register({ agentId: agent, instanceId: 'hb-1' });
    const same = await h.run(t.agent, op('Heartbeat'), { instanceId: 'hb-1' });
    expect(same.data?.heartbeat.outcome).toBe('ok');
    const changed = await h.run(t.agent, op('Heartbeat'), { instanceId: 'hb-1', health: 'degraded', workload: 3 });
    expect(changed.data?.heartbeat.outcome).toBe('changed');
    const read = await h.run(t.viewer, op('Registration'), { instanceId: 'hb-1' });
    expect(read.data?.registration).toMatchObject({ healthStatus: 'degraded', currentWorkload: 3 });
    const gone = await h.run(t.agent, op('DeregisterAgentInstance'), { instanceId: 'hb-1' });
    expect(gone.data?.deregisterAgentInstance.wasActive).toBe(true);
    expect(codeOf(await h.run(t.agent, op('Heartbeat'), { instanceId: 'hb-1' }))).toBe('NOT_REGISTERED');
    expect(codeOf(await h.run(t.agent, op('Heartbeat'), { instanceId: 'never-registered' }))).toBe('NOT_REGISTERED');
  });

  it('heartbeats go through the group-commit writer', async () => {
    await register({ agentId: agentId('gc'), instanceId: 'gc-1' });
    const submit = jest.spyOn(h.app.services.heartbeats, 'submit');
    try {
      await h.run(t.agent, op('Heartbeat'), { instanceId: 'gc-1', health: 'unhealthy' });
      expect(submit).toHaveBeenCalledWith(expect.objectContaining({ tenantId: t.id, instanceId: 'gc-1', health: 'unhealthy' }));
    } finally {
      submit.mockRestore();
    }
  });

  it('an instance id held by another agent type is CONFLICT; a bad agentId is BAD_USER_INPUT naming it', async () => {
    await register({ agentId: agentId('one'), instanceId: 'shared-id' });
    expect(codeOf(await register({ agentId: agentId('two'), instanceId: 'shared-id' }))).toBe('CONFLICT');
    const bad = await register({ agentId: 'Not Valid', instanceId: 'x' });
    expect([codeOf(bad), bad.errors?.[0].extensions?.field]).toEqual(['BAD_USER_INPUT', 'agentId']);
  });

  it('an admin force-deregisters an instance of its tenant', async () => {
    await register({ agentId: agentId('force'), instanceId: 'stuck-1' });
    const result = await h.run(t.admin, op('ForceDeregisterInstance'), { instanceId: 'stuck-1' });
    expect(result.data?.forceDeregisterInstance).toMatchObject({ instanceId: 'stuck-1', wasActive: true });
    expect(codeOf(await h.run(t.admin, op('ForceDeregisterInstance'), { instanceId: 'nope' }))).toBe('NOT_REGISTERED');
  });

  it('100 parallel identical registrations make one registration, one isNew, no errors', async () => {
    const agent = agentId('burst');
    const results = await Promise.all(Array.from({ length: 100 }, () => register({ agentId: agent, instanceId: 'burst-1' })));
    expect(results.filter((r) => r.errors)).toEqual([]);
    expect(results.filter((r) => r.data!.registerAgentInstance.isNew)).toHaveLength(1);
    expect(new Set(results.map((r) => r.data!.registerAgentInstance.registration.id)).size).toBe(1);
    const [{ count }] = await h.database.db.query<{ count: number }>(
      `select count(*)::int as count from mcp.agent_registrations where tenant_id = $1 and instance_id = 'burst-1'`,
      [t.id],
    );
    expect(count).toBe(1);
  });

  describe('pagination and filters', () => {
    let agent: string;
    beforeAll(async () => {
      agent = agentId('page');
      for (let i = 0; i < 23; i++) await register({ agentId: agent, instanceId: `p-${String(i).padStart(2, '0')}` });
      await h.run(t.agent, op('Heartbeat'), { instanceId: 'p-05', health: 'unhealthy' });
      await h.run(t.agent, op('DeregisterAgentInstance'), { instanceId: 'p-07' });
    });

    it('walks every row once, in instanceId order, with the right totalCount on every page', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: { data?: RegistrationsQuery | null } = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), {
          filter: { agentId: agent },
          first: 5,
          after,
        });
        const connection = page.data!.registrations;
        expect(connection.totalCount).toBe(23);
        seen.push(...connection.nodes.map((n) => n.instanceId));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor ?? null;
      }
      expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `p-${String(i).padStart(2, '0')}`));
    });

    it('a cursor stays valid when rows before it change', async () => {
      const first = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), { filter: { agentId: agent }, first: 10 });
      await register({ agentId: agent, instanceId: 'p-00a' });
      const second = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), {
        filter: { agentId: agent },
        first: 3,
        after: first.data!.registrations.pageInfo.endCursor,
      });
      expect(second.data!.registrations.nodes.map((n) => n.instanceId)).toEqual(['p-10', 'p-11', 'p-12']);
      await h.run(t.agent, op('DeregisterAgentInstance'), { instanceId: 'p-00a' });
    });

    it('filters by health, status and instance id; activeInstances lists only active ones', async () => {
      const unhealthy = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), { filter: { agentId: agent, healthStatus: 'unhealthy' } });
      expect(unhealthy.data!.registrations.nodes.map((n) => n.instanceId)).toEqual(['p-05']);
      const gone = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), {
        filter: { agentId: agent, registrationStatus: 'deregistered' },
      });
      expect(gone.data!.registrations.nodes.map((n) => n.instanceId)).toEqual(expect.arrayContaining(['p-07']));
      const one = await h.run<RegistrationsQuery>(t.viewer, op('Registrations'), { filter: { instanceId: 'p-03' } });
      expect(one.data!.registrations.totalCount).toBe(1);
      const active = await h.run(t.viewer, op('ActiveInstances'), { agentId: agent, first: 50 });
      expect(active.data?.activeInstances.totalCount).toBe(22);
      expect(active.data?.activeInstances.nodes.map((n: { instanceId: string }) => n.instanceId)).not.toContain('p-07');
    });

    it('a page reads only what the operation selects: fragments, no totalCount, an empty last page with its total', async () => {
      const fields = await h.run(
        t.viewer,
        `query ($agentId: String!) {
          activeInstances(agentId: $agentId, first: 2) { ...Page }
        }
        fragment Page on RegistrationConnection { pageInfo { hasNextPage endCursor } nodes { ... on Registration { healthStatus } agentId } }`,
        { agentId: agent },
      );
      expect(fields.errors).toBeUndefined();
      const connection = fields.data!.activeInstances as { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      expect(connection.nodes).toEqual([
        { healthStatus: 'healthy', agentId: agent },
        { healthStatus: 'healthy', agentId: agent },
      ]);
      expect(connection.pageInfo.hasNextPage).toBe(true);
      const all = await h.run(t.viewer, op('ActiveInstances'), { agentId: agent, first: 50 });
      const last = all.data!.activeInstances.pageInfo.endCursor;
      const beyond = await h.run(t.viewer, op('ActiveInstances'), { agentId: agent, first: 5, after: last });
      expect(beyond.data?.activeInstances).toMatchObject({ totalCount: 22, nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
    });

    it('agentSummaries counts active instances by health and says when the agent was last seen', async () => {
      const result = await h.run(t.viewer, op('AgentSummaries'), { first: 50 });
      const summary = result.data?.agentSummaries.nodes.find((s: { agentId: string }) => s.agentId === agent);
      expect(summary).toMatchObject({ activeCount: 22, staleCount: 0, byHealth: { healthy: 21, unhealthy: 1, degraded: 0 } });
      expect(summary.lastSeenAt).not.toBeNull();
    });

    it('page size is bounded: first above MAX_PAGE_SIZE or below 1 is BAD_USER_INPUT naming first', async () => {
      const tooMany = await h.run(t.viewer, op('Registrations'), { first: 51 });
      expect([codeOf(tooMany), tooMany.errors?.[0].extensions?.field, tooMany.errors?.[0].extensions?.limit]).toEqual([
        'BAD_USER_INPUT',
        'first',
        'pageSize',
      ]);
      const zero = await h.run(t.viewer, op('Registrations'), { first: 0 });
      expect([codeOf(zero), zero.errors?.[0].extensions?.field]).toEqual(['BAD_USER_INPUT', 'first']);
      expect(codeOf(await h.run(t.viewer, op('Registrations'), { first: 50 }))).toBeUndefined();
      const forged = await h.run(t.viewer, op('Registrations'), { after: 'not-a-cursor!' });
      expect([codeOf(forged), forged.errors?.[0].extensions?.field]).toEqual(['BAD_USER_INPUT', 'after']);
    });

    it('event history pages by event id, newest first, with totalCount', async () => {
      const ids: string[] = [];
      let after: string | null = null;
      let total = -1;
      for (let pages = 0; pages < 20; pages++) {
        const page: { data?: Record<string, any> | null } = await h.run(t.viewer, op('Events'), { filter: { agentId: agent }, first: 7, after });
        total = page.data!.events.totalCount;
        ids.push(...page.data!.events.nodes.map((e: { id: string }) => e.id));
        if (!page.data!.events.pageInfo.hasNextPage) break;
        after = page.data!.events.pageInfo.endCursor;
      }
      expect(total).toBeGreaterThan(7); // more than one page was walked
      expect(ids).toHaveLength(total);
      expect([...ids].sort((a, b) => Number(b) - Number(a))).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });
});
