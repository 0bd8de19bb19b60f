import type { Api, LiveEvent } from './api';
import type { MeQuery } from './generated/graphql';

/** What every view gets: the API, who is signed in, and the live events. */
export interface ViewContext {
  api: Api;
  me: MeQuery['me'];
  isAdmin: boolean;
  /** Subscribe to live events; returns the unsubscribe function. */
  onEvent(listener: (event: LiveEvent) => void): () => void;
  /** Shows an error in the page's status line (or signs out when the key was refused). */
  fail(error: unknown): void;
}

/** A mounted view: its root element and how to tear it down. */
export interface View {
  element: HTMLElement;
  destroy(): void;
}

export const HEALTHS = ['healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown'] as const;
