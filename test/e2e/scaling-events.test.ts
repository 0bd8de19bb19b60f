import type { EventKind } from '../../src/events/types';
import { startTestApp, type TestApp } from '../helpers/app';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { streamsOpen, subscribe, type Subscriber } from '../events/subscriber';

/**
 * The app's own periodic computation (SCALING_INTERVAL_MS) writes scaling_recommended
 * events that reach live subscribers filtered by kind, each tenant only its own.
 */
describe('scaling_recommended events, live', () => {
  let t: TestApp;
  const subscribers: Subscriber[] = [];
  beforeAll(async () => {
    t = await startTestApp({ env: { SCALING_INTERVAL_MS: '100' } });
  });
  afterAll(async () => {
    for (const s of subscribers) await s.dispose();
    await t.dispose();
  });

  it("reach each tenant's subscribers of that kind, and only theirs", async () => {
    const { db } = t.database;
    const { lifecycle } = t.app.services;
    const tenantA = await createTenant(db);
    const tenantB = await createTenant(db);
    const watch = async (tenantId: string, kinds: EventKind[]) => {
      const s = subscribe(t.url, await createApiKey(db, tenantId, 'viewer'), { kinds });
      subscribers.push(s);
      return s;
    };
    const scalingA = await watch(tenantA, ['scaling_recommended']);
    const scalingB = await watch(tenantB, ['scaling_recommended']);
    const healthA = await watch(tenantA, ['health_changed']);
    await streamsOpen(t.app, 3);

    // the app's timer is paused while the figures are set, so that it computes only the
    // final ones (a computation in between would see one instance and recommend for it)
    await t.app.scaling.stop();
    // A: 2 instances at 9 of 10 → utilisation 0.9 → ceil(18 / 7) = 3 wanted; B: 1 at 10 of 10 → 2
    const agentA = agentId('scale-a');
    const agentB = agentId('scale-b');
    for (const instanceId of ['a-1', 'a-2']) {
      await lifecycle.register(tenantA, { agentId: agentA, instanceId });
      await lifecycle.heartbeat(tenantA, { instanceId, workload: 9 }, 'graphql');
    }
    await lifecycle.register(tenantB, { agentId: agentB, instanceId: 'b-1' });
    await lifecycle.heartbeat(tenantB, { instanceId: 'b-1', workload: 10 }, 'graphql');
    t.app.scaling.start();

    const [eventA] = await scalingA.until((events) => events.length >= 1);
    const [eventB] = await scalingB.until((events) => events.length >= 1);
    expect([eventA.kind, eventA.tenantId, eventA.agentId, eventA.payload.desired]).toEqual(['scaling_recommended', tenantA, agentA, 3]);
    expect([eventB.kind, eventB.tenantId, eventB.agentId, eventB.payload.desired]).toEqual(['scaling_recommended', tenantB, agentB, 2]);

    // A scales up again (40 of 20 → ceil(40 / 7) = 6): written after B's event, so had B's
    // leaked to A's subscriber, it would have arrived before this one (the log is in order)
    await t.app.scaling.stop();
    for (const instanceId of ['a-1', 'a-2']) await lifecycle.heartbeat(tenantA, { instanceId, workload: 20 }, 'graphql');
    t.app.scaling.start();
    await scalingA.until((events) => events.length >= 2);

    expect(scalingA.events.map((e) => [e.tenantId, e.agentId, e.payload.previous_desired, e.payload.desired])).toEqual([
      [tenantA, agentA, 2, 3],
      [tenantA, agentA, 3, 6],
    ]);
    expect(scalingB.events.map((e) => [e.tenantId, e.agentId])).toEqual([[tenantB, agentB]]);
    await healthA.until((events) => events.length >= 4);
    expect(new Set(healthA.events.map((e) => e.kind))).toEqual(new Set(['health_changed']));
  });
});
