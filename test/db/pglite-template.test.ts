import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openPglite } from '../../src/db/client';
import { defaultMigrationsDir, migrate, migrationStatus, readMigrations } from '../../src/db/migrate';
import { buildPgliteTemplate, findPgliteTemplate, pgliteTemplatePath } from '../../src/db/pglite-template';

/**
 * What the migrations made: every table, column, default, constraint, index, view,
 * function, trigger and enum value of the registry, and the ledger (names and checksums).
 */
async function fingerprint(db: Database): Promise<Record<string, unknown[]>> {
  const q = (sql: string) => db.query(sql);
  return {
    columns: await q(`select table_schema, table_name, column_name, data_type, udt_name, column_default, is_nullable
                      from information_schema.columns where table_schema in ('mcp', 'public')
                      order by table_schema, table_name, ordinal_position`),
    constraints: await q(`select c.conrelid::regclass::text as rel, c.conname, pg_get_constraintdef(c.oid) as def
                          from pg_constraint c join pg_namespace n on n.oid = c.connamespace
                          where n.nspname in ('mcp', 'public') order by 1, 2`),
    indexes: await q(`select schemaname, tablename, indexname, indexdef from pg_indexes
                      where schemaname in ('mcp', 'public') order by 1, 2, 3`),
    views: await q(`select viewname, definition from pg_views where schemaname = 'mcp' order by 1`),
    functions: await q(`select p.proname, pg_get_function_identity_arguments(p.oid) as args, pg_get_functiondef(p.oid) as def
                        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                        where n.nspname = 'mcp' order by 1, 2`),
    triggers: await q(`select tgrelid::regclass::text as rel, tgname, pg_get_triggerdef(oid) as def
                       from pg_trigger where not tgisinternal order by 1, 2`),
    enums: await q(`select t.typname, e.enumlabel, e.enumsortorder from pg_enum e join pg_type t on t.oid = e.enumtypid
                    join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'mcp' order by 1, 3`),
    ledger: await q(`select migration_name, checksum, applied_steps_count from public._prisma_migrations order by 1`),
  };
}

describe('embedded database template', () => {
  const all = readMigrations();
  const last = all[all.length - 1].name;
  let work: string;
  /** The migrations without the last one: a template made before the last migration was added. */
  let olderMigrations: string;
  let cacheDir: string;
  /** A database made the usual way: initdb (in memory) and every migration. */
  let reference: Database;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-template-'));
    olderMigrations = path.join(work, 'migrations');
    fs.cpSync(defaultMigrationsDir(), olderMigrations, { recursive: true });
    fs.rmSync(path.join(olderMigrations, last), { recursive: true });
    cacheDir = path.join(work, 'cache');
    reference = await openPglite('memory://');
    await migrate(reference);
  }, 180_000);
  afterAll(async () => {
    await reference?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('is named by its migrations: another set of migrations has another template', () => {
    const current = pgliteTemplatePath({ cacheDir });

    expect(pgliteTemplatePath({ cacheDir, migrationsDir: defaultMigrationsDir() })).toBe(current);
    expect(pgliteTemplatePath({ cacheDir, migrationsDir: olderMigrations })).not.toBe(current);
    expect(path.dirname(current)).toBe(cacheDir);
    expect(findPgliteTemplate({ cacheDir })).toBeUndefined();
  });

  it('starts a new data folder that then gets what the template lacks and ends up as the migrations make it', async () => {
    const made = await buildPgliteTemplate({ cacheDir, migrationsDir: olderMigrations });
    const again = await buildPgliteTemplate({ cacheDir, migrationsDir: olderMigrations });
    const dataDir = path.join(work, 'data');

    const db = await openPglite(dataDir, { template: made.pgdata });
    try {
      const fromTemplate = await migrationStatus(db);
      const applied = await migrate(db);

      expect(made.built).toBe(true);
      expect(again).toEqual({ pgdata: made.pgdata, built: false });
      expect(findPgliteTemplate({ cacheDir, migrationsDir: olderMigrations })).toBe(made.pgdata);
      expect(db.origin).toBe('template');
      expect(fromTemplate).toEqual({ applied: all.slice(0, -1).map((m) => m.name), pending: [last] });
      expect(applied).toEqual([last]);
      const expected = await fingerprint(reference);
      expect(Object.values(expected).every((rows) => rows.length > 0)).toBe(true);
      expect(await fingerprint(db)).toEqual(expected);
    } finally {
      await db.close();
    }
    // the folder is a database now: opened as it is, never replaced by the template
    const reopened = await openPglite(dataDir, { template: made.pgdata });
    try {
      expect(reopened.origin).toBe('existing');
      expect(await migrationStatus(reopened)).toEqual({ applied: all.map((m) => m.name), pending: [] });
    } finally {
      await reopened.close();
    }
  }, 180_000);

  it('a template that cannot be copied leaves the new database to initdb', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const db = await openPglite(path.join(work, 'no-template'), { template: path.join(work, 'missing', 'pgdata') });
    const warnings = warn.mock.calls.map(([message]) => String(message));
    warn.mockRestore();
    try {
      expect(db.origin).toBe('initdb');
      expect(warnings).toEqual([expect.stringContaining('could not be copied')]);
      expect(await migrate(db)).toEqual(all.map((m) => m.name));
      expect(fs.readdirSync(path.join(work, 'no-template')).sort()).toEqual(['pgdata', 'registry.lock']);
    } finally {
      await db.close();
    }
  }, 180_000);
});
