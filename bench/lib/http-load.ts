import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { percentile } from './stats';

/**
 * An open-loop HTTP driver: `rate` POST requests per second, evenly spread (due requests
 * are sent every `tickMs`), over at most `connections` keep-alive sockets.
 *
 * Why not autocannon's `overallRate`: autocannon lets each connection send its quota for
 * the second back to back as soon as the second starts, then waits for the next second, so
 * "500/s" is a closed-loop burst of 500 at the start of every second and its latencies are
 * a closed loop's. It also records each latency with HdrHistogram's coordinated-omission
 * correction at an expected interval of ceil(1 / rate) = 1 ms, which adds one synthetic
 * sample per millisecond of every response. Neither is a fixed rate.
 *
 * Latency is measured from the moment a request was due, not from when a socket was free:
 * time spent queued behind busy sockets counts (no coordinated omission).
 */
export interface FixedRateRun {
  completed: number;
  non2xx: number;
  errors: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** p99 of the requests due in each second of the run: where in the run the tail is. */
  p99BySecond: number[];
}

export async function httpFixedRate(options: {
  url: string;
  headers: Record<string, string>;
  body: string;
  rate: number;
  seconds: number;
  connections: number;
  tickMs?: number;
  /**
   * Seconds sent at the rate before the measured ones, not recorded: the thread's code and
   * its keep-alive sockets are warm when measuring starts. Default 0.
   */
  warmupSeconds?: number;
}): Promise<FixedRateRun> {
  const { rate, seconds } = options;
  const warmupMs = (options.warmupSeconds ?? 0) * 1000;
  const tickMs = options.tickMs ?? 2;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const headers = { ...options.headers, 'content-length': String(body.length) };
  const latencies: number[] = [];
  const bySecond: number[][] = [];
  let non2xx = 0;
  let errors = 0;
  const total = Math.floor(rate * (seconds + warmupMs / 1000));
  const inflight = new Set<Promise<void>>();

  const send = (dueAt: number) => {
    const done = new Promise<void>((resolve) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            if (dueAt - started < warmupMs) {
              if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
            } else if (res.statusCode! >= 200 && res.statusCode! < 300) {
              const latency = performance.now() - dueAt;
              latencies.push(latency);
              (bySecond[Math.floor((dueAt - started - warmupMs) / 1000)] ??= []).push(latency);
            } else non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  };

  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - started) / 1000) * rate));
    for (; sent < due; sent++) send(started + (sent * 1000) / rate);
    if (now - started > warmupMs + (seconds + 30) * 1000) break;
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started - warmupMs) / 1000;
  agent.destroy();
  return {
    completed: latencies.length,
    non2xx,
    errors,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    p99BySecond: Array.from(bySecond, (second) => (second ? percentile(second, 99) : 0)),
  };
}

/**
 * {@link httpFixedRate} on a worker thread of its own: its event loop answers only these
 * requests, so that what else the bench process drives at the same time (2,000 agent
 * sockets, say) does not delay the reading of responses and count as the service's latency.
 */
export function httpFixedRateInWorker(options: Parameters<typeof httpFixedRate>[0]): Promise<FixedRateRun> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: options });
    worker.once('message', (run: FixedRateRun) => resolve(run));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

if (!isMainThread && workerData && typeof (workerData as { url?: unknown }).url === 'string') {
  void httpFixedRate(workerData as Parameters<typeof httpFixedRate>[0]).then((run) => parentPort!.postMessage(run));
}
