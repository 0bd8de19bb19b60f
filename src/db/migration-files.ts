import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The migration files: `prisma/migrations/<timestamp>_<name>/migration.sql`, in name order,
 * each with Prisma's checksum. Apart from the runner (migrate.ts) so that reading them loads
 * nothing else: `scripts/ensure-built.js` uses it through pglite-template.ts on every start.
 */

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** A migration file changed after it was applied, or the ledger names an unknown one. */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** The project's migrations folder, found from this file in src/ or dist/src/. */
export function defaultMigrationsDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new MigrationError(`no prisma/migrations folder above ${__dirname}`);
}

export function readMigrations(dir = defaultMigrationsDir()): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

