import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The project root. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** A free TCP port on 127.0.0.1 (released before return: start the server promptly). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export { waitFor } from '../../helpers/wait';

/** A running production build of the service (`node dist/src/index.js`). */
export interface Service {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Lines printed (stdout and stderr), the last 2000. */
  readonly output: string[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after 15 s; waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node dist/src/index.js` (the build is made by the global setup) on `port` (a
 * free one by default) bound to 127.0.0.1 and waits until /readyz answers 200.
 */
export async function startService(env: Record<string, string>, options: { port?: number; timeoutMs?: number } = {}): Promise<Service> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'index.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      BOOTSTRAP: 'false',
      // one process per child: the pid is the server (RSS, SIGKILL, SIGSTOP act on it)
      WORKERS: '1',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`service exited (${child.exitCode ?? child.signalCode}):\n${output.join('\n')}`);
    }
    const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`service not ready on ${url}:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    port,
    pid: child.pid!,
    child,
    output,
    exited,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** Throws, with the service's last output, when it is no longer running (e.g. a signal from outside). */
export function assertRunning(service: Service): void {
  const { exitCode, signalCode } = service.child;
  if (exitCode === null && signalCode === null) return;
  throw new Error(`the service (pid ${service.pid}) exited (${exitCode ?? signalCode}); last output:\n${service.output.slice(-10).join('\n')}`);
}

/** Writes the service's output to `<tmpdir>/agent-registry-resilience-<name>.log`; returns the path. */
export function saveOutput(service: Service | undefined, name: string): string | undefined {
  if (!service) return undefined;
  const file = path.join(os.tmpdir(), `agent-registry-resilience-${name}.log`);
  fs.writeFileSync(file, `${service.output.join('\n')}\n`);
  return file;
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const match = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** The service's /metrics as a map from `name{labels}` (labels as printed) to value. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** Status of /readyz (0 when nothing answers). */
export function readyz(url: string): Promise<number> {
  return fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
}

export interface GraphqlReply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
}

/** One GraphQL POST with a Bearer key; never throws (status 0 when the request failed). */
export async function graphql(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<GraphqlReply> {
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let body: GraphqlReply['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

export const REGISTER_MUTATION = `mutation ($input: RegisterAgentInstanceInput!) {
  registerAgentInstance(input: $input) { isNew registration { id instanceId } }
}`;
