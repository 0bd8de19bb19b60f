import { type App, createApp } from '../../src/app';
import type { Clock } from '../../src/clock';
import { type Config, loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from './database';
import { createLogger, type Logger } from '../../src/logger';

/** A logger that keeps the lines at warn level and above, for tests that check what was logged. */
export function recordingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; [key: string]: unknown }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A config for tests: port 0 on 127.0.0.1, silent logs, no bootstrap, plus `env` overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BOOTSTRAP: 'false', ...env });
}

export interface TestApp {
  app: App;
  /** Base URL, e.g. http://127.0.0.1:54321 */
  url: string;
  database: TestDatabase;
  /** Stops the app and drops its database. */
  dispose(): Promise<void>;
}

/**
 * A started app on port 0 with a database of its own. Pass `database` to run a second
 * app process against the same database (PostgreSQL), `env` for config overrides.
 */
export async function startTestApp(
  options: { env?: Record<string, string>; clock?: Clock; database?: TestDatabase; logger?: Logger } = {},
): Promise<TestApp> {
  const ownsDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase());
  const config = testConfig({ ...(database.url ? { DATABASE_URL: database.url } : {}), ...options.env });
  // PGlite has one connection: the app must share the test's instance. On PostgreSQL
  // each app opens its own pool, as a separate process would.
  const app = await createApp(config, { clock: options.clock, logger: options.logger, db: database.url ? undefined : database.db });
  await app.start();
  return {
    app,
    url: app.url(),
    database,
    async dispose() {
      await app.stop();
      if (ownsDatabase) await database.dispose();
    },
  };
}
