import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, RawAgent, registration, snapshot, waitFor } from '../agents/support';

describe('agent WebSocket: registration, heartbeats, deregistration', () => {
  let t: TestApp;
  let tenantId: string;
  let key: string;
  const sockets: RawAgent[] = [];
  /** Waits until the server handled the close of `connectionId` and its disconnect write. */
  const serverClosed = async (connectionId: string) => {
    await waitFor(() => !t.app.agentSockets.has(connectionId));
    await t.app.agentSockets.settled();
  };
  const open = async (headers?: Record<string, string>) => {
    const s = await RawAgent.open(agentsUrl(t.url), headers);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { HEARTBEAT_INTERVAL_MS: '1000', STALE_AFTER_MS: '60000' } });
    tenantId = await createTenant(t.database.db);
    key = await createApiKey(t.database.db, tenantId, 'agent');
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(() => t.dispose());

  it("registers an instance from the seed's exact agent.register message", async () => {
    const agent = await open();
    agent.send(`{
    "type": 0,
    "id": "msg-123",
    "method": "agent.register",
    "params": {
        "agent_id": "ide-agent",
        "name": "VS Code Agent",
        "capabilities": ["code_completion", "debugging"],
        "auth": {
            "tenant_id": "${tenantId}",
            "api_key": "${key}"
        }
    }
}`);
    const reply = await agent.next((f) => f.id === 'msg-123');
    expect(reply).toMatchObject({
      type: 1,
      id: 'msg-123',
      method: 'agent.register',
      result: { is_new: true, heartbeat_interval_ms: 1000, configuration: { agent_id: 'ide-agent', enabled: true } },
    });
    const { instance_id, connection_id, registration_id } = reply.result;
    expect(instance_id).toBe(connection_id);
    const row = await registration(t.database.db, tenantId, instance_id);
    expect(row).toMatchObject({ registration_status: 'active', health_status: 'healthy' });
    expect(row!.connection_details).toMatchObject({ connection_id, transport: 'websocket' });
    const [reg] = await t.database.db.query<{ id: string; name: string; capabilities: string[] }>(
      `select id, name, capabilities from mcp.agent_registrations where id = $1`,
      [registration_id],
    );
    expect(reg).toEqual({ id: registration_id, name: 'VS Code Agent', capabilities: ['code_completion', 'debugging'] });

    // and through GraphQL, for an admin of the tenant
    const adminKey = await createApiKey(t.database.db, tenantId, 'admin');
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({
        query: 'query ($id: String!) { registration(instanceId: $id) { id agentId name registrationStatus healthStatus } }',
        variables: { id: instance_id },
      }),
    });
    expect(await res.json()).toEqual({
      data: {
        registration: { id: registration_id, agentId: 'ide-agent', name: 'VS Code Agent', registrationStatus: 'active', healthStatus: 'healthy' },
      },
    });
  });

  it('takes the key from the upgrade request when params carry no auth', async () => {
    const agent = await open({ Authorization: `Bearer ${key}` });
    const reply = await agent.request('agent.register', { agent_id: agentId() });
    expect(reply.type).toBe(1);
    expect(reply.result.is_new).toBe(true);
  });

  it('treats the same instance id on a new connection as a reconnection, and three pods as three instances', async () => {
    const agent = agentId('k8s');
    const first = await open();
    const a = await first.request('agent.register', { agent_id: agent, instance_id: 'pod-a', auth: { api_key: key } });
    expect(a.result.is_new).toBe(true);
    await first.close();
    await waitFor(async () => (await registration(t.database.db, tenantId, 'pod-a'))?.health_status === 'disconnected');

    const again = await open();
    const b = await again.request('agent.register', { agent_id: agent, instance_id: 'pod-a', auth: { api_key: key } });
    expect(b.result).toMatchObject({ is_new: false, instance_id: 'pod-a', registration_id: a.result.registration_id });
    expect(await registration(t.database.db, tenantId, 'pod-a')).toMatchObject({
      registration_status: 'active',
      health_status: 'healthy',
      reconnect_count: 1,
    });

    for (const pod of ['pod-b', 'pod-c']) {
      const s = await open();
      expect((await s.request('agent.register', { agent_id: agent, instance_id: pod, auth: { api_key: key } })).type).toBe(1);
    }
    const rows = await t.database.db.query<{ instance_id: string }>(
      `select r.instance_id from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
       where m.agent_id = $1 and r.registration_status = 'active' order by 1`,
      [agent],
    );
    expect(rows.map((r) => r.instance_id)).toEqual(['pod-a', 'pod-b', 'pod-c']);
  });

  it('a late close of the old socket does not disconnect an instance that reconnected elsewhere', async () => {
    const agent = agentId();
    const old = await open();
    const first = await old.request('agent.register', { agent_id: agent, instance_id: 'moved', auth: { api_key: key } });
    const fresh = await open();
    await fresh.request('agent.register', { agent_id: agent, instance_id: 'moved', auth: { api_key: key } });
    await old.close();
    await serverClosed(first.result.connection_id);
    expect(await registration(t.database.db, tenantId, 'moved')).toMatchObject({ health_status: 'healthy' });
  });

  it('stores heartbeats: last_health_check always, health and workload changes with an event, unchanged ones without', async () => {
    const agent = await open();
    const reg = await agent.request('agent.register', { agent_id: agentId(), auth: { api_key: key } });
    const instanceId = reg.result.instance_id as string;
    const before = await registration(t.database.db, tenantId, instanceId);
    const events = async () =>
      (
        await t.database.db.query<{ n: number }>(
          `select count(*)::integer as n from mcp.registration_events where tenant_id = $1 and instance_id = $2`,
          [tenantId, instanceId],
        )
      )[0].n;
    const eventsAfterRegister = await events();

    const ok = await agent.request('agent.heartbeat', {});
    expect(ok.result).toMatchObject({ outcome: 'ok', registration_id: reg.result.registration_id });
    const afterOk = await registration(t.database.db, tenantId, instanceId);
    expect(afterOk!.last_health_check.getTime()).toBeGreaterThanOrEqual(before!.last_health_check.getTime());
    expect(await events()).toBe(eventsAfterRegister);

    const changed = await agent.request('agent.heartbeat', { health: 'degraded', workload: 3 });
    expect(changed.result.outcome).toBe('changed');
    expect(await registration(t.database.db, tenantId, instanceId)).toMatchObject({ health_status: 'degraded', current_workload: 3 });
    expect(await events()).toBe(eventsAfterRegister + 1);

    const same = await agent.request('agent.heartbeat', { instance_id: instanceId, health: 'degraded', workload: 3 });
    expect(same.result.outcome).toBe('ok');
    expect(await events()).toBe(eventsAfterRegister + 1);
  });

  it('close without deregister marks the instance disconnected but keeps it active', async () => {
    const agent = await open();
    const reg = await agent.request('agent.register', { agent_id: agentId(), auth: { api_key: key } });
    agent.terminate();
    const row = await waitFor(async () => {
      const r = await registration(t.database.db, tenantId, reg.result.instance_id);
      return r?.health_status === 'disconnected' ? r : undefined;
    });
    expect(row!.registration_status).toBe('active');
  });

  it('deregister marks the instance deregistered; a heartbeat afterwards answers NOT_REGISTERED; registering again revives it', async () => {
    const agent = await open();
    const reg = await agent.request('agent.register', { agent_id: agentId(), auth: { api_key: key } });
    const bye = await agent.request('agent.deregister', { reason: 'shutdown' });
    expect(bye.result).toEqual({ registration_id: reg.result.registration_id, was_active: true });
    expect(await registration(t.database.db, tenantId, reg.result.instance_id)).toMatchObject({
      registration_status: 'deregistered',
    });

    const late = await agent.request('agent.heartbeat', {});
    expect(late).toMatchObject({ type: 3, error: { code: 4008, data: { code: 'NOT_REGISTERED' } } });

    const back = await agent.request('agent.register', { agent_id: reg.result.configuration.agent_id, auth: { api_key: key } });
    expect(back.result).toMatchObject({ instance_id: reg.result.instance_id, is_new: false });
    await agent.close();
    // a close after a deregister-then-register is a disconnect again
    await waitFor(async () => (await registration(t.database.db, tenantId, reg.result.instance_id))?.health_status === 'disconnected');
  });

  it('a close after deregister leaves the instance deregistered and writes nothing', async () => {
    const agent = await open();
    const reg = await agent.request('agent.register', { agent_id: agentId(), auth: { api_key: key } });
    await agent.request('agent.deregister', {});
    const before = await snapshot(t.database.db);
    await agent.close();
    await serverClosed(reg.result.connection_id);
    expect(await snapshot(t.database.db)).toEqual(before);
    expect(await registration(t.database.db, tenantId, reg.result.instance_id)).toMatchObject({
      registration_status: 'deregistered',
      health_status: 'disconnected',
    });
  });

  it('a revoked key stops working on an open connection: 4001, then the socket is closed with 4001', async () => {
    const own = await createApiKey(t.database.db, tenantId, 'agent', 'soon revoked');
    const agent = await open();
    expect((await agent.request('agent.register', { agent_id: agentId(), auth: { api_key: own } })).type).toBe(1);
    expect((await agent.request('agent.heartbeat', {})).type).toBe(1);
    const [row] = await t.database.db.query<{ id: string }>(
      `update mcp.api_keys set revoked_at = now() where name = 'soon revoked' and tenant_id = $1 returning id`,
      [tenantId],
    );
    t.app.services.auth.forget(row.id);
    // an open connection re-checks its key at most once a second
    const refused = await waitFor(async () => {
      const reply = await agent.request('agent.heartbeat', {});
      return reply.type === 3 ? reply : undefined;
    }, 10_000, 100);
    expect(refused.error).toMatchObject({ code: 4001, data: { code: 'UNAUTHENTICATED' } });
    expect((await agent.closed).code).toBe(4001);
  });

  it('answers protocol pings with pongs carrying the same id', async () => {
    const agent = await open();
    agent.send({ type: 4, id: 'p1' });
    expect(await agent.next((f) => f.type === 5)).toEqual({ type: 5, id: 'p1' });
  });
});
