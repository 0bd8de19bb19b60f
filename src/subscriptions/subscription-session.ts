import type { EventStreamService } from './event-stream.service';

/** What a graphql-ws operation's context carries beyond the GraphQL context. */
export interface SubscriptionSession {
  readonly streams: EventStreamService;
}

const sessions = new WeakMap<object, SubscriptionSession>();

/** Attaches `session` to a graphql-ws operation's context object. */
export function attachSession(context: object, session: SubscriptionSession): void {
  sessions.set(context, session);
}

/** The session of a context built by the graphql-ws server; undefined over HTTP. */
export function sessionOf(context: object): SubscriptionSession | undefined {
  return sessions.get(context);
}
