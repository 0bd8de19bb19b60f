import crypto from 'node:crypto';
import { Client } from 'pg';

export interface Seeded {
  tenantId: string;
  agentKey: string;
  viewerKey: string;
  adminKey: string;
}

const hash = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/** A tenant with an agent, a viewer and an admin key, written straight to the database. */
export async function seedTenant(url: string, name = 'bench'): Promise<Seeded> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(`insert into mcp.tenants (name) values ($1) returning id`, [name]);
    const tenantId = rows[0].id;
    const keys = { agentKey: '', viewerKey: '', adminKey: '' };
    for (const role of ['agent', 'viewer', 'admin'] as const) {
      const key = `ar_${crypto.randomBytes(32).toString('base64url')}`;
      await client.query(
        `insert into mcp.api_keys (tenant_id, name, role, key_hash, prefix) values ($1, $2, $3, $4, $5)`,
        [tenantId, `bench ${role}`, role, hash(key), key.slice(0, 9)],
      );
      keys[`${role}Key`] = key;
    }
    return { tenantId, ...keys };
  } finally {
    await client.end();
  }
}

/** `count` active registrations of `agentId` for the tenant, through the SQL function. */
export async function seedRegistrations(url: string, tenantId: string, agentId: string, count: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `select mcp.register_agent_instance($1, $2, $2 || '-seed-' || g) from generate_series(1, $3) g`,
      [tenantId, agentId, count],
    );
  } finally {
    await client.end();
  }
}
