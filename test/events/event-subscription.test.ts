import { positionOf } from '../../src/events/event-replay';
import { EventLogReader } from '../../src/events/event-log-reader';
import type { RegistryEvent } from '../../src/events/types';
import { EventSubscription } from '../../src/subscriptions/event-subscription';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createTenant } from '../helpers/factories';

describe('EventSubscription', () => {
  let database: TestDatabase;
  let readers: EventLogReader[];
  let tenantId: string;
  let n: number;

  beforeEach(async () => {
    database = await createTestDatabase();
    readers = [];
    tenantId = await createTenant(database.db);
    n = 0;
  });
  afterEach(async () => {
    for (const reader of readers) await reader.stop();
    await database.dispose();
  });

  const startReader = async () => {
    // never polls: reads only when the test flushes it
    const reader = new EventLogReader(database.db, { pollIntervalMs: 60_000 });
    readers.push(reader);
    await reader.start();
    return reader;
  };
  const insert = async (count: number) => {
    await database.db.query(
      `insert into mcp.registration_events (tenant_id, kind, instance_id)
       select $1, 'registered', 'i-' || g from generate_series($2::integer, $3::integer) g`,
      [tenantId, n + 1, n + count],
    );
    n += count;
  };
  const take = async (stream: EventSubscription, count: number): Promise<RegistryEvent[]> => {
    const events: RegistryEvent[] = [];
    while (events.length < count) {
      const { value, done } = await stream.next();
      if (done) break;
      events.push(value);
    }
    return events;
  };
  const names = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `i-${from + i}`);
  const sinceOf = async (instance: string) => {
    const [row] = await database.db.query<{ id: string }>(
      `select id::text as id from mcp.registration_events where instance_id = $1`,
      [instance],
    );
    return (await positionOf(database.db, tenantId, row.id))!;
  };

  it('replays from since, falls back to the log when live events overflow meanwhile, and loses or repeats nothing', async () => {
    const reader = await startReader();
    await insert(50);
    await reader.flush();
    let overflows = 0;
    const stream = new EventSubscription({
      feed: reader,
      db: database.db,
      filter: { tenantId },
      since: await sinceOf('i-5'),
      maxQueue: 3,
      pageSize: 7,
      onOverflow: () => overflows++,
    });
    const first = await take(stream, 10);
    // live events arrive while the subscriber is still replaying: far more than its queue
    await insert(20);
    await reader.flush();
    expect(stream.queued).toBeLessThanOrEqual(3);
    const rest = await take(stream, 55);
    expect([...first, ...rest].map((e) => e.instanceId)).toEqual(names(6, 70));
    expect(overflows).toBeGreaterThan(0);
    // and live again afterwards
    await insert(2);
    await reader.flush();
    expect((await take(stream, 2)).map((e) => e.instanceId)).toEqual(names(71, 72));
    await stream.return();
    expect(reader.listenerCount).toBe(0);
  });

  it('a subscriber that stops consuming while live keeps at most maxQueue events, then catches up from the log', async () => {
    const reader = await startReader();
    const stream = new EventSubscription({ feed: reader, db: database.db, filter: { tenantId }, maxQueue: 5, pageSize: 4 });
    await insert(3);
    await reader.flush();
    expect((await take(stream, 3)).map((e) => e.instanceId)).toEqual(names(1, 3));
    for (let round = 0; round < 10; round++) {
      await insert(10);
      await reader.flush();
      expect(stream.queued).toBeLessThanOrEqual(5);
    }
    expect((await take(stream, 100)).map((e) => e.instanceId)).toEqual(names(4, 103));
    await stream.return();
  });

  it('a since beyond what this reader delivered (another process was ahead) starts after since, without repeats', async () => {
    const ahead = await startReader();
    const behind = await startReader();
    await insert(10);
    await ahead.flush();
    // a client saw i-7 through the process that is ahead, then resumes on the one behind
    const stream = new EventSubscription({ feed: behind, db: database.db, filter: { tenantId }, since: await sinceOf('i-7') });
    await insert(2);
    await behind.flush();
    expect((await take(stream, 5)).map((e) => e.instanceId)).toEqual(names(8, 12));
    await stream.return();
  });

  it("never yields another tenant's events, in replay or live", async () => {
    const reader = await startReader();
    const other = await createTenant(database.db);
    await insert(2);
    await database.db.query(`insert into mcp.registration_events (tenant_id, kind, instance_id) values ($1, 'registered', 'theirs')`, [
      other,
    ]);
    await reader.flush();
    const stream = new EventSubscription({ feed: reader, db: database.db, filter: { tenantId }, since: await sinceOf('i-1') });
    await database.db.query(`insert into mcp.registration_events (tenant_id, kind, instance_id) values ($1, 'registered', 'theirs')`, [
      other,
    ]);
    await insert(1);
    await reader.flush();
    expect((await take(stream, 2)).map((e) => e.instanceId)).toEqual(['i-2', 'i-3']);
    await stream.return();
  });
});
