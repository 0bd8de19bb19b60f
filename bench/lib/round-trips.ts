import { Client } from 'pg';
import { cpuMs } from './service';

/**
 * Database round trips of a measured phase, counted two ways:
 *
 * - `statements`: the service's own count of the statements it sent (its
 *   `agent_registry_db_statements_total` metric, read from /metrics before and after; one
 *   API process only, since with node:cluster /metrics answers from one worker). Each
 *   statement is one round trip. The two gauges a scrape reads from the database add 2.
 * - `transactions`: PostgreSQL's count of the bench database's committed and rolled-back
 *   transactions (`pg_stat_database`, read from the admin database so that reading does
 *   not count itself). A cross-check that needs nothing from the service, but it counts
 *   one more thing: the LISTEN backend reads PostgreSQL's notification queue in a
 *   transaction of its own for each NOTIFY it receives (no round trip of ours).
 *   A backend reports its counts when idle, at most once a second, so a reading waits
 *   {@link FLUSH_MS} first.
 *
 * Both include the service's background work during the phase (the event reader's poll
 * every 500 ms, the stale sweep): it is real load.
 */
export const FLUSH_MS = 1_500;

export interface PhaseCounts {
  /** CPU the API process used over the phase, in ms (one API process only). */
  cpuMs: number | null;
  /** Statements the service sent, or null when it runs several processes. */
  statements: number | null;
  transactions: number;
}

export class RoundTripCounter {
  constructor(
    private readonly adminUrl: string,
    private readonly database: string,
  ) {}

  /** Committed + rolled-back transactions of the database so far. */
  async transactions(): Promise<number> {
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

  /** Runs `phase` and counts its round trips; `serviceUrl` (one API process) adds the service's own count. */
  async around<T>(serviceUrl: string | null, phase: () => Promise<T>, pid: number | null = null): Promise<{ result: T; counts: PhaseCounts }> {
    const statements = async () =>
      serviceUrl === null ? null : metricValue(await (await fetch(`${serviceUrl}/metrics`)).text(), 'agent_registry_db_statements_total');
    const before = { transactions: await this.transactions(), statements: await statements() };
    const cpuBefore = pid === null ? null : cpuMs(pid);
    const result = await phase();
    const cpu = cpuBefore === null ? null : cpuMs(pid!) - cpuBefore;
    const afterTransactions = await this.transactions();
    const afterStatements = await statements();
    return {
      result,
      counts: {
        cpuMs: cpu,
        statements: before.statements === null || afterStatements === null ? null : afterStatements - before.statements,
        transactions: afterTransactions - before.transactions,
      },
    };
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
