import { type Principal, type Role, generateApiKey } from '../auth/api-keys';
import type { Authenticator } from '../auth/api-keys';
import { actingTenant } from '../auth/authorize';
import type { PrismaDb } from '../db/client';
import { mapErrors } from '../db/errors';
import { cursorArgs, dropCursorRow } from '../db/keyset';
import { badInput, forbidden, notFound } from '../errors';
import type { ApiKey, Prisma } from '../generated/prisma/client';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';

/** An api_keys row as the service returns it: everything but the hash. */
export type ApiKeyRecord = Omit<ApiKey, 'keyHash'>;

const OMIT = { keyHash: true } as const;

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
 * tenant's keys; operators any tenant's by naming it, and operator keys. Prisma Client;
 * the authenticator's lookup by hash stays SQL (src/auth/api-keys.ts).
 */
export class ApiKeyService {
  constructor(
    private readonly prisma: PrismaDb,
    private readonly auth?: Pick<Authenticator, 'forget'>,
  ) {}

  /** Creates a key; the returned `key` is its only appearance. */
  async create(actor: Principal, input: { name: string; role: Role; tenantId?: string | null }) {
    const tenantId = keyTenant(actor, input.role, input.tenantId);
    return this.insert(tenantId, input.name, input.role);
  }

  /** Creates a key without an actor (bootstrap, the keys CLI). */
  async insert(tenantId: string | null, name: string, role: Role): Promise<{ apiKey: ApiKeyRecord; key: string }> {
    const generated = generateApiKey();
    const data = {
      tenantId: tenantId === null ? null : checkUuid(tenantId, 'tenantId'),
      name,
      role,
      keyHash: generated.hash,
      prefix: generated.prefix,
    };
    const apiKey = await mapErrors(() => this.prisma.apiKey.create({ data, omit: OMIT }));
    return { apiKey, key: generated.key };
  }

  /**
   * Keys of the actor's tenant (operators: of the tenant named, or operator keys when
   * none is named), oldest first.
   */
  async list(actor: Principal, page: PageRequest, options: { tenantId?: string | null; includeRevoked?: boolean | null } = {}) {
    const tenantId = actor.role === 'operator' && !options.tenantId ? null : actingTenant(actor, options.tenantId);
    return this.listOf(tenantId, page, options.includeRevoked ?? false);
  }

  async listOf(tenantId: string | null, page: PageRequest, includeRevoked: boolean): Promise<Page<ApiKeyRecord>> {
    const after = page.afterKey ? checkUuid(page.afterKey, 'after') : null;
    // tenantId null: operator keys (`tenant_id is null`)
    const where: Prisma.ApiKeyWhereInput = { tenantId: tenantId === null ? null : checkUuid(tenantId, 'tenantId') };
    if (!includeRevoked) where.revokedAt = null;
    return mapErrors(async () => {
      const rows = await this.prisma.apiKey.findMany({
        where,
        omit: OMIT,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        ...cursorArgs(after, page.limit),
      });
      const count = await this.prisma.apiKey.count({ where });
      return toPage(dropCursorRow(rows, after), page, count, (k) => k.id);
    });
  }

  /** Revokes a key at once (idempotent); NOT_FOUND for a key the actor may not manage. */
  async revoke(actor: Principal, id: string): Promise<ApiKeyRecord> {
    const keyId = checkUuid(id, 'id');
    const mine: Prisma.ApiKeyWhereInput = { id: keyId };
    if (actor.role !== 'operator') {
      if (!actor.tenantId) throw notFound(`API key ${id}`);
      mine.tenantId = actor.tenantId;
    }
    const apiKey = await mapErrors(async () => {
      // a revoked key keeps its first revocation time; keys are never deleted but with their tenant
      await this.prisma.apiKey.updateMany({ where: { ...mine, revokedAt: null }, data: { revokedAt: new Date() } });
      return this.prisma.apiKey.findFirst({ where: mine, omit: OMIT });
    });
    if (!apiKey) throw notFound(`API key ${id}`);
    this.auth?.forget(keyId);
    return apiKey;
  }
}
