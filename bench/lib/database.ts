import { Client } from 'pg';

/**
 * The PostgreSQL server the bench and its tools create their databases on
 * (BENCH_DATABASE_URL), and the two things they do with it.
 */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on that server. */
export function dbUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `sql` on the server's admin database, or on `url`. */
export async function admin(sql: string, url = ADMIN_URL): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
