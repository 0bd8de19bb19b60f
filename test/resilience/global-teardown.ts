import fs from 'node:fs';
import { Client } from 'pg';

/** Drops every database this run created and prints the summary of every scenario. */
export default async function globalTeardown(): Promise<void> {
  const run = process.env.AGENT_REGISTRY_RESILIENCE_RUN;
  if (run && process.env.TEST_DATABASE_URL) {
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [
        `agent_registry_r${run}%`,
      ]);
      for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`);
    } finally {
      await client.end();
    }
  }
  const file = process.env.RESILIENCE_SUMMARY_FILE;
  if (!file || !fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const seconds = ((Date.now() - Number(process.env.RESILIENCE_STARTED_AT)) / 1000).toFixed(0);
  const out: string[] = ['', `── resilience summary (${seconds} s) ──`];
  for (const line of lines) {
    const { scenario, figures } = JSON.parse(line) as { scenario: string; figures: Record<string, unknown> };
    out.push(`▸ ${scenario}`);
    for (const [name, value] of Object.entries(figures)) {
      const text = String(value);
      if (text.includes('\n')) {
        out.push(`    ${name}:`);
        for (const l of text.split('\n')) out.push(`      ${l}`);
      } else {
        out.push(`    ${name}: ${text}`);
      }
    }
  }
  console.log(out.join('\n'));
  fs.rmSync(file, { force: true });
}
