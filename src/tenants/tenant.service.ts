import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { notFound } from '../errors';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';
import type { Tenant } from './tenant.type';

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
}

const toTenant = (row: TenantRow): Tenant => ({ id: row.id, name: row.name, createdAt: row.created_at });

/** Tenants: created by operators (or the bootstrap and the keys CLI). */
export class TenantService {
  constructor(private readonly db: Queryable) {}

  async create(name: string): Promise<Tenant> {
    const [row] = await mapErrors(() =>
      this.db.query<TenantRow>(`insert into mcp.tenants (name) values ($1) returning id, name, created_at`, [name]),
    );
    return toTenant(row);
  }

  /** The tenant, or NOT_FOUND. */
  async get(id: string): Promise<Tenant> {
    const [row] = await mapErrors(() =>
      this.db.query<TenantRow>(`select id, name, created_at from mcp.tenants where id = $1`, [checkUuid(id, 'tenantId')]),
    );
    if (!row) throw notFound(`tenant ${id}`);
    return toTenant(row);
  }

  /** All tenants, oldest first. */
  async list(page: PageRequest): Promise<Page<Tenant>> {
    const after = page.afterKey ? checkUuid(page.afterKey, 'after') : null;
    return mapErrors(async () => {
      const rows = await this.db.query<TenantRow>(
        `select t.id, t.name, t.created_at from mcp.tenants t
         where $1::uuid is null
            or (t.created_at, t.id) > (select a.created_at, a.id from mcp.tenants a where a.id = $1::uuid)
         order by t.created_at, t.id
         limit $2`,
        [after, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(`select count(*)::int as count from mcp.tenants`);
      return toPage(rows.map(toTenant), page, count, (t) => t.id);
    });
  }
}
