import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openPglite, openPostgres } from '../../src/db/client';
import { defaultMigrationsDir, migrate, MigrationError, migrationStatus, readMigrations } from '../../src/db/migrate';
import { postgresOnly, usingPostgres } from '../helpers/database';
import { databaseUrl, runPrefix, withAdmin } from '../helpers/postgres';

/** An empty database (no schema, no ledger) and a way to open more connections to it. */
interface EmptyDatabase {
  db: Database;
  /** Its URL (PostgreSQL only). */
  url?: string;
  /** Opens another, independent client of the same database (PostgreSQL only). */
  openAnother(): Database;
  dispose(): Promise<void>;
}

async function createEmptyDatabase(): Promise<EmptyDatabase> {
  if (!usingPostgres) {
    const db = await openPglite('memory://');
    return {
      db,
      openAnother: () => {
        throw new Error('PGlite has one connection');
      },
      dispose: () => db.close(),
    };
  }
  const name = `${runPrefix()}_empty_${crypto.randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const opened: Database[] = [];
  const open = () => {
    const db = openPostgres(databaseUrl(name), 4);
    opened.push(db);
    return db;
  };
  return {
    db: open(),
    url: databaseUrl(name),
    openAnother: open,
    async dispose() {
      await Promise.all(opened.map((db) => db.close()));
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** A copy of the real migrations folder that a test may change. */
function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-registry-migrations-'));
  fs.cpSync(defaultMigrationsDir(), dir, { recursive: true });
  return dir;
}

async function ledger(db: Database): Promise<Array<{ migration_name: string; checksum: string }>> {
  return db.query(
    `select migration_name, checksum from public._prisma_migrations where finished_at is not null order by migration_name`,
  );
}

describe('migration runner', () => {
  const names = readMigrations().map((m) => m.name);
  let copies: string[] = [];
  afterAll(() => copies.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  /** A copy of the real migrations plus `extra` new ones ({name: sql}). */
  const copy = (extra: Record<string, string> = {}) => {
    const dir = copyMigrations();
    copies.push(dir);
    for (const [name, sql] of Object.entries(extra)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    }
    return dir;
  };

  describe('on an empty database', () => {
    let empty: EmptyDatabase;
    beforeEach(async () => {
      empty = await createEmptyDatabase();
    });
    afterEach(() => empty.dispose());

    it('applies every migration, in order, and nothing on a second run', async () => {
      const before = await migrationStatus(empty.db);

      const first = await migrate(empty.db);
      const second = await migrate(empty.db);

      expect(names.length).toBeGreaterThanOrEqual(3);
      expect(before).toEqual({ applied: [], pending: names });
      expect(first).toEqual(names);
      expect(second).toEqual([]);
      expect(await migrationStatus(empty.db)).toEqual({ applied: names, pending: [] });
      expect(await ledger(empty.db)).toEqual(
        readMigrations().map((m) => ({ migration_name: m.name, checksum: m.checksum })),
      );
      // Prisma's checksum: the SHA-256 of the file
      const [init] = readMigrations();
      const sql = fs.readFileSync(path.join(defaultMigrationsDir(), init.name, 'migration.sql'));
      expect(init.checksum).toBe(crypto.createHash('sha256').update(sql).digest('hex'));
      const [{ count }] = await empty.db.query<{ count: number }>(
        `select count(*)::integer as count from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'mcp' and p.proname = 'register_agent_instance'`,
      );
      expect(count).toBe(1);
    });

    postgresOnly('needs two independent connections to one database')(
      'two runners started at once both succeed and apply each migration once',
      async () => {
        const other = empty.openAnother();

        const [a, b] = await Promise.all([migrate(empty.db), migrate(other)]);

        expect([...a, ...b].sort()).toEqual(names);
        expect(a.length === 0 || b.length === 0).toBe(true);
        expect((await ledger(empty.db)).map((row) => row.migration_name)).toEqual(names);
      },
    );
  });

  describe('through a pool of one connection', () => {
    let empty: EmptyDatabase | undefined;
    beforeAll(async () => {
      if (usingPostgres) empty = await createEmptyDatabase();
    });
    afterAll(() => empty?.dispose());

    postgresOnly('PGlite has no pool')('applies every migration (DATABASE_POOL_SIZE=1 is allowed)', async () => {
      const single = openPostgres(empty!.url!, 1);
      try {
        const applied = await Promise.race([
          migrate(single),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('migrate hung')), 10_000).unref()),
        ]);

        expect(applied).toEqual(names);
      } finally {
        await single.close();
      }
    });
  });

  describe('on a migrated database', () => {
    // one database for these tests: each adds migrations of its own name in its own copy
    let migrated: EmptyDatabase;
    beforeAll(async () => {
      migrated = await createEmptyDatabase();
      await migrate(migrated.db);
    });
    afterAll(() => migrated.dispose());

    it('reports a new migration as pending and applies only that one', async () => {
      const dir = copy({ '29990101000001_later': 'create table mcp.later_things (id integer);\n' });

      const status = await migrationStatus(migrated.db, readMigrations(dir));
      const applied = await migrate(migrated.db, dir);

      expect(status).toEqual({ applied: names, pending: ['29990101000001_later'] });
      expect(applied).toEqual(['29990101000001_later']);
      expect(await migrated.db.query(`select to_regclass('mcp.later_things')::text as t`)).toEqual([
        { t: 'mcp.later_things' },
      ]);
      expect(await migrationStatus(migrated.db, readMigrations(dir))).toEqual({ applied: [...names, '29990101000001_later'], pending: [] });
    });

    it('refuses an applied migration whose file changed, naming the file, and applies nothing', async () => {
      const dir = copy({ '29990101000002_after_edit': 'create table mcp.after_edit (id integer);\n' });
      const changed = names[1];
      fs.appendFileSync(path.join(dir, changed, 'migration.sql'), '\n-- an innocent edit\n');
      const ledgerBefore = await ledger(migrated.db);

      const error = await migrate(migrated.db, dir).catch((e: unknown) => e);
      const statusError = await migrationStatus(migrated.db, readMigrations(dir)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toContain(`${changed}/migration.sql`);
      expect(statusError).toBeInstanceOf(MigrationError);
      expect(await migrated.db.query(`select to_regclass('mcp.after_edit') as t`)).toEqual([{ t: null }]);
      expect(await ledger(migrated.db)).toEqual(ledgerBefore);
    });

    it('rolls a failing migration back entirely and does not record it', async () => {
      const dir = copy({ '29990101000003_broken': 'create table mcp.half_done (id integer);\nselect 1 / 0;\n' });

      const error = await migrate(migrated.db, dir).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(Error);
      expect(await migrated.db.query(`select to_regclass('mcp.half_done') as t`)).toEqual([{ t: null }]);
      expect((await migrationStatus(migrated.db, readMigrations(dir))).pending).toEqual(['29990101000003_broken']);
    });
  });
});
