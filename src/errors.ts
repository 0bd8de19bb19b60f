import { GraphQLError } from 'graphql';

/**
 * The error catalogue. Codes are API: GraphQL puts them in `extensions.code`, the agent
 * WebSocket maps them to its numeric codes (src/agents-ws/protocol.ts). Change with care.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  NOT_REGISTERED: 'NOT_REGISTERED',
  AGENT_DISABLED: 'AGENT_DISABLED',
  /** pickInstance found no eligible instance; `extensions.counts` says why. */
  NO_HEALTHY_INSTANCE: 'NO_HEALTHY_INSTANCE',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected, client-facing failure. Services throw these; transports render them. */
export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'AppError';
  }
}

export const unauthenticated = (message = 'a valid API key is required') =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'your API key does not allow this') => new AppError(ErrorCode.FORBIDDEN, message);
export const notFound = (what: string) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
/** BAD_USER_INPUT naming the offending `field` and, for the input limits, which `limit` it broke. */
export const badInput = (message: string, field?: string, limit?: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, { ...(field ? { field } : {}), ...(limit ? { limit } : {}) });
export const conflict = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, extensions);
export const notRegistered = (instanceId: string) =>
  new AppError(ErrorCode.NOT_REGISTERED, `instance ${instanceId} is not registered; register it again`);
