import crypto from 'node:crypto';
import { mapErrors } from '../../src/db/errors';
import {
  deregisterAgentInstance,
  heartbeatInstances,
  registerAgentInstance,
} from '../../src/db/registry-sql';
import { AppError, ErrorCode } from '../../src/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { eventsOf, lastEventId, registrationOf, sqlStateOfFailure, tableCounts, testClock } from './support';

interface AgentRow {
  id: string;
  tenant_id: string;
  agent_id: string;
  name: string;
  type: string;
  model_id: string;
  capabilities: string[];
  configuration: Record<string, unknown>;
  system_prompt: string;
  temperature: number;
  max_tokens: number;
  max_workload: number;
  current_workload: number;
  status: string;
  instance_count: number;
  last_seen_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());

describe('mcp.agents compatibility view', () => {
  async function agentRow(id: string): Promise<AgentRow | undefined> {
    const [row] = await t.db.query<AgentRow>(`select * from mcp.agents where id = $1`, [id]);
    return row;
  }

  async function configuration(id: string) {
    const [row] = await t.db.query<{ id: string; enabled: boolean; version: number; name: string; updated_at: Date }>(
      `select * from mcp.agent_configurations where id = $1`,
      [id],
    );
    return row;
  }

  /** Inserts an agent through the view; returns what the insert returned. */
  async function insertAgent(tenantId: string, values: Record<string, unknown> = {}): Promise<AgentRow> {
    const row = { id: crypto.randomUUID(), tenant_id: tenantId, agent_id: agentId('view'), ...values };
    const columns = Object.keys(row);
    const [inserted] = await t.db.query<AgentRow>(
      `insert into mcp.agents (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) returning *`,
      Object.values(row).map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : v)),
    );
    return inserted;
  }

  describe('insert', () => {
    it('creates manifest and configuration under the given id, and no registration', async () => {
      const tenantId = await createTenant(t.db);
      const id = crypto.randomUUID();
      const agent = agentId('legacy');

      const row = await insertAgent(tenantId, {
        id,
        agent_id: agent,
        name: 'Legacy agent',
        type: 'chat',
        model_id: 'gpt-x',
        capabilities: ['code', 'chat'],
        configuration: { tone: 'dry' },
        system_prompt: 'be brief',
        temperature: 0.2,
        max_tokens: 1000,
        max_workload: 3,
      });

      expect(row).toMatchObject({
        id,
        tenant_id: tenantId,
        agent_id: agent,
        name: 'Legacy agent',
        type: 'chat',
        model_id: 'gpt-x',
        capabilities: ['code', 'chat'],
        configuration: { tone: 'dry' },
        system_prompt: 'be brief',
        temperature: 0.2,
        max_tokens: 1000,
        max_workload: 3,
        current_workload: 0,
        status: 'offline',
        instance_count: 0,
        last_seen_at: null,
      });
      expect(await agentRow(id)).toEqual(row);
      const [manifest] = await t.db.query(`select agent_type, capabilities from mcp.agent_manifests where agent_id = $1`, [agent]);
      expect(manifest).toEqual({ agent_type: 'chat', capabilities: ['code', 'chat'] });
      expect(await configuration(id)).toMatchObject({ enabled: true, version: 1 });
      const registrations = await t.db.query(`select 1 from mcp.agent_registrations where tenant_id = $1`, [tenantId]);
      expect(registrations).toEqual([]);
      expect((await eventsOf(t.db, tenantId)).map((e) => [e.kind, e.configuration_id, e.payload.operation])).toEqual([
        ['configuration_changed', id, 'insert'],
      ]);
    });

    it('creates a disabled configuration for status disabled', async () => {
      const tenantId = await createTenant(t.db);

      const row = await insertAgent(tenantId, { status: 'disabled' });

      expect(row.status).toBe('disabled');
      expect((await configuration(row.id)).enabled).toBe(false);
    });

    it('shares an existing manifest, refusing a different type or capabilities with RGDRV', async () => {
      const tenantA = await createTenant(t.db);
      const tenantB = await createTenant(t.db);
      const agent = agentId();
      await insertAgent(tenantA, { agent_id: agent, type: 'chat', capabilities: ['x'] });
      const before = await tableCounts(t.db);

      const conflicting = await sqlStateOfFailure(() => insertAgent(tenantB, { agent_id: agent, type: 'other' }));
      const same = await insertAgent(tenantB, { agent_id: agent, type: 'chat' });

      expect(conflicting).toBe('RGDRV');
      expect(same).toMatchObject({ type: 'chat', capabilities: ['x'] });
      expect((await tableCounts(t.db)).configurations).toBe(before.configurations + 1);
    });

    it.each([
      ['instance_count', 2],
      ['current_workload', 1],
      ['last_seen_at', new Date()],
    ])('refuses a value for the derived column %s with RGDRV, writing nothing', async (column, value) => {
      const tenantId = await createTenant(t.db);
      const before = await tableCounts(t.db);

      const state = await sqlStateOfFailure(() => insertAgent(tenantId, { [column]: value }));

      expect(state).toBe('RGDRV');
      expect(await tableCounts(t.db)).toEqual(before);
    });

    it('refuses an invalid agent_id with RGAID', async () => {
      const tenantId = await createTenant(t.db);

      expect(await sqlStateOfFailure(() => insertAgent(tenantId, { agent_id: 'Not Valid' }))).toBe('RGAID');
    });
  });

  describe('status', () => {
    it('derives from the registrations: offline, active while one instance is active and healthy, disabled', async () => {
      const at = testClock();
      const tenantId = await createTenant(t.db);
      const agent = agentId();
      const row = await insertAgent(tenantId, { agent_id: agent });
      const statusNow = async () => (await agentRow(row.id))!;

      const empty = await statusNow();
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'a', now: at(0) });
      await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'b', now: at(0) });
      await heartbeatInstances(t.db, [{ tenantId, instanceId: 'a', health: 'unhealthy', workload: 2 }, { tenantId, instanceId: 'b', workload: 3 }], at(10));
      const twoActive = await statusNow();
      await heartbeatInstances(t.db, [{ tenantId, instanceId: 'b', health: 'degraded' }], at(20));
      const noneHealthy = await statusNow();
      await deregisterAgentInstance(t.db, tenantId, 'a', { now: at(30) });
      await deregisterAgentInstance(t.db, tenantId, 'b', { now: at(30) });
      const allGone = await statusNow();
      await t.db.query(`update mcp.agent_configurations set enabled = false where id = $1`, [row.id]);
      const disabled = await statusNow();

      expect(empty).toMatchObject({ status: 'offline', instance_count: 0, current_workload: 0, last_seen_at: null });
      expect(twoActive).toMatchObject({ status: 'active', instance_count: 2, current_workload: 5, last_seen_at: at(10) });
      expect(noneHealthy).toMatchObject({ status: 'offline', instance_count: 2, last_seen_at: at(20) });
      expect(allGone).toMatchObject({ status: 'offline', instance_count: 0, current_workload: 0 });
      expect(disabled.status).toBe('disabled');
    });
  });

  describe('update', () => {
    it('writes configuration fields, bumping the version once per real change', async () => {
      const tenantId = await createTenant(t.db);
      const row = await insertAgent(tenantId);
      const cursor = await lastEventId(t.db);

      const [updated] = await t.db.query<AgentRow>(
        `update mcp.agents set name = 'Renamed', model_id = 'm2', temperature = 1.5, max_tokens = 10,
           system_prompt = 'hi', max_workload = 7, configuration = '{"k": 1}'
         where id = $1 returning *`,
        [row.id],
      );
      const afterChange = await configuration(row.id);
      await t.db.query(`update mcp.agents set name = 'Renamed' where id = $1`, [row.id]);
      const afterNoop = await configuration(row.id);

      expect(updated).toMatchObject({
        id: row.id,
        name: 'Renamed',
        model_id: 'm2',
        temperature: 1.5,
        max_tokens: 10,
        system_prompt: 'hi',
        max_workload: 7,
        configuration: { k: 1 },
        status: 'offline',
      });
      expect(await agentRow(row.id)).toMatchObject({ name: 'Renamed', configuration: { k: 1 } });
      expect(afterChange.version).toBe(2);
      expect(afterNoop.version).toBe(2);
      const events = await eventsOf(t.db, tenantId, cursor);
      expect(events.map((e) => [e.kind, e.payload.operation, e.payload.version])).toEqual([
        ['configuration_changed', 'update', 2],
      ]);
    });

    it('disables through status and enables again, refusing registrations meanwhile', async () => {
      const tenantId = await createTenant(t.db);
      const row = await insertAgent(tenantId);

      const [disabled] = await t.db.query<AgentRow>(
        `update mcp.agents set status = 'disabled' where id = $1 returning status`,
        [row.id],
      );
      const whileDisabled = await configuration(row.id);
      const refused = await sqlStateOfFailure(() =>
        t.db.query(`select * from mcp.register_agent_instance($1, $2, 'i-1')`, [tenantId, row.agent_id]),
      );
      const [enabled] = await t.db.query<AgentRow>(
        `update mcp.agents set status = 'offline' where id = $1 returning status`,
        [row.id],
      );
      const registered = await registerAgentInstance(t.db, { tenantId, agentId: row.agent_id, instanceId: 'i-1' });

      expect(disabled.status).toBe('disabled');
      expect(whileDisabled).toMatchObject({ enabled: false, version: 2 });
      expect(refused).toBe('RGDIS');
      expect(enabled.status).toBe('offline');
      expect(await configuration(row.id)).toMatchObject({ enabled: true, version: 3 });
      expect(registered.configId).toBe(row.id);
      expect((await agentRow(row.id))?.status).toBe('active');
    });

    it.each([
      ['agent_id', `'other-agent'`],
      ['type', `'other'`],
      ['capabilities', `array['x']`],
      ['instance_count', '5'],
      ['current_workload', '5'],
      ['last_seen_at', 'now()'],
      ['tenant_id', 'gen_random_uuid()'],
      ['id', 'gen_random_uuid()'],
      ['created_at', `now() - interval '1 day'`],
    ])('refuses a change of the derived column %s with RGDRV / BAD_USER_INPUT', async (column, value) => {
      const tenantId = await createTenant(t.db);
      const row = await insertAgent(tenantId);

      const state = await sqlStateOfFailure(() =>
        t.db.query(`update mcp.agents set ${column} = ${value} where id = $1`, [row.id]),
      );
      const error = await mapErrors(() => t.db.query(`update mcp.agents set ${column} = ${value} where id = $1`, [row.id])).catch(
        (e: unknown) => e,
      );

      expect(state).toBe('RGDRV');
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).extensions.code).toBe(ErrorCode.BAD_USER_INPUT);
      expect(await agentRow(row.id)).toEqual(row);
      expect((await configuration(row.id)).version).toBe(1);
    });

    it('refuses to set the derived status active or offline on an enabled agent', async () => {
      const tenantId = await createTenant(t.db);
      const row = await insertAgent(tenantId);

      const state = await sqlStateOfFailure(() =>
        t.db.query(`update mcp.agents set status = 'active' where id = $1`, [row.id]),
      );
      const unknown = await sqlStateOfFailure(() =>
        t.db.query(`update mcp.agents set status = 'sleeping' where id = $1`, [row.id]),
      );

      expect(state).toBe('RGDRV');
      expect(unknown).toBe('RGINP');
      expect((await configuration(row.id)).version).toBe(1);
    });
  });

  describe('delete', () => {
    it('removes the configuration and deregisters its live instances, with events', async () => {
      const at = testClock();
      const tenantId = await createTenant(t.db);
      const row = await insertAgent(tenantId);
      for (const instanceId of ['a', 'b', 'c']) {
        await registerAgentInstance(t.db, { tenantId, agentId: row.agent_id, instanceId, now: at(0) });
      }
      await deregisterAgentInstance(t.db, tenantId, 'c', { now: at(5) });
      const cursor = await lastEventId(t.db);

      const deleted = await t.db.query(`delete from mcp.agents where id = $1 returning id`, [row.id]);

      expect(deleted).toEqual([{ id: row.id }]);
      expect(await agentRow(row.id)).toBeUndefined();
      expect(await configuration(row.id)).toBeUndefined();
      for (const instanceId of ['a', 'b', 'c']) {
        expect(await registrationOf(t.db, tenantId, instanceId)).toMatchObject({
          registration_status: 'deregistered',
          health_status: 'disconnected',
          configuration_id: null,
        });
      }
      expect((await registrationOf(t.db, tenantId, 'c'))?.deregistered_at).toEqual(at(5));
      const events = await eventsOf(t.db, tenantId, cursor);
      expect(
        events.map((e) => [e.kind, e.instance_id, e.configuration_id, e.payload.reason ?? e.payload.operation]).sort(),
      ).toEqual([
        ['configuration_changed', null, row.id, 'delete'],
        ['deregistered', 'a', row.id, 'configuration deleted'],
        ['deregistered', 'b', row.id, 'configuration deleted'],
      ]);
      const [manifest] = await t.db.query(`select 1 as present from mcp.agent_manifests where agent_id = $1`, [row.agent_id]);
      expect(manifest).toEqual({ present: 1 });
    });

    it("shows and touches only the row of its own tenant's configuration", async () => {
      const tenantA = await createTenant(t.db);
      const tenantB = await createTenant(t.db);
      const agent = agentId();
      const a = await insertAgent(tenantA, { agent_id: agent });
      const b = await insertAgent(tenantB, { agent_id: agent });

      await t.db.query(`delete from mcp.agents where id = $1`, [a.id]);

      expect(await agentRow(b.id)).toEqual(b);
      const rows = await t.db.query(`select tenant_id from mcp.agents where agent_id = $1`, [agent]);
      expect(rows).toEqual([{ tenant_id: tenantB }]);
    });
  });
});

