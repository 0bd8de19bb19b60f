import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { pgQueryable } from '../../../src/db/client';
import { createTenant } from '../../helpers/factories';
import { createApiKey } from '../../helpers/keys';
import { freePort } from './service';

/** The PostgreSQL server the suite uses (an admin URL); the npm script defaults it. */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL?.trim();
  if (!url) throw new Error('TEST_DATABASE_URL is not set (npm run test:resilience sets a default)');
  return url;
}

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` with a short-lived connection to `url`. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Name prefix of every database this run creates (dropped by the global teardown). */
export function runPrefix(): string {
  const id = process.env.AGENT_REGISTRY_RESILIENCE_RUN;
  if (!id) throw new Error('test/resilience/global-setup.ts did not run');
  return `agent_registry_r${id}`;
}

export interface ScenarioDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** An empty database of its own on `serverUrl` (the service migrates it on start). */
export async function createScenarioDatabase(serverUrl: string = adminUrl()): Promise<ScenarioDatabase> {
  const name = `${runPrefix()}_${crypto.randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`create database ${name}`));
  return {
    name,
    url: databaseUrl(serverUrl, name),
    drop: () => withClient(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

export interface Tenant {
  tenantId: string;
  agentKey: string;
  adminKey: string;
  viewerKey: string;
}

/** Creates a tenant with an agent, an admin and a viewer key (on a migrated database). */
export async function seedTenant(url: string, name = `resilience-${crypto.randomBytes(3).toString('hex')}`): Promise<Tenant> {
  return withClient(url, async (c) => {
    const db = pgQueryable(c);
    const tenantId = await createTenant(db, { name });
    return {
      tenantId,
      agentKey: await createApiKey(db, tenantId, 'agent'),
      adminKey: await createApiKey(db, tenantId, 'admin'),
      viewerKey: await createApiKey(db, tenantId, 'viewer'),
    };
  });
}

/** Terminates every connection to database `name` but the caller's; returns how many. */
export async function terminateConnections(serverUrl: string, name: string): Promise<number> {
  return withClient(serverUrl, async (c) => {
    const { rows } = await c.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [name],
    );
    return rows.length;
  });
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL 15 cluster of our own (initdb + pg_ctl as the `postgres` OS
 * user, trust auth, 127.0.0.1 only, a free port), so that restarting it disturbs no one.
 */
export class ThrowawayCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** The admin URL of the cluster. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Why a cluster cannot be made here, or null when it can. */
  static unavailableReason(): string | null {
    if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) return `${PG_BIN}/initdb not found`;
    if (process.getuid?.() !== 0) {
      try {
        if (os.userInfo().username !== 'postgres') return 'initdb must run as the postgres OS user: the suite is neither root nor postgres';
      } catch {
        return 'unknown OS user';
      }
    }
    return null;
  }

  static async create(): Promise<ThrowawayCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-registry-pg-'));
    fs.chmodSync(dir, 0o755);
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
    const cluster = new ThrowawayCluster(dir, await freePort());
    await cluster.pg('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
    return cluster;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const [file, argv] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, tool), ...args]]
        : [path.join(PG_BIN, tool), args];
    await promisify(execFile)(file, argv, { timeout: 60_000 });
  }

  start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c max_connections=200 -c fsync=off`;
    return this.pg('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', path.join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** Fast shutdown: connections are terminated, the server is down until {@link start}. */
  stop(): Promise<void> {
    return this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Stops (if running) and deletes the cluster. */
  async destroy(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']).catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
