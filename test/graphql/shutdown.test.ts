import { startTestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { createTenant } from '../helpers/factories';
import { waitFor } from '../helpers/wait';

describe('shutdown', () => {
  postgresOnly('holds a row lock on a second connection')('stop() lets a GraphQL request in flight finish', async () => {
    const t = await startTestApp();
    const pool = t.database.db.pool!;
    const locker = await pool.connect();
    let stopped: Promise<void> | undefined;
    try {
      const tenantId = await createTenant(t.database.db);
      const { key } = await t.app.services.apiKeys.insert(tenantId, 'admin', 'admin');
      const [{ id }] = await t.database.db.query<{ id: string }>(
        `insert into mcp.agent_manifests (agent_id, agent_type, name) values ('drain', 'drain', 'drain') returning id`,
      );
      const [config] = await t.database.db.query<{ id: string }>(
        `insert into mcp.agent_configurations (tenant_id, manifest_id, name) values ($1, $2, 'drain') returning id`,
        [tenantId, id],
      );
      await locker.query('begin');
      await locker.query(`select 1 from mcp.agent_configurations where id = $1 for update`, [config.id]);

      const response = fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: `mutation ($id: ID!) { updateConfiguration(input: {id: $id, expectedVersion: 1, name: "drained"}) { version } }`,
          variables: { id: config.id },
        }),
      });
      // the update is waiting on the row lock once it shows up in pg_locks as not granted
      await waitFor(
        async () => {
          const [waiting] = await t.database.db.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where not granted and locktype = 'transactionid'`,
          );
          return waiting.n > 0;
        },
        10_000,
        20,
        'the update waiting on the lock',
      );
      stopped = t.app.stop();
      await locker.query('commit');
      const res = await response;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { updateConfiguration: { version: 2 } } });
      await stopped;
    } finally {
      locker.release();
      await (stopped ?? t.app.stop());
      await t.database.dispose();
    }
  });
});
