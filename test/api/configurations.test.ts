import type { ConfigurationFieldsFragment, CreateConfigurationMutation, UpdateConfigurationMutation } from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

describe('configurations', () => {
  let h: Harness;
  let t: TenantKeys;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.dispose());

  async function manifest(): Promise<string> {
    const id = agentId('cfg');
    const created = await h.run(h.operator, op('CreateManifest'), { input: { agentId: id, agentType: 'ide', name: 'IDE agent' } });
    expect(created.errors).toBeUndefined();
    return id;
  }

  async function configuration(fields: Record<string, unknown> = {}): Promise<ConfigurationFieldsFragment> {
    const result = await h.run<CreateConfigurationMutation>(t.admin, op('CreateConfiguration'), {
      input: { agentId: await manifest(), ...fields },
    });
    expect(result.errors).toBeUndefined();
    return result.data!.createConfiguration;
  }

  it('an admin creates a configuration of an existing manifest, with defaults for what it leaves out', async () => {
    const c = await configuration({ modelId: 'gpt-x', settings: { region: 'eu' } });
    expect(c).toMatchObject({ tenantId: t.id, name: 'IDE agent', modelId: 'gpt-x', temperature: 0.7, maxTokens: 4096, enabled: true, version: 1 });
    expect(c.settings).toEqual({ region: 'eu' });
  });

  it('a configuration created with a name of its own keeps it (the manifest name is only the default)', async () => {
    const c = await configuration({ name: 'Our IDE agent' });
    expect(c.name).toBe('Our IDE agent');
  });

  it('creating one for an unknown manifest is NOT_FOUND; a second one for the same agent is CONFLICT', async () => {
    expect(codeOf(await h.run(t.admin, op('CreateConfiguration'), { input: { agentId: 'no-such-agent' } }))).toBe('NOT_FOUND');
    const c = await configuration();
    expect(codeOf(await h.run(t.admin, op('CreateConfiguration'), { input: { agentId: c.agentId } }))).toBe('CONFLICT');
  });

  it('update writes only the given fields, bumps the version and appends a configuration_changed event', async () => {
    const c = await configuration({ systemPrompt: 'be brief' });
    const updated = await h.run<UpdateConfigurationMutation>(t.admin, op('UpdateConfiguration'), {
      input: { id: c.id, expectedVersion: 1, temperature: 1.5, enabled: false },
    });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateConfiguration).toMatchObject({ temperature: 1.5, enabled: false, systemPrompt: 'be brief', version: 2 });
    const events = await h.run(t.viewer, op('Events'), { filter: { agentId: c.agentId, kinds: ['configuration_changed'] } });
    expect(events.data?.events.nodes.map((e: { payload: { version: number } }) => e.payload.version)).toEqual([2, 1]);
  });

  it('update from a stale version is CONFLICT with the current version, and changes nothing', async () => {
    const c = await configuration();
    await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, name: 'first' } });
    const stale = await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, name: 'second' } });
    expect(codeOf(stale)).toBe('CONFLICT');
    expect(stale.errors?.[0].extensions?.currentVersion).toBe(2);
    const read = await h.run(t.viewer, op('Configuration'), { id: c.id });
    expect(read.data?.configuration).toMatchObject({ name: 'first', version: 2 });
  });

  it('two admins updating from the same version: one wins, the other gets CONFLICT, no update is lost', async () => {
    const c = await configuration();
    const other = await h.app.services.apiKeys.insert(t.id, 'second admin', 'admin');
    const admin2 = { keyId: other.apiKey.id, keyName: 'second admin', role: 'admin' as const, tenantId: t.id };
    const results = await Promise.all([
      h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, modelId: 'from-admin-1' } }),
      h.run(admin2, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, modelId: 'from-admin-2' } }),
    ]);
    const winners = results.filter((r) => !r.errors);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers.map(codeOf)).toEqual(['CONFLICT']);
    const winner = winners[0].data!.updateConfiguration.modelId;
    // the loser retries from the version it is told, and its change lands on top
    const retried = await h.run(results.indexOf(losers[0]) === 0 ? t.admin : admin2, op('UpdateConfiguration'), {
      input: { id: c.id, expectedVersion: losers[0].errors![0].extensions!.currentVersion, maxTokens: 99 },
    });
    expect(retried.data?.updateConfiguration).toMatchObject({ modelId: winner, maxTokens: 99, version: 3 });
  });

  it('invalid values are BAD_USER_INPUT naming the field', async () => {
    const c = await configuration();
    for (const [field, value] of [
      ['temperature', 2.5],
      ['maxTokens', 0],
      ['maxWorkload', -1],
      ['name', ''],
    ] as const) {
      const result = await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, [field]: value } });
      expect([field, codeOf(result), result.errors?.[0].extensions?.field]).toEqual([field, 'BAD_USER_INPUT', field]);
    }
    const nothing = await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1 } });
    expect(codeOf(nothing)).toBe('BAD_USER_INPUT');
    const badId = await h.run(t.admin, op('UpdateConfiguration'), { input: { id: 'nope', expectedVersion: 1, name: 'x' } });
    expect([codeOf(badId), badId.errors?.[0].extensions?.field]).toEqual(['BAD_USER_INPUT', 'id']);
  });

  it('delete with a stale expectedVersion is CONFLICT; delete deregisters the live instances', async () => {
    const c = await configuration();
    await h.run(t.agent, op('RegisterAgentInstance'), { input: { agentId: c.agentId, instanceId: `${c.agentId}-1` } });
    expect(codeOf(await h.run(t.admin, op('DeleteConfiguration'), { id: c.id, expectedVersion: 7 }))).toBe('CONFLICT');
    const deleted = await h.run(t.admin, op('DeleteConfiguration'), { id: c.id, expectedVersion: 1 });
    expect(deleted.data?.deleteConfiguration).toEqual({ id: c.id, agentId: c.agentId });
    const instance = await h.run(t.viewer, op('Registration'), { instanceId: `${c.agentId}-1` });
    expect(instance.data?.registration.registrationStatus).toBe('deregistered');
    expect(codeOf(await h.run(t.admin, op('DeleteConfiguration'), { id: c.id }))).toBe('NOT_FOUND');
  });

  it('a disabled configuration refuses registrations with AGENT_DISABLED', async () => {
    const c = await configuration({ enabled: false });
    const result = await h.run(t.agent, op('RegisterAgentInstance'), { input: { agentId: c.agentId, instanceId: 'x-1' } });
    expect(codeOf(result)).toBe('AGENT_DISABLED');
  });

  it('configuration changes wake the event feed after commit', async () => {
    const c = await configuration();
    const written = jest.spyOn(h.app.services.events, 'written');
    try {
      await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, name: 'woken' } });
      expect(written).toHaveBeenCalled();
    } finally {
      written.mockRestore();
    }
  });
});
