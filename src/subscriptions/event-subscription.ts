import type { Queryable } from '../db/client';
import { type EventFilter, matchesFilter, readEventsBetween } from '../events/event-replay';
import { compareEvents } from '../events/event-rows';
import type { EventFeed, LogPosition, RegistryEvent } from '../events/types';

/** The live feed a subscription listens to, and how far it has delivered. */
export interface PositionedFeed extends Pick<EventFeed, 'subscribe' | 'catchUp'> {
  readonly position: LogPosition | null;
}

export interface EventSubscriptionOptions {
  feed: PositionedFeed;
  db: Queryable;
  filter: EventFilter;
  /** Resume: first replay the filter's events after this position, from the log. Default: live only. */
  since?: LogPosition | null;
  /** Most live events buffered for a subscriber that does not keep up. Default 1000. */
  maxQueue?: number;
  /** Events read from the log per page (replay and catch-up). Default 500. */
  pageSize?: number;
  /** Called each time the buffer overflowed and the subscriber fell back to the log. */
  onOverflow?: () => void;
  /** Called once when the subscription ends. */
  onEnd?: () => void;
}

const after = (event: RegistryEvent, position: LogPosition) => compareEvents(event, position) > 0;

/**
 * One subscriber's stream of registry events, as an async iterator: in log order, each
 * event once, nothing skipped.
 *
 * Two sources. The log, read page by page as the subscriber consumes (pull, so memory
 * stays one page), covers `(from, upTo]`; the live feed covers what comes after `upTo`.
 * `upTo` is the feed's position read in the same tick the live listener is attached:
 * everything at or before it was delivered before we listened, everything the listener
 * receives after it. That makes the seam exact (no gap, no duplicate) for `since`.
 *
 * A subscriber that falls behind: live events wait in a queue of at most `maxQueue`.
 * One more, and the queue is dropped and the subscription goes back to the log from the
 * last event it consumed up to the feed's position now, then live again. Memory stays
 * bounded, the slow subscriber loses nothing, and no one else waits for it (the transport
 * only pulls the next event after the previous one was written to the socket).
 */
export class EventSubscription implements AsyncIterableIterator<RegistryEvent> {
  private queue: RegistryEvent[] = [];
  private page: RegistryEvent[] = [];
  /** Reading the log after this position, up to `upTo`; null when live. */
  private from: LogPosition | null;
  private upTo: LogPosition;
  /** The last event handed to the subscriber (or where it started). */
  private consumed: LogPosition;
  private waiting: ((result: IteratorResult<RegistryEvent>) => void) | null = null;
  private ended = false;
  private readonly unsubscribe: () => void;
  private readonly maxQueue: number;
  private readonly pageSize: number;

  constructor(private readonly options: EventSubscriptionOptions) {
    const position = options.feed.position;
    if (!position) throw new Error('the event feed has not started');
    this.maxQueue = options.maxQueue ?? 1000;
    this.pageSize = options.pageSize ?? 500;
    this.upTo = position;
    this.from = options.since ?? null;
    this.consumed = options.since ?? position;
    // a `since` from a process whose reader is ahead of ours: live starts after it
    if (this.from && compareEvents(this.from, position) > 0) this.upTo = this.from;
    this.unsubscribe = options.feed.subscribe((events) => this.push(events));
  }

  /** Live events waiting for the subscriber. */
  get queued(): number {
    return this.queue.length;
  }

  async next(): Promise<IteratorResult<RegistryEvent>> {
    while (!this.ended) {
      const fromPage = this.page.shift();
      if (fromPage) return this.yield(fromPage);
      if (this.from) {
        const target = this.upTo;
        const events = await readEventsBetween(this.options.db, this.options.filter, this.from, target, this.pageSize);
        if (this.ended) break;
        if (events.length > 0) {
          const last = events[events.length - 1];
          this.from = { txId: last.txId, id: last.id };
          this.page = events;
        }
        // done with the log once a short page came back and no overflow moved the target meanwhile
        if (events.length < this.pageSize && target === this.upTo) this.from = null;
        continue;
      }
      const live = this.queue.shift();
      if (live) return this.yield(live);
      return new Promise((resolve) => {
        this.waiting = resolve;
      });
    }
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<RegistryEvent>> {
    this.end();
    return { done: true, value: undefined };
  }

  async throw(): Promise<IteratorResult<RegistryEvent>> {
    this.end();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private yield(event: RegistryEvent): IteratorResult<RegistryEvent> {
    this.consumed = { txId: event.txId, id: event.id };
    return { done: false, value: event };
  }

  private push(events: readonly RegistryEvent[]): void {
    for (const event of events) {
      if (this.ended) return;
      // another tenant's (the cheap test first, for every subscriber); at or before upTo: the log read covers it
      if (!matchesFilter(this.options.filter, event) || !after(event, this.upTo)) continue;
      if (this.waiting && !this.from && this.page.length === 0 && this.queue.length === 0) {
        const resolve = this.waiting;
        this.waiting = null;
        resolve(this.yield(event));
        continue;
      }
      this.queue.push(event);
      if (this.queue.length > this.maxQueue) this.fallBackToLog();
    }
  }

  /** Drops the queue and reads from the log instead: from what was consumed to the feed's position now. */
  private fallBackToLog(): void {
    this.queue = [];
    const position = this.options.feed.position!;
    if (compareEvents(position, this.upTo) > 0) this.upTo = position;
    if (!this.from) this.from = this.page.length > 0 ? this.lastOfPage() : this.consumed;
    this.options.onOverflow?.();
  }

  private lastOfPage(): LogPosition {
    const last = this.page[this.page.length - 1];
    return { txId: last.txId, id: last.id };
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    this.queue = [];
    this.page = [];
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.({ done: true, value: undefined });
    this.options.onEnd?.();
  }
}
