import fs from 'node:fs';
import path from 'node:path';
import type * as Pg from 'pg';
import type { ClientBase, Pool } from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { type Prisma, PrismaClient } from '../generated/prisma/client';
import { precompiledPgliteWasm } from './pglite-wasm';

let pg: typeof Pg | undefined;

/**
 * node-pg, loaded on first use, with this project's type parsers installed. Each database
 * loads only its own driver: the embedded one never needs node-pg (PGlite parses its own
 * results), and node-pg with pg-pool, pg-protocol, pg-types and Prisma's adapter is ~70 ms
 * of the embedded start; PostgreSQL does not load PGlite's Prisma adapter either.
 */
export function loadPg(): typeof Pg {
  if (!pg) {
    pg = require('pg') as typeof Pg;
    const { parseTimestamptz } = require('./timestamps') as typeof import('./timestamps');
    // bigint (int8) as a JS string instead of a lossy number: event ids are bigserial.
    pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);
    // timestamptz: the same Dates as node-pg's parser, read without regular expressions
    pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, parseTimestamptz);
  }
  return pg;
}

/** Something that runs one parameterized SQL statement. */
export interface Queryable {
  /**
   * Runs one statement. `name` (hot statements of fixed text only) makes PostgreSQL parse
   * and plan it once per connection instead of on every call; PGlite ignores it.
   */
  query<T = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<T[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

/**
 * Prisma Client, or the `tx` of one of its interactive transactions: what the CRUD services
 * take. Inside `$transaction(async (tx) => …)` use only `tx` (PGlite has one connection:
 * the outer client would wait for the transaction that waits for it).
 */
export type PrismaDb = PrismaClient | Prisma.TransactionClient;

/**
 * The service's database, two ways in over the same pool (PostgreSQL) or the one embedded
 * connection (PGlite); the rule is in `src/db/README.md`:
 * - `prisma`: Prisma Client, typed by schema.prisma, for the CRUD of tenants, API keys,
 *   manifests and configurations (the admin and operator paths);
 * - `query`/`transaction`: parameterized SQL for the registry's SQL functions and the tuned
 *   statements (register, heartbeat, deregister, sweeps and purges, the event log and its
 *   reader, the authenticator's lookup, the dashboard's reads).
 */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Prisma Client (see {@link PrismaDb}). */
  readonly prisma: PrismaClient;
  /** Runs `fn` in one transaction on one connection. Inside, use only the given queryable. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** The pg pool (PostgreSQL only). */
  readonly pool?: Pool;
  /** The embedded database (PGlite only). */
  readonly pglite?: PGlite;
  /**
   * How the embedded data folder came to be (PGlite only): it held a database already, it was
   * copied from the template (src/db/pglite-template.ts), or PGlite's initdb made it.
   */
  readonly origin?: 'existing' | 'template' | 'initdb';
  /** The connection string (PostgreSQL only); used for dedicated connections such as LISTEN. */
  readonly url?: string;
  /**
   * Statements this process sent through this database so far (queries and the begin/commit
   * of transactions; not the LISTEN connection): each is one round trip. A metric, and how
   * the bench counts round trips per operation.
   */
  statementCount(): number;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when unset the embedded database is used. */
  databaseUrl?: string;
  /** Folder of the embedded database; `memory://` for an in-memory one (tests). */
  dataDir: string;
  /** Maximum pool size (PostgreSQL). Default 10. */
  poolSize?: number;
  /** See {@link PgliteOptions.template}. */
  template?: string;
}

/** Opens PostgreSQL when a URL is given, the embedded PGlite otherwise. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolSize ?? 10)
    : openPglite(options.dataDir, { template: options.template });
}

export function openPostgres(url: string, poolSize = 10): Database {
  const { Pool } = loadPg();
  const { PrismaPg } = require('@prisma/adapter-pg') as typeof import('@prisma/adapter-pg');
  const pool = new Pool({ connectionString: url, max: poolSize, application_name: 'agent-registry' });
  // an idle client that the server drops (restart, pg_terminate_backend) must not crash us
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const counter: StatementCounter = { sent: 0 };
  return {
    kind: 'postgres',
    prisma,
    pool,
    url,
    ...pgQueryable(pool, counter),
    statementCount: () => counter.sent,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        return await inTransaction(client, fn, counter);
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Counts statements sent (see {@link Database.statementCount}). */
export interface StatementCounter {
  sent: number;
}

/** A pg pool or connection as a {@link Queryable} (named statements included). */
export function pgQueryable(client: Pick<Pool, 'query'>, counter: StatementCounter = { sent: 0 }): Queryable {
  return {
    async query<T>(text: string, params?: unknown[], name?: string) {
      counter.sent++;
      const result = name
        ? await client.query({ name, text, values: params as unknown[] })
        : await client.query(text, params as unknown[]);
      return result.rows as T[];
    },
    async exec(sql: string) {
      counter.sent++;
      await client.query(sql);
    },
  };
}

/** Runs `fn` in one transaction on `client` (a dedicated connection): commit, or rollback and rethrow. */
export async function inTransaction<T>(
  client: ClientBase,
  fn: (tx: Queryable) => Promise<T>,
  counter: StatementCounter = { sent: 0 },
): Promise<T> {
  counter.sent++;
  await client.query('begin');
  try {
    const result = await fn(pgQueryable(client, counter));
    counter.sent++;
    await client.query('commit');
    return result;
  } catch (error) {
    counter.sent++;
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** Thrown when another process holds the embedded database folder. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}; ` +
        'stop it, or set DATA_DIR to another folder (or DATABASE_URL to use PostgreSQL)',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface PgliteOptions {
  /**
   * A migrated data folder to start from when `dataDir` holds no database yet (see
   * src/db/pglite-template.ts): copying it takes a fraction of the time PGlite's initdb
   * takes. Unset, or when the copy fails: initdb, as always. Ignored for `memory://`.
   */
  template?: string;
}

export async function openPglite(dataDir: string, options: PgliteOptions = {}): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  const release = inMemory ? () => undefined : lockDataDir(dataDir);
  try {
    const pgdata = path.join(dataDir, 'pgdata');
    let origin: Database['origin'] = 'existing';
    if (inMemory) origin = 'initdb';
    else if (!fs.existsSync(pgdata)) origin = options.template && copyTemplate(options.template, pgdata) ? 'template' : 'initdb';
    // PGlite ships as ESM; a dynamic import keeps this CommonJS module loadable.
    const { PGlite } = await import('@electric-sql/pglite');
    // PostgreSQL's default 128 MB of shared buffers is sized for a server; one embedded
    // connection over a development-sized registry needs far less, and the WASM heap never
    // gives memory back (idle RSS of an existing database: 310 MB with 128 MB, 176 MB with 16 MB).
    const pgliteWasmModule = await precompiledPgliteWasm();
    const startOptions = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'], pgliteWasmModule };
    const pglite = inMemory ? new PGlite(startOptions) : new PGlite(pgdata, startOptions);
    await pglite.waitReady;
    const { PrismaPGlite } = require('pglite-prisma-adapter') as typeof import('pglite-prisma-adapter');
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    type Tx = Parameters<Parameters<PGlite['transaction']>[0]>[0];
    const counter: StatementCounter = { sent: 0 };
    const queryable = (client: PGlite | Tx): Queryable => ({
      async query<T>(text: string, params?: unknown[]) {
        counter.sent++;
        return (await client.query<T>(text, params as unknown[])).rows;
      },
      async exec(sql: string) {
        counter.sent++;
        await client.exec(sql);
      },
    });
    return {
      kind: 'pglite',
      prisma,
      pglite,
      origin,
      ...queryable(pglite),
      statementCount: () => counter.sent,
      transaction: (fn) => pglite.transaction((tx) => fn(queryable(tx))),
      async close() {
        await prisma.$disconnect();
        await pglite.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Copies a template data folder to `pgdata` (which does not exist): to a temporary name
 * first, renamed when complete, so that an interrupted copy never looks like a database.
 * False, with a warning, when it failed (the caller then lets PGlite initdb).
 */
function copyTemplate(template: string, pgdata: string): boolean {
  const partial = `${pgdata}.copying`;
  try {
    fs.rmSync(partial, { recursive: true, force: true });
    fs.cpSync(template, partial, { recursive: true });
    fs.renameSync(partial, pgdata);
    return true;
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    process.emitWarning(`the embedded database template ${template} could not be copied (${(error as Error).message}); running initdb`);
    return false;
  }
}

/**
 * PGlite is one process per folder. A lock file holding our pid guards the folder; a
 * lock left by a process that no longer runs is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'registry.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) {
        throw new DataDirLockedError(dataDir, pid);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${lockFile}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
