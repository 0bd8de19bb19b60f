import 'reflect-metadata';
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config';
import { precompilePgliteWasm } from './db/pglite-wasm';
import { createLogger } from './logger';
import { runWorkers } from './ops/workers';

/** Entry point: read config, create the app (or its worker processes), listen, and stop cleanly on signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) {
    const code = await runWorkers(config.workers, createLogger(config.logLevel), config.shutdownTimeoutMs);
    process.exit(code);
  }
  // the embedded database's WebAssembly compiles in the background while the app loads
  if (!config.databaseUrl) precompilePgliteWasm();
  const { createApp } = await import('./app');
  const app = await createApp(config);
  await app.start();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      app.logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
