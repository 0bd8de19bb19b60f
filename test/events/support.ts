import { waitFor } from '../helpers/wait';
import type { EventFeed, RegistryEvent } from '../../src/events/types';

export interface Collector {
  readonly events: RegistryEvent[];
  /** Resolves once `predicate` holds for the collected events; rejects after `timeoutMs`. */
  until(predicate: (events: RegistryEvent[]) => boolean, timeoutMs?: number): Promise<RegistryEvent[]>;
  stop(): void;
}

/** Collects what a feed delivers, for tests that wait for events instead of sleeping. */
export function collect(feed: EventFeed): Collector {
  const events: RegistryEvent[] = [];
  const waiters = new Set<() => void>();
  const unsubscribe = feed.subscribe((batch) => {
    events.push(...batch);
    for (const check of [...waiters]) check();
  });
  return {
    events,
    until(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(events);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms with ${events.length} events`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: unsubscribe,
  };
}

/** Event ids in delivery order. */
export const ids = (events: readonly RegistryEvent[]) => events.map((e) => e.id);

/** Polls `condition` every 10 ms until it holds; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  await waitFor(condition, timeoutMs, 10);
}
