import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The id of the HTTP request being handled, if any (every log line written meanwhile carries it). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

const ACCEPTED_ID = /^[\w.:-]{1,128}$/;

/** A caller's `x-request-id` when it is a sane token (letters, digits, `_.:-`, up to 128), else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && ACCEPTED_ID.test(value) ? value : crypto.randomUUID();
}

/**
 * Gives every HTTP request an id (the caller's `x-request-id`, or a new one), echoes it in
 * the `x-request-id` response header, and runs the request inside it, so that every log
 * line written while handling it (GraphQL errors included) carries `requestId`. Logs one
 * line per request when it finishes: debug, or warn for 5xx answers.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    res.once('finish', () => {
      const line = {
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
      if (res.statusCode >= 500) logger.warn(line, 'request failed');
      else logger.debug(line, 'request');
    });
    storage.run({ requestId }, next);
  };
}
