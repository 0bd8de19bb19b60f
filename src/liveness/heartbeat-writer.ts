import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { heartbeatInstances, type HeartbeatItem, type HeartbeatResult } from '../db/registry-sql';
import { AppError, ErrorCode } from '../errors';

export interface HeartbeatWriterOptions {
  /** Most heartbeats in one statement. Default 2000. */
  maxBatch?: number;
  /** Test clock; by default the database's clock stamps heartbeats. */
  clock?: Clock;
  /** Called with the size of every batch written or failed (a metric). */
  onBatch?: (size: number) => void;
  /** Called with the cause when a batch could not be written (its heartbeats fail with UNAVAILABLE). */
  onError?: (error: unknown) => void;
}

interface Pending {
  item: HeartbeatItem;
  resolve: (result: HeartbeatResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for heartbeats, the hot path. The first heartbeat on an idle writer is
 * written at once; while a write is in flight, arrivals queue, and the next write takes
 * them all (up to `maxBatch`) in one statement. A heartbeat's promise settles only after
 * its batch committed, so an acknowledgement always means "stored".
 */
export class HeartbeatWriter {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;
  private readonly maxBatch: number;

  constructor(
    private readonly db: Queryable,
    private readonly options: HeartbeatWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
  }

  /** Queues a heartbeat; resolves with its outcome after its batch committed. */
  submit(item: HeartbeatItem): Promise<HeartbeatResult> {
    if (this.closed) {
      return Promise.reject(new AppError(ErrorCode.UNAVAILABLE, 'the registry is shutting down'));
    }
    return new Promise<HeartbeatResult>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Waits until every heartbeat submitted so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Refuses new heartbeats and flushes the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await heartbeatInstances(
            this.db,
            batch.map((p) => p.item),
            this.options.clock?.now(),
          );
          batch.forEach((p, i) => p.resolve(results[i]));
          this.options.onBatch?.(batch.length);
        } catch (error) {
          // nothing of this batch was stored: every heartbeat in it fails, none is acknowledged
          const failure = new AppError(ErrorCode.UNAVAILABLE, 'heartbeat could not be stored; retry');
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
