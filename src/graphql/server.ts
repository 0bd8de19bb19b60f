import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type http from 'node:http';
import { HeaderMap } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Handler } from '../http/router';
import { send, sendJson } from '../http/respond';
import { bearerToken } from '../auth/api-keys';
import { AppError, ErrorCode } from '../errors';
import { complexityLimitPlugin } from './complexity.plugin';
import type { DirectExecution } from './direct-execution';
import { type ApiLimits, type ApiServices, type GraphQLContext, createContext } from './context';
import type { createFormatError } from './format-error';
import type { OperationRules } from './operation-rules';

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  /** Masks unexpected errors and logs them (createFormatError); shared with graphql-ws. */
  formatError: ReturnType<typeof createFormatError>;
  /** The validation rules and cost limit, shared with graphql-ws. */
  rules: OperationRules;
}

/**
 * The Apollo server: masked errors, the shared operation rules (depth, introspection policy,
 * cost), CSRF prevention on, no stack traces in responses, the Sandbox landing page when
 * introspection is on. Apollo's own introspection switch stays on: the rules decide, so
 * that HTTP and graphql-ws refuse introspection with the same rule and code.
 */
export function createGraphQLServer(options: GraphQLServerOptions): ApolloServer<GraphQLContext> {
  const { rules } = options;
  return new ApolloServer<GraphQLContext>({
    schema: options.schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [...rules.validationRules],
    formatError: options.formatError,
    plugins: [
      options.formatError.plugin,
      // no cache hints are used: the default cache-control plugin wraps every field resolver
      ApolloServerPluginCacheControlDisabled(),
      complexityLimitPlugin(rules),
      rules.policy.introspection
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

export interface GraphQLHttpOptions {
  server: ApolloServer<GraphQLContext>;
  services: ApiServices;
  limits: ApiLimits;
  /** Largest request body (MAX_BODY_BYTES); larger ones get 413. */
  maxBodyBytes: number;
  /** Runs the common requests without Apollo's pipeline (GRAPHQL_DIRECT_EXECUTION); absent: Apollo runs every request. */
  direct?: DirectExecution;
}

/** What Apollo answers a request without (or with a plain) Accept header. */
const JSON_RESPONSE = 'application/json; charset=utf-8';
const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([\w-]+)/i;

/**
 * The /graphql HTTP handler on plain node:http: reads the body up to `maxBodyBytes` (413
 * beyond), parses JSON bodies (400 with a JSON error when they are not JSON), finds the
 * caller from `Authorization: Bearer <key>` (none: anonymous; an unknown or revoked key:
 * 401 UNAUTHENTICATED), and runs the request: directly when {@link DirectExecution} can
 * take it (a POST of a known valid query or mutation), otherwise through Apollo (CSRF
 * prevention, GET for queries, the landing page, request errors and their status codes).
 * The response goes out in one write.
 */
export function graphqlHttpHandler(options: GraphQLHttpOptions): Handler {
  const { server, services, limits, maxBodyBytes, direct } = options;
  const contextOf = async (req: http.IncomingMessage, requestId: string): Promise<GraphQLContext> => {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') return createContext(services, limits, null, requestId);
    let principal: Awaited<ReturnType<typeof services.auth.authenticate>>;
    try {
      principal = await services.auth.authenticate(bearerToken(header));
    } catch (error) {
      // Apollo answers a failed context with HTTP 500: a coded error (UNAVAILABLE while
      // the database is down) keeps its code and the status of any other operation error
      if (error instanceof AppError) throw new AppError(error.code, error.message, { ...error.extensions, http: { status: 200 } });
      throw error;
    }
    if (!principal) {
      throw new GraphQLError('the API key is invalid or revoked; send Authorization: Bearer <key>', {
        extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
      });
    }
    return createContext(services, limits, principal, requestId);
  };
  return async (req, res, requestId) => {
    const method = (req.method ?? 'GET').toUpperCase();
    let body: unknown;
    if (method !== 'GET' && method !== 'HEAD') {
      const raw = await readBody(req, maxBodyBytes);
      if (raw === null) {
        return sendJson(res, 413, errorBody(`the request body exceeds the maximum of ${maxBodyBytes} bytes`, { limit: 'bodyBytes', max: maxBodyBytes }));
      }
      const contentType = req.headers['content-type'] ?? '';
      if (JSON_TYPE.test(contentType)) {
        const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
        if (charset && charset !== 'utf-8' && charset !== 'utf8') return sendJson(res, 400, errorBody('the request body is not valid JSON'));
        try {
          body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
        } catch {
          return sendJson(res, 400, errorBody('the request body is not valid JSON'));
        }
      } else {
        // Apollo answers other content types itself (CSRF prevention); it only needs a body
        body = {};
      }
    }
    // the context is made once: by the direct path, or by Apollo when the direct path is not taken
    let context: (() => Promise<GraphQLContext>) | undefined;
    const prepared = direct && method === 'POST' ? direct.prepare(body, req.headers.accept) : undefined;
    if (direct && prepared) {
      const made = await contextOf(req, requestId).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if ('error' in made) {
        context = () => Promise.reject(made.error);
      } else {
        const answer = await direct.run(prepared, made.value);
        if (answer) return send(res, answer.status, JSON_RESPONSE, answer.body);
        context = () => Promise.resolve(made.value);
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: query < 0 ? '' : url.slice(query), body },
      context: context ?? (() => contextOf(req, requestId)),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(response.body.string));
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/**
 * The body, or null when it is larger than `max` bytes. The rest of a body that is too
 * large is read and dropped, so that the client, still sending, gets to read the 413 (a
 * connection closed under it is an EPIPE); past 16 × `max` the connection is cut.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    discard(req, 0, max * 16);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.off('end', onEnd);
        discard(req, size, max * 16);
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/** Reads and drops the rest of a request, cutting the connection past `cap` bytes in all. */
function discard(req: http.IncomingMessage, seen: number, cap: number): void {
  let total = seen;
  req.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > cap) req.destroy();
  });
  req.resume();
}

function errorBody(message: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } }] };
}
