import { Client } from 'pg';

/** The PostgreSQL server for tests (an admin URL), or undefined to test on PGlite. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const usingPostgres = TEST_DATABASE_URL !== undefined;

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` with a short-lived admin connection to the test server. */
export async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Name prefix of every database this test run creates. */
export function runPrefix(): string {
  const id = process.env.AGENT_REGISTRY_TEST_RUN;
  if (!id) throw new Error('test/helpers/global-setup.ts did not run');
  return `agent_registry_t${id}`;
}
