import type http from 'node:http';
import type { Database } from '../db/client';
import { migrationStatus, readMigrations } from '../db/migrate';
import { sendJson } from './respond';

export interface HealthOptions {
  db: Database;
  /** False while the service drains for shutdown: /readyz then answers 503. */
  isAccepting: () => boolean;
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: 200 only when the database answers,
 * every migration is applied, and the service is not draining; otherwise 503 with why.
 */
export function healthHandlers({ db, isAccepting }: HealthOptions) {
  // the files do not change while the process runs: read and hash them once, not per probe
  const migrations = readMigrations();
  return {
    healthz(_req: http.IncomingMessage, res: http.ServerResponse): void {
      sendJson(res, 200, { status: 'ok' });
    },
    async readyz(_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      if (!isAccepting()) return sendJson(res, 503, { status: 'draining' });
      try {
        const { pending } = await migrationStatus(db, migrations);
        if (pending.length > 0) return sendJson(res, 503, { status: 'migrations pending', pending });
        sendJson(res, 200, { status: 'ready', database: db.kind });
      } catch (error) {
        sendJson(res, 503, { status: 'database unavailable', error: (error as Error).message });
      }
    },
  };
}
