import { startTestApp, type TestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, type Frame, RawAgent } from '../agents/support';

describe('config.updated push', () => {
  let t: TestApp;
  const sockets: RawAgent[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { EVENT_POLL_INTERVAL_MS: '50', STALE_AFTER_MS: '60000' } });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(() => t.dispose());

  const connect = async (key: string, agent: string) => {
    const s = await RawAgent.open(agentsUrl(t.url));
    sockets.push(s);
    const reg = await s.request('agent.register', { agent_id: agent, auth: { api_key: key } });
    expect(reg.type).toBe(1);
    return { socket: s, configurationId: reg.result.configuration.id as string };
  };
  /** An admin changes a configuration (as the GraphQL API would) and the feed is woken. */
  const changeModel = async (configurationId: string, modelId: string) => {
    await t.database.db.query(`update mcp.agent_configurations set model_id = $2 where id = $1`, [configurationId, modelId]);
    t.app.services.events.written();
  };
  const pushes = (s: RawAgent) => s.received.filter((f: Frame) => f.type === 2 && f.method === 'config.updated');

  it('reaches exactly the connected instances of the changed configuration, in its tenant', async () => {
    const tenantA = await createTenant(t.database.db);
    const tenantB = await createTenant(t.database.db);
    const keyA = await createApiKey(t.database.db, tenantA, 'agent');
    const keyB = await createApiKey(t.database.db, tenantB, 'agent');
    const x = agentId('x');
    const y = agentId('y');
    const a1 = await connect(keyA, x);
    const a2 = await connect(keyA, x);
    const b1 = await connect(keyA, y); // same tenant, another agent type
    const c1 = await connect(keyB, x); // same agent type, another tenant
    expect(a1.configurationId).toBe(a2.configurationId);
    expect(c1.configurationId).not.toBe(a1.configurationId);

    await changeModel(a1.configurationId, 'model-for-x');
    for (const a of [a1, a2]) {
      const push = await a.socket.next((f) => f.type === 2);
      expect(push).toEqual({
        type: 2,
        method: 'config.updated',
        params: {
          configuration: expect.objectContaining({ id: a1.configurationId, agent_id: x, model_id: 'model-for-x', version: 2 }),
        },
      });
    }

    // then changes for the other two; once those arrived, nothing else can be in flight
    await changeModel(b1.configurationId, 'model-for-y');
    await changeModel(c1.configurationId, 'model-for-b');
    await b1.socket.next((f) => f.type === 2);
    await c1.socket.next((f) => f.type === 2);
    expect(pushes(a1.socket).map((f) => f.params.configuration.model_id)).toEqual(['model-for-x']);
    expect(pushes(a2.socket).map((f) => f.params.configuration.model_id)).toEqual(['model-for-x']);
    expect(pushes(b1.socket).map((f) => f.params.configuration.model_id)).toEqual(['model-for-y']);
    expect(pushes(c1.socket).map((f) => f.params.configuration.model_id)).toEqual(['model-for-b']);
  });

  it('an admin updateConfiguration through GraphQL reaches the connected instance', async () => {
    const tenantId = await createTenant(t.database.db);
    const key = await createApiKey(t.database.db, tenantId, 'agent');
    const adminKey = await createApiKey(t.database.db, tenantId, 'admin');
    const a = await connect(key, agentId());
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({
        query: 'mutation ($input: UpdateConfigurationInput!) { updateConfiguration(input: $input) { version } }',
        variables: { input: { id: a.configurationId, expectedVersion: 1, systemPrompt: 'Be brief.', temperature: 0.2 } },
      }),
    });
    expect(await res.json()).toEqual({ data: { updateConfiguration: { version: 2 } } });
    const push = await a.socket.next((f) => f.type === 2);
    expect(push.params.configuration).toMatchObject({ id: a.configurationId, system_prompt: 'Be brief.', temperature: 0.2, version: 2 });
  });

  it('the client surfaces config.updated as a config event', async () => {
    const { AgentClient } = await import('../../src/client');
    const tenantId = await createTenant(t.database.db);
    const key = await createApiKey(t.database.db, tenantId, 'agent');
    const client = new AgentClient({ url: agentsUrl(t.url), apiKey: key, agentId: agentId() });
    try {
      const registered = await client.start();
      const seen = new Promise((resolve) => client.once('config', resolve));
      await changeModel(registered.configuration!.id, 'pushed');
      expect(await seen).toMatchObject({ id: registered.configuration!.id, model_id: 'pushed' });
    } finally {
      await client.close();
    }
  });

  postgresOnly('a second app process needs its own connections')(
    'a change made through another process reaches the sockets of this one',
    async () => {
      const other = await startTestApp({ database: t.database, env: { EVENT_POLL_INTERVAL_MS: '50' } });
      try {
        const tenantId = await createTenant(t.database.db);
        const key = await createApiKey(t.database.db, tenantId, 'agent');
        const a = await connect(key, agentId());
        await other.app.db.query(`update mcp.agent_configurations set model_id = 'elsewhere' where id = $1`, [a.configurationId]);
        other.app.services.events.written();
        const push = await a.socket.next((f) => f.type === 2);
        expect(push.params.configuration).toMatchObject({ id: a.configurationId, model_id: 'elsewhere' });
      } finally {
        await other.dispose();
      }
    },
  );
});
