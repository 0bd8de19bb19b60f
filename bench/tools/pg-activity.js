// usage: node bench/tools/pg-activity.js SECONDS [DATABASE_LIKE] — samples pg_stat_activity every
// ~5 ms and prints, per second, how often each active statement of the matching databases
// (default agent_registry_bench%) was seen and in which wait state ("cpu" when none): a
// sampling profile of what PostgreSQL is doing during a bench scenario
const { Client } = require('pg');
(async () => {
  const client = new Client({ connectionString: process.env.ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  const like = process.argv[3] ?? 'agent_registry_bench%';
  const started = Date.now();
  const end = started + Number(process.argv[2] ?? 10) * 1000;
  const counts = new Map();
  let samples = 0;
  while (Date.now() < end) {
    const { rows } = await client.query(
      `select left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as q, wait_event_type as w
       from pg_stat_activity where state = 'active' and datname like $1 and pid <> pg_backend_pid()`,
      [like],
    );
    samples++;
    const second = Math.floor((Date.now() - started) / 1000);
    for (const row of rows) {
      const key = `${String(second).padStart(3)} s  ${(row.w ?? 'cpu').padEnd(7)} ${row.q}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.log(`${samples} samples`);
  for (const [key, count] of [...counts].sort()) if (count >= 3) console.log(String(count).padStart(5), key);
  await client.end();
})();
