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

/** Agent ids of {@link seedFleet}: `${prefix}-0` … `${prefix}-${types - 1}`. */
export function fleetAgentIds(prefix: string, types: number): string[] {
  return Array.from({ length: types }, (_, i) => `${prefix}-${i}`);
}

/**
 * A realistic tenant's fleet: `types` agent types × `perType` registrations, of which 92 %
 * are active (4 % stale, 4 % deregistered) and 16 % are active but not healthy (8 % degraded,
 * 4 % unhealthy, 4 % disconnected), spread evenly over the instance ids. Registered through the
 * SQL function, then the statuses set directly (a seed, not a lifecycle under test).
 */
export async function seedFleet(url: string, tenantId: string, prefix: string, types: number, perType: number): Promise<void> {
  for (const agentId of fleetAgentIds(prefix, types)) await seedRegistrations(url, tenantId, agentId, perType);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `with s as (
         select r.id, split_part(r.instance_id, '-seed-', 2)::int % 25 as k
         from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
         where r.tenant_id = $1 and m.agent_id like $2 || '-%')
       update mcp.agent_registrations r set
         registration_status = (case s.k when 0 then 'stale' when 1 then 'deregistered' else 'active' end)::mcp.registration_status,
         deregistered_at = case when s.k = 1 then now() end,
         health_status = (case when s.k in (1) then 'disconnected' when s.k in (2, 3) then 'degraded'
                               when s.k = 4 then 'unhealthy' when s.k = 5 then 'disconnected' else 'healthy' end)::mcp.health_status
       from s where s.id = r.id`,
      [tenantId, prefix],
    );
    await client.query('analyze mcp.agent_registrations');
  } finally {
    await client.end();
  }
}
