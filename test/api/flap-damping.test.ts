import type {
  ConfigurationFieldsFragment,
  CreateConfigurationMutation,
  RegisterAgentInstanceMutation,
  RegistrationQuery,
  UpdateConfigurationMutation,
} from '../generated/operations';
import { op } from '../graphql/operations';
import { agentId } from '../helpers/factories';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

/** healthChangeThreshold on configurations, reportedHealth(Streak) on registrations, through GraphQL. */
describe('flap damping through the API', () => {
  let h: Harness;
  let t: TenantKeys;
  let other: TenantKeys;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
    other = await h.tenant();
  });
  afterAll(() => h.dispose());

  async function configuration(fields: Record<string, unknown> = {}): Promise<ConfigurationFieldsFragment> {
    const id = agentId('flap');
    expect((await h.run(h.operator, op('CreateManifest'), { input: { agentId: id, agentType: 'ide', name: 'IDE' } })).errors).toBeUndefined();
    const created = await h.run<CreateConfigurationMutation>(t.admin, op('CreateConfiguration'), { input: { agentId: id, ...fields } });
    expect(created.errors).toBeUndefined();
    return created.data!.createConfiguration;
  }

  const registration = async (keys: TenantKeys, instanceId: string) =>
    (await h.run<RegistrationQuery>(keys.viewer, op('Registration'), { instanceId })).data?.registration;

  it('a configuration is created with the default threshold 1, or with the one given', async () => {
    expect((await configuration()).healthChangeThreshold).toBe(1);
    expect((await configuration({ healthChangeThreshold: 3 })).healthChangeThreshold).toBe(3);
  });

  it('a threshold outside 1..20 is BAD_USER_INPUT naming the field, and changes nothing', async () => {
    const c = await configuration({ healthChangeThreshold: 2 });
    for (const value of [0, 21, -1]) {
      const result = await h.run(t.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: c.version, healthChangeThreshold: value } });
      expect(codeOf(result)).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(result.errors?.[0].extensions)).toContain('healthChangeThreshold');
    }
    const created = await h.run(t.admin, op('CreateConfiguration'), { input: { agentId: agentId('flap'), healthChangeThreshold: 0 } });
    expect(codeOf(created)).toBe('BAD_USER_INPUT');
    const read = await h.run(t.viewer, op('Configuration'), { id: c.id });
    expect(read.data?.configuration).toMatchObject({ healthChangeThreshold: 2, version: c.version });
  });

  it('updating the threshold bumps the version; another tenant cannot change it', async () => {
    const c = await configuration();
    const foreign = await h.run(other.admin, op('UpdateConfiguration'), { input: { id: c.id, expectedVersion: 1, healthChangeThreshold: 5 } });
    expect(codeOf(foreign)).toBe('NOT_FOUND');

    const updated = await h.run<UpdateConfigurationMutation>(t.admin, op('UpdateConfiguration'), {
      input: { id: c.id, expectedVersion: 1, healthChangeThreshold: 5 },
    });

    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateConfiguration).toMatchObject({ healthChangeThreshold: 5, version: 2 });
  });

  it('heartbeats through GraphQL: with K = 3 the third unhealthy report applies; the raw report is visible all along', async () => {
    const c = await configuration({ healthChangeThreshold: 3 });
    const registered = await h.run<RegisterAgentInstanceMutation>(t.agent, op('RegisterAgentInstance'), {
      input: { agentId: c.agentId, instanceId: 'flappy' },
    });
    expect(registered.data?.registerAgentInstance.registration).toMatchObject({ reportedHealth: null, reportedHealthStreak: 0 });

    const outcomes: string[] = [];
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const beat = await h.run(t.agent, op('Heartbeat'), { instanceId: 'flappy', health: 'unhealthy' });
      outcomes.push(beat.data?.heartbeat.outcome);
      const r = await registration(t, 'flappy');
      seen.push([r?.healthStatus, r?.reportedHealth, r?.reportedHealthStreak]);
    }

    expect(outcomes).toEqual(['ok', 'ok', 'changed']);
    expect(seen).toEqual([
      ['healthy', 'unhealthy', 1],
      ['healthy', 'unhealthy', 2],
      ['unhealthy', 'unhealthy', 3],
    ]);
    const events = await h.run(t.viewer, op('Events'), { filter: { agentId: c.agentId, kinds: ['health_changed'] } });
    expect(events.data?.events.nodes.map((e: { healthStatus: string }) => e.healthStatus)).toEqual(['unhealthy']);
    // another tenant sees neither the registration nor its events
    expect(await registration(other, 'flappy')).toBeNull();
    const foreignEvents = await h.run(other.viewer, op('Events'), { filter: { agentId: c.agentId } });
    expect(foreignEvents.data?.events.nodes).toEqual([]);
  });
});
