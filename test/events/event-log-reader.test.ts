import { Client } from 'pg';
import { openPostgres, pgQueryable, type Database } from '../../src/db/client';
import { registerAgentInstance } from '../../src/db/registry-sql';
import { compareEvents } from '../../src/events/event-rows';
import { EventLogReader, READ_PAGE } from '../../src/events/event-log-reader';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { collect, eventually, ids } from './support';

describe('EventLogReader', () => {
  let database: TestDatabase;
  let readers: EventLogReader[];
  let clients: Client[];
  let extraDbs: Database[];

  beforeEach(async () => {
    database = await createTestDatabase();
    readers = [];
    clients = [];
    extraDbs = [];
  });
  afterEach(async () => {
    for (const reader of readers) await reader.stop();
    for (const client of clients) await client.end().catch(() => undefined);
    for (const db of extraDbs) await db.close();
    await database.dispose();
  });

  const startReader = async (db: Database = database.db, options: ConstructorParameters<typeof EventLogReader>[1] = {}) => {
    const reader = new EventLogReader(db, { pollIntervalMs: 200, ...options });
    readers.push(reader);
    await reader.start();
    return reader;
  };

  const connect = async () => {
    const client = new Client({ connectionString: database.url });
    clients.push(client);
    await client.connect();
    return client;
  };

  const insertEvent = (db: { query: (sql: string, params: unknown[]) => Promise<unknown> }, tenantId: string, n: number) =>
    db.query(`insert into mcp.registration_events (tenant_id, kind, instance_id) values ($1, 'registered', $2)`, [
      tenantId,
      `i-${n}`,
    ]);

  it('starts live: events committed before start() are not delivered, later ones are, in log order', async () => {
    const tenantId = await createTenant(database.db);
    await insertEvent(database.db, tenantId, 0);
    const reader = await startReader();
    const got = collect(reader);
    for (let n = 1; n <= 5; n++) {
      await registerAgentInstance(database.db, { tenantId, agentId: agentId(), instanceId: `i-${n}` });
      reader.written();
    }
    await got.until((events) => events.filter((e) => e.kind === 'registered').length >= 5);
    const registered = got.events.filter((e) => e.kind === 'registered');
    expect(registered.map((e) => e.instanceId)).toEqual(['i-1', 'i-2', 'i-3', 'i-4', 'i-5']);
    expect([...got.events].sort(compareEvents)).toEqual(got.events);
    expect(registered[0]).toMatchObject({ tenantId, registrationStatus: 'active', healthStatus: 'healthy' });
    expect(registered[0].occurredAt).toBeInstanceOf(Date);
  });

  it('finds events by polling when nothing calls written()', async () => {
    const tenantId = await createTenant(database.db);
    const reader = await startReader(database.db, { pollIntervalMs: 50 });
    const got = collect(reader);
    await insertEvent(database.db, tenantId, 1);
    await got.until((events) => events.length === 1);
    expect(got.events[0].instanceId).toBe('i-1');
  });

  it('pages through a burst larger than one read', async () => {
    const tenantId = await createTenant(database.db);
    const reader = await startReader(database.db, { pageSize: 7 });
    const got = collect(reader);
    await database.db.query(
      `insert into mcp.registration_events (tenant_id, kind, instance_id)
       select $1, 'stale', 'i-' || n from generate_series(1, 50) n`,
      [tenantId],
    );
    reader.written();
    await got.until((events) => events.length >= 50);
    expect(got.events.map((e) => e.instanceId)).toEqual(Array.from({ length: 50 }, (_, n) => `i-${n + 1}`));
  });

  it('returns listeners to baseline when they unsubscribe', async () => {
    const reader = await startReader();
    const before = reader.listenerCount;
    const collectors = Array.from({ length: 5 }, () => collect(reader));
    expect(reader.listenerCount).toBe(before + 5);
    collectors.forEach((c) => c.stop());
    expect(reader.listenerCount).toBe(before);
  });

  postgresOnly('needs concurrent transactions')(
    'delivers every event exactly once when transactions commit in reverse id order',
    async () => {
      const tenantId = await createTenant(database.db);
      const reader = await startReader();
      const got = collect(reader);
      const writers = await Promise.all(Array.from({ length: 8 }, () => connect()));
      for (const [n, client] of writers.entries()) {
        await client.query('begin');
        await insertEvent(client, tenantId, n);
      }
      // the highest id commits first; the reader reads between every commit
      for (const client of [...writers].reverse()) {
        await client.query('commit');
        reader.written();
        await reader.flush();
      }
      await got.until((events) => events.length >= 8);
      const stored = await database.db.query<{ id: string }>(`select id from mcp.registration_events order by id`);
      expect([...ids(got.events)].sort((a, b) => Number(a) - Number(b))).toEqual(stored.map((r) => r.id));
      expect(new Set(ids(got.events)).size).toBe(got.events.length);
    },
  );

  postgresOnly('needs concurrent transactions')(
    'many concurrent writers holding transactions open: every event exactly once, in (tx_id, id) order',
    async () => {
      const tenantId = await createTenant(database.db);
      const reader = await startReader(database.db, { pollIntervalMs: 1000 });
      const got = collect(reader);
      const writers = await Promise.all(Array.from({ length: 12 }, () => connect()));
      const rounds = 5;
      const flushing = (async () => {
        for (let i = 0; i < 200 && got.events.length < writers.length * rounds * 2; i++) await reader.flush();
      })();
      await Promise.all(
        writers.map(async (client, w) => {
          for (let round = 0; round < rounds; round++) {
            await client.query('begin');
            await insertEvent(client, tenantId, w * 100 + round);
            // later writers sleep less, so higher ids often commit first
            await client.query(`select pg_sleep($1)`, [((writers.length - w) % 4) * 0.01]);
            await registerAgentInstance(
              pgQueryable(client),
              { tenantId, agentId: 'shared-agent', instanceId: `w${w}-r${round}` },
            );
            await client.query('commit');
            reader.written();
          }
        }),
      );
      const [{ count }] = await database.db.query<{ count: number }>(
        `select count(*)::integer as count from mcp.registration_events`,
      );
      await got.until((events) => events.length >= count);
      await flushing;
      await reader.flush();
      expect(got.events).toHaveLength(count);
      expect(new Set(ids(got.events)).size).toBe(count);
      expect([...got.events].sort(compareEvents)).toEqual(got.events);
    },
  );

  postgresOnly('needs a second database on the same server')(
    'is not held back by a transaction left open in another database of the cluster',
    async () => {
      const tenantId = await createTenant(database.db);
      const elsewhere = await createTestDatabase();
      const other = new Client({ connectionString: elsewhere.url });
      await other.connect();
      try {
        // an xid-holding transaction in another database: pg_snapshot_xmin stays below it
        await other.query('begin');
        await other.query('select pg_current_xact_id()');
        const reader = await startReader();
        const got = collect(reader);
        await insertEvent(database.db, tenantId, 1);
        reader.written();
        await got.until((events) => events.length === 1, 5_000);
        expect(got.events[0].instanceId).toBe('i-1');
      } finally {
        await other.query('rollback').catch(() => undefined);
        await other.end();
        await elsewhere.dispose();
      }
    },
  );

  postgresOnly('counts NOTIFYs on a LISTEN connection')(
    'coalesces a burst of written() calls into a leading and a trailing NOTIFY',
    async () => {
      const listener = await connect();
      const payloads: string[] = [];
      listener.on('notification', (message) => payloads.push(message.payload ?? ''));
      await listener.query('listen registry_events');
      const reader = await startReader(database.db, { throttleMs: 200 });
      for (let i = 0; i < 500; i++) reader.written();
      await eventually(() => payloads.length >= 2);
      // notifications arrive in commit order: once this one is here, every earlier one is too
      await database.db.query(`select pg_notify('registry_events', 'sentinel')`);
      await eventually(() => payloads.includes('sentinel'));
      expect(payloads).toEqual(['', '', 'sentinel']);
    },
  );

  postgresOnly('counts NOTIFYs on a LISTEN connection')(
    'a claimed NOTIFY leaves with the write that carried it, and stands in for one waiting on the throttle',
    async () => {
      const tenantId = await createTenant(database.db);
      const listener = await connect();
      const payloads: string[] = [];
      listener.on('notification', (message) => payloads.push(message.payload ?? ''));
      await listener.query('listen registry_events');
      const reader = await startReader(database.db, { throttleMs: 60_000 });
      const channel = reader.claimNotify();
      expect(channel).toBe('registry_events');
      // due again only after the throttle: the next write carries none
      expect(reader.claimNotify()).toBeNull();
      await registerAgentInstance(database.db, { tenantId, agentId: agentId(), instanceId: 'i-1', notify: channel });
      reader.written(true);
      // a plain write now waits on the throttle; the next claim takes its place
      reader.written();
      const again = reader.claimNotify();
      expect(again).toBe('registry_events');
      await registerAgentInstance(database.db, { tenantId, agentId: agentId(), instanceId: 'i-2', notify: again });
      reader.written(true);
      await database.db.query(`select pg_notify('registry_events', 'sentinel')`);
      await eventually(() => payloads.includes('sentinel'));
      expect(payloads).toEqual(['', '', 'sentinel']);
    },
  );

  postgresOnly('kills a backend with pg_terminate_backend')(
    'reconnects its LISTEN connection after the database drops it and loses nothing',
    async () => {
      const tenantId = await createTenant(database.db);
      // a long poll: delivery below depends on the LISTEN connection coming back
      const reader = await startReader(database.db, { pollIntervalMs: 60_000, reconnectMinMs: 20 });
      const got = collect(reader);
      const writerDb = openPostgres(database.url!, 2);
      extraDbs.push(writerDb);
      // another "process": it only NOTIFYs; it does not share the reader
      const writer = new EventLogReader(writerDb, { pollIntervalMs: 60_000 });
      readers.push(writer);
      await writer.start();

      let n = 0;
      const produce = async (count: number) => {
        for (let i = 0; i < count; i++) {
          await insertEvent(writerDb, tenantId, n++);
          writer.written();
        }
      };
      await produce(5);
      await got.until((events) => events.length >= 5);

      const pid = reader.listenerBackendPid;
      expect(pid).not.toBeNull();
      const flowing = produce(20);
      await database.db.query(`select pg_terminate_backend($1)`, [pid]);
      await flowing;
      await eventually(() => reader.listenerBackendPid !== null && reader.listenerBackendPid !== pid);
      await produce(5);
      await got.until((events) => events.length >= 30);
      expect(got.events.map((e) => e.instanceId)).toEqual(Array.from({ length: 30 }, (_, i) => `i-${i}`));
    },
  );

  it('reads with index probes only, however long the log (no sequential scan of the events)', async () => {
    const { db } = database;
    const tenant = await createTenant(db);
    await db.query(
      `insert into mcp.registration_events (tenant_id, kind, instance_id)
       select $1, 'stale', 'i-' || n from generate_series(1, 40000) n`,
      [tenant],
    );
    await db.exec('analyze mcp.registration_events');
    const [{ tx_id: last }] = await db.query<{ tx_id: string }>(
      `select max(tx_id)::text as tx_id from mcp.registration_events`,
    );
    // the reader's statement with its parameters as literals: a cursor at the end of the log
    const statement = READ_PAGE.replace('$1::bigint', `${last}::bigint`)
      .replace('$2::bigint', '0::bigint')
      .replace('$3', '1000');
    const plan = (await db.query<{ 'QUERY PLAN': string }>(`explain ${statement}`)).map((row) => row['QUERY PLAN']);
    expect(plan.join('\n')).toMatch(/Index (Only )?Scan.* on registration_events/);
    expect(plan.filter((line) => /Seq Scan on registration_events/.test(line))).toEqual([]);
  });
});
