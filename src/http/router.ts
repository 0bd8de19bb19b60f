import type http from 'node:http';
import type { Logger } from '../logger';
import { startRequest } from '../ops/request-context';
import { sendJson } from './respond';

/** Handles one request; `requestId` is the id every log line about it carries. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string) => void | Promise<void>;

export interface RouterOptions {
  logger: Logger;
  /** Exact paths, by method (`*`: any method). */
  routes: Record<string, Partial<Record<'GET' | 'POST' | '*', Handler>>>;
  /** Tried in order for paths not in `routes` (e.g. static files under a prefix); true when handled. */
  fallbacks?: Array<(req: http.IncomingMessage, res: http.ServerResponse) => boolean>;
}

/**
 * The HTTP request listener: node:http with a table of exact paths, no framework (express
 * and its body parser, router and content negotiation were a third of a GraphQL request's
 * CPU). Unknown paths get 404, known paths with another method 405, and a handler that
 * throws 500 (logged); all JSON.
 */
export function createRouter({ logger, routes, fallbacks = [] }: RouterOptions): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const requestId = startRequest(req, res, logger, path);
    const route = routes[path];
    if (!route) {
      for (const fallback of fallbacks) if (fallback(req, res)) return;
      return sendJson(res, 404, { error: `no such path: ${path}` });
    }
    const handler = route[req.method as 'GET' | 'POST'] ?? route['*'];
    if (!handler) {
      res.setHeader('allow', Object.keys(route).join(', '));
      return sendJson(res, 405, { error: `${req.method} is not allowed on ${path}` });
    }
    const failed = (error: unknown) => {
      logger.error({ err: error, requestId, path }, 'unexpected error in an HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal server error' });
      else res.destroy();
    };
    try {
      const done = handler(req, res, requestId);
      if (done) done.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}
