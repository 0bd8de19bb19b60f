import type { Request, Response, Router } from 'express';
import express from 'express';
import type { Database } from '../db/client';
import { migrationStatus, readMigrations } from '../db/migrate';

export interface HealthOptions {
  db: Database;
  /** False while the service drains for shutdown: /readyz then answers 503. */
  isAccepting: () => boolean;
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: 200 only when the database answers,
 * every migration is applied, and the service is not draining; otherwise 503 with why.
 */
export function healthRouter({ db, isAccepting }: HealthOptions): Router {
  const router = express.Router();
  // the files do not change while the process runs: read and hash them once, not per probe
  const migrations = readMigrations();
  router.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req: Request, res: Response) => {
    if (!isAccepting()) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    try {
      const { pending } = await migrationStatus(db, migrations);
      if (pending.length > 0) {
        res.status(503).json({ status: 'migrations pending', pending });
        return;
      }
      res.json({ status: 'ready', database: db.kind });
    } catch (error) {
      res.status(503).json({ status: 'database unavailable', error: (error as Error).message });
    }
  });
  return router;
}
