import { mapDatabaseError } from '../../src/db/errors';
import { registerAgentInstance } from '../../src/db/registry-sql';
import { AppError, ErrorCode } from '../../src/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';

describe('database error mapping (one boundary)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  const failure = async (sql: string, params: unknown[]) => {
    try {
      await t.db.query(sql, params);
    } catch (error) {
      return mapDatabaseError(error);
    }
    throw new Error('the statement did not fail');
  };

  it('maps a delete blocked by rows that still reference it (23503/23001) to CONFLICT', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId();
    await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId: 'i-1' });

    const error = await failure(`delete from mcp.agent_manifests where agent_id = $1`, [agent]);

    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).extensions.code).toBe(ErrorCode.CONFLICT);
    // PostgreSQL 15 reports 23503, PostgreSQL 18 (PGlite) 23001 restrict_violation
    expect(['23503', '23001']).toContain((error as AppError).extensions.sqlState);
  });

  it('maps a write naming a row that does not exist (23503) to NOT_FOUND', async () => {
    const error = await failure(`insert into mcp.api_keys (tenant_id, name, role, key_hash, prefix) values ($1, 'k', 'admin', $2, 'ar_x')`, [
      '00000000-0000-0000-0000-00000000beef',
      'a'.repeat(64),
    ]);

    expect((error as AppError).extensions.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('leaves unknown errors unmapped so that the transport masks them', async () => {
    const error = await failure(`select 1 / 0`, []);

    expect(error).not.toBeInstanceOf(AppError);
  });
});
