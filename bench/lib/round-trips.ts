import { Client } from 'pg';

/**
 * Database round trips of a measured phase, counted by PostgreSQL itself: the committed
 * and rolled-back transactions of the bench database (`pg_stat_database`), read from the
 * admin database so that the counting does not count itself.
 *
 * Why transactions stand for round trips: the service's hot paths (a registration, a
 * dashboard page, a heartbeat batch, the event reader's read and NOTIFY, the key lookup)
 * each send one autocommitted statement, so one statement = one transaction = one round
 * trip. An explicit multi-statement transaction would count once for several round trips;
 * none runs on these paths. Background work of the service during the phase (the event
 * reader's 500 ms poll, the stale sweep) is counted too: it is real load.
 *
 * A backend reports its counts when it goes idle, at most once a second, so `count()`
 * waits {@link FLUSH_MS} before reading the end of a phase.
 */
export const FLUSH_MS = 1_500;

export class RoundTripCounter {
  constructor(
    private readonly adminUrl: string,
    private readonly database: string,
  ) {}

  /** Committed + rolled-back transactions of the database so far. */
  async count(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS));
    const client = new Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        `select (xact_commit + xact_rollback)::text as n from pg_stat_database where datname = $1`,
        [this.database],
      );
      return Number(rows[0]?.n ?? NaN);
    } finally {
      await client.end();
    }
  }

  /** Runs `phase` and returns its result with the transactions counted over it. */
  async around<T>(phase: () => Promise<T>): Promise<{ result: T; roundTrips: number }> {
    const before = await this.count();
    const result = await phase();
    const after = await this.count();
    return { result, roundTrips: after - before };
  }
}

/** The value of a counter (or a histogram's `_count`) in a Prometheus text exposition. */
export function metricValue(exposition: string, name: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
