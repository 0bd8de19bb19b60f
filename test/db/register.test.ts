import { registerAgentInstance } from '../../src/db/registry-sql';
import { ErrorCode } from '../../src/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import {
  appErrorOf,
  eventsOf,
  registrationOf,
  sqlStateOfFailure,
  tableCounts,
  testClock,
} from './support';

describe('mcp.register_agent_instance', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  it('creates manifest, configuration and registration for a new instance and reports is_new', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId('ide');

    const rows = await t.db.query<Record<string, unknown>>(
      `select * from mcp.register_agent_instance($1, $2, $3, $4, $5::jsonb, $6::jsonb, null, $7)`,
      [tenantId, agent, 'i-1', 'Laptop', '{"connection_id":"c1"}', '{"region":"eu"}', at(0)],
    );

    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]).sort()).toEqual(['config_id', 'is_new', 'manifest_id', 'message', 'registration_id']);
    expect(rows[0].is_new).toBe(true);
    const [manifest] = await t.db.query<{ id: string; agent_type: string }>(
      `select id, agent_type from mcp.agent_manifests where agent_id = $1`,
      [agent],
    );
    expect(manifest.id).toBe(rows[0].manifest_id);
    const [config] = await t.db.query<{ id: string; enabled: boolean; version: number }>(
      `select id, enabled, version from mcp.agent_configurations where tenant_id = $1 and manifest_id = $2`,
      [tenantId, manifest.id],
    );
    expect(config).toMatchObject({ id: rows[0].config_id, enabled: true, version: 1 });
    const reg = await registrationOf(t.db, tenantId, 'i-1');
    expect(reg).toMatchObject({
      id: rows[0].registration_id,
      manifest_id: manifest.id,
      configuration_id: config.id,
      name: 'Laptop',
      registration_status: 'active',
      health_status: 'healthy',
      last_health_check: at(0),
      registered_at: at(0),
      connection_details: { connection_id: 'c1' },
      runtime_config: { region: 'eu' },
      reconnect_count: 0,
      current_workload: 0,
      deregistered_at: null,
    });
  });

  it('callable with only the three required arguments, exactly as in the seed document', async () => {
    const tenantId = await createTenant(t.db);
    const [row] = await t.db.query<{ is_new: boolean }>(
      `select * from mcp.register_agent_instance($1, $2, $3)`,
      [tenantId, agentId(), 'i-seed'],
    );
    expect(row.is_new).toBe(true);
  });

  it('treats the same instance again as a reconnection', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    const first = await registerAgentInstance(t.db, {
      tenantId,
      agentId: agent,
      instanceId: 'i-1',
      name: 'first',
      connectionDetails: { connection_id: 'c1', ip: '10.0.0.1' },
      now: at(0),
    });
    // the instance degraded, then lost its socket
    await t.db.query(
      `update mcp.agent_registrations set health_status = 'disconnected', current_workload = 3 where id = $1`,
      [first.registrationId],
    );

    const second = await registerAgentInstance(t.db, {
      tenantId,
      agentId: agent,
      instanceId: 'i-1',
      connectionDetails: { connection_id: 'c2' },
      now: at(30),
    });

    expect(second).toMatchObject({
      registrationId: first.registrationId,
      manifestId: first.manifestId,
      configId: first.configId,
      isNew: false,
    });
    const reg = await registrationOf(t.db, tenantId, 'i-1');
    expect(reg).toMatchObject({
      name: 'first',
      registration_status: 'active',
      health_status: 'healthy',
      reconnect_count: 1,
      current_workload: 0,
      last_health_check: at(30),
      registered_at: at(0),
      connection_details: { connection_id: 'c2' },
    });
    const events = await eventsOf(t.db, tenantId);
    expect(events.map((e) => [e.kind, e.instance_id, e.registration_status, e.health_status])).toEqual([
      ['configuration_changed', null, null, null],
      ['registered', 'i-1', 'active', 'healthy'],
      ['reconnected', 'i-1', 'active', 'healthy'],
    ]);
    expect(events[2]).toMatchObject({ registration_id: first.registrationId, agent_id: agent, occurred_at: at(30) });
    expect(events[2].payload).toMatchObject({ reconnect_count: 1 });
  });

  it('reconnects a deregistered instance under the same row', async () => {
    const at = testClock();
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    const first = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1', now: at(0) });
    await t.db.query(`select * from mcp.deregister_agent_instance($1, 'i-1', $2)`, [tenantId, at(10)]);

    const again = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1', now: at(20) });

    expect(again).toMatchObject({ registrationId: first.registrationId, isNew: false });
    expect(await registrationOf(t.db, tenantId, 'i-1')).toMatchObject({
      registration_status: 'active',
      health_status: 'healthy',
      deregistered_at: null,
      reconnect_count: 1,
    });
  });

  it('keeps several instances of one agent apart, sharing manifest and configuration', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId();

    const results = [];
    for (const instanceId of ['a', 'b', 'c']) {
      results.push(await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId }));
    }

    expect(results.map((r) => r.isNew)).toEqual([true, true, true]);
    expect(new Set(results.map((r) => r.registrationId)).size).toBe(3);
    expect(new Set(results.map((r) => r.manifestId)).size).toBe(1);
    expect(new Set(results.map((r) => r.configId)).size).toBe(1);
    const [{ count }] = await t.db.query<{ count: number }>(
      `select count(*)::integer as count from mcp.agent_registrations where tenant_id = $1`,
      [tenantId],
    );
    expect(count).toBe(3);
  });

  it('gives the same instance_id in two tenants two independent rows', async () => {
    const at = testClock();
    const tenantA = await createTenant(t.db);
    const tenantB = await createTenant(t.db);
    const agent = agentId();

    const a = await registerAgentInstance(t.db, {
      tenantId: tenantA,
      agentId: agent,
      instanceId: 'shared',
      connectionDetails: { who: 'a' },
      now: at(0),
    });
    const b = await registerAgentInstance(t.db, {
      tenantId: tenantB,
      agentId: agent,
      instanceId: 'shared',
      connectionDetails: { who: 'b' },
      now: at(5),
    });
    const aAgain = await registerAgentInstance(t.db, {
      tenantId: tenantA,
      agentId: agent,
      instanceId: 'shared',
      connectionDetails: { who: 'a2' },
      now: at(10),
    });

    expect(a.isNew).toBe(true);
    expect(b.isNew).toBe(true);
    expect(aAgain).toMatchObject({ isNew: false, registrationId: a.registrationId });
    expect(b.registrationId).not.toBe(a.registrationId);
    expect(b.manifestId).toBe(a.manifestId);
    expect(b.configId).not.toBe(a.configId);
    expect(await registrationOf(t.db, tenantA, 'shared')).toMatchObject({
      reconnect_count: 1,
      connection_details: { who: 'a2' },
      last_health_check: at(10),
    });
    expect(await registrationOf(t.db, tenantB, 'shared')).toMatchObject({
      tenant_id: tenantB,
      configuration_id: b.configId,
      reconnect_count: 0,
      connection_details: { who: 'b' },
      last_health_check: at(5),
    });
    expect((await eventsOf(t.db, tenantB)).map((e) => e.kind)).toEqual(['configuration_changed', 'registered']);
  });

  it('register_agent_instance_row returns the stored registration in the same call', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId('row');

    const first = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-row', name: 'Row' });
    const again = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-row' });

    expect([first.isNew, again.isNew]).toEqual([true, false]);
    const [stored] = await t.db.query<Record<string, unknown>>(
      `select r.*, m.agent_id, m.agent_type from mcp.agent_registrations r
       join mcp.agent_manifests m on m.id = r.manifest_id where r.id = $1`,
      [again.registrationId],
    );
    expect(again.registration).toEqual(stored);
    expect(again.registration).toMatchObject({ agent_id: agent, name: 'Row', reconnect_count: 1, registration_status: 'active' });
  });

  describe('errors', () => {
    it('refuses an instance_id held by another agent type with RGCON / CONFLICT, writing nothing', async () => {
      const tenantId = await createTenant(t.db);
      await registerAgentInstance(t.db, { tenantId, agentId: agentId('first'), instanceId: 'i-1' });
      const before = await tableCounts(t.db);
      const other = agentId('other');

      const state = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.register_agent_instance($1, $2, 'i-1')`, [tenantId, other]),
      );
      const error = await appErrorOf(() =>
        registerAgentInstance(t.db, { tenantId, agentId: other, instanceId: 'i-1' }),
      );

      expect(state).toBe('RGCON');
      expect(error.extensions.code).toBe(ErrorCode.CONFLICT);
      expect(await tableCounts(t.db)).toEqual(before);
    });

    it('lets another agent type take over an instance_id once its instance deregistered, as a new registration', async () => {
      const tenantId = await createTenant(t.db);
      const first = await registerAgentInstance(t.db, { tenantId, agentId: agentId('first'), instanceId: 'i-1' });
      await t.db.query(`select * from mcp.deregister_agent_instance($1, 'i-1')`, [tenantId]);
      const other = agentId('other');

      const taken = await registerAgentInstance(t.db, { tenantId, agentId: other, instanceId: 'i-1' });

      expect(taken.isNew).toBe(true);
      expect(taken.registrationId).toBe(first.registrationId);
      expect(taken.manifestId).not.toBe(first.manifestId);
      const row = await registrationOf(t.db, tenantId, 'i-1');
      expect(row).toMatchObject({ manifest_id: taken.manifestId, configuration_id: taken.configId, registration_status: 'active', reconnect_count: 0 });
      const events = await eventsOf(t.db, tenantId);
      expect(events[events.length - 1]).toMatchObject({ kind: 'registered', agent_id: other, instance_id: 'i-1' });
    });

    it('refuses a disabled configuration with RGDIS / AGENT_DISABLED, writing nothing', async () => {
      const tenantId = await createTenant(t.db);
      const agent = agentId();
      const first = await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1' });
      await t.db.query(`update mcp.agent_configurations set enabled = false where id = $1`, [first.configId]);
      const before = await tableCounts(t.db);

      const state = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.register_agent_instance($1, $2, 'i-2')`, [tenantId, agent]),
      );
      const error = await appErrorOf(() => registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-2' }));

      expect(state).toBe('RGDIS');
      expect(error.extensions.code).toBe(ErrorCode.AGENT_DISABLED);
      expect(await tableCounts(t.db)).toEqual(before);
      expect(await registrationOf(t.db, tenantId, 'i-2')).toBeUndefined();
    });

    it('refuses an unknown tenant with RGTEN / NOT_FOUND, writing nothing', async () => {
      const before = await tableCounts(t.db);
      const unknown = '00000000-0000-4000-8000-000000000001';

      const state = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.register_agent_instance($1, $2, 'i-1')`, [unknown, agentId()]),
      );
      const error = await appErrorOf(() =>
        registerAgentInstance(t.db, { tenantId: unknown, agentId: agentId(), instanceId: 'i-1' }),
      );

      expect(state).toBe('RGTEN');
      expect(error.extensions.code).toBe(ErrorCode.NOT_FOUND);
      expect(await tableCounts(t.db)).toEqual(before);
    });

    it.each([['Upper-Case'], ['has space'], [''], ['x'.repeat(65)], ['émoji']])(
      'refuses the invalid agent_id %j with RGAID / BAD_USER_INPUT, writing nothing',
      async (bad) => {
        const tenantId = await createTenant(t.db);
        const before = await tableCounts(t.db);

        const state = await sqlStateOfFailure(() =>
          t.db.query(`select * from mcp.register_agent_instance($1, $2, 'i-1')`, [tenantId, bad]),
        );
        const error = await appErrorOf(() => registerAgentInstance(t.db, { tenantId, agentId: bad, instanceId: 'i-1' }));

        expect(state).toBe('RGAID');
        expect(error.extensions.code).toBe(ErrorCode.BAD_USER_INPUT);
        expect(await tableCounts(t.db)).toEqual(before);
      },
    );

    it('refuses an empty instance_id with RGINP / BAD_USER_INPUT', async () => {
      const tenantId = await createTenant(t.db);

      const state = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.register_agent_instance($1, $2, '')`, [tenantId, agentId()]),
      );

      expect(state).toBe('RGINP');
    });
  });
});
