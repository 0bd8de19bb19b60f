import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { EventKind } from '../../src/events/types';
import { eventually } from './support';

/** What a dashboard sees of an event. */
export interface SeenEvent {
  id: string;
  kind: EventKind;
  tenantId: string;
  agentId: string | null;
  instanceId: string | null;
  registrationStatus: string | null;
  healthStatus: string | null;
  payload: Record<string, unknown>;
  occurredAt: string;
}

export const REGISTRATION_EVENTS = `subscription ($agentId: String, $kinds: [EventKind!], $since: ID, $tenantId: ID) {
  registrationEvents(agentId: $agentId, kinds: $kinds, since: $since, tenantId: $tenantId) {
    id kind tenantId agentId instanceId registrationStatus healthStatus payload occurredAt
  }
}`;

export interface Subscriber {
  readonly client: Client;
  readonly events: SeenEvent[];
  readonly errors: unknown[];
  /** Close codes of the client's sockets, in order. */
  readonly closeCodes: number[];
  /** performance.now() at the arrival of each event. */
  readonly receivedAt: number[];
  /** Stops (true) or resumes (false) reading from the socket: a deliberately slow client. */
  pause(paused: boolean): void;
  until(predicate: (events: SeenEvent[]) => boolean, timeoutMs?: number): Promise<SeenEvent[]>;
  dispose(): Promise<void>;
}

/** The graphql-ws URL of an app's base URL. */
export const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/graphql`;

/** Subscribers not yet disposed: what {@link streamsOpen} reports when it gives up. */
const live = new Set<Subscriber>();

/** A real graphql-ws client (the `ws` package) subscribed to registrationEvents; never retries. */
export function subscribe(
  baseUrl: string,
  key: string,
  variables: { agentId?: string; kinds?: EventKind[]; since?: string; tenantId?: string } = {},
): Subscriber {
  const events: SeenEvent[] = [];
  const errors: unknown[] = [];
  const closeCodes: number[] = [];
  const receivedAt: number[] = [];
  let socket: WebSocket | undefined;
  let paused = false;
  const client = createClient({
    url: wsUrl(baseUrl),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    shouldRetry: () => false,
    on: {
      closed: (event) => closeCodes.push((event as { code: number }).code),
      connected: (connected) => {
        socket = connected as WebSocket;
        if (paused) rawSocket(socket).pause();
      },
    },
  });
  const unsubscribe = client.subscribe<{ registrationEvents: SeenEvent }>(
    { query: REGISTRATION_EVENTS, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data?.registrationEvents) {
          events.push(result.data.registrationEvents);
          receivedAt.push(performance.now());
        }
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  const subscriber: Subscriber = {
    client,
    events,
    errors,
    closeCodes,
    receivedAt,
    pause(value) {
      paused = value;
      if (socket) {
        if (value) rawSocket(socket).pause();
        else rawSocket(socket).resume();
      }
    },
    async until(predicate, timeoutMs = 30_000) {
      await eventually(() => predicate(events), timeoutMs);
      return events;
    },
    async dispose() {
      live.delete(subscriber);
      unsubscribe();
      await client.dispose();
    },
  };
  live.add(subscriber);
  return subscriber;
}

/** Waits until the app has `count` open event streams (the subscribe reached the server). */
export async function streamsOpen(app: { services: { eventStreams: { size: number } } }, count: number): Promise<void> {
  try {
    await eventually(() => app.services.eventStreams.size === count, 30_000);
  } catch (error) {
    // say why: a refused or closed client shows here (how a 4403 race was found)
    const clients = [...live].map((s) => ({ closeCodes: s.closeCodes, errors: s.errors.map(describe) }));
    throw new Error(
      `${count} open event streams expected, ${app.services.eventStreams.size} open; clients: ${JSON.stringify(clients)}`,
      { cause: error },
    );
  }
}

/** The TCP socket under a ws client (pausing it stops reading, so the server's sends back up). */
function rawSocket(ws: WebSocket): { pause(): void; resume(): void } {
  return (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

/** An error, a GraphQL error or a close event, in a few words. */
function describe(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; reason?: unknown } | null;
  if (typeof e?.message === 'string') return e.message;
  if (typeof e?.code === 'number') return `closed ${e.code} ${String(e.reason ?? '')}`.trim();
  return String(error);
}
