import { markStaleInstances } from '../../src/db/registry-sql';
import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { eventually } from '../events/support';
import { agentsUrl, RawAgent } from '../agents/support';

/** The value of one sample of a Prometheus text exposition; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v) && Object.keys(found).length === Object.keys(labels).length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('GET /metrics and the registryMetrics query', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.dispose());

  const gql = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: Record<string, any>; errors?: Array<{ extensions: { code: string } }> };
  };
  const register = (key: string, agent: string, instanceId: string) =>
    gql(key, `mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`, {
      input: { agentId: agent, instanceId },
    });

  it('exposes the five seed metrics with the values of a scripted scenario, plus process and socket metrics', async () => {
    const { db } = t.database;
    const tenant = await createTenant(db);
    const agentKey = await createApiKey(db, tenant, 'agent');
    const [ide, slack] = [agentId('ide'), agentId('slack')];

    // 4 new registrations, 1 reconnection, 2 refused by the registry (an instance of another
    // agent type; a disabled configuration)
    for (const n of [1, 2, 3]) expect((await register(agentKey, ide, `ide-${n}`)).errors).toBeUndefined();
    expect((await register(agentKey, slack, 'slack-1')).errors).toBeUndefined();
    expect((await register(agentKey, ide, 'ide-1')).data?.registerAgentInstance.isNew).toBe(false);
    expect((await register(agentKey, slack, 'ide-2')).errors?.[0].extensions.code).toBe('CONFLICT');
    const disabled = agentId('disabled');
    expect((await register(agentKey, disabled, 'd-1')).errors).toBeUndefined();
    await db.query(`update mcp.agent_configurations set enabled = false where name = $1`, [disabled]);
    expect((await register(agentKey, disabled, 'd-2')).errors?.[0].extensions.code).toBe('AGENT_DISABLED');
    // 5 heartbeats
    for (let n = 0; n < 5; n++) {
      const res = await gql(agentKey, `mutation { heartbeat(instanceId: "ide-2") { outcome } }`);
      expect(res.errors).toBeUndefined();
    }
    // ide-3 goes stale; slack-1 deregisters
    await db.query(`update mcp.agent_registrations set last_health_check = now() - interval '1 hour' where instance_id = 'ide-3'`);
    // a sweep returns nothing while another one (the app's own) holds the sweep lock: retry
    await eventually(async () => {
      const swept = await markStaleInstances(db, { staleAfterMs: 60_000, maxShare: 1, minActive: 1_000_000, holdCeilingMs: 1000 });
      return swept.some((row) => row.tenantId === tenant && row.marked === 1);
    });
    expect((await gql(agentKey, `mutation { deregisterAgentInstance(instanceId: "slack-1") { wasActive } }`)).errors).toBeUndefined();

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'agent_registry_active_registrations', { agent_type: ide })).toBe(2);
    expect(sample(text, 'agent_registry_active_registrations', { agent_type: slack })).toBeUndefined();
    expect(sample(text, 'agent_registry_registrations_total', { result: 'success' })).toBe(6);
    expect(sample(text, 'agent_registry_registrations_total', { result: 'failure' })).toBe(2);
    expect(sample(text, 'agent_registry_reconnections_total')).toBe(1);
    expect(sample(text, 'agent_registry_stale_instances')).toBe(1);
    expect(sample(text, 'agent_registry_heartbeat_duration_seconds_count', { transport: 'graphql' })).toBe(5);
    expect(sample(text, 'agent_registry_heartbeat_duration_seconds_bucket', { transport: 'graphql', le: '+Inf' })).toBe(5);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'agent_registry_websocket_connections', { endpoint: 'graphql' })).toBe(0);
    expect(sample(text, 'agent_registry_websocket_connections', { endpoint: 'agents' })).toBe(0);
    expect(sample(text, 'agent_registry_subscriptions_active')).toBe(0);
    expect(sample(text, 'agent_registry_subscription_queued_events')).toBe(0);
  });

  it('counts every refused registration of an authenticated agent once, whatever refused it, on both transports', async () => {
    const { db } = t.database;
    const tenant = await createTenant(db);
    const agentKey = await createApiKey(db, tenant, 'agent');
    const failures = async () =>
      sample(await (await fetch(`${t.url}/metrics`)).text(), 'agent_registry_registrations_total', { result: 'failure' }) ?? 0;
    const codeOf = (res: { errors?: Array<{ extensions: { code: string } }> }) => res.errors?.[0].extensions.code;

    // GraphQL: argument validation (class-validator), the input limits, the registration itself
    expect(codeOf(await register(agentKey, 'Not An Agent Id!', 'x-1'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await register(agentKey, agentId('ok'), 'y'.repeat(20_000)))).toBe('BAD_USER_INPUT');
    const ide = agentId('ide');
    expect(codeOf(await register(agentKey, ide, 'shared'))).toBeUndefined();
    expect(codeOf(await register(agentKey, agentId('other'), 'shared'))).toBe('CONFLICT');
    expect(await failures()).toBe(3);
    // not an agent's attempt: no key, or a key without the role
    expect(codeOf(await register('ar_not-a-key', ide, 'x-2'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await register(await createApiKey(db, tenant, 'viewer'), ide, 'x-3'))).toBe('FORBIDDEN');
    expect(await failures()).toBe(3);

    // the agent WebSocket: a wrong-typed parameter and a refused registration count, a bad key does not
    const agent = await RawAgent.open(agentsUrl(t.url));
    try {
      const auth = { api_key: agentKey };
      expect((await agent.request('agent.register', { auth, agent_id: ide, instance_id: 42 })).type).toBe(3);
      expect((await agent.request('agent.register', { auth, agent_id: 'Bad Id', instance_id: 'w-1' })).type).toBe(3);
      expect((await agent.request('agent.register', { auth: { api_key: 'ar_wrong' }, agent_id: ide })).type).toBe(3);
      expect((await agent.request('agent.register', { auth, agent_id: ide, instance_id: 'w-2' })).type).toBe(1);
    } finally {
      await agent.close();
    }
    expect(await failures()).toBe(5);
  });

  it("registryMetrics gives the caller's tenant figures and nothing of another tenant", async () => {
    const { db } = t.database;
    const [tenant, other] = [await createTenant(db), await createTenant(db)];
    const agentKey = await createApiKey(db, tenant, 'agent');
    const agent = agentId('ide');
    for (const n of [1, 2]) await register(agentKey, agent, `i-${n}`);
    await register(agentKey, agent, 'i-1');
    await gql(agentKey, `mutation { heartbeat(instanceId: "i-1") { outcome } }`);
    await db.query(`update mcp.agent_registrations set registration_status = 'stale' where instance_id = 'i-2'`);

    const query = `{ registryMetrics { activeByAgentType { agentType count } active stale deregistered reconnections
      registrationsLastHour selfPreservationHeld heartbeatLatency { count meanSeconds } } }`;
    const mine = await gql(await createApiKey(db, tenant, 'viewer'), query);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.registryMetrics).toMatchObject({
      activeByAgentType: [{ agentType: agent, count: 1 }],
      active: 1,
      stale: 1,
      deregistered: 0,
      reconnections: 1,
      registrationsLastHour: 2,
      selfPreservationHeld: false,
      heartbeatLatency: { count: 1 },
    });
    const theirs = await gql(await createApiKey(db, other, 'viewer'), query);
    expect(theirs.data!.registryMetrics).toMatchObject({
      activeByAgentType: [],
      active: 0,
      stale: 0,
      reconnections: 0,
      registrationsLastHour: 0,
    });
    const agentsMayNot = await gql(agentKey, query);
    expect(agentsMayNot.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
