import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ValidationError } from 'class-validator';
import { ArgumentValidationError } from 'type-graphql';
import { mapDatabaseError } from '../db/errors';
import { AppError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context';

/** Codes of request errors Apollo and graphql-js produce before any resolver runs. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  ErrorCode.UNAUTHENTICATED,
]);

export interface FormatErrorOptions {
  /**
   * Show what helps a developer and nobody else: `extensions.sqlState` and graphql-js'
   * "Did you mean …?" suggestions. Default true; false when NODE_ENV=production
   * (ERROR_DETAILS).
   */
  details?: boolean;
}

/**
 * The `formatError` of both transports (Apollo over HTTP, graphql-ws): coded
 * {@link AppError}s pass through; class-validator errors become BAD_USER_INPUT naming the
 * field; limit violations found by validation rules become BAD_USER_INPUT; database errors
 * map through the one SQLSTATE table; anything else is logged and masked as
 * INTERNAL_SERVER_ERROR (no message, no stack). Without `details`, SQLSTATEs and field
 * suggestions are taken out.
 */
export function createFormatError(logger: Logger, options: FormatErrorOptions = {}) {
  // Apollo's formatError sees no context: the request id of an error's operation is noted
  // by `plugin` (didEncounterErrors runs first, with the same error objects)
  const requestIds = new WeakMap<object, string>();
  const format = formatWith(logger, requestIds);
  const formatError =
    (options.details ?? true)
      ? format
      : (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => withoutDetails(format(formatted, error));
  const noteRequest = (errors: readonly object[], requestId: string) => {
    for (const error of errors) requestIds.set(error, requestId);
  };
  const plugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart({ contextValue }) {
      const requestId = contextValue.requestId;
      if (!requestId) return {};
      return {
        async didEncounterErrors({ errors }) {
          noteRequest(errors, requestId);
        },
      };
    },
  };
  return Object.assign(formatError, {
    /** The Apollo plugin that lets error logs carry the HTTP request's id. */
    plugin,
    /** The same for errors of an operation run without Apollo (DirectExecution), before formatting them. */
    noteRequest,
  });
}

/** Drops `extensions.sqlState` and "Did you mean …?" (as Apollo's hideSchemaDetailsFromClientErrors does, for every error). */
function withoutDetails(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const message = formatted.message.replace(/ ?Did you mean(.+?)\?$/, '');
  if (formatted.extensions && 'sqlState' in formatted.extensions) {
    const { sqlState: _sqlState, ...extensions } = formatted.extensions;
    return { ...formatted, message, extensions };
  }
  return message === formatted.message ? formatted : { ...formatted, message };
}

function formatWith(logger: Logger, requestIds: WeakMap<object, string>) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

    if (original instanceof AppError) {
      // extensions.http is Apollo's instruction for the status, not for the client
      const { http: _http, ...extensions } = original.extensions;
      return { ...base, message: original.message, extensions: { ...extensions, code: original.code } };
    }
    if (original instanceof ArgumentValidationError) {
      const problems = flattenValidationErrors(original.extensions.validationErrors);
      const first = problems[0];
      return {
        ...base,
        message: first ? `${first.field}: ${first.reasons.join('; ')}` : 'invalid input',
        extensions: { code: ErrorCode.BAD_USER_INPUT, field: first?.field, validationErrors: problems },
      };
    }
    const limit = limitExtensions(error);
    if (limit) return { ...base, extensions: { ...limit, code: ErrorCode.BAD_USER_INPUT } };

    const mapped = mapDatabaseError(original);
    if (mapped instanceof AppError) {
      return { ...base, message: mapped.message, extensions: { ...mapped.extensions, code: mapped.code } };
    }
    const code = formatted.extensions?.code;
    const fromResolver = error instanceof GraphQLError && error.path !== undefined && !(original instanceof GraphQLError);
    if (!fromResolver && typeof code === 'string' && REQUEST_CODES.has(code)) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...base, extensions };
    }
    const requestId = typeof error === 'object' && error !== null ? requestIds.get(error) : undefined;
    logger.error({ err: original, path: formatted.path, ...(requestId ? { requestId } : {}) }, 'unexpected error in a GraphQL operation');
    return {
      message: 'internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

interface FieldProblem {
  field: string;
  reasons: string[];
}

function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) problems.push({ field, reasons: Object.values(error.constraints) });
    if (error.children?.length) problems.push(...flattenValidationErrors(error.children, field));
  }
  return problems;
}

function limitExtensions(error: unknown): Record<string, unknown> | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof GraphQLError && !seen.has(current)) {
    seen.add(current);
    const { limit, max, complexity } = current.extensions as Record<string, unknown>;
    if (typeof limit === 'string') return { limit, max, ...(complexity === undefined ? {} : { complexity }) };
    current = current.originalError;
  }
  return undefined;
}
