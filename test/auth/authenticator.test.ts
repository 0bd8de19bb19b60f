import { Authenticator, generateApiKey } from '../../src/auth/api-keys';
import type { Queryable } from '../../src/db/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createTenant } from '../helpers/factories';
import { waitFor } from '../helpers/wait';

describe('Authenticator', () => {
  let t: TestDatabase;
  let tenantId: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    tenantId = await createTenant(t.db);
  });
  afterAll(() => t.dispose());

  /** The real database, counting the statements that reach it. */
  const counting = (db: Queryable) => {
    const counter = { queries: 0 };
    const wrapped: Queryable = {
      query: (text, params) => {
        if (/from mcp\.api_keys/.test(text)) counter.queries++;
        return db.query(text, params);
      },
      exec: (sql) => db.exec(sql),
    };
    return { wrapped, counter };
  };

  const createKey = async (role: string) => {
    const key = generateApiKey();
    const [row] = await t.db.query<{ id: string }>(
      `insert into mcp.api_keys (tenant_id, name, role, key_hash, prefix) values ($1, $2, $3, $4, $5) returning id`,
      [tenantId, `${role} key`, role, key.hash, key.prefix],
    );
    return { ...key, id: row.id };
  };

  it('resolves a stored key to its tenant and role, and an unknown or malformed one to null', async () => {
    const key = await createKey('viewer');
    const auth = new Authenticator(t.db);

    expect(await auth.authenticate(key.key)).toEqual({ keyId: key.id, keyName: 'viewer key', role: 'viewer', tenantId });
    expect(await auth.authenticate(generateApiKey().key)).toBeNull();
    expect(await auth.authenticate('')).toBeNull();
    expect(await auth.authenticate('x'.repeat(500))).toBeNull();
  });

  it('accepts OPERATOR_KEY as a platform operator without a tenant', async () => {
    const auth = new Authenticator(t.db, { operatorKey: 'operator-key-from-env-0123' });

    expect(await auth.authenticate('operator-key-from-env-0123')).toMatchObject({ role: 'operator', tenantId: null });
    expect(await auth.authenticate('operator-key-from-env-0124')).toBeNull();
  });

  it('stops accepting a revoked key once it is forgotten', async () => {
    const key = await createKey('agent');
    const auth = new Authenticator(t.db, { cacheTtlMs: 60_000 });
    expect(await auth.authenticate(key.key)).not.toBeNull();

    await t.db.query(`update mcp.api_keys set revoked_at = now() where id = $1`, [key.id]);
    auth.forget(key.id);

    expect(await auth.authenticate(key.key)).toBeNull();
  });

  it('shares one database lookup among simultaneous requests with the same key', async () => {
    const key = await createKey('agent');
    const { wrapped, counter } = counting(t.db);
    const auth = new Authenticator(wrapped);

    const principals = await Promise.all(Array.from({ length: 50 }, () => auth.authenticate(key.key)));

    expect(new Set(principals.map((p) => p?.keyId))).toEqual(new Set([key.id]));
    expect(counter.queries).toBe(1);
  });

  it('records when a key was last used', async () => {
    const key = await createKey('admin');
    const auth = new Authenticator(t.db);

    await auth.authenticate(key.key);

    // written off the request path: wait for it
    const lastUsed = await waitFor(async () => {
      const [row] = await t.db.query<{ last_used_at: Date | null }>(`select last_used_at from mcp.api_keys where id = $1`, [
        key.id,
      ]);
      return row.last_used_at;
    }, 5000);
    expect(lastUsed).toBeInstanceOf(Date);
  });
});
