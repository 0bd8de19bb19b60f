import { type Clock } from '../clock';
import type { Queryable } from '../db/client';
import { recommendScaling, type ScalingComputation } from '../db/scaling-sql';
import type { Logger } from '../logger';

export interface ScalingRecommenderOptions {
  db: Queryable;
  logger: Logger;
  /** Test clock; by default the database's clock stamps the computation. */
  clock?: Clock;
  /** HPA's target utilisation. Default 0.7. */
  targetUtilisation?: number;
  /** Tolerance band around the target. Default 0.1. */
  tolerance?: number;
  /** Scale-down stabilisation window. Default 5 min. */
  stabilisationMs?: number;
  /** How often it computes. Default 15 s. */
  intervalMs?: number;
  /** Called when a computation wrote scaling_recommended events (wakes the event readers). */
  onWritten?: () => void;
}

/**
 * The periodic scaling signal: every `intervalMs`, mcp.recommend_scaling computes the
 * recommendation of every configuration (one process at a time, idempotent, state and
 * window in PostgreSQL, an event per change). It recommends; it never starts or stops
 * instances.
 */
export class ScalingRecommender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ScalingComputation[]> | null = null;

  constructor(private readonly options: ScalingRecommenderOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.recommend().catch((error: unknown) => this.options.logger.error({ err: error }, 'scaling computation failed'));
    }, this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a computation in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /**
   * One computation now (the timer calls this; tests call it with a controlled clock).
   * Empty when another process (or this one) is computing at this moment.
   */
  recommend(): Promise<ScalingComputation[]> {
    if (this.running) return Promise.resolve([]);
    this.running = this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<ScalingComputation[]> {
    const computed = await recommendScaling(this.options.db, {
      targetUtilisation: this.options.targetUtilisation ?? 0.7,
      tolerance: this.options.tolerance ?? 0.1,
      stabilisationMs: this.options.stabilisationMs ?? 300_000,
      now: this.options.clock?.now(),
    });
    const changed = computed.filter((c) => c.changed);
    for (const c of changed) {
      this.options.logger.info(
        { tenantId: c.tenantId, agentId: c.agentId, active: c.active, utilisation: c.utilisation, desired: c.desired, previous: c.previousDesired },
        'scaling recommendation changed',
      );
    }
    if (changed.length > 0) this.options.onWritten?.();
    return computed;
  }
}
