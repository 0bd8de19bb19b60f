import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logger';

/**
 * The primary process of `WORKERS > 1`: forks the API processes (which share the port
 * through node:cluster), replaces one that dies unexpectedly, and on SIGTERM/SIGINT asks
 * every worker to drain and waits for them. Resolves with the exit code to use.
 */
export function runWorkers(count: number, logger: Logger, shutdownTimeoutMs: number): Promise<number> {
  let stopping = false;
  let failed = false;
  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'started API worker processes');

  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) {
        if (code !== 0) failed = true;
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(failed ? 1 : 0);
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'an API worker died; starting another');
      // a worker that cannot start at all (bad config, database gone) must not spin
      setTimeout(() => stopping || fork(), 1000).unref();
    });
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping API workers');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
      if (workers.length === 0) resolve(0);
      for (const worker of workers) worker.process.kill('SIGTERM');
      // the workers keep their own deadline; this one only guards against a stuck worker
      setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        resolve(1);
      }, shutdownTimeoutMs + 2000).unref();
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}
