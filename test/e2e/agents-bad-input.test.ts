import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, type Frame, RawAgent, snapshot, waitFor } from '../agents/support';

describe('agent WebSocket: bad input hurts nobody', () => {
  let t: TestApp;
  let tenantId: string;
  let otherTenantId: string;
  let key: string;
  const sockets: RawAgent[] = [];
  const open = async (headers?: Record<string, string>) => {
    const s = await RawAgent.open(agentsUrl(t.url), headers);
    sockets.push(s);
    return s;
  };
  let good: RawAgent;
  let before: Record<string, number>;

  beforeAll(async () => {
    t = await startTestApp({
      env: { WS_MAX_FRAME_BYTES: '1024', WS_RATE_LIMIT_PER_SEC: '5', WS_RATE_BURST: '10', STALE_AFTER_MS: '60000' },
    });
    tenantId = await createTenant(t.database.db);
    otherTenantId = await createTenant(t.database.db);
    key = await createApiKey(t.database.db, tenantId, 'agent');
  });

  // a well-behaved agent, registered before each case; the database as it was then
  beforeEach(async () => {
    good = await open();
    const reg = await good.request('agent.register', { agent_id: agentId('good'), auth: { api_key: key } });
    expect(reg.type).toBe(1);
    before = await snapshot(t.database.db);
  });

  // the bad connection changed nothing, and the good one is still served
  afterEach(async () => {
    try {
      expect(await snapshot(t.database.db)).toEqual(before);
      expect((await good.request('agent.heartbeat', {})).result.outcome).toBe('ok');
    } finally {
      await Promise.all(sockets.splice(0).map((s) => s.close()));
      await waitFor(() => t.app.agentSockets.size === 0);
      await t.app.agentSockets.settled();
    }
  });
  afterAll(() => t.dispose());

  const errorOf = (frame: Frame) => ({ code: frame.error?.code, data: frame.error?.data?.code, type: frame.type });

  it('invalid JSON → 4000, and the connection stays usable', async () => {
    const bad = await open();
    bad.send('{"type": 0, "id": "x", ');
    expect(errorOf(await bad.next((f) => f.type === 3))).toEqual({ type: 3, code: 4000, data: 'BAD_USER_INPUT' });
    bad.send({ type: 4, id: 'still-there' });
    expect(await bad.next((f) => f.type === 5)).toEqual({ type: 5, id: 'still-there' });
  });

  it.each([
    ['a JSON array', [1, 2]],
    ['a JSON string', 'hello'],
    ['an unknown type', { type: 9, id: 'u1' }],
    ['a response sent by the client', { type: 1, id: 'u2', result: {} }],
    ['a request without id', { type: 0, method: 'agent.heartbeat', params: {} }],
    ['a request without method', { type: 0, id: 'u3', params: {} }],
    ['an object id', { type: 0, id: { nested: true }, method: 'agent.heartbeat' }],
  ])('%s → 4000', async (_name, message) => {
    const bad = await open();
    bad.send(JSON.stringify(message));
    const reply = await bad.next((f) => f.type === 3);
    expect(errorOf(reply).code).toBe(4000);
  });

  it('a binary frame → 4000', async () => {
    const bad = await open();
    bad.ws.send(Buffer.from('{"type":4}'), { binary: true });
    expect(errorOf(await bad.next((f) => f.type === 3)).code).toBe(4000);
  });

  it('an unknown method → 4004 with the request id', async () => {
    const bad = await open();
    const reply = await bad.request('agent.explode', {});
    expect(reply).toMatchObject({ type: 3, method: 'agent.explode', error: { code: 4004, data: { code: 'NOT_FOUND' } } });
    expect(reply.id).toMatch(/^t-/);
  });

  it.each([
    ['params that are not an object', { type: 0, id: 'p1', method: 'agent.register', params: ['ide-agent'] }],
    ['a missing agent_id', { type: 0, id: 'p2', method: 'agent.register', params: { auth: { api_key: '<key>' } } }],
    ['an invalid agent_id', { type: 0, id: 'p3', method: 'agent.register', params: { agent_id: 'Not Valid!', auth: { api_key: '<key>' } } }],
    ['capabilities that are not a list', { type: 0, id: 'p4', method: 'agent.register', params: { agent_id: 'x', capabilities: 'all', auth: { api_key: '<key>' } } }],
    ['a numeric instance_id', { type: 0, id: 'p5', method: 'agent.register', params: { agent_id: 'x', instance_id: 7, auth: { api_key: '<key>' } } }],
    ['auth that is not an object', { type: 0, id: 'p6', method: 'agent.register', params: { agent_id: 'x', auth: 'key' } }],
    ['connection_details that are a list', { type: 0, id: 'p7', method: 'agent.register', params: { agent_id: 'x', connection_details: [], auth: { api_key: '<key>' } } }],
  ])('register with %s → 4005', async (_name, message) => {
    const bad = await open();
    bad.send(JSON.stringify(message).replace('<key>', key));
    const reply = await bad.next((f) => f.type === 3);
    expect(errorOf(reply)).toEqual({ type: 3, code: 4005, data: 'BAD_USER_INPUT' });
    expect(reply.id).toBe((message as { id: string }).id);
  });

  it.each([
    ['an unknown health', { health: 'fabulous' }],
    ['a string workload', { workload: 'lots' }],
    ['a negative workload', { workload: -1 }],
    ['another instance than the connection serves', { instance_id: 'someone-else' }],
  ])('heartbeat with %s → 4005', async (_name, params) => {
    const bad = await open();
    expect((await bad.request('agent.register', { agent_id: agentId(), instance_id: `hb-${Math.random()}`, auth: { api_key: key } })).type).toBe(1);
    before = await snapshot(t.database.db);
    expect(errorOf(await bad.request('agent.heartbeat', params))).toEqual({ type: 3, code: 4005, data: 'BAD_USER_INPUT' });
    expect(await snapshot(t.database.db)).toEqual(before);
    // close it now and wait for its disconnect, so that the snapshot can account for it
    await bad.close();
    await waitFor(() => t.app.agentSockets.size === 1);
    await t.app.agentSockets.settled();
    before = await snapshot(t.database.db);
  });

  it('an unknown key, a viewer key, a tenant_id of another tenant → 4001', async () => {
    const viewerKey = await createApiKey(t.database.db, tenantId, 'viewer');
    before = await snapshot(t.database.db);
    const bad = await open();
    for (const auth of [
      { api_key: 'ar_not-a-real-key' },
      { api_key: viewerKey },
      { api_key: key, tenant_id: otherTenantId },
      {},
    ]) {
      const reply = await bad.request('agent.register', { agent_id: agentId(), auth });
      expect(errorOf(reply)).toEqual({ type: 3, code: 4001, data: 'UNAUTHENTICATED' });
    }
    expect(errorOf(await bad.request('agent.heartbeat', {})).code).toBe(4001);
  });

  it('an upgrade with a bad key is refused with HTTP 401', async () => {
    await expect(RawAgent.open(agentsUrl(t.url), { Authorization: 'Bearer ar_wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(RawAgent.open(agentsUrl(t.url), { Authorization: 'Basic abc' })).rejects.toMatchObject({ status: 401 });
  });

  it('an instance id held by another agent type → 4008 CONFLICT', async () => {
    const owner = await open();
    await owner.request('agent.register', { agent_id: agentId('a'), instance_id: 'shared-id', auth: { api_key: key } });
    before = await snapshot(t.database.db);
    const bad = await open();
    const reply = await bad.request('agent.register', { agent_id: agentId('b'), instance_id: 'shared-id', auth: { api_key: key } });
    expect(errorOf(reply)).toEqual({ type: 3, code: 4008, data: 'CONFLICT' });
    expect(await snapshot(t.database.db)).toEqual(before);
    // the owner's disconnect is a change of its own: wait for it and take it into account
    await owner.close();
    await waitFor(() => t.app.agentSockets.size === 2);
    await t.app.agentSockets.settled();
    before = await snapshot(t.database.db);
  });

  it('a disabled configuration → 4008 AGENT_DISABLED', async () => {
    const agent = agentId('off');
    const setup = await open();
    await setup.request('agent.register', { agent_id: agent, instance_id: 'off-1', auth: { api_key: key } });
    await setup.request('agent.deregister', {});
    await t.database.db.query(
      `update mcp.agent_configurations set enabled = false
       where tenant_id = $1 and manifest_id = (select id from mcp.agent_manifests where agent_id = $2)`,
      [tenantId, agent],
    );
    before = await snapshot(t.database.db);
    const bad = await open();
    const reply = await bad.request('agent.register', { agent_id: agent, auth: { api_key: key } });
    expect(errorOf(reply)).toEqual({ type: 3, code: 4008, data: 'AGENT_DISABLED' });
  });

  it('an oversized frame closes the socket with 1009', async () => {
    const bad = await open();
    bad.send({ type: 0, id: 'big', method: 'agent.register', params: { agent_id: 'x', name: 'y'.repeat(2000) } });
    expect((await bad.closed).code).toBe(1009);
  });

  it('a flood gets 4002 replies, then the socket is closed with 4002', async () => {
    const bad = await open();
    for (let i = 0; i < 100; i++) bad.send({ type: 4, id: i });
    const { code } = await bad.closed;
    expect(code).toBe(4002);
    const limited = bad.received.filter((f) => f.type === 3);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((f) => f.error.code === 4002 && f.error.data.code === 'RATE_LIMITED')).toBe(true);
    expect(bad.received.filter((f) => f.type === 5).length).toBeLessThan(100);
  });
});

describe('WebSocket upgrades of other paths', () => {
  it('an upgrade to a path without a WebSocket endpoint is answered 404, not left hanging', async () => {
    const t = await startTestApp();
    try {
      await expect(RawAgent.open(`${t.url.replace(/^http/, 'ws')}/nowhere`)).rejects.toMatchObject({ status: 404 });
    } finally {
      await t.dispose();
    }
  });
});