describe('configuration versions and events', () => {
  it('bumps the version and writes an event only on a real change', async () => {
    const tenantId = await createTenant(t.db);
    const { configId } = await registerAgentInstance(t.db, { tenantId, agentId: agentId(), instanceId: 'i-1' });
    const cursor = await lastEventId(t.db);

    await t.db.query(`update mcp.agent_configurations set max_tokens = max_tokens where id = $1`, [configId]);
    const [unchanged] = await t.db.query<{ version: number }>(`select version from mcp.agent_configurations where id = $1`, [configId]);
    await t.db.query(`update mcp.agent_configurations set settings = '{"a": [1]}', version = 99 where id = $1`, [configId]);
    const [changed] = await t.db.query<{ version: number }>(`select version from mcp.agent_configurations where id = $1`, [configId]);

    expect(unchanged.version).toBe(1);
    expect(changed.version).toBe(2);
    const events = await eventsOf(t.db, tenantId, cursor);
    expect(events.map((e) => [e.kind, e.configuration_id, e.payload])).toEqual([
      ['configuration_changed', configId, { operation: 'update', version: 2, enabled: true }],
    ]);
  });
});

describe('deleting a tenant', () => {
  it('removes its configurations, registrations and events, leaving other tenants alone', async () => {
    const doomed = await createTenant(t.db);
    const other = await createTenant(t.db);
    const agent = agentId();
    await registerAgentInstance(t.db, { tenantId: doomed, agentId: agent, instanceId: 'live' });
    await registerAgentInstance(t.db, { tenantId: doomed, agentId: agent, instanceId: 'gone' });
    await deregisterAgentInstance(t.db, doomed, 'gone');
    await t.db.query(`insert into mcp.agents (tenant_id, agent_id) values ($1, $2)`, [doomed, agentId()]);
    await registerAgentInstance(t.db, { tenantId: other, agentId: agent, instanceId: 'live' });
    const otherEvents = await eventsOf(t.db, other);

    await t.db.query(`delete from mcp.tenants where id = $1`, [doomed]);

    const [left] = await t.db.query<Record<string, number>>(
      `select (select count(*) from mcp.agent_configurations where tenant_id = $1)::integer as configurations,
              (select count(*) from mcp.agent_registrations where tenant_id = $1)::integer as registrations,
              (select count(*) from mcp.registration_events where tenant_id = $1)::integer as events`,
      [doomed],
    );
    expect(left).toEqual({ configurations: 0, registrations: 0, events: 0 });
    expect((await registrationOf(t.db, other, 'live'))?.registration_status).toBe('active');
    expect(await eventsOf(t.db, other)).toEqual(otherEvents);
  });
});
