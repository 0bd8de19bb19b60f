import type { Principal } from '../../src/auth/api-keys';
import { op } from '../graphql/operations';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

/**
 * Tenant isolation: for every query, mutation and field that reads or writes tenant data,
 * a key of tenant B gets nothing of tenant A and changes nothing of it.
 */
describe('tenant isolation', () => {
  let h: Harness;
  let a: TenantKeys;
  let b: TenantKeys;
  let configId: string;
  let keyId: string;
  const agent = 'iso-agent';
  const instance = 'iso-1';

  /** Everything tenant A owns, as stored. */
  async function snapshotOfA() {
    const db = h.database.db;
    return {
      registrations: await db.query(`select * from mcp.agent_registrations where tenant_id = $1 order by id`, [a.id]),
      configurations: await db.query(`select * from mcp.agent_configurations where tenant_id = $1 order by id`, [a.id]),
      keys: await db.query(`select id, name, role, revoked_at from mcp.api_keys where tenant_id = $1 order by id`, [a.id]),
      events: await db.query(`select id from mcp.registration_events where tenant_id = $1 order by id`, [a.id]),
    };
  }

  beforeAll(async () => {
    h = await createHarness();
    a = await h.tenant('tenant-a');
    b = await h.tenant('tenant-b');
    const registered = await h.run(a.agent, op('RegisterAgentInstance'), { input: { agentId: agent, instanceId: instance } });
    expect(registered.errors).toBeUndefined();
    configId = registered.data!.registerAgentInstance.registration.configurationId;
    keyId = a.viewer.keyId!;
  });
  afterAll(() => h.dispose());

  const readers = (): Array<[string, Principal]> => [
    ['admin', b.admin],
    ['viewer', b.viewer],
  ];

  it.each(['admin', 'viewer'] as const)("a %s of another tenant reads none of this tenant's data", async (role) => {
    const p = b[role];
    const registrations = await h.run(p, op('Registrations'), { filter: { instanceId: instance } });
    expect(registrations.data?.registrations).toMatchObject({ totalCount: 0, nodes: [] });
    expect((await h.run(p, op('Registrations'))).data?.registrations.totalCount).toBe(0);
    expect((await h.run(p, op('Registration'), { instanceId: instance })).data?.registration).toBeNull();
    expect((await h.run(p, op('ActiveInstances'), { agentId: agent })).data?.activeInstances.totalCount).toBe(0);
    expect((await h.run(p, op('AgentSummaries'))).data?.agentSummaries.totalCount).toBe(0);
    expect((await h.run(p, op('Configurations'))).data?.configurations.totalCount).toBe(0);
    expect((await h.run(p, op('Configuration'), { id: configId })).data?.configuration).toBeNull();
    expect((await h.run(p, op('Events'))).data?.events.totalCount).toBe(0);
    expect((await h.run(p, op('Events'), { filter: { agentId: agent } })).data?.events.totalCount).toBe(0);
    expect((await h.run(p, op('Me'))).data?.me.tenant.id).toBe(b.id);
  });

  it('an admin of another tenant lists none of its keys', async () => {
    const keys = await h.run(b.admin, op('ApiKeys'), { first: 100, includeRevoked: true });
    expect(keys.data?.apiKeys.nodes.map((k: { id: string }) => k.id)).not.toContain(keyId);
    expect(keys.data?.apiKeys.nodes.every((k: { tenantId: string }) => k.tenantId === b.id)).toBe(true);
  });

  it.each([
    'Registrations',
    'Registration',
    'ActiveInstances',
    'AgentSummaries',
    'Configurations',
    'Configuration',
    'Events',
    'ApiKeys',
  ])('%s naming the other tenant with a tenant key is FORBIDDEN', async (name) => {
    const variables = { tenantId: a.id, instanceId: instance, agentId: agent, id: configId };
    for (const [, p] of readers()) expect(codeOf(await h.run(p, op(name), variables))).toBe('FORBIDDEN');
  });

  it("writes by another tenant's keys are NOT_FOUND / NOT_REGISTERED and change nothing", async () => {
    const before = await snapshotOfA();
    const attempts: Array<[string, Principal, string, Record<string, unknown>, string]> = [
      ['update configuration', b.admin, 'UpdateConfiguration', { input: { id: configId, expectedVersion: 1, name: 'hijacked' } }, 'NOT_FOUND'],
      ['delete configuration', b.admin, 'DeleteConfiguration', { id: configId }, 'NOT_FOUND'],
      ['force-deregister', b.admin, 'ForceDeregisterInstance', { instanceId: instance }, 'NOT_REGISTERED'],
      ['revoke key', b.admin, 'RevokeApiKey', { id: keyId }, 'NOT_FOUND'],
      ['heartbeat', b.agent, 'Heartbeat', { instanceId: instance, health: 'unhealthy', workload: 9 }, 'NOT_REGISTERED'],
      ['deregister', b.agent, 'DeregisterAgentInstance', { instanceId: instance }, 'NOT_REGISTERED'],
      ['update naming tenant', b.admin, 'UpdateConfiguration', { input: { id: configId, expectedVersion: 1, name: 'x', tenantId: a.id } }, 'FORBIDDEN'],
      ['create key naming tenant', b.admin, 'CreateApiKey', { input: { name: 'x', role: 'admin', tenantId: a.id } }, 'FORBIDDEN'],
      ['force-deregister naming tenant', b.admin, 'ForceDeregisterInstance', { instanceId: instance, tenantId: a.id }, 'FORBIDDEN'],
    ];
    for (const [what, p, name, variables, code] of attempts) {
      expect([what, codeOf(await h.run(p, op(name), variables))]).toEqual([what, code]);
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it('registering the same agent and instance id in another tenant makes a registration of its own', async () => {
    const before = await snapshotOfA();
    const theirs = await h.run(b.agent, op('RegisterAgentInstance'), { input: { agentId: agent, instanceId: instance } });
    expect(theirs.data?.registerAgentInstance).toMatchObject({ isNew: true, registration: { tenantId: b.id } });
    expect(theirs.data?.registerAgentInstance.registration.configurationId).not.toBe(configId);
    expect(await snapshotOfA()).toEqual(before);
    await h.run(b.agent, op('DeregisterAgentInstance'), { instanceId: instance });
    expect((await h.run(a.viewer, op('Registration'), { instanceId: instance })).data?.registration.registrationStatus).toBe('active');
  });

  it('an operator reads a tenant only by naming it', async () => {
    const named = await h.run(h.operator, op('Registrations'), { tenantId: a.id, filter: { instanceId: instance } });
    expect(named.data?.registrations.totalCount).toBe(1);
    expect(codeOf(await h.run(h.operator, op('Registrations')))).toBe('FORBIDDEN');
  });
});
