import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, getOperationAST, getVariableValues } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { OperationRules } from '../graphql/operation-rules';
import { ErrorCode } from '../errors';
import { cachedDocuments } from './document-cache';
import { sharedExecutionSubscribe } from './shared-execution';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Authenticator, bearerToken, type Principal } from '../auth/api-keys';
import type { Queryable } from '../db/client';
import type { Logger } from '../logger';
import { requestIdOf } from '../ops/request-context';
import type { EventStreamService } from './event-stream.service';
import { attachSession } from './subscription-session';

/** A request error with the code Apollo gives the same problem over HTTP. */
function requestError(error: unknown, code: string): GraphQLError {
  if (error instanceof GraphQLError) {
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      originalError: error.originalError ?? undefined,
      extensions: { ...error.extensions, code },
    });
  }
  return new GraphQLError(error instanceof Error ? error.message : String(error), { extensions: { code } });
}

/** Close codes this server uses besides graphql-ws's own (4400 4401 4403 4408 4409 4429 4500). */
export const SubscriptionCloseCode = {
  /** The server is shutting down; reconnect (to another process) and resume with `since`. */
  GoingAway: 1001,
  /** The API key was refused at connection_init, or revoked while connected. */
  Forbidden: CloseCode.Forbidden,
} as const;

export interface GraphQLWsServerOptions {
  schema: GraphQLSchema;
  auth: Authenticator;
  /** Where revocations are checked (mcp.api_keys). */
  db: Queryable;
  streams: EventStreamService;
  /** The GraphQL context of one operation by `principal` (the same shape as over HTTP). */
  createContext: (principal: Principal) => object;
  /** Formats errors as over HTTP (coded errors pass, others are masked). */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  logger: Logger;
  /** Sockets that send no connection_init within this long are closed with 4408. Default 3 s. */
  connectionInitWaitTimeoutMs?: number;
  /** How often open sockets' keys are checked for revocation. Default 5 s. */
  revocationCheckMs?: number;
  /** ws keep-alive ping interval. Default 12 s. */
  keepAliveMs?: number;
  /** The validation rules and cost limit, exactly as over HTTP. */
  rules: OperationRules;
  /** Largest frame read from a socket (MAX_BODY_BYTES, as an HTTP body); larger ones close it with 1009 before parsing. */
  maxPayloadBytes: number;
}

type ConnectionExtra = {
  principal?: Principal;
};

const connectionIds = new WeakMap<WebSocket, string>();

/**
 * graphql-ws (the `graphql-transport-ws` protocol) on the GraphQL path. The app routes
 * upgrade requests of that path here ({@link handleUpgrade}); other paths are not touched.
 *
 * Authentication: `connectionParams` of connection_init carry `{ authorization: 'Bearer
 * <key>' }` or `{ apiKey: '<key>' }`; anything else closes the socket with 4403. Every
 * operation's context carries that principal, so every subscribe is tenant-scoped by the
 * resolver. Revocation: every `revocationCheckMs` the keys of open sockets are looked up
 * in one query; a socket whose key was revoked (by any process) is closed with 4403.
 */
