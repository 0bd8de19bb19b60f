import { Client } from 'pg';
import WebSocket from 'ws';
import { AgentClient, type AgentRequestError } from '../../src/client';
import type { Clock } from '../../src/clock';
import { op } from '../graphql/operations';
import { startTestApp, type TestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { streamsOpen, subscribe } from '../events/subscriber';

/** A clock the test moves by hand, shared by every app process of the test. */
class ManualClock implements Clock {
  private at = Date.UTC(2031, 0, 1);
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

async function gql(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: Array<{ extensions?: Record<string, any> }> };
}

/** A raw agent socket authenticated with `key`: `call` sends one request and resolves with its answer. */
async function rawAgentSocket(url: string, key: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/agents`, { headers: { authorization: `Bearer ${key}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 0;
  const call = (method: string, params: Record<string, unknown>) =>
    new Promise<any>((resolve) => {
      const id = `raw-${++next}`;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString());
        if (message.id !== id) return;
        ws.off('message', onMessage);
        resolve(message);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 0, id, method, params }));
    });
  return { ws, call };
}

describe('routing end to end', () => {
  describe('agents delegate to peers over the agent WebSocket (agent.pick, agent.report_outcome)', () => {
    let t: TestApp;
    let tenantId: string;
    let key: string;
    let otherKey: string;
    const clients: AgentClient[] = [];
    const client = (apiKey: string, agent: string, instanceId?: string) => {
      const c = new AgentClient({ url: `${t.url.replace('http', 'ws')}/agents`, apiKey, agentId: agent, instanceId, requestTimeoutMs: 10_000 });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      t = await startTestApp({ env: { HEARTBEAT_INTERVAL_MS: '60000', STALE_AFTER_MS: '120000' } });
      tenantId = await createTenant(t.database.db);
      key = await createApiKey(t.database.db, tenantId, 'agent');
      otherKey = await createApiKey(t.database.db, await createTenant(t.database.db), 'agent');
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await t.dispose();
    });

    it('picks a peer, reports its failures until it is ejected, then gets NO_HEALTHY_INSTANCE with counts', async () => {
      const worker = agentId('worker');
      const peers = [client(key, worker, 'peer-a'), client(key, worker, 'peer-b')];
      for (const peer of peers) await peer.start();
      const caller = client(key, agentId('caller'));
      await caller.start();

      const picked = await caller.pick({ agent_id: worker, fallbacks: 1 });
      expect(['peer-a', 'peer-b']).toContain(picked.instance.instance_id);
      expect(picked.fallbacks).toHaveLength(1);
      expect(picked).toMatchObject({ probe: false, affinity_capacity: null, counts: { instances: 2, eligible: 2 } });
      expect(picked.instance.connection_details).toMatchObject({ transport: 'websocket' });
      const sticky = await caller.pick({ agent_id: worker, affinity_key: 'conversation-1' });
      expect((await caller.pick({ agent_id: worker, affinity_key: 'conversation-1' })).instance.instance_id).toBe(sticky.instance.instance_id);

      const acks = [];
      for (let i = 0; i < 5; i++) acks.push(await caller.reportOutcome('peer-a', 'failure'));
      expect(acks.map((a) => a.result)).toEqual(['recorded', 'recorded', 'recorded', 'recorded', 'ejected']);
      expect(acks[4]).toMatchObject({ instance_id: 'peer-a', circuit: 'open' });
      for (let i = 0; i < 10; i++) expect((await caller.pick({ agent_id: worker })).instance.instance_id).toBe('peer-b');

      const none = (await caller.pick({ agent_id: worker, exclude: ['peer-b'] }).catch((e: unknown) => e)) as AgentRequestError;
      expect(none).toMatchObject({ code: 4008, dataCode: 'NO_HEALTHY_INSTANCE' });
      expect(none.counts).toMatchObject({ instances: 2, ejected: 1, excluded: 1, eligible: 0 });
      const bad = (await caller.pick({ agent_id: 'Bad Id' }).catch((e: unknown) => e)) as AgentRequestError;
      expect(bad).toMatchObject({ code: 4005, dataCode: 'BAD_USER_INPUT' });
      const badOutcome = (await caller.reportOutcome('peer-b', 'meh' as never).catch((e: unknown) => e)) as AgentRequestError;
      expect(badOutcome).toMatchObject({ code: 4005, dataCode: 'BAD_USER_INPUT' });
    });

    it('agent.report_outcomes: many reports in one message, one answer each; a bad report refuses the message and stores nothing', async () => {
      const worker = agentId('batch');
      for (const id of ['batch-a', 'batch-b']) await client(key, worker, id).start();
      const raw = await rawAgentSocket(t.url, key);
      const ws = raw.ws;
      const call = (params: Record<string, unknown>) => raw.call('agent.report_outcomes', params);
      const failures = async (instanceId: string) => {
        const [row] = await t.database.db.query<{ n: number }>(
          `select coalesce(c.consecutive_failures, 0) as n from mcp.agent_registrations r
           left join mcp.instance_circuits c on c.registration_id = r.id where r.tenant_id = $1 and r.instance_id = $2`,
          [tenantId, instanceId],
        );
        return row.n;
      };
      // agent_registry_instance_outcomes_total by outcome, from /metrics
      const counted = async () => {
        const text = await (await fetch(`${t.url}/metrics`)).text();
        const value = (outcome: string) =>
          Number(text.match(new RegExp(`^agent_registry_instance_outcomes_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm'))?.[1] ?? 0);
        return { success: value('success'), failure: value('failure'), timeout: value('timeout') };
      };
      try {
        const before = await counted();
        const ok = await call({
          reports: [
            { instance_id: 'batch-a', outcome: 'failure' },
            { instance_id: 'nobody', outcome: 'failure' },
            { instance_id: 'batch-a', outcome: 'timeout' },
            { instance_id: 'batch-b', outcome: 'success' },
          ],
        });
        expect(ok.type).toBe(1);
        expect(ok.result.results).toEqual([
          expect.objectContaining({ instance_id: 'batch-a', result: 'recorded', circuit: 'closed' }),
          { instance_id: 'nobody', error: expect.objectContaining({ code: 4005, data: { code: 'NOT_FOUND' } }) },
          expect.objectContaining({ instance_id: 'batch-a', result: 'recorded', circuit: 'closed' }),
          expect.objectContaining({ instance_id: 'batch-b', result: 'recorded', circuit: 'closed' }),
        ]);
        expect(await failures('batch-a')).toBe(2);
        // the stored reports are counted, by outcome; the unknown instance's is not
        const after = await counted();
        expect({
          success: after.success - before.success,
          failure: after.failure - before.failure,
          timeout: after.timeout - before.timeout,
        }).toEqual({ success: 1, failure: 1, timeout: 1 });

        const refused = [
          await call({ reports: [{ instance_id: 'batch-a', outcome: 'failure' }, { instance_id: 'batch-b', outcome: 'meh' }] }),
          await call({ reports: [] }),
          await call({ reports: Array.from({ length: 501 }, () => ({ instance_id: 'batch-a', outcome: 'failure' })) }),
          await call({ reports: 'batch-a' }),
          await call({ reports: [null] }),
        ];
        for (const answer of refused) expect(answer).toMatchObject({ type: 3, error: { code: 4005, data: { code: 'BAD_USER_INPUT' } } });
        expect(refused[0].error.data.field).toBe('reports[1].outcome');
        expect(await failures('batch-a')).toBe(2);

        // another tenant's instance of the same id is not found from here
        const stranger = new WebSocket(`${t.url.replace('http', 'ws')}/agents`, { headers: { authorization: `Bearer ${otherKey}` } });
        await new Promise((resolve, reject) => stranger.once('open', resolve).once('error', reject));
        const answer = await new Promise<any>((resolve) => {
          stranger.once('message', (data) => resolve(JSON.parse(data.toString())));
          stranger.send(JSON.stringify({ type: 0, id: 1, method: 'agent.report_outcomes', params: { reports: [{ instance_id: 'batch-a', outcome: 'failure' }] } }));
        });
        stranger.close();
        expect(answer.result.results).toEqual([{ instance_id: 'batch-a', error: expect.objectContaining({ data: { code: 'NOT_FOUND' } }) }]);
        expect(await failures('batch-a')).toBe(2);
        // nothing refused or not found was counted
        expect(await counted()).toEqual(after);
      } finally {
        ws.close();
      }
    });

    it('the client sends reports made together in one message, and only a bad one fails', async () => {
      const worker = agentId('together');
      for (const id of ['tog-a', 'tog-b']) await client(key, worker, id).start();
      const caller = client(key, agentId('reporter'));
      await caller.start();
      // what the client sends (its socket is private: watched, not changed)
      const socket = (caller as unknown as { ws: WebSocket }).ws;
      const send = socket.send.bind(socket);
      const methods: Array<{ method: string; reports: number }> = [];
      socket.send = ((data: string, ...rest: unknown[]) => {
        const { method, params } = JSON.parse(data);
        methods.push({ method, reports: Array.isArray(params?.reports) ? params.reports.length : 1 });
        return (send as (...args: unknown[]) => void)(data, ...rest);
      }) as typeof socket.send;
      const settled = await Promise.allSettled([
        ...Array.from({ length: 30 }, (_, i) => caller.reportOutcome(i % 2 ? 'tog-a' : 'tog-b', 'success')),
        caller.reportOutcome('tog-a', 'meh' as never),
        caller.reportOutcome('nobody-here', 'success'),
      ]);
      expect(settled.slice(0, 30).every((r) => r.status === 'fulfilled' && r.value.result === 'recorded')).toBe(true);
      expect(settled[30]).toMatchObject({ status: 'rejected', reason: { dataCode: 'BAD_USER_INPUT' } });
      expect(settled[31]).toMatchObject({ status: 'rejected', reason: { dataCode: 'NOT_FOUND' } });
      // the 32 reports went out as one message (refused for the bad one), then one by one
      expect(methods[0]).toEqual({ method: 'agent.report_outcomes', reports: 32 });
      expect(methods.slice(1)).toEqual(Array.from({ length: 32 }, () => ({ method: 'agent.report_outcome', reports: 1 })));

      // without a bad one: 40 reports made together are one message
      methods.length = 0;
      const acks = await Promise.all(Array.from({ length: 40 }, (_, i) => caller.reportOutcome(i % 2 ? 'tog-a' : 'tog-b', 'success')));
      expect(acks.map((a) => a.instance_id)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 ? 'tog-a' : 'tog-b')));
      expect(methods).toEqual([{ method: 'agent.report_outcomes', reports: 40 }]);
    });

    it('another tenant’s agent sees none of these instances and cannot report about them', async () => {
      const worker = agentId('shared');
      await client(key, worker, 'mine-1').start();
      const stranger = client(otherKey, agentId('stranger'));
      await stranger.start();
      const none = (await stranger.pick({ agent_id: worker }).catch((e: unknown) => e)) as AgentRequestError;
      expect(none).toMatchObject({ dataCode: 'NO_HEALTHY_INSTANCE', counts: { instances: 0 } });
      const report = (await stranger.reportOutcome('mine-1', 'failure').catch((e: unknown) => e)) as AgentRequestError;
      expect(report).toMatchObject({ dataCode: 'NOT_FOUND' });

      // the same over a raw socket with the stranger's key: agent.pick, the singular
      // agent.report_outcome and the plural agent.report_outcomes, six failures each (more
      // than the threshold): every report is NOT_FOUND and the circuit stays untouched
      const { ws, call } = await rawAgentSocket(t.url, otherKey);
      try {
        const picked = await call('agent.pick', { agent_id: worker });
        expect(picked).toMatchObject({ type: 3, error: { data: { code: 'NO_HEALTHY_INSTANCE', counts: { instances: 0 } } } });
        for (let i = 0; i < 6; i++) {
          const single = await call('agent.report_outcome', { instance_id: 'mine-1', outcome: 'failure' });
          expect(single).toMatchObject({ type: 3, error: { data: { code: 'NOT_FOUND' } } });
        }
        const many = await call('agent.report_outcomes', {
          reports: Array.from({ length: 6 }, () => ({ instance_id: 'mine-1', outcome: 'failure' })),
        });
        expect(many.type).toBe(1);
        expect(many.result.results.map((r: { error?: { data?: { code?: string } } }) => r.error?.data?.code)).toEqual(Array(6).fill('NOT_FOUND'));
      } finally {
        ws.close();
      }
      const [circuit] = await t.database.db.query<{ failures: number | null; ejected: Date | null }>(
        `select c.consecutive_failures as failures, c.ejected_until as ejected from mcp.agent_registrations r
         left join mcp.instance_circuits c on c.registration_id = r.id where r.tenant_id = $1 and r.instance_id = 'mine-1'`,
        [tenantId],
      );
      expect(circuit.ejected).toBeNull();
      expect(circuit.failures ?? 0).toBe(0);
    });
  });

  postgresOnly('holds a lock from a second connection while the app writes')(
    'OUTCOME_BATCH_INTERVAL_MS: reports queued while an outcome statement ran wait until the interval after its start, and later ones join them; an idle writer writes at once',
    async () => {
      const t = await startTestApp({
        env: { HEARTBEAT_INTERVAL_MS: '60000', STALE_AFTER_MS: '120000', OUTCOME_BATCH_INTERVAL_MS: '1500' },
      });
      const clients: AgentClient[] = [];
      const locker = new Client({ connectionString: t.database.url });
      try {
        const tenant = await createTenant(t.database.db);
        const apiKey = await createApiKey(t.database.db, tenant, 'agent');
        const open = async (agent: string, instanceId?: string) => {
          const c = new AgentClient({ url: `${t.url.replace('http', 'ws')}/agents`, apiKey, agentId: agent, instanceId, requestTimeoutMs: 10_000 });
          clients.push(c);
          await c.start();
          return c;
        };
        await open(agentId('spaced'), 'spaced-1');
        const callers = await Promise.all([1, 2, 3, 4].map((i) => open(agentId(`spaced-caller-${i}`))));
        // statements written so far and the reports in them: agent_registry_outcome_batch_size
        const statements = async () => {
          const text = await (await fetch(`${t.url}/metrics`)).text();
          const value = (name: string) => Number(text.match(new RegExp(`^agent_registry_outcome_batch_size_${name} (\\d+)$`, 'm'))?.[1] ?? 0);
          return { count: value('count'), reports: value('sum') };
        };
        const settled = <T>(p: Promise<T>) => {
          let done = false;
          void p.then(() => (done = true));
          return () => done;
        };

        // idle: written at once (the interval does not delay a lone caller)
        const before = await statements();
        expect(await callers[0].reportOutcome('spaced-1', 'success')).toMatchObject({ result: 'recorded' });
        expect(await statements()).toEqual({ count: before.count + 1, reports: before.reports + 1 });

        // a failure's statement waits for the agent's outcome lock, held here; two successes
        // arrive while it runs
        await locker.connect();
        const [{ manifest_id: manifestId }] = (
          await locker.query('select manifest_id from mcp.agent_registrations where tenant_id = $1 and instance_id = $2', [tenant, 'spaced-1'])
        ).rows;
        await locker.query('begin');
        await locker.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`mcp.report_instance_outcomes:${tenant}:${manifestId}`]);
        const failure = callers[0].reportOutcome('spaced-1', 'failure');
        const failureDone = settled(failure);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const queued = [callers[1].reportOutcome('spaced-1', 'success'), callers[2].reportOutcome('spaced-1', 'success')];
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(failureDone()).toBe(false);
        await locker.query('commit');
        const ack = await failure;
        expect(ack).toMatchObject({ result: 'recorded', circuit: 'closed' });
        const released = await statements();
        // the two successes are not written yet: they wait until 1.5 s after the failure's
        // statement started; a report made now joins them
        const queuedDone = settled(Promise.all(queued));
        const late = callers[3].reportOutcome('spaced-1', 'success');
        expect(queuedDone()).toBe(false);
        expect((await Promise.all([...queued, late])).map((a) => a.result)).toEqual(['recorded', 'recorded', 'recorded']);
        expect(await statements()).toEqual({ count: released.count + 1, reports: released.reports + 3 });
      } finally {
        await locker.end().catch(() => undefined);
        await Promise.all(clients.map((c) => c.close()));
        await t.dispose();
      }
    },
  );

  it('1,000 parallel pickInstance requests over HTTP between heartbeats: every instance of 10 chosen, none more than twice its fair share (100)', async () => {
    const t = await startTestApp({ env: { DATABASE_POOL_SIZE: '16', HEARTBEAT_INTERVAL_MS: '60000', STALE_AFTER_MS: '120000' } });
    try {
      const tenant = await createTenant(t.database.db);
      const agentKey = await createApiKey(t.database.db, tenant, 'agent');
      const viewerKey = await createApiKey(t.database.db, tenant, 'viewer');
      const worker = agentId('http-burst');
      const ids = Array.from({ length: 10 }, (_, i) => `${worker}-${i}`);
      for (const instanceId of ids) {
        expect((await gql(t.url, agentKey, op('RegisterAgentInstance'), { input: { agentId: worker, instanceId } })).errors).toBeUndefined();
      }
      const answers = await Promise.all(Array.from({ length: 1000 }, () => gql(t.url, viewerKey, op('PickInstance'), { agentId: worker, fallbacks: 0 })));
      expect(answers.filter((a) => a.errors)).toEqual([]);
      const perInstance = new Map<string, number>();
      for (const a of answers) perInstance.set(a.data.pickInstance.instance.instanceId, (perInstance.get(a.data.pickInstance.instance.instanceId) ?? 0) + 1);
      expect([...perInstance.keys()].sort()).toEqual([...ids].sort());
      expect(Math.max(...perInstance.values())).toBeLessThanOrEqual(200);
    } finally {
      await t.dispose();
    }
  }, 120_000);

  it('ejected and restored reach the tenant’s live subscription, and not another tenant’s', async () => {
    const clock = new ManualClock();
    const t = await startTestApp({ clock });
    const { db } = t.database;
    const mine = await createTenant(db);
    const theirs = await createTenant(db);
    const agentKey = await createApiKey(db, mine, 'agent');
    const ours = subscribe(t.url, await createApiKey(db, mine, 'viewer'), { kinds: ['ejected', 'restored'] });
    const other = subscribe(t.url, await createApiKey(db, theirs, 'viewer'));
    try {
      await streamsOpen(t.app, 2);
      const worker = agentId('live');
      for (const instanceId of ['live-1', 'live-2']) {
        await gql(t.url, agentKey, op('RegisterAgentInstance'), { input: { agentId: worker, instanceId } });
      }
      for (let i = 0; i < 5; i++) await gql(t.url, agentKey, op('ReportInstanceOutcome'), { instanceId: 'live-1', outcome: 'failure' });
      clock.advance(30_000);
      await gql(t.url, agentKey, op('PickInstance'), { agentId: worker, exclude: ['live-2'] });
      await gql(t.url, agentKey, op('ReportInstanceOutcome'), { instanceId: 'live-1', outcome: 'success' });
      const seen = await ours.until((events) => events.length >= 2);
      expect(seen.map((e) => [e.kind, e.instanceId, e.tenantId])).toEqual([
        ['ejected', 'live-1', mine],
        ['restored', 'live-1', mine],
      ]);
      // the other tenant's stream got none of it: changes of its own arrive, ours never
      await createApiKey(db, theirs, 'agent').then((key) =>
        gql(t.url, key, op('RegisterAgentInstance'), { input: { agentId: worker, instanceId: 'theirs-1' } }),
      );
      const theirEvents = await other.until((events) => events.some((e) => e.kind === 'registered'));
      expect(theirEvents.filter((e) => e.kind === 'ejected' || e.kind === 'restored')).toEqual([]);
      expect(new Set(theirEvents.map((e) => e.tenantId))).toEqual(new Set([theirs]));
    } finally {
      await ours.dispose();
      await other.dispose();
      await t.dispose();
    }
  }, 60_000);

  postgresOnly('needs two app processes on one PostgreSQL database')(
    'two API processes see the same ejection state: ejected through one, skipped and restored through the other',
    async () => {
      const clock = new ManualClock();
      const a = await startTestApp({ clock });
      const b = await startTestApp({ clock, database: a.database });
      try {
        const tenantId = await createTenant(a.database.db);
        const agentKey = await createApiKey(a.database.db, tenantId, 'agent');
        const viewerKey = await createApiKey(a.database.db, tenantId, 'viewer');
        const worker = agentId('twin');
        const ids = Array.from({ length: 10 }, (_, i) => `twin-${i}`);
        for (const instanceId of ids) {
          const r = await gql(a.url, agentKey, op('RegisterAgentInstance'), { input: { agentId: worker, instanceId } });
          expect(r.errors).toBeUndefined();
        }
        // five failures through process A
        const acks = [];
        for (let i = 0; i < 5; i++) acks.push(await gql(a.url, agentKey, op('ReportInstanceOutcome'), { instanceId: ids[0], outcome: 'failure' }));
        expect(acks.map((r) => r.data?.reportInstanceOutcome.result)).toEqual(['recorded', 'recorded', 'recorded', 'recorded', 'ejected']);

        // process B never picks it, and shows it open
        for (let i = 0; i < 20; i++) {
          const picked = await gql(b.url, viewerKey, op('PickInstance'), { agentId: worker, fallbacks: 9 });
          expect(picked.data.pickInstance.instance.instanceId).not.toBe(ids[0]);
          expect(picked.data.pickInstance.counts.ejected).toBe(1);
        }
        const circuits = await gql(b.url, viewerKey, op('RegistrationCircuits'), { filter: { instanceId: ids[0] } });
        expect(circuits.data.registrations.nodes[0].circuit).toMatchObject({ state: 'open', ejectionCount: 1 });

        // 30 s later: half-open; B picks it as the one probe, A then refuses a second probe
        clock.advance(30_000);
        const probe = await gql(b.url, viewerKey, op('PickInstance'), { agentId: worker, exclude: ids.slice(1) });
        expect(probe.data.pickInstance).toMatchObject({ instance: { instanceId: ids[0] }, probe: true });
        const second = await gql(a.url, viewerKey, op('PickInstance'), { agentId: worker, exclude: ids.slice(1) });
        expect(second.errors?.[0].extensions).toMatchObject({ code: 'NO_HEALTHY_INSTANCE', counts: { ejected: 1 } });

        // the probe's success, reported through B, restores it for A too
        const restored = await gql(b.url, agentKey, op('ReportInstanceOutcome'), { instanceId: ids[0], outcome: 'success' });
        expect(restored.data.reportInstanceOutcome).toMatchObject({ result: 'restored', circuit: 'closed' });
        const back = await gql(a.url, viewerKey, op('PickInstance'), { agentId: worker, exclude: ids.slice(1) });
        expect(back.data.pickInstance).toMatchObject({ instance: { instanceId: ids[0] }, probe: false });
        const events = await gql(a.url, viewerKey, op('Events'), { filter: { kinds: ['ejected', 'restored'] } });
        expect(events.data.events.nodes.map((e: { kind: string }) => e.kind)).toEqual(['restored', 'ejected']);
      } finally {
        await b.dispose();
        await a.dispose();
      }
    },
    60_000,
  );
});
