import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, RawAgent, registration, waitFor } from '../agents/support';

describe('agent liveness end to end (short stale timeout)', () => {
  let t: TestApp;
  let tenantId: string;
  let key: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: { HEARTBEAT_INTERVAL_MS: '100', STALE_AFTER_MS: '500', SWEEP_INTERVAL_MS: '50' },
    });
    tenantId = await createTenant(t.database.db);
    key = await createApiKey(t.database.db, tenantId, 'agent');
  });
  afterAll(() => t.dispose());

  it('a socket closed without deregistering → disconnected at once, then stale after the timeout; a heartbeating one stays active', async () => {
    const gone = await RawAgent.open(agentsUrl(t.url));
    const live = await RawAgent.open(agentsUrl(t.url));
    const agent = agentId();
    const a = await gone.request('agent.register', { agent_id: agent, auth: { api_key: key } });
    const b = await live.request('agent.register', { agent_id: agent, auth: { api_key: key } });
    gone.terminate();
    await waitFor(async () => (await registration(t.database.db, tenantId, a.result.instance_id))?.health_status === 'disconnected');
    expect(await registration(t.database.db, tenantId, a.result.instance_id)).toMatchObject({ registration_status: 'active' });

    let beating = true;
    const beats = (async () => {
      while (beating) {
        expect((await live.request('agent.heartbeat', {})).type).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      const row = await waitFor(async () => {
        const r = await registration(t.database.db, tenantId, a.result.instance_id);
        return r?.registration_status === 'stale' ? r : undefined;
      });
      expect(row.health_status).toBe('unknown');
      expect(await registration(t.database.db, tenantId, b.result.instance_id)).toMatchObject({
        registration_status: 'active',
        health_status: 'healthy',
      });
    } finally {
      beating = false;
      await beats;
      await live.close();
    }
  });

  it('a heartbeat revives a stale instance (a reconnection)', async () => {
    const s = await RawAgent.open(agentsUrl(t.url), { Authorization: `Bearer ${key}` });
    const reg = await s.request('agent.register', { agent_id: agentId() });
    await waitFor(async () => (await registration(t.database.db, tenantId, reg.result.instance_id))?.registration_status === 'stale');
    const beat = await s.request('agent.heartbeat', {});
    expect(beat.result.outcome).toBe('revived');
    expect(await registration(t.database.db, tenantId, reg.result.instance_id)).toMatchObject({
      registration_status: 'active',
      health_status: 'healthy',
      reconnect_count: 1,
    });
    await s.request('agent.deregister', {});
    await s.close();
  });
});

describe('agent sockets on shutdown', () => {
  it('stop() closes agent sockets with 1001, answers what was in flight, and leaves the instances active', async () => {
    const t = await startTestApp({ env: { STALE_AFTER_MS: '60000' } });
    let disposed = false;
    try {
      const tenantId = await createTenant(t.database.db);
      const key = await createApiKey(t.database.db, tenantId, 'agent');
      const s = await RawAgent.open(agentsUrl(t.url));
      const reg = await s.request('agent.register', { agent_id: agentId(), auth: { api_key: key } });
      const inFlight = s.request('agent.heartbeat', { health: 'degraded' });
      // frames are read in order: the pong proves the server has the heartbeat before the shutdown starts
      s.send({ type: 4, id: 'barrier' });
      await s.next((f) => f.type === 5);
      const stopping = t.app.stop();
      disposed = true;
      expect((await inFlight).result).toMatchObject({ outcome: 'changed' });
      expect((await s.closed).code).toBe(1001);
      await stopping;
      expect(await registration(t.database.db, tenantId, reg.result.instance_id)).toMatchObject({
        registration_status: 'active',
        health_status: 'degraded',
      });
    } finally {
      if (!disposed) await t.app.stop();
      await t.database.dispose();
    }
  });
});
