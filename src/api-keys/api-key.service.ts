import { type Principal, type Role, generateApiKey } from '../auth/api-keys';
import type { Authenticator } from '../auth/api-keys';
import { actingTenant } from '../auth/authorize';
import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { badInput, forbidden, notFound } from '../errors';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';
import type { ApiKey, ApiKeyRole } from './api-key.type';

interface ApiKeyRow {
  id: string;
  tenant_id: string | null;
  name: string;
  role: Role;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = `k.id, k.tenant_id, k.name, k.role, k.prefix, k.created_at, k.last_used_at, k.revoked_at`;

const toApiKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  role: row.role as ApiKeyRole,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

/** The tenant a key of `role` belongs to, as `actor` may create it. */
function keyTenant(actor: Principal, role: Role, tenantId?: string | null): string | null {
  if (role === 'operator') {
    if (actor.role !== 'operator') throw forbidden('only operators create operator keys');
    if (tenantId) throw badInput('operator keys belong to no tenant; leave tenantId out', 'tenantId');
    return null;
  }
  return actingTenant(actor, tenantId);
}

/**
 * API keys: random, shown once, stored as SHA-256 hashes, revocable. Admins manage their
 * tenant's keys; operators any tenant's by naming it, and operator keys.
 */
export class ApiKeyService {
  constructor(
    private readonly db: Queryable,
    private readonly auth?: Pick<Authenticator, 'forget'>,
  ) {}

  /** Creates a key; the returned `key` is its only appearance. */
  async create(actor: Principal, input: { name: string; role: Role; tenantId?: string | null }) {
    const tenantId = keyTenant(actor, input.role, input.tenantId);
    return this.insert(tenantId, input.name, input.role);
  }

  /** Creates a key without an actor (bootstrap, the keys CLI). */
  async insert(tenantId: string | null, name: string, role: Role): Promise<{ apiKey: ApiKey; key: string }> {
    const generated = generateApiKey();
    const [row] = await mapErrors(() =>
      this.db.query<ApiKeyRow>(
        `insert into mcp.api_keys as k (tenant_id, name, role, key_hash, prefix)
         values ($1::uuid, $2, $3, $4, $5) returning ${COLUMNS}`,
        [tenantId === null ? null : checkUuid(tenantId, 'tenantId'), name, role, generated.hash, generated.prefix],
      ),
    );
    return { apiKey: toApiKey(row), key: generated.key };
  }

  /**
   * Keys of the actor's tenant (operators: of the tenant named, or operator keys when
   * none is named), oldest first.
   */
  async list(actor: Principal, page: PageRequest, options: { tenantId?: string | null; includeRevoked?: boolean | null } = {}) {
    const tenantId = actor.role === 'operator' && !options.tenantId ? null : actingTenant(actor, options.tenantId);
    return this.listOf(tenantId, page, options.includeRevoked ?? false);
  }

  async listOf(tenantId: string | null, page: PageRequest, includeRevoked: boolean): Promise<Page<ApiKey>> {
    const after = page.afterKey ? checkUuid(page.afterKey, 'after') : null;
    return mapErrors(async () => {
      const where = `k.tenant_id is not distinct from $1::uuid and ($2::boolean or k.revoked_at is null)`;
      const rows = await this.db.query<ApiKeyRow>(
        `select ${COLUMNS} from mcp.api_keys k
         where ${where}
           and ($3::uuid is null or (k.created_at, k.id) > (select a.created_at, a.id from mcp.api_keys a where a.id = $3::uuid))
         order by k.created_at, k.id limit $4`,
        [tenantId, includeRevoked, after, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.api_keys k where ${where}`,
        [tenantId, includeRevoked],
      );
      return toPage(rows.map(toApiKey), page, count, (k) => k.id);
    });
  }

  /** Revokes a key at once (idempotent); NOT_FOUND for a key the actor may not manage. */
  async revoke(actor: Principal, id: string): Promise<ApiKey> {
    const keyId = checkUuid(id, 'id');
    const [row] = await mapErrors(() =>
      this.db.query<ApiKeyRow>(
        `update mcp.api_keys k set revoked_at = coalesce(k.revoked_at, now())
         where k.id = $1 and ($2::boolean or k.tenant_id = $3::uuid)
         returning ${COLUMNS}`,
        [keyId, actor.role === 'operator', actor.tenantId],
      ),
    );
    if (!row) throw notFound(`API key ${id}`);
    this.auth?.forget(keyId);
    return toApiKey(row);
  }
}
