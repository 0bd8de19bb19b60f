import type { Role } from '../../src/auth/api-keys';
import { generateApiKey } from '../../src/auth/api-keys';
import type { Queryable } from '../../src/db/client';

/** Stores a new API key of `role` for `tenantId` (null: operator); returns the key itself. */
export async function createApiKey(
  db: Queryable,
  tenantId: string | null,
  role: Role = 'agent',
  name = `${role} key`,
): Promise<string> {
  const { key, hash, prefix } = generateApiKey();
  await db.query(`insert into mcp.api_keys (tenant_id, name, role, key_hash, prefix) values ($1, $2, $3, $4, $5)`, [
    tenantId,
    name,
    role,
    hash,
    prefix,
  ]);
  return key;
}
