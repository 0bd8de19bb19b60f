import { type ChildProcess, execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { openPglite } from '../../src/db/client';
import { createTestDatabase, postgresOnly, type TestDatabase } from '../helpers/database';
import { subscribe, type Subscriber } from '../events/subscriber';
import { eventually } from '../events/support';

const root = path.resolve(__dirname, '../..');

/** One agent on the agent WebSocket: registers, then heartbeats (workload = 1, 2, 3, …) as fast as acks come. */
async function startAgent(baseUrl: string, key: string, instanceId: string) {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/agents`, { headers: { authorization: `Bearer ${key}` } });
  const replies = new Map<string, (message: { type: number }) => void>();
  let seq = 0;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: number; id?: string };
    if (message.id !== undefined) replies.get(String(message.id))?.(message);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const call = (method: string, params: Record<string, unknown>) =>
    new Promise<{ type: number } | null>((resolve) => {
      const id = String(++seq);
      replies.set(id, resolve);
      void closed.then(() => resolve(null));
      ws.send(JSON.stringify({ type: 0, id, method, params }));
    });
  const registered = await call('agent.register', { agent_id: 'sigterm-agent', instance_id: instanceId });
  expect(registered?.type).toBe(1);
  const agent = { instanceId, acked: 0, closed, done: Promise.resolve() };
  agent.done = (async () => {
    for (let n = 1; n < 1_000_000; n++) {
      const reply = await call('agent.heartbeat', { workload: n });
      if (reply?.type !== 1) return;
      agent.acked = n;
    }
  })();
  return agent;
}

describe('SIGTERM', () => {
  let outDir: string;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let child: ChildProcess | undefined;
  const subscribers: Subscriber[] = [];

  beforeAll(async () => {
    // a private build of the current sources, so that no other build can change it under us
    outDir = path.join(root, 'dist', `ops-test-${process.pid}`);
    await promisify(execFile)(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
      { cwd: root },
    );
  }, 180_000);
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const s of subscribers.splice(0)) await s.dispose();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await database?.dispose();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs the private build with `env`; collects its stdout lines (JSON logs) and its stderr. */
  const startBuilt = (env: Record<string, string | undefined>) => {
    const proc = spawn(process.execPath, [path.join(outDir, 'src/index.js')], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        BOOTSTRAP: 'false',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '8000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { lines: [] as string[], stderr: '' };
    let buffered = '';
    proc.stdout!.on('data', (chunk) => {
      buffered += String(chunk);
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      out.lines.push(...parts.filter((line) => line.trim() !== ''));
    });
    proc.stderr!.on('data', (chunk) => (out.stderr += String(chunk)));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { proc, out, exited };
  };

  it('drains: closes sockets with 1001, keeps every acknowledged heartbeat, and exits 0', async () => {
    database = process.env.TEST_DATABASE_URL ? await createTestDatabase() : undefined;
    dataDir = database ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'registry-sigterm-'));
    const operatorKey = `op-${crypto.randomBytes(12).toString('hex')}`;
    const server = startBuilt({
      OPERATOR_KEY: operatorKey,
      ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }),
    });
    child = server.proc;
    const { out, exited } = server;
    const stdout = out.lines;

    await eventually(() => stdout.some((line) => line.includes('agent registry listening')), 30_000).catch(() => {
      throw new Error(`the server did not start:\n${stdout.join('\n')}\n${out.stderr}`);
    });
    const { url } = JSON.parse(stdout.find((line) => line.includes('agent registry listening'))!) as { url: string };
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data: Record<string, any>; errors?: unknown };
      expect(body.errors).toBeUndefined();
      return body.data;
    };
    const tenantId = (await gql(`mutation { createTenant(input: { name: "sigterm" }) { id } }`)).createTenant.id as string;
    const keyOf = async (role: string) =>
      (
        await gql(`mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, {
          input: { name: `${role} key`, role, tenantId },
        })
      ).createApiKey.key as string;
    const [agentKey, viewerKey] = [await keyOf('agent'), await keyOf('viewer')];

    const dashboard = subscribe(url, viewerKey, { kinds: ['registered'] });
    subscribers.push(dashboard);
    // the dashboard is live once it sees a registration made after it subscribed
    let probe = 0;
    await eventually(async () => {
      const agent = await startAgent(url, agentKey, `probe-${probe++}`);
      await eventually(() => agent.acked > 0);
      return dashboard.events.length > 0;
    }, 20_000);

    const agents = await Promise.all([1, 2, 3].map((n) => startAgent(url, agentKey, `agent-${n}`)));
    await eventually(() => agents.every((a) => a.acked >= 10));

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    const tookMs = Date.now() - signalledAt;
    await Promise.all(agents.map((a) => a.done));

    expect({ code, signal, stderr: out.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(tookMs).toBeLessThan(8000);
    for (const agent of agents) expect(await agent.closed).toBe(1001);
    await eventually(() => dashboard.closeCodes.length > 0);
    expect(dashboard.closeCodes).toEqual([1001]);

    // every line is a JSON log object; the shutdown is logged from start to end
    const logs = stdout.map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'agent registry stopped']));

    // every acknowledged heartbeat is stored: the stored workload is at least the last acked one
    const rows = database
      ? await database.db.query<{ instance_id: string; current_workload: number }>(
          `select instance_id, current_workload from mcp.agent_registrations where instance_id like 'agent-%'`,
        )
      : await (async () => {
          const db = await openPglite(dataDir!);
          try {
            return await db.query<{ instance_id: string; current_workload: number }>(
              `select instance_id, current_workload from mcp.agent_registrations where instance_id like 'agent-%'`,
            );
          } finally {
            await db.close();
          }
        })();
    expect(rows).toHaveLength(3);
    for (const agent of agents) {
      const row = rows.find((r) => r.instance_id === agent.instanceId)!;
      expect(row.current_workload).toBeGreaterThanOrEqual(agent.acked);
    }
  }, 120_000);

  /** Pids of the live child processes of `pid` (Linux /proc). */
  const childrenOf = (pid: number): number[] =>
    fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
          // fields after the parenthesised command: state, ppid, …
          const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return Number(ppid) === pid && state !== 'Z';
        } catch {
          return false;
        }
      })
      .map(Number);

  postgresOnly('WORKERS > 1 needs PostgreSQL')(
    'WORKERS=2: two API processes share the port, serve requests, and all stop on SIGTERM with exit 0',
    async () => {
      database = await createTestDatabase();
      const operatorKey = `op-${crypto.randomBytes(12).toString('hex')}`;
      const server = startBuilt({ OPERATOR_KEY: operatorKey, WORKERS: '2', DATABASE_URL: database.url });
      child = server.proc;
      const { out, exited } = server;
      const lines = out.lines;

      const listening = () => lines.filter((line) => line.includes('agent registry listening'));
      await eventually(() => listening().length === 2, 30_000).catch(() => {
        throw new Error(`two workers did not start:\n${lines.join('\n')}\n${out.stderr}`);
      });
      const urls = new Set(listening().map((line) => (JSON.parse(line) as { url: string }).url));
      expect(urls.size).toBe(1);
      const [url] = [...urls];
      const workers = childrenOf(child.pid!);
      expect(workers).toHaveLength(2);

      const tenant = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
        body: JSON.stringify({ query: 'mutation { createTenant(input: { name: "workers" }) { id } }' }),
      }).then((res) => res.json() as Promise<{ data: { createTenant: { id: string } } }>);
      expect(tenant.data.createTenant.id).toBeDefined();
      // many parallel requests over fresh connections: the cluster spreads them over both workers
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}`, connection: 'close' },
            body: JSON.stringify({ query: '{ tenants(first: 5) { totalCount } }' }),
          }).then((res) => res.status),
        ),
      );
      expect(answers.every((status) => status === 200)).toBe(true);
      // each worker holds its own database pool and LISTEN connection
      const [{ backends }] = await database.db.query<{ backends: number }>(
        `select count(distinct pid)::int as backends from pg_stat_activity
         where datname = current_database() and query ilike 'listen %'`,
      );
      expect(backends).toBe(2);

      child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
      // the workers exit too (once the primary is gone they would have another parent, so look them up by pid)
      await eventually(() => workers.every((pid) => !fs.existsSync(`/proc/${pid}`)));
      expect(out.stderr).toBe('');
    },
    120_000,
  );
});
