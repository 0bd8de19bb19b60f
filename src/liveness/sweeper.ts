import { type Clock, systemClock } from '../clock';
import type { Queryable } from '../db/client';
import { markStaleInstances, pruneEvents, purgeRegistrations, type StaleSweepTenant } from '../db/registry-sql';
import type { Logger } from '../logger';

export interface StaleSweeperOptions {
  db: Queryable;
  logger: Logger;
  /** Test clock; by default the process's clock measures the grace and the database's stamps rows. */
  clock?: Clock;
  /** An active instance without a heartbeat for this long is marked stale. Default 45 s. */
  staleAfterMs?: number;
  /** How often the sweep runs. Default 5 s. */
  sweepIntervalMs?: number;
  /** Stale and deregistered registrations are deleted after this long. Default 24 h. */
  purgeAfterMs?: number;
  /** Events older than this are deleted. Default 7 days. */
  eventRetentionMs?: number;
  /** How often purge and event pruning run at most. Default 60 s. */
  purgeEveryMs?: number;
  /** Self-preservation: the share of a tenant's active instances one sweep may mark stale. Default 0.5. */
  selfPreservationShare?: number;
  /** Self-preservation applies to tenants with at least this many active instances. Default 10. */
  selfPreservationMinActive?: number;
  /** Self-preservation gives up holding after this long. Default 10 min. */
  selfPreservationCeilingMs?: number;
  /** Called with the number of tenants held back after every sweep (a gauge). */
  onHeld?: (tenants: number) => void;
  /** Called when a sweep changed rows (wakes the event readers). */
  onWritten?: () => void;
}

/** What one call of {@link StaleSweeper.sweep} did. */
export interface SweepReport {
  /** `grace`: still within one stale timeout of start(); `busy`: another sweep of this process was running. */
  skipped?: 'grace' | 'busy';
  marked: number;
  held: StaleSweepTenant[];
  purged: number;
  pruned: number;
}

/**
 * The periodic stale sweep: marks instances without a heartbeat for `staleAfterMs` stale
 * (SQL mcp.mark_stale_instances: idempotent, one sweeper at a time across processes),
 * holds back per tenant under self-preservation, and now and then purges old
 * registrations and events. Restart grace: nothing is marked stale until one full
 * `staleAfterMs` after start(), so agents have time to reconnect after a restart.
 */
export class StaleSweeper {
  private readonly clock: Clock;
  private startedAt: number | null = null;
  private lastPurgeAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepReport> | null = null;
  private holding = new Set<string>();

  constructor(private readonly options: StaleSweeperOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts the grace period now and sweeps every `sweepIntervalMs`. */
  start(): void {
    this.startedAt = this.clock.now().getTime();
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.options.logger.error({ err: error }, 'stale sweep failed'));
    }, this.options.sweepIntervalMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One sweep now (the timer calls this; tests call it with a controlled clock). */
  sweep(): Promise<SweepReport> {
    if (this.running) return Promise.resolve({ skipped: 'busy', marked: 0, held: [], purged: 0, pruned: 0 });
    this.running = this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<SweepReport> {
    const { db, logger } = this.options;
    const staleAfterMs = this.options.staleAfterMs ?? 45_000;
    const now = this.clock.now();
    // the database stamps rows unless a test clock was injected
    const stamp = this.options.clock ? now : undefined;
    if (this.startedAt === null) this.startedAt = now.getTime();
    if (now.getTime() - this.startedAt < staleAfterMs) {
      return { skipped: 'grace', marked: 0, held: [], purged: 0, pruned: 0 };
    }

    const tenants = await markStaleInstances(db, {
      now: stamp,
      staleAfterMs,
      maxShare: this.options.selfPreservationShare ?? 0.5,
      minActive: this.options.selfPreservationMinActive ?? 10,
      holdCeilingMs: this.options.selfPreservationCeilingMs ?? 600_000,
    });
    const held = tenants.filter((t) => t.held);
    const marked = tenants.reduce((sum, t) => sum + t.marked, 0);
    // warn when a hold begins (and on every sweep at debug), say when it ends
    const holding = new Set(held.map((t) => t.tenantId));
    for (const t of held) {
      logger[this.holding.has(t.tenantId) ? 'debug' : 'warn'](
        { tenantId: t.tenantId, candidates: t.candidates, active: t.active, heldSince: t.heldSince },
        'self-preservation: holding back the stale sweep for a tenant',
      );
    }
    for (const tenantId of this.holding) {
      if (!holding.has(tenantId)) logger.info({ tenantId }, 'self-preservation: no longer holding back for a tenant');
    }
    this.holding = holding;
    if (marked > 0) logger.info({ marked }, 'marked instances stale');
    this.options.onHeld?.(held.length);

    let purged = 0;
    let pruned = 0;
    if (now.getTime() - this.lastPurgeAt >= (this.options.purgeEveryMs ?? 60_000)) {
      this.lastPurgeAt = now.getTime();
      purged = await purgeRegistrations(db, this.options.purgeAfterMs ?? 86_400_000, stamp);
      pruned = await pruneEvents(db, this.options.eventRetentionMs ?? 7 * 86_400_000, stamp);
      if (purged > 0) logger.info({ purged }, 'purged old registrations');
    }
    if (marked > 0 || held.length > 0 || purged > 0) this.options.onWritten?.();
    return { marked, held, purged, pruned };
  }
}
