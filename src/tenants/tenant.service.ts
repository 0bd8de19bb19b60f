import type { PrismaDb } from '../db/client';
import { mapErrors } from '../db/errors';
import { notFound } from '../errors';
import type { Tenant } from '../generated/prisma/client';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';

/** Tenants: created by operators (or the bootstrap and the keys CLI). Prisma Client. */
export class TenantService {
  constructor(private readonly prisma: PrismaDb) {}

  async create(name: string): Promise<Tenant> {
    return mapErrors(() => this.prisma.tenant.create({ data: { name } }));
  }

  /** The tenant, or NOT_FOUND. */
  async get(id: string): Promise<Tenant> {
    const tenantId = checkUuid(id, 'tenantId');
    const tenant = await mapErrors(() => this.prisma.tenant.findUnique({ where: { id: tenantId } }));
    if (!tenant) throw notFound(`tenant ${id}`);
    return tenant;
  }

  /** All tenants, oldest first. */
  async list(page: PageRequest): Promise<Page<Tenant>> {
    const after = page.afterKey ? checkUuid(page.afterKey, 'after') : null;
    return mapErrors(async () => {
      // keyset on (created_at, id) after the cursor's row (none left when that row is gone)
      const rows = await this.prisma.tenant.findMany({
        ...(after ? { cursor: { id: after }, skip: 1 } : {}),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: page.limit + 1,
      });
      const count = await this.prisma.tenant.count();
      return toPage(rows, page, count, (t) => t.id);
    });
  }
}
