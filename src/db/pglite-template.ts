import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultMigrationsDir, readMigrations } from './migration-files';

/**
 * The embedded database's template: a PGlite data folder made by initdb and migrated, from
 * which a new embedded database is copied. PGlite's initdb runs PostgreSQL's initdb in
 * WebAssembly and takes seconds (most of a first start); copying the folder takes a
 * fraction of that. `npm install` and `npm start` make it when missing
 * (`scripts/ensure-built.js` → `node dist/src/db/pglite-template-cli.js`), in
 * `node_modules/.cache/agent-registry/`, under a name derived from the PGlite version and
 * the migrations' names and checksums: a new migration or PGlite version gets a new
 * template, and an old one is never used. Without a template a new database is made by
 * initdb as before; either way the migration runner then checks the ledger and applies
 * what is missing.
 *
 * This module only reads files until a template is built (ensure-built.js loads it on
 * every start): the database code is loaded on demand.
 */

/** Bump when the way a template is made changes, so that old ones are not used. */
const FORMAT = 1;

export interface PgliteTemplateOptions {
  /** The migrations the template holds. Default: the project's prisma/migrations. */
  migrationsDir?: string;
  /** Where templates live. Default: the project's node_modules/.cache/agent-registry. */
  cacheDir?: string;
}

/** node_modules/.cache/agent-registry of the project (the folder above prisma/migrations). */
export function defaultTemplateCacheDir(): string {
  return path.join(path.dirname(path.dirname(defaultMigrationsDir())), 'node_modules', '.cache', 'agent-registry');
}

/** The installed PGlite's version: a data folder is only good for the PostgreSQL build that made it. */
function pgliteVersion(): string {
  const entry = require.resolve('@electric-sql/pglite'); // …/@electric-sql/pglite/dist/index.cjs
  const manifest = path.join(path.dirname(path.dirname(entry)), 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The template's folder for these migrations and this PGlite (it may not exist yet). */
export function pgliteTemplatePath(options: PgliteTemplateOptions = {}): string {
  const version = pgliteVersion();
  const hash = crypto.createHash('sha256').update(`format ${FORMAT}\npglite ${version}\n`);
  for (const migration of readMigrations(options.migrationsDir)) hash.update(`${migration.name} ${migration.checksum}\n`);
  return path.join(options.cacheDir ?? defaultTemplateCacheDir(), `pglite-${version}-${hash.digest('hex').slice(0, 16)}`);
}

/** The template's data folder (to copy) when it exists, else undefined. */
export function findPgliteTemplate(options: PgliteTemplateOptions = {}): string | undefined {
  const pgdata = path.join(pgliteTemplatePath(options), 'pgdata');
  return fs.existsSync(path.join(pgdata, 'PG_VERSION')) ? pgdata : undefined;
}

/**
 * Makes the template unless it exists: initdb and every migration, by the same code as
 * any embedded start (openPglite, migrate), closed cleanly, then renamed into place (a
 * half-made template is never found; of several builders at once, the first rename wins).
 * Removes the templates of other migrations or PGlite versions. Returns the data folder.
 */
export async function buildPgliteTemplate(options: PgliteTemplateOptions = {}): Promise<{ pgdata: string; built: boolean }> {
  const found = findPgliteTemplate(options);
  if (found) return { pgdata: found, built: false };
  const target = pgliteTemplatePath(options);
  const cacheDir = path.dirname(target);
  fs.mkdirSync(cacheDir, { recursive: true });
  const building = fs.mkdtempSync(path.join(cacheDir, '.building-'));
  try {
    const { openPglite } = await import('./client');
    const { migrate } = await import('./migrate');
    const db = await openPglite(building);
    try {
      await migrate(db, options.migrationsDir);
    } finally {
      await db.close();
    }
    try {
      fs.renameSync(building, target);
    } catch (error) {
      // another process made it meanwhile: keep theirs
      if (!findPgliteTemplate(options)) throw error;
    }
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
  for (const entry of fs.readdirSync(cacheDir)) {
    const full = path.join(cacheDir, entry);
    const superseded = entry.startsWith('pglite-') && entry !== path.basename(target);
    // left by a build that was killed (a build takes seconds)
    const abandoned = entry.startsWith('.building-') && Date.now() - fs.statSync(full).mtimeMs > 3_600_000;
    if (superseded || abandoned) fs.rmSync(full, { recursive: true, force: true });
  }
  return { pgdata: path.join(target, 'pgdata'), built: true };
}
