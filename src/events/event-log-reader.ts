import type { Client } from 'pg';
import { type Database, loadPg } from '../db/client';
import type { Logger } from '../logger';
import { EVENT_COLUMNS, type EventRow, toRegistryEvent } from './event-rows';
import type { EventFeed, LogPosition, RegistryEvent } from './types';

export interface EventLogReaderOptions {
  /** Reads the log at least this often even when nothing wakes the reader. Default 500 ms. */
  pollIntervalMs?: number;
  /** At most one NOTIFY, and one read started by a wake-up, per this many ms. Default 5 ms. */
  throttleMs?: number;
  /** Events per read. Default 1000. */
  pageSize?: number;
  /** The LISTEN/NOTIFY channel. Default `registry_events`. */
  channel?: string;
  /** Listener reconnect backoff: first delay, doubled up to `reconnectMaxMs`. Defaults 100 ms and 5 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  logger?: Logger;
  /** Called with the number of events of every delivery (a metric). */
  onDelivered?: (count: number) => void;
}

/**
 * The end of the readable window, in one statement's snapshot: the snapshot's xmin, except
 * that transactions running in OTHER databases of the cluster are skipped. Transaction
 * ids are cluster-wide, so plain `pg_snapshot_xmin` would let a long transaction in any
 * database stall this registry's delivery (seen in tests: an idle-in-transaction session
 * of another database held it for minutes). A backend stays in one database, so an xid
 * positively seen running elsewhere can never write our events; an xid we cannot place
 * (finished meanwhile, prepared, a subtransaction) still holds the window: conservative.
 */
export const WINDOW_END = `(select least(
    pg_snapshot_xmax(s.snap)::text::bigint,
    (select min(x::text::bigint) from pg_snapshot_xip(s.snap) x
     where (x::text::bigint % 4294967296)::text not in (
       select a.backend_xid::text from pg_stat_get_activity(null) a
       where a.backend_xid is not null
         and a.datid <> (select oid from pg_database where datname = current_database()))))
  from (select pg_current_snapshot() as snap) s)`;

/**
 * One read: the window end, whether committed events wait above it, and up to $3 events
 * after the cursor ($1, $2) and below the window end. Every part is an index probe:
 * `more` comes from max(tx_id), because an `exists (… where tx_id >= x)` was planned as a
 * sequential scan of the whole log (3.7 ms at 34,000 events, growing with retention).
 */
export const READ_PAGE = `with w as materialized (select ${WINDOW_END} as x)
  select w.x::text as window_end,
         coalesce((select max(m.tx_id) from mcp.registration_events m) >= w.x, false) as more,
         page.*
  from w left join lateral (
    select ${EVENT_COLUMNS}
    from mcp.registration_events e
    where (e.tx_id, e.id) > ($1::bigint, $2::bigint) and e.tx_id < w.x
    order by e.tx_id, e.id
    limit $3
  ) page on true`;

type Listener = (events: readonly RegistryEvent[]) => void;

interface WindowRow extends Partial<EventRow> {
  window_end: string;
  more: boolean;
}

/**
 * The event feed of one process: reads mcp.registration_events and hands every event to
 * every listener, in (tx_id, id) order, each exactly once.
 *
 * Why it never skips an event: ids are assigned before commit, so a reader that
 * remembers the highest id can miss a row whose transaction commits later. Instead each
 * read takes a window end X below which every transaction that could write to this
 * database has finished (so all its rows are visible), reads the rows with
 * `cursor <= tx_id < X`, and moves the cursor to X. A long-open writing transaction in
 * this database therefore delays delivery, never loses it. See {@link WINDOW_END}.
 *
 * What wakes it: {@link written} (called by services after their commits) reads at once
 * in this process and sends one coalesced `NOTIFY` per `throttleMs` for the others; a
 * dedicated LISTEN connection (PostgreSQL) wakes this process for their writes, and a
 * poll every `pollIntervalMs` covers anything else (a lost connection, a NOTIFY that
 * never came). The NOTIFY is sent on the pool after commit, never inside a write
 * transaction (NOTIFY serialises commits). On PGlite the same code runs woken in-process.
 *
 * While nobody in this process listens, wake-ups do not read (a registration would
 * otherwise cost a read of the log besides its write); the poll still moves the position
 * along, and {@link catchUp} reads before a new subscriber takes the position. The NOTIFY
 * for other processes is sent either way.
 */
