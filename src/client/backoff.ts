/** Exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Delay scale of the first retry. Default 500 ms. */
  baseMs?: number;
  /** Largest delay. Default 30 s. */
  capMs?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): a uniformly random value
 * between 0 and min(cap, base * 2^attempt) ("full jitter"), so that thousands of agents
 * cut off at once do not come back at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}
