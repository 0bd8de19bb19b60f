import { AgentClient, type AgentClientEvents, type AgentRequestError, type HeartbeatResult, type RegisterResult } from '../../src/client';
import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { registration, TcpProxy, waitFor } from '../agents/support';

/** The next `event` of the client (unlike events.once, an 'error' event does not reject it). */
function next<T>(agent: AgentClient, event: keyof AgentClientEvents): Promise<T> {
  return new Promise((resolve) => agent.once(event, ((value: T) => resolve(value)) as never));
}

describe('agent client against a real registry', () => {
  let t: TestApp;
  let tenantId: string;
  let key: string;
  let proxy: TcpProxy;
  const clients: AgentClient[] = [];
  const client = (overrides: Partial<ConstructorParameters<typeof AgentClient>[0]> = {}) => {
    const c = new AgentClient({
      url: `ws://127.0.0.1:${proxy.port}/agents`,
      apiKey: key,
      tenantId,
      agentId: agentId('client'),
      backoff: { baseMs: 20, capMs: 200 },
      requestTimeoutMs: 5_000,
      ...overrides,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { HEARTBEAT_INTERVAL_MS: '150', STALE_AFTER_MS: '60000' } });
    tenantId = await createTenant(t.database.db);
    key = await createApiKey(t.database.db, tenantId, 'agent');
  });
  beforeEach(async () => {
    proxy = new TcpProxy(Number(new URL(t.url).port));
    await proxy.up();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy.down();
  });
  afterAll(() => t.dispose());

  it('registers, then heartbeats on the interval the server gave, reporting health and workload', async () => {
    const agent = client();
    const registered = await agent.start();
    expect(registered).toMatchObject({ is_new: true, heartbeat_interval_ms: 150 });
    expect(agent.instanceId).toBe(registered.instance_id);
    agent.report('degraded', 4);
    const beat = await next<HeartbeatResult>(agent, 'heartbeat');
    expect(['changed', 'ok']).toContain(beat.outcome);
    await waitFor(async () => (await registration(t.database.db, tenantId, registered.instance_id))?.health_status === 'degraded');
    expect(await registration(t.database.db, tenantId, registered.instance_id)).toMatchObject({ current_workload: 4 });
    await next(agent, 'heartbeat');
  });

  it('reconnects under the same instance id after the connection drops', async () => {
    const agent = client();
    const first = await agent.start();
    const again = next<RegisterResult>(agent, 'registered');
    proxy.cut();
    const second = await again;
    expect(second).toMatchObject({ instance_id: first.instance_id, registration_id: first.registration_id, is_new: false });
    expect(await registration(t.database.db, tenantId, first.instance_id)).toMatchObject({
      registration_status: 'active',
      health_status: 'healthy',
      reconnect_count: 1,
    });
  });

  it('backs off with full jitter up to the cap while the registry is unreachable, then comes back as the same instance', async () => {
    const randoms = [0.9, 0.1, 0.5, 0.99, 0.3, 0.75];
    let i = 0;
    const agent = client({ backoff: { baseMs: 10, capMs: 40 }, random: () => randoms[i++ % randoms.length] });
    const first = await agent.start();
    const delays: { attempt: number; delayMs: number }[] = [];
    agent.on('reconnecting', (r) => delays.push(r));
    await proxy.down();
    await waitFor(() => delays.length >= 6);
    // attempt n waits random * min(cap, base * 2^n)
    const ceilings = [10, 20, 40, 40, 40, 40];
    expect(delays.slice(0, 6)).toEqual(
      ceilings.map((ceiling, n) => ({ attempt: n + 1, delayMs: Math.floor(randoms[n] * ceiling) })),
    );
    const back = next<RegisterResult>(agent, 'registered');
    await proxy.up();
    const again = await back;
    expect(again).toMatchObject({ instance_id: first.instance_id, is_new: false });
  });

  it('registers again by itself when a heartbeat answers NOT_REGISTERED', async () => {
    const agent = client();
    const first = await agent.start();
    const errors: AgentRequestError[] = [];
    agent.on('error', (e) => errors.push(e as AgentRequestError));
    const again = next<RegisterResult>(agent, 'registered');
    // an admin force-deregisters the instance
    await t.app.services.lifecycle.deregister(tenantId, first.instance_id, 'forced');
    const second = await again;
    expect(second).toMatchObject({ instance_id: first.instance_id, is_new: false });
    expect(errors.map((e) => e.dataCode)).toContain('NOT_REGISTERED');
    expect(await registration(t.database.db, tenantId, first.instance_id)).toMatchObject({ registration_status: 'active' });
  });

  it('close() deregisters the instance', async () => {
    const agent = client();
    const { instance_id } = await agent.start();
    await agent.close();
    expect(await registration(t.database.db, tenantId, instance_id)).toMatchObject({ registration_status: 'deregistered' });
    expect(agent.registered).toBe(false);
  });

  it('with handleSignals, SIGTERM deregisters and closes (and leaves the signal to the other listeners)', async () => {
    const agent = client({ handleSignals: true });
    const { instance_id } = await agent.start();
    // another SIGTERM listener (the test's) keeps the client from re-raising the signal
    const other = jest.fn();
    process.on('SIGTERM', other);
    try {
      const closed = new Promise<void>((resolve) => agent.once('closed', () => resolve()));
      process.emit('SIGTERM', 'SIGTERM');
      await closed;
      expect(other).toHaveBeenCalled();
      expect(await registration(t.database.db, tenantId, instance_id)).toMatchObject({ registration_status: 'deregistered' });
      expect(process.listeners('SIGTERM')).toEqual([other]);
    } finally {
      process.off('SIGTERM', other);
    }
  });

  it('start() rejects with 4001 for a bad key and does not retry', async () => {
    const agent = client({ apiKey: 'ar_wrong' });
    const reconnecting = jest.fn();
    agent.on('reconnecting', reconnecting);
    await expect(agent.start()).rejects.toMatchObject({ code: 4001, dataCode: 'UNAUTHENTICATED' });
    expect(reconnecting).not.toHaveBeenCalled();
  });

  it('keeps the instance id it was given', async () => {
    const agent = client({ instanceId: 'pod-fixed-1' });
    expect((await agent.start()).instance_id).toBe('pod-fixed-1');
  });
});
