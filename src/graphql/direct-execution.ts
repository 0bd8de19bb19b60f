import { type DocumentNode, type ExecutionResult, GraphQLError, type GraphQLFormattedError, type GraphQLSchema, execute, getOperationAST } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { cachedDocuments } from '../subscriptions/document-cache';
import type { GraphQLContext } from './context';
import type { createFormatError } from './format-error';
import type { OperationRules } from './operation-rules';

/** A request the direct path can run: a known, valid document and one query or mutation in it. */
export interface PreparedRequest {
  readonly document: DocumentNode;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown>;
}

/** The answer of a request run directly: Apollo's status and body for the same request. */
export interface DirectAnswer {
  readonly status: number;
  readonly body: string;
}

export interface DirectExecutionOptions {
  schema: GraphQLSchema;
  rules: OperationRules;
  formatError: ReturnType<typeof createFormatError>;
  /** Distinct query texts kept parsed and validated (default 500). */
  maxDocuments?: number;
}

/** Longest query text the direct path takes (and keeps parsed); longer ones go to Apollo. */
const MAX_TEXT_LENGTH = 16_384;

/** An operation run once, not compiled yet. */
const SEEN_ONCE = Symbol('seen once');

/** `Accept` values for which Apollo answers `application/json; charset=utf-8` (what the direct path sends). */
const PLAIN_ACCEPT = new Set(['*/*', 'application/json', 'application/json, */*', 'application/json, text/plain, */*']);

/**
 * The common GraphQL request over HTTP, run without Apollo's per-request pipeline: a POST of
 * JSON with a query text that parses and validates (cached by text, as graphql-ws does), an
 * operation that is a query or a mutation, variables that fit it, a cost within the caller's
 * budget. It runs the same schema with the same rules and formats errors with the same
 * `formatError` as Apollo would, and answers with Apollo's status and body. From its second
 * run on, a document runs compiled by graphql-jit (its errors converted to graphql-js' class);
 * on a page of 50 registrations that took a fifth of the API's CPU per request off.
 *
 * Anything else is declined before a resolver runs (`prepare` or `run` returns undefined)
 * and the request goes to Apollo, which answers it with its own codes: batches, GET,
 * persisted queries, other `Accept` types, syntax and validation errors, unknown operation
 * names, subscriptions, variables that do not coerce, a cost over the budget, a failed
 * authentication. Apollo's pipeline (hashing the query, plugin hooks, content negotiation,
 * many awaits) was about a fifth of a registration's CPU in the API process.
 */
export class DirectExecution {
  private readonly documents: ReturnType<typeof cachedDocuments>;
  /** Requests answered directly so far (the rest went to Apollo). */
  answered = 0;
  /** Compiled executions by document and operation name (null: graphql-jit declined it; graphql-js runs it). */
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null | typeof SEEN_ONCE>>();

  constructor(private readonly options: DirectExecutionOptions) {
    this.documents = cachedDocuments(options.schema, options.rules.validationRules, { maxEntries: options.maxDocuments, maxTextLength: MAX_TEXT_LENGTH });
  }

  /** The request in `body`, when the direct path can take it (`accept`: the request's Accept header). */
  prepare(body: unknown, accept: string | undefined): PreparedRequest | undefined {
    if (accept !== undefined && !PLAIN_ACCEPT.has(accept)) return undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const { query, operationName, variables, extensions } = body as Record<string, unknown>;
    if (typeof query !== 'string' || (extensions !== undefined && extensions !== null)) return undefined;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
    // a text too long to be kept would be parsed twice (here, then by Apollo, which keeps a size-bounded LRU)
    if (query.length > MAX_TEXT_LENGTH) return undefined;
    const prepared = this.documents.prepare(query);
    if (prepared.kind !== 'valid') return undefined;
    const { document } = prepared;
    const name = operationName ?? undefined;
    const operation = getOperationAST(document, name);
    if (!operation || operation.operation === 'subscription') return undefined;
    return { document, operationName: name, variables: (variables as Record<string, unknown> | null) ?? {} };
  }

  /**
   * Runs `request` for `context`'s caller; undefined, before any resolver ran, when Apollo
   * should answer it instead (a cost over the budget, variables that do not coerce).
   */
  async run(request: PreparedRequest, context: GraphQLContext): Promise<DirectAnswer | undefined> {
    const { schema, rules, formatError } = this.options;
    const { document, operationName, variables } = request;
    if (rules.checkCost(document, operationName, variables, context.principal !== null)) return undefined;
    const compiled = this.compiledFor(document, operationName);
    const result = (await (compiled
      ? compiled.query(undefined, context, variables)
      : execute({ schema, document, contextValue: context, variableValues: variables, operationName }))) as ExecutionResult;
    // no data: a request error (graphql-js coerces the variables before any resolver runs)
    if (result.data === undefined) return undefined;
    this.answered += 1;
    if (!result.errors) return { status: 200, body: `${JSON.stringify({ data: result.data })}\n` };
    const errors = result.errors.map(asGraphQLError);
    if (context.requestId) formatError.noteRequest(errors, context.requestId);
    const { formatted, status } = formatErrors(errors, formatError);
    return { status, body: `${JSON.stringify({ errors: formatted, data: result.data })}\n` };
  }

  /**
   * The compiled execution of an operation seen before, or null: the first time a document
   * runs it goes through graphql-js (compiling costs more than running once, and clients
   * that inline their values send a new text every time); from the second time on,
   * graphql-jit's compiled form runs it, unless graphql-jit declined it.
   */
  private compiledFor(document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
    let byName = this.compiled.get(document);
    if (!byName) this.compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    const entry = byName.get(key);
    if (entry === undefined) {
      byName.set(key, SEEN_ONCE);
      return null;
    }
    if (entry !== SEEN_ONCE) return entry;
    const made = compileQuery(this.options.schema, document, operationName);
    const compiled = isCompiledQuery(made) ? made : null;
    byName.set(key, compiled);
    return compiled;
  }
}

/**
 * graphql-js' error class for an error graphql-jit made with its own (which has no
 * `toJSON`, and no `extensions` unless the original error had some): same message, path,
 * locations, original error and extensions, so that formatting cannot tell them apart.
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  // (graphql-jit's class inherits from graphql-js' prototype: instanceof cannot tell them apart)
  if (error.constructor === GraphQLError) return error;
  const jit = error as { message: string; path?: readonly (string | number)[]; locations?: GraphQLError['locations']; originalError?: Error | null; extensions?: Record<string, unknown> };
  const converted = new GraphQLError(jit.message, { path: jit.path, originalError: jit.originalError, extensions: jit.extensions });
  if (jit.locations) (converted as { locations?: GraphQLError['locations'] }).locations = jit.locations;
  return converted;
}

/**
 * Apollo's error formatting (`normalizeAndFormatErrors`): the code defaults to
 * INTERNAL_SERVER_ERROR, `extensions.http` sets the response status and is taken out, then
 * `formatError`; a formatter that throws gives a bare internal error.
 */
function formatErrors(
  errors: readonly GraphQLError[],
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
): { formatted: GraphQLFormattedError[]; status: number } {
  let status = 200;
  const formatted = errors.map((error) => {
    try {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
      const http = extensions.http as { status?: unknown } | undefined;
      if (http && typeof http === 'object') {
        if (typeof http.status === 'number') status = http.status;
        delete extensions.http;
      }
      return formatError({ ...error.toJSON(), extensions }, error);
    } catch {
      return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
  });
  return { formatted, status };
}
