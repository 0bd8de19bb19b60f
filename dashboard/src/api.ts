import { type Client, createClient } from 'graphql-ws';
import type { EventRowFragment, TypedDocumentString } from './generated/graphql';
import { LiveEventsDocument } from './generated/graphql';

/** A GraphQL error with its `extensions.code` (UNAUTHENTICATED, CONFLICT, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The key was refused (unknown or revoked): the page signs out. */
export const isAuthError = (error: unknown): boolean =>
  error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'KEY_REFUSED');

/** GraphQL over HTTP POST /graphql with the key as a bearer header. */
export class Api {
  constructor(private readonly key: string) {}

  async request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables?: TVariables): Promise<TResult> {
    let response: Response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
        body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError('the registry cannot be reached', 'NETWORK');
    }
    const body = (await response.json().catch(() => null)) as {
      data?: TResult;
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    } | null;
    const error = body?.errors?.[0];
    if (error) {
      const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
      throw new ApiError(error.message, code, error.extensions ?? {});
    }
    if (!response.ok || !body?.data) throw new ApiError(`the registry answered HTTP ${response.status}`, 'HTTP');
    return body.data;
  }
}

export type LiveEvent = EventRowFragment;

export interface EventStreamOptions {
  key: string;
  /** Resume after this event id (the newest one the page already shows); null: live only. */
  since: string | null;
  onEvent: (event: LiveEvent) => void;
  /** 'live' when subscribed, 'reconnecting' after a drop. */
  onState: (state: 'live' | 'reconnecting') => void;
  /** The key was refused or revoked (4403): the stream stops for good. */
  onRefused: () => void;
}

/**
 * The registrationEvents subscription over graphql-ws, resumed after every drop with
 * `since` = the last event received, so nothing is missed; an id seen before is dropped,
 * so nothing shows twice. Reconnects with exponential backoff and full jitter.
 */
export class EventStream {
  private client: Client | null = null;
  private lastId: string | null;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private stopped = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: EventStreamOptions) {
    this.lastId = options.since;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.client?.dispose();
    this.client = null;
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL('/graphql', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let refused = false;
    const client = createClient({
      url: url.toString(),
      connectionParams: { authorization: `Bearer ${this.options.key}` },
      lazy: true,
      retryAttempts: 0,
      keepAlive: 10_000,
      on: {
        connected: () => {
          this.attempt = 0;
          this.options.onState('live');
        },
        closed: (event) => {
          const code = (event as CloseEvent | undefined)?.code;
          if (code === 4403 || code === 4401) refused = true;
        },
      },
    });
    this.client = client;
    client.subscribe<{ registrationEvents: LiveEvent }>(
      { query: LiveEventsDocument.toString(), variables: { since: this.lastId } },
      {
        next: ({ data }) => {
          const event = data?.registrationEvents;
          if (!event) return;
          this.lastId = event.id;
          if (this.seen.has(event.id)) return;
          this.remember(event.id);
          this.options.onEvent(event);
        },
        error: (error) => this.dropped(client, refused || isRefusal(error)),
        complete: () => this.dropped(client, refused),
      },
    );
  }

  private dropped(client: Client, refused: boolean): void {
    if (this.client !== client || this.stopped) return;
    void client.dispose();
    this.client = null;
    if (refused) {
      this.stopped = true;
      this.options.onRefused();
      return;
    }
    this.options.onState('reconnecting');
    const delay = Math.random() * Math.min(10_000, 250 * 2 ** this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private remember(id: string): void {
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > 5_000) this.seen.delete(this.seenOrder.shift()!);
  }
}

/** graphql-ws hands a sink the CloseEvent: 4403 (or 4401) means the key was refused or revoked. */
function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 4403 || code === 4401;
}
