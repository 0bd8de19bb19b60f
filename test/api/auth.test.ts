import type { CreateApiKeyMutation, MeQuery } from '../generated/operations';
import { op } from '../graphql/operations';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

describe('authentication and roles', () => {
  let h: Harness;
  let t: TenantKeys;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant('acme');
  });
  afterAll(() => h.dispose());

  it('me names the key, its role and its tenant', async () => {
    const result = await h.run<MeQuery>(t.viewer, op('Me'));
    expect(result.errors).toBeUndefined();
    expect(result.data?.me).toEqual({ keyId: t.viewer.keyId, keyName: 'viewer key', role: 'viewer', tenant: { id: t.id, name: 'acme' } });
    const operator = await h.run<MeQuery>(h.operator, op('Me'));
    expect(operator.data?.me.tenant).toBeNull();
    expect(operator.data?.me.role).toBe('operator');
  });

  it('every field that needs a key answers UNAUTHENTICATED without one', async () => {
    for (const name of ['Me', 'Manifests', 'Tenants', 'Configurations', 'AgentSummaries', 'Events', 'ApiKeys']) {
      expect([name, codeOf(await h.run(null, op(name)))]).toEqual([name, 'UNAUTHENTICATED']);
    }
    const register = await h.run(null, op('RegisterAgentInstance'), { input: { agentId: 'a', instanceId: 'i' } });
    expect(codeOf(register)).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['viewer', 'CreateConfiguration', { input: { agentId: 'x' } }],
    ['viewer', 'RegisterAgentInstance', { input: { agentId: 'x', instanceId: 'i' } }],
    ['viewer', 'CreateApiKey', { input: { name: 'k', role: 'viewer' } }],
    ['agent', 'UpdateConfiguration', { input: { id: '00000000-0000-0000-0000-000000000000', expectedVersion: 1, name: 'x' } }],
    ['agent', 'CreateConfiguration', { input: { agentId: 'x' } }],
    ['agent', 'DeleteConfiguration', { id: '00000000-0000-0000-0000-000000000000' }],
    ['agent', 'Registrations', {}],
    ['agent', 'CreateApiKey', { input: { name: 'k', role: 'agent' } }],
    ['admin', 'CreateManifest', { input: { agentId: 'x', agentType: 'x', name: 'x' } }],
    ['admin', 'UpdateManifest', { input: { agentId: 'x', name: 'x' } }],
    ['admin', 'CreateTenant', { input: { name: 'x' } }],
    ['admin', 'Tenants', {}],
    ['admin', 'RegisterAgentInstance', { input: { agentId: 'x', instanceId: 'i' } }],
    ['operator', 'RegisterAgentInstance', { input: { agentId: 'x', instanceId: 'i' } }],
  ] as const)('a %s key cannot run %s: FORBIDDEN', async (role, name, variables) => {
    const principal = role === 'operator' ? h.operator : t[role];
    expect(codeOf(await h.run(principal, op(name), variables))).toBe('FORBIDDEN');
  });

  it('a tenant key naming another tenant is FORBIDDEN; an operator must name the tenant it reads', async () => {
    const other = await h.tenant();
    expect(codeOf(await h.run(t.admin, op('Configurations'), { tenantId: other.id }))).toBe('FORBIDDEN');
    expect(codeOf(await h.run(t.admin, op('Configurations'), { tenantId: t.id }))).toBeUndefined();
    expect(codeOf(await h.run(h.operator, op('Configurations')))).toBe('FORBIDDEN');
    expect(codeOf(await h.run(h.operator, op('Configurations'), { tenantId: t.id }))).toBeUndefined();
  });

  describe('API keys', () => {
    it('an admin creates keys of its own tenant, shown once, that authenticate with their role', async () => {
      const created = await h.run<CreateApiKeyMutation>(t.admin, op('CreateApiKey'), { input: { name: 'ci', role: 'agent' } });
      expect(created.errors).toBeUndefined();
      const { key, apiKey } = created.data!.createApiKey;
      expect(apiKey).toMatchObject({ tenantId: t.id, role: 'agent', name: 'ci', revokedAt: null });
      expect(key.startsWith(apiKey.prefix)).toBe(true);
      const principal = await h.app.services.auth.authenticate(key);
      expect(principal).toEqual({ keyId: apiKey.id, keyName: 'ci', role: 'agent', tenantId: t.id });
      const [stored] = await h.database.db.query<{ key_hash: string }>(`select key_hash from mcp.api_keys where id = $1`, [apiKey.id]);
      expect(stored.key_hash).not.toContain(key);
    });

    it('an admin cannot create operator keys nor keys of another tenant', async () => {
      const other = await h.tenant();
      expect(codeOf(await h.run(t.admin, op('CreateApiKey'), { input: { name: 'x', role: 'operator' } }))).toBe('FORBIDDEN');
      expect(codeOf(await h.run(t.admin, op('CreateApiKey'), { input: { name: 'x', role: 'admin', tenantId: other.id } }))).toBe(
        'FORBIDDEN',
      );
    });

    it('an operator creates keys for a tenant it names, and operator keys without one', async () => {
      const tenantKey = await h.run<CreateApiKeyMutation>(h.operator, op('CreateApiKey'), {
        input: { name: 'viewer', role: 'viewer', tenantId: t.id },
      });
      expect(tenantKey.data?.createApiKey.apiKey.tenantId).toBe(t.id);
      const operatorKey = await h.run<CreateApiKeyMutation>(h.operator, op('CreateApiKey'), { input: { name: 'ops', role: 'operator' } });
      expect(operatorKey.data?.createApiKey.apiKey.tenantId).toBeNull();
      expect(codeOf(await h.run(h.operator, op('CreateApiKey'), { input: { name: 'x', role: 'admin' } }))).toBe('FORBIDDEN');
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect(codeOf(await h.run(h.operator, op('CreateApiKey'), { input: { name: 'x', role: 'admin', tenantId: unknown } }))).toBe(
        'NOT_FOUND',
      );
    });

    it('a revoked key stops authenticating at once and is listed only with includeRevoked', async () => {
      const created = await h.run<CreateApiKeyMutation>(t.admin, op('CreateApiKey'), { input: { name: 'temp', role: 'viewer' } });
      const { key, apiKey } = created.data!.createApiKey;
      expect(await h.app.services.auth.authenticate(key)).not.toBeNull();
      const revoked = await h.run(t.admin, op('RevokeApiKey'), { id: apiKey.id });
      expect(revoked.errors).toBeUndefined();
      expect(revoked.data?.revokeApiKey.revokedAt).not.toBeNull();
      expect(await h.app.services.auth.authenticate(key)).toBeNull();
      const active = await h.run(t.admin, op('ApiKeys'), { first: 100 });
      expect(active.data?.apiKeys.nodes.map((k: { id: string }) => k.id)).not.toContain(apiKey.id);
      const all = await h.run(t.admin, op('ApiKeys'), { first: 100, includeRevoked: true });
      expect(all.data?.apiKeys.nodes.map((k: { id: string }) => k.id)).toContain(apiKey.id);
    });

    it("an admin cannot list or revoke another tenant's keys (NOT_FOUND, and the key keeps working)", async () => {
      const other = await h.tenant();
      const { key, apiKey } = await h.app.services.apiKeys.insert(other.id, 'theirs', 'viewer');
      expect(codeOf(await h.run(t.admin, op('RevokeApiKey'), { id: apiKey.id }))).toBe('NOT_FOUND');
      expect(await h.app.services.auth.authenticate(key)).not.toBeNull();
      const listed = await h.run(t.admin, op('ApiKeys'), { first: 100, includeRevoked: true });
      expect(listed.data?.apiKeys.nodes.every((k: { tenantId: string }) => k.tenantId === t.id)).toBe(true);
    });
  });
});

