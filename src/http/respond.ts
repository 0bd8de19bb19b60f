import type http from 'node:http';

/**
 * Writes a whole response at once: status, headers with its length, and the body in one
 * `end()` (Node sends headers and body in a single write when nothing was written before;
 * on these machines every socket write costs a fixed amount).
 */
export function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  res.end(body);
}

/** A JSON response (`application/json; charset=utf-8`). */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
