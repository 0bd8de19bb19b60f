import { openPostgres } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { databaseUrl, runPrefix, usingPostgres, withAdmin } from './postgres';

/**
 * On PostgreSQL: creates one migrated template database for this run; every test file
 * clones it (fast) into a database of its own. Prints which backend the run uses.
 */
export default async function globalSetup(): Promise<void> {
  process.env.AGENT_REGISTRY_TEST_RUN = `${Date.now().toString(36)}${process.pid}`;
  if (!usingPostgres) {
    console.log('\ntests run on the embedded PGlite (set TEST_DATABASE_URL to use PostgreSQL)');
    return;
  }
  const template = `${runPrefix()}_template`;
  await withAdmin((client) => client.query(`create database ${template}`));
  const db = openPostgres(databaseUrl(template), 2);
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  console.log(`\ntests run on PostgreSQL; template database ${template}`);
}
