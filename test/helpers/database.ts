import crypto from 'node:crypto';
import { type Database, openPglite, openPostgres } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { databaseUrl, runPrefix, usingPostgres, withAdmin } from './postgres';

export { usingPostgres } from './postgres';

export interface TestDatabase {
  db: Database;
  /** Connection URL (PostgreSQL only): for extra connections, a second app process, psql. */
  url?: string;
  /** Closes the connections and drops the database. */
  dispose(): Promise<void>;
}

/**
 * A fresh, fully migrated database of its own: on PostgreSQL a clone of the run's
 * template, on PGlite a new in-memory instance.
 */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (!usingPostgres) {
    const db = await openPglite('memory://');
    await migrate(db);
    return { db, dispose: () => db.close() };
  }
  const name = `${runPrefix()}_${crypto.randomBytes(5).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${runPrefix()}_template`);
        return;
      } catch (error) {
        // 55006: the template is briefly in use by another clone; retry
        if ((error as { code?: string }).code !== '55006' || attempt > 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
      }
    }
  });
  const url = databaseUrl(name);
  const db = openPostgres(url, options.poolSize ?? 10);
  return {
    db,
    url,
    async dispose() {
      await db.close();
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

const printedSkipReasons = new Set<string>();

/**
 * Skips a test on PGlite (one connection: no real parallelism), printing why.
 * Usage: `postgresOnly('needs parallel connections')('…', async () => …)`.
 */
export function postgresOnly(reason: string): jest.It {
  if (usingPostgres) return it;
  return ((name: string) => {
    // printed too: jest lists no test names for a file whose tests are all skipped
    if (!printedSkipReasons.has(reason)) {
      printedSkipReasons.add(reason);
      process.stderr.write(`skipped on PGlite (PostgreSQL only: ${reason}): ${expect.getState().testPath ?? ''}\n`);
    }
    it.skip(`${name} [PostgreSQL only: ${reason}]`, () => undefined);
  }) as unknown as jest.It;
}