export class GraphQLWsServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Principal | null>();
  private readonly dispose: { dispose(): void | Promise<void> };
  private revocationTimer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(private readonly options: GraphQLWsServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
    this.wss.on('connection', (socket, request: http.IncomingMessage) => {
      const connectionId = requestIdOf(request.headers['x-request-id']);
      connectionIds.set(socket, connectionId);
      this.sockets.set(socket, null);
      // graphql-ws logs every socket error with console.error ("Internal error emitted…")
      // and closes with 4500; a frame over maxPayload is the client's doing, and ws closes
      // the socket with 1009 by itself. Take the socket's errors over once graphql-ws has
      // attached its listener (in this same 'connection' event).
      process.nextTick(() => {
        socket.removeAllListeners('error');
        socket.on('error', (error: Error & { code?: string }) =>
          logger.info({ connectionId, code: error.code, message: error.message }, 'graphql-ws socket error'),
        );
      });
      socket.once('close', (code) => {
        const principal = this.sockets.get(socket);
        this.sockets.delete(socket);
        logger.debug({ connectionId, code, tenantId: principal?.tenantId }, 'graphql-ws socket closed');
      });
    });
    const { formatError, logger } = options;
    const format = (errors: readonly GraphQLError[]) =>
      errors.map((error) => (formatError ? formatError(error.toJSON(), error) : error.toJSON()));
    const { schema, rules } = options;
    const documents = cachedDocuments(schema, rules.validationRules);
    this.dispose = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
      {
        schema,
        subscribe: sharedExecutionSubscribe(),
        // the same parse, validation rules, variable coercion and cost check as over HTTP,
        // with the same codes; the context is built by `context` below
        onSubscribe: (ctx, _id, payload) => {
          const prepared = documents.prepare(payload.query);
          if (prepared.kind === 'syntax') return [requestError(prepared.error, 'GRAPHQL_PARSE_FAILED')];
          if (prepared.kind === 'invalid') return prepared.errors.map((error) => requestError(error, 'GRAPHQL_VALIDATION_FAILED'));
          const document = prepared.document;
          const operation = getOperationAST(document, payload.operationName);
          if (!operation) {
            return [requestError(new GraphQLError('Unable to identify the operation to run (operationName)'), 'OPERATION_RESOLUTION_FAILURE')];
          }
          const variables = payload.variables ?? {};
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
          if (coerced.errors) return coerced.errors.map((error) => requestError(error, ErrorCode.BAD_USER_INPUT));
          const refused = rules.checkCost(document, payload.operationName, variables, ctx.extra.principal !== undefined);
          if (refused) return [refused];
          return { schema, document, operationName: payload.operationName, variableValues: variables };
        },
        connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3_000,
        onConnect: async (ctx) => {
          if (this.closing) return false;
          const params = ctx.connectionParams ?? {};
          const key =
            typeof params.authorization === 'string'
              ? bearerToken(params.authorization)
              : typeof params.apiKey === 'string'
                ? params.apiKey
                : undefined;
          const principal = await options.auth.authenticate(key);
          const connectionId = connectionIds.get(ctx.extra.socket);
          if (!principal) {
            logger.info({ connectionId, keySent: key !== undefined }, 'graphql-ws connection refused (4403)');
            return false;
          }
          ctx.extra.principal = principal;
          this.sockets.set(ctx.extra.socket, principal);
          logger.debug(
            { connectionId, tenantId: principal.tenantId, keyName: principal.keyName, role: principal.role },
            'graphql-ws connected',
          );
          return true;
        },
        context: (ctx) => {
          const context = options.createContext(ctx.extra.principal!);
          attachSession(context, { streams: options.streams });
          return context;
        },
        onError: (_ctx, _id, _payload, errors) => format(errors),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: format(result.errors) } : undefined,
      },
      this.wss,
      options.keepAliveMs,
    );
  }

  /** Starts the periodic revocation check. */
  start(): void {
    if (this.revocationTimer || this.closing) return;
    const { logger, revocationCheckMs } = this.options;
    this.revocationTimer = setInterval(() => {
      this.closeRevoked().catch((error: unknown) => logger.warn({ err: error }, 'revocation check failed'));
    }, revocationCheckMs ?? 5_000);
    this.revocationTimer.unref();
  }

  /** Open graphql-ws sockets. */
  get size(): number {
    return this.sockets.size;
  }

  /** Takes over an upgrade request of the GraphQL path. */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // graphql-ws keeps `extra.request` for the socket's whole life: keep only what is read
    // from it (url and headers), not the IncomingMessage with its parser state
    const slim = { url: request.url, headers: request.headers } as http.IncomingMessage;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, slim));
  }

  /** Closes sockets whose key was revoked since they connected. */
  async closeRevoked(): Promise<number> {
    const keyIds = new Set<string>();
    for (const principal of this.sockets.values()) if (principal?.keyId) keyIds.add(principal.keyId);
    if (keyIds.size === 0) return 0;
    const rows = await this.options.db.query<{ id: string }>(
      `select id::text as id from mcp.api_keys where id = any ($1::uuid[]) and revoked_at is null`,
      [[...keyIds]],
    );
    const valid = new Set(rows.map((row) => row.id));
    let closed = 0;
    for (const [socket, principal] of this.sockets) {
      // only keys that were asked about: a socket authenticated while the query ran is
      // not in `rows` because nobody asked, not because its key was revoked
      if (principal?.keyId && keyIds.has(principal.keyId) && !valid.has(principal.keyId)) {
        this.options.logger.info(
          { connectionId: connectionIds.get(socket), keyName: principal.keyName, tenantId: principal.tenantId },
          'closing a graphql-ws socket: its API key was revoked',
        );
        socket.close(SubscriptionCloseCode.Forbidden, 'Forbidden: the API key was revoked');
        closed++;
      }
    }
    return closed;
  }

  /**
   * Refuses new sockets, lets queued events go out (up to `drainMs`), closes the open
   * sockets with 1001 (clients resume elsewhere with `since`), and waits for them.
   */
  async close(drainMs = 1_000): Promise<void> {
    this.closing = true;
    if (this.revocationTimer) clearInterval(this.revocationTimer);
    this.revocationTimer = null;
    const deadline = Date.now() + drainMs;
    while (this.options.streams.queued > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closed = [...this.sockets.keys()].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === socket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            socket.terminate();
            resolve();
          }, 1_000);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.close(SubscriptionCloseCode.GoingAway, 'server shutting down');
        }),
    );
    await Promise.all(closed);
    this.options.streams.endAll();
    await this.dispose.dispose();
  }
}
