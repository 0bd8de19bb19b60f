import { ApiKeyService } from '../../src/api-keys/api-key.service';
import type { Principal } from '../../src/auth/api-keys';
import { decodeCursor } from '../../src/graphql/pagination';
import { TenantService } from '../../src/tenants/tenant.service';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/**
 * Pages read through Prisma Client's cursor continue strictly after the cursor's row, and
 * a cursor row that stopped matching the filter since (a key revoked between two pages)
 * makes no row after it disappear.
 */
describe('keyset pages through Prisma Client', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  it('api keys: the next page starts after a cursor key revoked in between, losing nothing', async () => {
    const tenant = await new TenantService(t.db.prisma).create('paging');
    const keys = new ApiKeyService(t.db.prisma);
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await keys.insert(tenant.id, `k${i}`, 'agent')).apiKey);
    const admin: Principal = { keyId: null, keyName: 'test', role: 'admin', tenantId: tenant.id };

    const first = await keys.list(admin, { limit: 2, afterKey: null });
    await keys.revoke(admin, first.nodes[1].id);
    const second = await keys.list(admin, { limit: 2, afterKey: decodeCursor(first.pageInfo.endCursor!) });

    expect(first.nodes.map((k) => k.name)).toEqual(['k0', 'k1']);
    expect(second.nodes.map((k) => k.name)).toEqual(['k2', 'k3']);
    expect([second.pageInfo.hasNextPage, second.totalCount]).toEqual([true, 4]);
  });

  it('tenants: pages in creation order cover every tenant once', async () => {
    const tenants = new TenantService(t.db.prisma);
    for (let i = 0; i < 5; i++) await tenants.create(`page-${i}`);

    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await tenants.list({ limit: 2, afterKey: after });
      seen.push(...page.nodes.map((n) => n.name));
      if (!page.pageInfo.hasNextPage) break;
      after = decodeCursor(page.pageInfo.endCursor!);
    }

    const all = await t.db.query<{ name: string }>(`select name from mcp.tenants order by created_at, id`);
    expect(seen).toEqual(all.map((r) => r.name));
  });
});