export class EventLogReader implements EventFeed {
  private readonly listeners = new Set<Listener>();
  private cursor: LogPosition | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** A wake-up was skipped (nobody listened) since the last read started: the position lags. */
  private behind = false;
  private stopped = true;
  private lastReadAt = 0;
  private lastNotifyAt = 0;
  private readTimer: NodeJS.Timeout | null = null;
  private notifyTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = 0;
  private listenClient: Client | null = null;
  private listenPid: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs: number;
  private readonly pollIntervalMs: number;
  private readonly throttleMs: number;
  private readonly pageSize: number;
  private readonly channel: string;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;

  constructor(
    private readonly db: Database,
    private readonly options: EventLogReaderOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.throttleMs = options.throttleMs ?? 5;
    this.pageSize = options.pageSize ?? 1000;
    this.channel = options.channel ?? 'registry_events';
    this.reconnectMinMs = options.reconnectMinMs ?? 100;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
    this.reconnectDelayMs = this.reconnectMinMs;
  }

  /** Starts live: at the current snapshot's xmin. Opens the LISTEN connection on PostgreSQL. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const [row] = await this.db.query<{ x: string }>(`select (${WINDOW_END})::text as x`);
    this.cursor = { txId: row.x, id: '0' };
    this.stopped = false;
    if (this.db.kind === 'postgres' && this.db.url) await this.connectListener();
    this.schedulePoll();
  }

  /** Stops reading after one last read (so events committed before shutdown go out), and closes the LISTEN connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.flush();
    this.stopped = true;
    for (const timer of [this.readTimer, this.notifyTimer, this.pollTimer, this.reconnectTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.readTimer = this.notifyTimer = this.pollTimer = this.reconnectTimer = null;
    const client = this.listenClient;
    this.listenClient = null;
    this.listenPid = null;
    if (client) await client.end().catch(() => undefined);
    while (this.running) await this.running;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** `notified`: the write carried the NOTIFY it got from {@link claimNotify}. */
  written(notified = false): void {
    if (this.stopped) return;
    this.wake();
    if (notified || this.db.kind !== 'postgres') return;
    if (this.notifyTimer) return;
    const wait = this.lastNotifyAt + this.throttleMs - Date.now();
    if (wait <= 0) {
      this.notify();
    } else {
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = null;
        this.notify();
      }, wait);
      this.notifyTimer.unref();
    }
  }

  /**
   * Brings the position up to date when wake-ups were skipped while nobody listened; call
   * before taking {@link position} for a new subscriber, so that "live" starts now.
   */
  async catchUp(): Promise<void> {
    if (this.behind) await this.flush();
  }

  /**
   * The channel for a write to NOTIFY in its own statement, when a NOTIFY is due: none went
   * out within `throttleMs`, or one is waiting on the throttle (this write commits after the
   * commits it waits for, so its NOTIFY covers them and the waiting one is dropped).
   */
  claimNotify(): string | null {
    if (this.stopped || this.db.kind !== 'postgres') return null;
    const now = Date.now();
    if (!this.notifyTimer && now - this.lastNotifyAt < this.throttleMs) return null;
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyTimer = null;
    this.lastNotifyAt = now;
    return this.channel;
  }

  /** Reads once more now and waits until that read is done. */
  async flush(): Promise<void> {
    if (this.stopped) return;
    this.again = true;
    this.run();
    while (this.running) await this.running;
  }

  /** Where delivery stands: every event at or before this position has been handed out. Null before start(). */
  get position(): LogPosition | null {
    return this.cursor ? { ...this.cursor } : null;
  }

  /** Listeners registered now (a gauge, and tests that check they return to baseline). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The backend pid of the LISTEN connection (PostgreSQL), or null while it is down. */
  get listenerBackendPid(): number | null {
    return this.listenPid;
  }

  /** Asks for a read soon: at once unless one started within `throttleMs`. */
  private wake(): void {
    if (this.stopped || this.readTimer) return;
    if (this.listeners.size === 0) {
      this.behind = true;
      return;
    }
    const wait = this.lastReadAt + this.throttleMs - Date.now();
    if (wait <= 0) {
      this.again = true;
      this.run();
      return;
    }
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      this.again = true;
      this.run();
    }, wait);
    this.readTimer.unref();
  }

  private run(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      try {
        while (this.again && !this.stopped) {
          this.again = false;
          this.behind = false;
          this.lastReadAt = Date.now();
          await this.readAll();
        }
      } finally {
        this.running = null;
      }
    })();
  }

  /** Reads pages until the window below xmin is exhausted; schedules a quick retry while committed events wait above it. */
  private async readAll(): Promise<void> {
    let more = false;
    try {
      for (;;) {
        const cursor = this.cursor!;
        const rows = await this.db.query<WindowRow>(
          READ_PAGE,
          [cursor.txId, cursor.id, this.pageSize],
          'registry_events_read',
        );
        const events = rows.filter((row) => row.id != null).map((row) => toRegistryEvent(row as EventRow));
        const windowEnd = rows[0].window_end;
        more = rows[0].more;
        if (events.length === this.pageSize) {
          const last = events[events.length - 1];
          this.cursor = { txId: last.txId, id: last.id };
          this.deliver(events);
          continue;
        }
        if (BigInt(windowEnd) > BigInt(cursor.txId)) this.cursor = { txId: windowEnd, id: '0' };
        if (events.length > 0) this.deliver(events);
        break;
      }
      this.retryDelayMs = more ? Math.min(Math.max(this.retryDelayMs * 2, this.throttleMs), this.pollIntervalMs) : 0;
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'event log read failed; retrying');
      this.retryDelayMs = this.pollIntervalMs;
    }
    this.schedulePoll();
  }

  private deliver(events: readonly RegistryEvent[]): void {
    this.options.onDelivered?.(events.length);
    for (const listener of [...this.listeners]) {
      try {
        listener(events);
      } catch (error) {
        this.options.logger?.error({ err: error }, 'event listener failed');
      }
    }
  }

  /** The next read: soon while committed events wait behind an open transaction, else after the poll interval. */
  private schedulePoll(): void {
    if (this.stopped) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.again = true;
      this.run();
    }, this.retryDelayMs || this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private notify(): void {
    this.lastNotifyAt = Date.now();
    this.db.query(`select pg_notify($1, '')`, [this.channel]).catch((error: unknown) => {
      this.options.logger?.warn({ err: error }, 'event notify failed (readers will poll)');
    });
  }

  private async connectListener(): Promise<void> {
    if (this.stopped) return;
    const client = new (loadPg().Client)({ connectionString: this.db.url, application_name: 'agent-registry-events' });
    const lost = (error?: unknown) => this.listenerLost(client, error);
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', () => this.wake());
    try {
      await client.connect();
      const [row] = (await client.query<{ pid: number }>(`select pg_backend_pid() as pid`)).rows;
      await client.query(`listen ${this.channel}`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listenClient = client;
      this.listenPid = row.pid;
      this.reconnectDelayMs = this.reconnectMinMs;
      // catch up on whatever was committed while we were not listening
      this.wake();
    } catch (error) {
      lost(error);
    }
  }

  private listenerLost(client: Client, error?: unknown): void {
    if (this.stopped || (this.listenClient && this.listenClient !== client)) return;
    if (!this.listenClient && this.reconnectTimer) return;
    this.listenClient = null;
    this.listenPid = null;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    const delay = Math.round(this.reconnectDelayMs * (0.5 + Math.random() / 2));
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.reconnectMaxMs);
    this.options.logger?.warn({ err: error, retryInMs: delay }, 'event listener connection lost; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connectListener();
    }, delay);
    this.reconnectTimer.unref();
  }
}
