import { AppError, badInput, ErrorCode, unauthenticated } from '../errors';
import { type ErrorBody, WsErrorCode } from './protocol';

/** The numeric agent-socket code of each catalogue code. */
export const WS_CODE_OF: Readonly<Record<ErrorCode, WsErrorCode>> = Object.freeze({
  [ErrorCode.UNAUTHENTICATED]: WsErrorCode.AuthFailed,
  [ErrorCode.FORBIDDEN]: WsErrorCode.AuthFailed,
  [ErrorCode.BAD_USER_INPUT]: WsErrorCode.InvalidParams,
  [ErrorCode.NOT_FOUND]: WsErrorCode.InvalidParams,
  [ErrorCode.CONFLICT]: WsErrorCode.Conflict,
  // state conflicts: the client must register (again) or an admin must enable the agent
  [ErrorCode.NOT_REGISTERED]: WsErrorCode.Conflict,
  [ErrorCode.AGENT_DISABLED]: WsErrorCode.Conflict,
  // agent.pick: no eligible instance right now (data.counts says why)
  [ErrorCode.NO_HEALTHY_INSTANCE]: WsErrorCode.Conflict,
  [ErrorCode.RATE_LIMITED]: WsErrorCode.RateLimited,
  [ErrorCode.UNAVAILABLE]: WsErrorCode.ServerError,
  [ErrorCode.INTERNAL_SERVER_ERROR]: WsErrorCode.ServerError,
});

/**
 * A failure the catalogue has no code of its own for, with its numeric code: a frame that
 * is not a request (4000) or an unknown method (4004). Everything else is an AppError,
 * numbered by {@link WS_CODE_OF}.
 */
export class ProtocolError extends Error {
  constructor(
    readonly wsCode: WsErrorCode,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const invalidMessage = (message: string) =>
  new ProtocolError(WsErrorCode.InvalidMessage, ErrorCode.BAD_USER_INPUT, message);
export const methodNotFound = (method: string) =>
  new ProtocolError(WsErrorCode.MethodNotFound, ErrorCode.NOT_FOUND, `unknown method ${JSON.stringify(method)}`);
/** 4005 (BAD_USER_INPUT). */
export const invalidParams = badInput;
/** 4001 (UNAUTHENTICATED). */
export const authFailed = (message = 'a valid agent or admin API key is required') => unauthenticated(message);
/** 4002 (RATE_LIMITED). */
export const rateLimited = () => new AppError(ErrorCode.RATE_LIMITED, 'too many messages; slow down');

/** Renders any error as an error body; unknown errors are masked as 4003. */
export function toErrorBody(error: unknown): { body: ErrorBody; masked: boolean } {
  if (error instanceof ProtocolError) {
    return { body: { code: error.wsCode, message: error.message, data: { code: error.code } }, masked: false };
  }
  if (error instanceof AppError) {
    const field = typeof error.extensions.field === 'string' ? error.extensions.field : undefined;
    const counts = error.extensions.counts as Record<string, number> | undefined;
    return {
      body: {
        code: WS_CODE_OF[error.code],
        message: error.message,
        data: { code: error.code, ...(field ? { field } : {}), ...(counts ? { counts } : {}) },
      },
      masked: false,
    };
  }
  return {
    body: {
      code: WsErrorCode.ServerError,
      message: 'internal server error',
      data: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    },
    masked: true,
  };
}
