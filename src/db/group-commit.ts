import { AppError, ErrorCode } from '../errors';

export interface GroupCommitOptions<R> {
  /** Most items in one statement. Default 2000. */
  maxBatch?: number;
  /**
   * Under a stream, statements start at least this long apart (ms; default 0). When items
   * were queued while a statement ran, the next statement waits until this long after the
   * previous one started (or until `maxBatch` items are queued), so that more items share it.
   * An idle writer (nothing queued when its last statement committed) writes at once.
   */
  minIntervalMs?: number;
  /** Called with the size of every batch written or failed (a metric). */
  onBatch?: (size: number) => void;
  /** Called with the results of every batch that committed. */
  onWritten?: (results: R[]) => void;
  /** Called with the cause when a batch could not be written (its items fail with UNAVAILABLE). */
  onError?: (error: unknown) => void;
}

/** One submission: an item (`submit`), or several that settle together (`submitMany`). */
type Pending<I, R> =
  | { item: I; items?: undefined; resolve: (result: R) => void; reject: (error: unknown) => void }
  | { items: I[]; resolve: (results: R[]) => void; reject: (error: unknown) => void };

const sizeOf = (p: { items?: unknown[] }): number => (p.items === undefined ? 1 : p.items.length);

/**
 * Group commit: the first item on an idle writer is written at once; while a write is in
 * flight, arrivals queue, and the next write takes them all (up to `maxBatch`) in one
 * statement (`write`, which returns one result per item, in order). An item's promise
 * settles only after its batch committed, so an acknowledgement always means "stored"; when
 * a batch fails, nothing of it was stored and every item in it fails with UNAVAILABLE
 * (`what` names them in the message). Heartbeats and outcome reports are written this way.
 *
 * `minIntervalMs` spaces statements under a stream (as PostgreSQL's commit_delay, which
 * waits only when other transactions are active, or a Kafka producer's linger.ms): fewer,
 * larger statements for a bounded wait. Outcome reports use it; heartbeats do not (their
 * acknowledgement latency is what agents see).
 */
export class GroupCommitWriter<I, R> {
  private queue: Pending<I, R>[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;
  private readonly maxBatch: number;
  private readonly minIntervalMs: number;
  /** Items queued (a submitMany counts its items). */
  private queued = 0;
  /** When the last statement started (performance.now()). */
  private lastStart = Number.NEGATIVE_INFINITY;
  /** Ends the current wait for the interval early (a full batch queued, or closing). */
  private wake: (() => void) | null = null;

  constructor(
    private readonly what: string,
    private readonly write: (items: I[]) => Promise<R[]>,
    private readonly options: GroupCommitOptions<R> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  /** Queues an item; resolves with its result after its batch committed. */
  submit(item: I): Promise<R> {
    if (this.closed) {
      return Promise.reject(new AppError(ErrorCode.UNAVAILABLE, 'the registry is shutting down'));
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.queued += 1;
      this.arrived();
    });
  }

  /**
   * Queues several items that go into the same batch (which may then exceed `maxBatch` by
   * less than one submission); resolves with their results, in order, after that batch
   * committed. One promise for all of them: a message of many outcome reports costs one.
   */
  submitMany(items: I[]): Promise<R[]> {
    if (this.closed) {
      return Promise.reject(new AppError(ErrorCode.UNAVAILABLE, 'the registry is shutting down'));
    }
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queued += items.length;
      this.arrived();
    });
  }

  /** Waits until every item submitted so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Refuses new items and flushes the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.flush();
  }

  private arrived(): void {
    if (!this.writing) this.writing = this.drain();
    else if (this.wake && this.queued >= this.maxBatch) this.wake();
  }

  /** How long the next statement of a stream waits: until `minIntervalMs` after the last one started, unless a batch is full. */
  private spacing(): number {
    if (this.queued >= this.maxBatch || this.closed) return 0;
    return this.lastStart + this.minIntervalMs - performance.now();
  }

  private spaced(wait: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.wake = done;
    });
  }

  /** The next submissions to write: the first, then more while their items fit in maxBatch. */
  private takeBatch(): Pending<I, R>[] {
    let count = sizeOf(this.queue[0]);
    let end = 1;
    while (end < this.queue.length && count + sizeOf(this.queue[end]) <= this.maxBatch) {
      count += sizeOf(this.queue[end]);
      end++;
    }
    this.queued -= count;
    return this.queue.splice(0, end);
  }

  private async drain(): Promise<void> {
    try {
      for (let first = true; this.queue.length > 0; first = false) {
        // items queued while the previous statement ran: a stream, so the next statement is
        // spaced; an idle writer's first item is written in the submitter's tick, so that a
        // caller that waits for each acknowledgement is never slowed
        const wait = first ? 0 : this.spacing();
        if (wait > 0) await this.spaced(wait);
        const batch = this.takeBatch();
        this.lastStart = performance.now();
        const items: I[] = [];
        for (const p of batch) {
          if (p.items === undefined) items.push(p.item);
          else for (const item of p.items) items.push(item);
        }
        try {
          const results = await this.write(items);
          let at = 0;
          for (const p of batch) {
            if (p.items === undefined) p.resolve(results[at++]);
            else {
              p.resolve(results.slice(at, at + p.items.length));
              at += p.items.length;
            }
          }
          this.options.onBatch?.(items.length);
          this.options.onWritten?.(results);
        } catch (error) {
          const failure = new AppError(ErrorCode.UNAVAILABLE, `${this.what} could not be stored; retry`);
          batch.forEach((p) => p.reject(failure));
          this.options.onBatch?.(items.length);
          this.options.onError?.(error);
        }
      }
    } finally {
      this.writing = null;
    }
  }
}
