import crypto from 'node:crypto';
import type { Queryable } from '../../src/db/client';

/** Creates a tenant; returns its id. */
export async function createTenant(db: Queryable, overrides: { id?: string; name?: string } = {}): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into mcp.tenants (id, name) values (coalesce($1::uuid, gen_random_uuid()), $2) returning id`,
    [overrides.id ?? null, overrides.name ?? `tenant-${crypto.randomBytes(3).toString('hex')}`],
  );
  return row.id;
}

/** A unique, valid agent id for one test. */
export function agentId(prefix = 'agent'): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}
