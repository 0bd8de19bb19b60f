import crypto from 'node:crypto';
import type http from 'node:http';
import type { RegistryMetrics } from '../metrics/registry-metrics';
import { send, sendJson } from './respond';

/**
 * `GET /metrics`: every metric in the Prometheus text format. With `token` set
 * (METRICS_TOKEN), only requests with `Authorization: Bearer <token>` (Prometheus'
 * `authorization` scrape setting) get it, others 401: for deployments where tenants can
 * reach the port (the series carry tenant ids, never names).
 */
export function metricsHandler(metrics: RegistryMetrics, token?: string) {
  const expected = token ? crypto.createHash('sha256').update(`Bearer ${token}`).digest() : null;
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (expected) {
      const sent = crypto.createHash('sha256').update(req.headers.authorization ?? '').digest();
      if (!crypto.timingSafeEqual(sent, expected)) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendJson(res, 401, { error: 'send Authorization: Bearer <METRICS_TOKEN>' });
      }
    }
    try {
      send(res, 200, metrics.registry.contentType, await metrics.render());
    } catch (error) {
      send(res, 503, 'text/plain; charset=utf-8', `metrics unavailable: ${(error as Error).message}\n`);
    }
  };
}
