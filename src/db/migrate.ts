import crypto from 'node:crypto';
import type { PoolClient } from 'pg';
import { type Database, inTransaction, pgQueryable, type Queryable } from './client';
import { defaultMigrationsDir, type Migration, MigrationError, readMigrations } from './migration-files';

export { type Migration, MigrationError, defaultMigrationsDir, readMigrations } from './migration-files';

/**
 * Our own migration runner, because the Prisma CLI cannot migrate here (its schema engine
 * is a downloaded binary) nor ever migrate PGlite. It keeps Prisma's layout and ledger so
 * that `prisma migrate deploy` would agree on a machine that has the engine:
 * `prisma/migrations/<timestamp>_<name>/migration.sql`, applied in name order, each file
 * as one script in its own transaction, recorded in `_prisma_migrations` with Prisma's
 * checksum (the SHA-256 of the file). On PostgreSQL a session advisory lock makes
 * concurrent runners take turns; PGlite is single-process by construction.
 */

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

const LOCK_KEY = 727_001; // arbitrary, constant: the migration lock of this project
const LEDGER = 'public._prisma_migrations';

/** Applies every pending migration; returns the names applied by this call. */
export async function migrate(db: Database, dir = defaultMigrationsDir()): Promise<string[]> {
  const migrations = readMigrations(dir);
  const lockClient = db.pool ? await db.pool.connect() : undefined;
  // everything runs on the connection that holds the lock: a pool of one must not wait for itself
  const runner = lockClient ? onClient(lockClient) : db;
  try {
    await lockClient?.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await runner.exec(`
      create table if not exists ${LEDGER} (
        id varchar(36) primary key not null,
        checksum varchar(64) not null,
        finished_at timestamptz,
        migration_name varchar(255) not null,
        logs text,
        rolled_back_at timestamptz,
        started_at timestamptz not null default now(),
        applied_steps_count integer not null default 0
      )`);
    const applied = await appliedChecksums(runner);
    verify(migrations, applied);
    const done: string[] = [];
    for (const migration of migrations.filter((m) => !applied.has(m.name))) {
      await runner.transaction(async (tx) => {
        await tx.exec(migration.sql);
        await tx.query(
          `insert into ${LEDGER} (id, checksum, finished_at, migration_name, applied_steps_count)
           values ($1, $2, now(), $3, 1)`,
          [crypto.randomUUID(), migration.checksum, migration.name],
        );
      });
      done.push(migration.name);
    }
    return done;
  } finally {
    if (lockClient) {
      await lockClient.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
      lockClient.release();
    }
  }
}

/** What is applied and what is pending; throws {@link MigrationError} on a changed file. */
export async function migrationStatus(db: Database, migrations = readMigrations()): Promise<MigrationStatus> {
  const [{ exists }] = await db.query<{ exists: boolean }>(`select to_regclass($1) is not null as exists`, [LEDGER]);
  const applied = exists ? await appliedChecksums(db) : new Map<string, string>();
  verify(migrations, applied);
  return {
    applied: migrations.filter((m) => applied.has(m.name)).map((m) => m.name),
    pending: migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
  };
}

async function appliedChecksums(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.query<{ migration_name: string; checksum: string }>(
    `select migration_name, checksum from ${LEDGER} where finished_at is not null and rolled_back_at is null`,
  );
  return new Map(rows.map((row) => [row.migration_name, row.checksum]));
}

/** One pooled connection as the runner's database, transactions included. */
function onClient(client: PoolClient): Pick<Database, 'query' | 'exec' | 'transaction'> {
  return { ...pgQueryable(client), transaction: (fn) => inTransaction(client, fn) };
}

function verify(migrations: Migration[], applied: Map<string, string>): void {
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name}/migration.sql was changed after it was applied ` +
          `(checksum ${migration.checksum.slice(0, 12)}…, applied ${checksum.slice(0, 12)}…); ` +
          'restore the file and add a new migration instead',
      );
    }
  }
}
