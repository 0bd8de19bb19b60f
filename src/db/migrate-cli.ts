import { loadConfig } from '../config';
import { openDatabase } from './client';
import { migrate } from './migrate';
import { findPgliteTemplate } from './pglite-template';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL or the embedded database. */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    template: config.databaseUrl ? undefined : findPgliteTemplate(),
  });
  try {
    const applied = await migrate(db);
    const target = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`;
    console.log(applied.length ? `applied to ${target}:\n  ${applied.join('\n  ')}` : `${target} is up to date`);
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
