import express, { type Request, type Response, type Router } from 'express';
import type { RegistryMetrics } from '../metrics/registry-metrics';

/**
 * `GET /metrics`: every metric in the Prometheus text format. Not authenticated, like most
 * exporters: it shows counts across tenants (no names, no ids), so keep the port private or
 * filter the path at the load balancer if that matters.
 */
export function metricsRouter(metrics: RegistryMetrics): Router {
  const router = express.Router();
  router.get('/metrics', async (_req: Request, res: Response) => {
    try {
      const body = await metrics.render();
      res.type(metrics.registry.contentType).send(body);
    } catch (error) {
      res.status(503).type('text/plain').send(`metrics unavailable: ${(error as Error).message}\n`);
    }
  });
  return router;
}
