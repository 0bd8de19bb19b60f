import net from 'node:net';
import { Client, Pool } from 'pg';
import { mapDatabaseError } from '../../src/db/errors';
import { AppError, ErrorCode } from '../../src/errors';
import { createTestDatabase, postgresOnly, type TestDatabase, usingPostgres } from '../helpers/database';
import { TEST_DATABASE_URL } from '../helpers/postgres';

async function mappedFailure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return mapDatabaseError(error);
  }
  throw new Error('did not fail');
}

const codeOf = (error: unknown) => (error instanceof AppError ? error.extensions.code : `unmapped: ${String(error)}`);

// Found by the resilience suite: these were masked as INTERNAL_SERVER_ERROR
describe('a lost or refused database connection maps to UNAVAILABLE (retryable)', () => {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    if (usingPostgres) t = await createTestDatabase();
  });
  afterAll(() => t?.dispose());

  it('connection refused (nothing listens on the port)', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const pool = new Pool({ connectionString: `postgresql://postgres@127.0.0.1:${port}/x`, max: 1 });
    try {
      expect(codeOf(await mappedFailure(() => pool.query('select 1')))).toBe(ErrorCode.UNAVAILABLE);
    } finally {
      await pool.end();
    }
  });

  postgresOnly('terminates a real backend')('the backend was terminated (57P01, FATAL)', async () => {
    const client = new Client({ connectionString: t!.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const [{ pid }] = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows;
      await t!.db.query('select pg_terminate_backend($1)', [pid]);
      expect(codeOf(await mappedFailure(() => client.query('select 1')))).toBe(ErrorCode.UNAVAILABLE);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  postgresOnly('terminates a real backend')('a client that already saw its backend go ("not queryable")', async () => {
    const client = new Client({ connectionString: t!.url });
    // `on`, not `once`: pg may emit a second 'error' (the FATAL 57P01 message, then the socket
    // closing: "Connection terminated unexpectedly"), and an 'error' without a listener throws
    const lost = new Promise((resolve) => client.on('error', resolve));
    await client.connect();
    try {
      const [{ pid }] = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows;
      await t!.db.query('select pg_terminate_backend($1)', [pid]);
      await lost;
      const error = await mappedFailure(() => client.query('select 1'));
      expect(codeOf(error)).toBe(ErrorCode.UNAVAILABLE);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  postgresOnly('needs a database that refuses connections')('the database refuses connections (55000, FATAL)', async () => {
    const name = new URL(t!.url!).pathname.slice(1);
    const admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`alter database ${name} allow_connections false`);
      const client = new Client({ connectionString: t!.url });
      client.on('error', () => undefined);
      const error = await mappedFailure(() => client.connect());
      expect(codeOf(error)).toBe(ErrorCode.UNAVAILABLE);
      expect((error as AppError).extensions.sqlState).toBe('55000');
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
    }
  });

  it('an ordinary error is still not UNAVAILABLE', async () => {
    const plain = mapDatabaseError(Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' }));
    expect(plain).not.toBeInstanceOf(AppError);
  });
});
