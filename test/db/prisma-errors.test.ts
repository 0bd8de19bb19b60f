import crypto from 'node:crypto';
import { mapDatabaseError } from '../../src/db/errors';
import { AppError, ErrorCode } from '../../src/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';

/**
 * Prisma Client's errors (through @prisma/adapter-pg or pglite-prisma-adapter) map at the
 * same boundary, to the same codes and SQLSTATEs as the SQL path's: the SQLSTATE is read
 * from the driver adapter's cause, not from Prisma's P-code.
 */
describe('database error mapping of Prisma Client errors', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  const failure = async (fn: () => Promise<unknown>): Promise<AppError> => {
    try {
      await fn();
    } catch (error) {
      const mapped = mapDatabaseError(error);
      if (!(mapped instanceof AppError)) throw error;
      return mapped;
    }
    throw new Error('the call did not fail');
  };
  const keyHash = () => crypto.randomBytes(32).toString('hex');

  it('a unique violation (P2002) is CONFLICT with SQLSTATE 23505', async () => {
    const id = agentId();
    await t.db.prisma.agentManifest.create({ data: { agentId: id, agentType: 'ide', name: 'x' } });

    const error = await failure(() => t.db.prisma.agentManifest.create({ data: { agentId: id, agentType: 'ide', name: 'x' } }));

    expect([error.extensions.code, error.extensions.sqlState]).toEqual([ErrorCode.CONFLICT, '23505']);
  });

  it('a check violation (P2039) is BAD_USER_INPUT with SQLSTATE 23514', async () => {
    const error = await failure(() => t.db.prisma.agentManifest.create({ data: { agentId: 'Not Valid', agentType: 'ide', name: 'x' } }));

    expect([error.extensions.code, error.extensions.sqlState]).toEqual([ErrorCode.BAD_USER_INPUT, '23514']);
  });

  it('a write naming a row that does not exist (P2003) is NOT_FOUND', async () => {
    const data = { tenantId: crypto.randomUUID(), name: 'k', role: 'admin' as const, keyHash: keyHash(), prefix: 'ar_x' };

    const error = await failure(() => t.db.prisma.apiKey.create({ data }));

    expect([error.extensions.code, error.extensions.sqlState]).toEqual([ErrorCode.NOT_FOUND, '23503']);
  });

  it('a delete blocked by rows that still reference it is CONFLICT (23503 on PostgreSQL 15, 23001 on PGlite)', async () => {
    const tenantId = await createTenant(t.db);
    const manifest = await t.db.prisma.agentManifest.create({ data: { agentId: agentId(), agentType: 'ide', name: 'x' } });
    await t.db.prisma.agentConfiguration.create({ data: { tenantId, manifestId: manifest.id, name: 'c' } });

    const error = await failure(() => t.db.prisma.agentManifest.delete({ where: { id: manifest.id } }));

    expect(error.extensions.code).toBe(ErrorCode.CONFLICT);
    expect(['23503', '23001']).toContain(error.extensions.sqlState);
  });

  it('a custom SQLSTATE raised under Prisma keeps its code and the database message', async () => {
    const error = await failure(() => t.db.prisma.$executeRawUnsafe(`do $$ begin raise exception 'no such thing' using errcode = 'RGTEN'; end $$`));

    expect([error.extensions.code, error.extensions.sqlState, error.message]).toEqual([ErrorCode.NOT_FOUND, 'RGTEN', 'no such thing']);
  });

  it('a record an update or delete requires but does not find (P2025) is NOT_FOUND', async () => {
    const error = await failure(() => t.db.prisma.tenant.update({ where: { id: crypto.randomUUID() }, data: { name: 'x' } }));

    expect(error.extensions.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('leaves unknown errors unmapped so that the transport masks them', async () => {
    let caught: unknown;
    await t.db.prisma.$queryRawUnsafe('select * from mcp.no_such_table').catch((error: unknown) => (caught = error));

    expect(caught).toBeDefined();
    expect(mapDatabaseError(caught)).not.toBeInstanceOf(AppError);
  });
});
