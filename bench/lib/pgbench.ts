import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number;
  transactions: number;
  failed: number;
}

/**
 * Runs pgbench with a custom script (no vacuum, no init) against `url` for `seconds`
 * with `clients` connections, and parses its summary.
 */
export function pgbench(url: string, script: string, options: { clients: number; seconds: number; vars?: Record<string, string> }): PgbenchResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbench-'));
  const file = path.join(dir, 'script.sql');
  fs.writeFileSync(file, script);
  const args = [
    '-n',
    '-f', file,
    '-c', String(options.clients),
    '-j', String(Math.min(options.clients, os.cpus().length)),
    '-T', String(options.seconds),
    '-M', 'prepared',
    ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    url,
  ];
  const result = spawnSync('pgbench', args, { encoding: 'utf8', timeout: (options.seconds + 60) * 1000 });
  fs.rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`pgbench failed (${result.status}): ${result.stderr || result.stdout}`);
  const out = result.stdout;
  const num = (re: RegExp) => Number(out.match(re)?.[1] ?? NaN);
  return {
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    transactions: num(/number of transactions actually processed: (\d+)/),
    failed: num(/number of failed transactions: (\d+)/) || 0,
  };
}
