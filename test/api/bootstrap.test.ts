import { type App, createApp } from '../../src/app';
import { bootstrapBanner, bootstrapDemo } from '../../src/bootstrap';
import { testConfig } from '../helpers/app';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { openPostgres } from '../../src/db/client';

describe('bootstrap', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => database.dispose());

  it('on an empty database creates the demo tenant and an operator, admin and agent key, once', async () => {
    const app: App = await createApp(testConfig(), { db: database.db });
    try {
      const first = await bootstrapDemo(database.db);
      expect(first).not.toBeNull();
      expect(await app.services.auth.authenticate(first!.operatorKey)).toMatchObject({ role: 'operator', tenantId: null });
      expect(await app.services.auth.authenticate(first!.adminKey)).toMatchObject({ role: 'admin', tenantId: first!.tenantId });
      expect(await app.services.auth.authenticate(first!.agentKey)).toMatchObject({ role: 'agent', tenantId: first!.tenantId });
      expect(await bootstrapDemo(database.db)).toBeNull();
      const banner = bootstrapBanner(first!, 'http://127.0.0.1:4000');
      expect(banner).toContain(first!.adminKey);
      expect(banner).toContain(`curl -s http://127.0.0.1:4000/graphql`);
    } finally {
      await app.stop();
    }
  });

  it('does nothing when the database already has a tenant', async () => {
    await database.db.query(`insert into mcp.tenants (name) values ('existing')`);
    expect(await bootstrapDemo(database.db)).toBeNull();
    const [{ count }] = await database.db.query<{ count: number }>(`select count(*)::int as count from mcp.api_keys`);
    expect(count).toBe(0);
  });

  it('createApp with BOOTSTRAP on prints the keys once, on the first start only', async () => {
    const writes: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      for (let start = 0; start < 2; start++) {
        const app = await createApp(testConfig({ BOOTSTRAP: 'true', ...(database.url ? { DATABASE_URL: database.url } : {}) }), {
          db: database.url ? undefined : database.db,
        });
        await app.start();
        await app.stop();
      }
    } finally {
      write.mockRestore();
    }
    const banners = writes.filter((w) => w.includes('shown ONCE'));
    expect(banners).toHaveLength(1);
    expect(banners[0]).toMatch(/admin key .*ar_/);
  });

  postgresOnly('needs parallel connections')('two processes bootstrapping at once create one demo tenant', async () => {
    const others = Array.from({ length: 4 }, () => openPostgres(database.url!, 2));
    try {
      const results = await Promise.all([database.db, ...others].map((db) => bootstrapDemo(db)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const [{ tenants, keys }] = await database.db.query<{ tenants: number; keys: number }>(
        `select (select count(*)::int from mcp.tenants) as tenants, (select count(*)::int from mcp.api_keys) as keys`,
      );
      expect({ tenants, keys }).toEqual({ tenants: 1, keys: 3 });
    } finally {
      await Promise.all(others.map((db) => db.close()));
    }
  });
});
