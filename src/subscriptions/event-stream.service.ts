import type { Queryable } from '../db/client';
import { badInput } from '../errors';
import { positionOf } from '../events/event-replay';
import type { EventKind } from '../events/types';
import { checkAgentId } from '../validation';
import { EventSubscription, type PositionedFeed } from './event-subscription';

export interface EventStreamRequest {
  agentId?: string | null;
  kinds?: readonly EventKind[] | null;
  /** Resume after this event id (one of the tenant's events still in the log). */
  since?: string | null;
}

export interface EventStreamDeps {
  feed: PositionedFeed;
  db: Queryable;
  /** Per-subscription buffer (SUBSCRIPTION_MAX_QUEUE). Default 1000. */
  maxQueue?: number;
  /** Called when a subscriber fell behind and went back to the log (a metric). */
  onOverflow?: () => void;
}

/**
 * Opens tenant-scoped event streams and counts the open ones. The tenant always comes
 * from the caller's key (the resolver passes it); a `since` that is not one of that
 * tenant's events in the log (unknown, another tenant's, or already pruned) is
 * BAD_USER_INPUT, because resuming from it could not promise a gapless stream.
 */
export class EventStreamService {
  private readonly open = new Set<EventSubscription>();

  constructor(private readonly deps: EventStreamDeps) {}

  /** Streams open right now. */
  get size(): number {
    return this.open.size;
  }

  /** Live events buffered across every open stream. */
  get queued(): number {
    let total = 0;
    for (const stream of this.open) total += stream.queued;
    return total;
  }

  async subscribe(tenantId: string, request: EventStreamRequest): Promise<EventSubscription> {
    const agentId = request.agentId == null ? null : checkAgentId(request.agentId);
    let since = null;
    if (request.since != null) {
      since = await positionOf(this.deps.db, tenantId, request.since);
      if (!since) throw badInput(`since: event ${request.since} is not in this tenant's event log (unknown or pruned)`, 'since');
    }
    // "live" starts at the feed's position: make it current first
    await this.deps.feed.catchUp?.();
    const stream: EventSubscription = new EventSubscription({
      feed: this.deps.feed,
      db: this.deps.db,
      filter: { tenantId, agentId, kinds: request.kinds },
      since,
      maxQueue: this.deps.maxQueue,
      onOverflow: this.deps.onOverflow,
      onEnd: () => this.open.delete(stream),
    });
    this.open.add(stream);
    return stream;
  }

  /** Ends every open stream (shutdown). */
  endAll(): void {
    for (const stream of [...this.open]) void stream.return();
  }
}
