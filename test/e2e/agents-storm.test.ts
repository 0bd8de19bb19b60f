import { startTestApp, type TestApp } from '../helpers/app';
import { usingPostgres } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, RawAgent, waitFor } from '../agents/support';

// PGlite has one connection: fewer agents keep the run short there
const AGENTS = usingPostgres ? 500 : 100;

describe(`reconnect storm: ${AGENTS} agents at once`, () => {
  let t: TestApp;
  let tenantId: string;
  let key: string;
  let sockets: RawAgent[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { STALE_AFTER_MS: '600000', HEARTBEAT_INTERVAL_MS: '60000' } });
    tenantId = await createTenant(t.database.db);
    key = await createApiKey(t.database.db, tenantId, 'agent');
  });
  afterEach(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    sockets = [];
  });
  afterAll(() => t.dispose());

  const counts = async (agent: string) => {
    const [row] = await t.database.db.query<Record<string, number>>(
      `select (select count(*)::integer from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
               where m.agent_id = $1) as registrations,
              (select count(distinct r.instance_id)::integer from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
               where m.agent_id = $1 and r.registration_status = 'active' and r.health_status = 'healthy') as healthy,
              (select count(*)::integer from mcp.agent_manifests where agent_id = $1) as manifests,
              (select count(*)::integer from mcp.agent_configurations c join mcp.agent_manifests m on m.id = c.manifest_id
               where m.agent_id = $1) as configurations,
              (select count(*)::integer from mcp.registration_events where agent_id = $1 and kind = 'registered') as registered,
              (select count(*)::integer from mcp.registration_events where agent_id = $1 and kind = 'reconnected') as reconnected`,
      [agent],
    );
    return row;
  };

  it('all connect and register at once: every one registered, no errors, no duplicates; then all reconnect at once', async () => {
    const agent = agentId('storm');
    const instanceIds = Array.from({ length: AGENTS }, (_, i) => `storm-${i}`);
    const connectAndRegister = async (instanceId: string) => {
      const s = await RawAgent.open(agentsUrl(t.url));
      sockets.push(s);
      return s.request('agent.register', { agent_id: agent, instance_id: instanceId, auth: { api_key: key } });
    };

    const first = await Promise.all(instanceIds.map(connectAndRegister));
    expect(first.filter((f) => f.type !== 1)).toEqual([]);
    expect(first.filter((f) => f.result.is_new).length).toBe(AGENTS);
    expect(new Set(first.map((f) => f.result.registration_id)).size).toBe(AGENTS);
    expect(await counts(agent)).toEqual({
      registrations: AGENTS,
      healthy: AGENTS,
      manifests: 1,
      configurations: 1,
      registered: AGENTS,
      reconnected: 0,
    });

    // the network blips: every socket drops, every agent comes back under its id at once
    sockets.forEach((s) => s.terminate());
    sockets = [];
    const second = await Promise.all(instanceIds.map(connectAndRegister));
    expect(second.filter((f) => f.type !== 1)).toEqual([]);
    expect(second.filter((f) => f.result.is_new)).toEqual([]);
    expect(second.map((f) => f.result.registration_id).sort()).toEqual(first.map((f) => f.result.registration_id).sort());
    // the old sockets' disconnects never touch the new connections' registrations
    await waitFor(() => t.app.agentSockets.size === AGENTS);
    await t.app.agentSockets.settled();
    expect(await counts(agent)).toEqual({
      registrations: AGENTS,
      healthy: AGENTS,
      manifests: 1,
      configurations: 1,
      registered: AGENTS,
      reconnected: AGENTS,
    });
  });
});
