import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { AppError, ErrorCode } from '../errors';
import {
  type CircuitPolicy,
  type OutcomeItem,
  type OutcomeReportResult,
  reportInstanceOutcomes,
} from './routing-sql';

export interface OutcomeWriterOptions {
  policy: CircuitPolicy;
  /** Most reports in one statement. Default 2000. */
  maxBatch?: number;
  /** Test clock; by default the database's clock. */
  clock?: Clock;
  /** Called with the size of every batch written or failed (a metric). */
  onBatch?: (size: number) => void;
  /** Called after a batch that ejected or restored instances committed (wakes the event readers). */
  onTransitions?: () => void;
  /** Called with the cause when a batch could not be written (its reports fail with UNAVAILABLE). */
  onError?: (error: unknown) => void;
}

interface Pending {
  item: OutcomeItem;
  resolve: (result: OutcomeReportResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for outcome reports, as {@link HeartbeatWriter} does for heartbeats: the
 * first report on an idle writer is written at once; while a write is in flight, arrivals
 * queue, and the next write takes them all (up to `maxBatch`) in one statement
 * (mcp.report_instance_outcomes). A report is acknowledged only after its batch committed.
 */
export class OutcomeWriter {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;
  private readonly maxBatch: number;

  constructor(
    private readonly db: Queryable,
    private readonly options: OutcomeWriterOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
  }

  /** Queues a report; resolves with what it did after its batch committed. */
  submit(item: OutcomeItem): Promise<OutcomeReportResult> {
    if (this.closed) {
      return Promise.reject(new AppError(ErrorCode.UNAVAILABLE, 'the registry is shutting down'));
    }
    return new Promise<OutcomeReportResult>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Waits until every report submitted so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Refuses new reports and flushes the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await reportInstanceOutcomes(
            this.db,
            batch.map((p) => p.item),
            this.options.policy,
            this.options.clock?.now(),
          );
          batch.forEach((p, i) => p.resolve(results[i]));
          this.options.onBatch?.(batch.length);
          if (results.some((r) => r.result === 'ejected' || r.result === 'restored')) this.options.onTransitions?.();
        } catch (error) {
          // nothing of this batch was stored: every report in it fails, none is acknowledged
          const failure = new AppError(ErrorCode.UNAVAILABLE, 'outcome could not be stored; retry');
          batch.forEach((p) => p.reject(failure));
          this.options.onBatch?.(batch.length);
          this.options.onError?.(error);
        }
      }
    } finally {
      this.writing = null;
    }
  }
}
