import { runPrefix, usingPostgres, withAdmin } from './postgres';

/** Drops every database this run created, including ones a crashed test left behind. */
export default async function globalTeardown(): Promise<void> {
  if (!usingPostgres) return;
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like $1`,
      [`${runPrefix()}%`],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists ${datname} with (force)`);
    }
  });
}
