import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The project root (bench/ is compiled to dist/bench/). */
export const ROOT = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'prisma'))) return dir;
  }
  throw new Error('project root not found');
})();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface Service {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Lines the service printed (stdout + stderr), for bootstrap keys and diagnostics. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the production build (`node dist/src/index.js`) and waits for /readyz. */
export async function startService(env: Record<string, string>, timeoutMs = 60_000): Promise<Service & { readyMs: number }> {
  const port = Number(env.PORT) || (await freePort());
  const started = performance.now();
  // BENCH_SERVICE_NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the service only
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'src', 'index.js')], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // BENCH_SERVICE_OUTPUT=FILE also appends everything the service prints there (with --trace-gc, say)
  const tee = process.env.BENCH_SERVICE_OUTPUT ? fs.createWriteStream(process.env.BENCH_SERVICE_OUTPUT, { flags: 'a' }) : null;
  const collect = (chunk: Buffer) => {
    tee?.write(chunk);
    for (const line of chunk.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${output.join('\n')}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service not ready after ${timeoutMs} ms:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const readyMs = performance.now() - started;
  return {
    url,
    port,
    pid: child.pid!,
    child,
    output,
    readyMs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** CPU time (user + system) a process used so far, in milliseconds (Linux). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the fields after the command name (which may hold spaces) in parentheses
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time (user + system, ms) used so far by each PostgreSQL server process on this machine (Linux), by pid. */
export function postgresCpuSnapshot(): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      byPid.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // gone in between
    }
  }
  return byPid;
}

/**
 * CPU (ms) the PostgreSQL processes used since `before`: processes started since count in
 * full; processes that exited in between are missed (a pool closing an idle connection), so
 * the figure is a lower bound.
 */
export function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpuSnapshot()) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Resident set size of a process, in bytes (Linux). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(/VmRSS:\s+(\d+) kB/);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
