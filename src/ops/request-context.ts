import crypto from 'node:crypto';
import type http from 'node:http';
import type { Logger } from '../logger';

const ACCEPTED_ID = /^[\w.:-]{1,128}$/;

/** A caller's `x-request-id` when it is a sane token (letters, digits, `_.:-`, up to 128), else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && ACCEPTED_ID.test(value) ? value : crypto.randomUUID();
}

/**
 * Gives an HTTP request its id (the caller's `x-request-id`, or a new one), echoes it in the
 * `x-request-id` response header, and logs one line when the response is done: debug, or
 * warn for 5xx answers. The id is passed on explicitly (the GraphQL context carries it to
 * the error log): no AsyncLocalStorage, whose promise hooks would tax every promise of the
 * process (Node 20).
 */
export function startRequest(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger, path: string): string {
  const requestId = requestIdOf(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  const started = performance.now();
  res.once('finish', () => {
    const line = {
      requestId,
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (res.statusCode >= 500) logger.warn(line, 'request failed');
    else if (logger.isLevelEnabled('debug')) logger.debug(line, 'request');
  });
  return requestId;
}
