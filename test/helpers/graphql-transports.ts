import WebSocket from 'ws';

/** What an operation answered, whichever transport carried it. */
export interface OperationAnswer {
  /** HTTP status (HTTP only). */
  status?: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  /** Bytes of the response body (HTTP) or of the messages received (graphql-ws). */
  bytes: number;
}

export type Transport = 'http' | 'graphql-ws';

export interface GraphQLCaller {
  /** `variables` may be JSON text already (for values too deep for JSON.stringify). */
  run(query: string, variables?: Record<string, unknown> | string, operationName?: string): Promise<OperationAnswer>;
  close(): Promise<void>;
}

/** Operations POSTed to /graphql with `Authorization: Bearer <key>` (none when key is null). */
export function httpCaller(baseUrl: string, key: string | null): GraphQLCaller {
  return {
    async run(query, variables, operationName) {
      const res = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: payloadText(query, variables, operationName),
      });
      const text = await res.text();
      const body = JSON.parse(text) as Omit<OperationAnswer, 'bytes' | 'status'>;
      return { status: res.status, data: body.data, errors: body.errors, bytes: Buffer.byteLength(text) };
    },
    async close() {},
  };
}

/**
 * Operations sent as graphql-ws `subscribe` messages on one socket authenticated with
 * `connectionParams.authorization`. Each answer is everything received for its id up to
 * `complete` or `error` (an `error` message's payload becomes `errors`).
 */
export async function wsCaller(baseUrl: string, key: string): Promise<GraphQLCaller> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const pending = new Map<string, { answer: OperationAnswer; done: (answer: OperationAnswer) => void; fail: (e: Error) => void }>();
  let closedWith: string | null = null;
  ws.on('close', (code, reason) => {
    closedWith = `socket closed ${code} ${String(reason)}`;
    for (const p of pending.values()) p.fail(new Error(closedWith));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
    });
    ws.on('message', (raw) => {
      const text = String(raw);
      const message = JSON.parse(text) as { type: string; id?: string; payload?: any };
      if (message.type === 'connection_ack') return resolve();
      if (message.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      const entry = message.id === undefined ? undefined : pending.get(message.id);
      if (!entry) return;
      entry.answer.bytes += Buffer.byteLength(text);
      if (message.type === 'next') {
        entry.answer.data = message.payload.data;
        if (message.payload.errors) entry.answer.errors = [...(entry.answer.errors ?? []), ...message.payload.errors];
      } else if (message.type === 'error') {
        entry.answer.errors = message.payload;
        pending.delete(message.id!);
        entry.done(entry.answer);
      } else if (message.type === 'complete') {
        pending.delete(message.id!);
        entry.done(entry.answer);
      }
    });
    ws.once('close', (code) => reject(new Error(`closed ${code} before connection_ack`)));
  });
  let next = 0;
  return {
    run(query, variables, operationName) {
      if (closedWith) return Promise.reject(new Error(closedWith));
      const id = String(++next);
      return new Promise((done, fail) => {
        pending.set(id, { answer: { bytes: 0 }, done, fail });
        ws.send(`{"id":${JSON.stringify(id)},"type":"subscribe","payload":${payloadText(query, variables, operationName)}}`);
      });
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000);
      });
    },
  };
}

function payloadText(query: string, variables: Record<string, unknown> | string | undefined, operationName?: string): string {
  const vars = typeof variables === 'string' ? variables : JSON.stringify(variables ?? null);
  return `{"query":${JSON.stringify(query)},"variables":${vars},"operationName":${JSON.stringify(operationName ?? null)}}`;
}

/** The first error's code (and limit, when it names one). */
export function outcomeOf(answer: OperationAnswer): { code: unknown; limit?: unknown } {
  const extensions = answer.errors?.[0]?.extensions ?? {};
  return extensions.limit === undefined ? { code: extensions.code } : { code: extensions.code, limit: extensions.limit };
}
