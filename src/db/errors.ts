import { AppError, ErrorCode } from '../errors';

/**
 * The one boundary where database errors become API errors: our custom SQLSTATEs
 * (see prisma/migrations/*_registry_functions), PostgreSQL's own, and Prisma's codes.
 */
const SQLSTATE_CODES: Record<string, ErrorCode> = {
  RGTEN: ErrorCode.NOT_FOUND, // unknown tenant
  RGAID: ErrorCode.BAD_USER_INPUT, // invalid agent_id
  RGCON: ErrorCode.CONFLICT, // instance_id held by another agent type
  RGDIS: ErrorCode.AGENT_DISABLED, // configuration disabled
  RGNRG: ErrorCode.NOT_REGISTERED, // instance not registered
  RGINP: ErrorCode.BAD_USER_INPUT, // invalid parameter
  RGDRV: ErrorCode.BAD_USER_INPUT, // write to a derived column of mcp.agents
  RGAGT: ErrorCode.NOT_FOUND, // unknown agent (mcp.pick_instance)
  '23505': ErrorCode.CONFLICT, // unique_violation
  '23001': ErrorCode.CONFLICT, // restrict_violation: PostgreSQL 18 (PGlite) for ON DELETE RESTRICT; 15 says 23503
  '23514': ErrorCode.BAD_USER_INPUT, // check_violation
  '22P02': ErrorCode.BAD_USER_INPUT, // invalid_text_representation (e.g. a bad uuid)
  '22003': ErrorCode.BAD_USER_INPUT, // numeric_value_out_of_range
};

/**
 * The other SQLSTATEs a client's value can trigger in our statements: text PostgreSQL
 * cannot store (a NUL, an unpaired surrogate escape in jsonb), values too long, out of
 * range or badly formatted, and values too large or too deep for it (54: program limit
 * exceeded). The API validates input before it reaches SQL; this is the net below that, so
 * input never becomes a 500. Errors that only a bug of ours can cause (division by zero, a
 * missing column) stay unmapped and are masked.
 */
const INPUT_SQLSTATES = new Set([
  '22001', // string_data_right_truncation
  '22004', // null_value_not_allowed
  '22007', // invalid_datetime_format
  '22008', // datetime_field_overflow
  '22021', // character_not_in_repertoire (NUL in text)
  '22023', // invalid_parameter_value
  '22025', // invalid_escape_sequence
  '22030', // duplicate_json_object_key_value
  '22032', // invalid_json_text
  '22P05', // untranslatable_character (\u0000 or a lone surrogate escape in jsonb)
  '2202E', // array_subscript_error
  '54000', // program_limit_exceeded (e.g. an index row too large)
  '54001', // statement_too_complex (e.g. too deep)
]);

function classCode(state: string): ErrorCode | undefined {
  return INPUT_SQLSTATES.has(state) ? ErrorCode.BAD_USER_INPUT : undefined;
}

const PRISMA_CODES: Record<string, ErrorCode> = {
  P2002: ErrorCode.CONFLICT,
  P2003: ErrorCode.NOT_FOUND,
  P2025: ErrorCode.NOT_FOUND,
};

/** Prisma's own error codes; PostgreSQL's only P class is P0 (PL/pgSQL). */
const PRISMA_CODE = /^P[1-9][0-9]{3}$/;

/**
 * The SQLSTATE of a pg, PGlite or Prisma driver-adapter error, if any. Prisma Client
 * (both adapters, measured) throws a PrismaClientKnownRequestError whose
 * `meta.driverAdapterError.cause` carries PostgreSQL's `originalCode` and `originalMessage`:
 * P2002 for 23505, P2003 for 23503, P2039 for other states such as 23514 or 22021, P2010
 * for raw queries.
 */
export function sqlStateOf(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as Record<string, unknown>;
    for (const candidate of [e.code, e.originalCode, (e.meta as Record<string, unknown> | undefined)?.code]) {
      // a Prisma error code (P1xxx-P6xxx) is not a SQLSTATE: read on, to the adapter's cause
      if (typeof candidate === 'string' && /^[0-9A-Z]{5}$/.test(candidate) && !PRISMA_CODE.test(candidate)) return candidate;
    }
    const meta = e.meta as Record<string, unknown> | undefined;
    current = e.cause ?? (meta?.driverAdapterError as unknown) ?? undefined;
  }
  return undefined;
}

/**
 * Maps a database error to an {@link AppError}; returns the error unchanged when it is
 * not one we know (callers rethrow it and the transport masks it).
 */
export function mapDatabaseError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const state = sqlStateOf(error);
  const code =
    (state && (SQLSTATE_CODES[state] ?? classCode(state))) ||
    (state === '23503' ? foreignKeyCode(error) : undefined) ||
    prismaCode(error) ||
    (isConnectionFailure(error, state) ? ErrorCode.UNAVAILABLE : undefined);
  if (!code) return error;
  const message = state?.startsWith('RG')
    ? messageOf(error)
    : state === '23503' && code === ErrorCode.CONFLICT
      ? 'still referenced by other records; remove those first'
      : defaultMessage(code);
  return new AppError(code, message, state ? { sqlState: state } : {});
}

/**
 * 23503 means two things: an insert or update names a row that does not exist
 * (NOT_FOUND), or a delete would orphan rows that still reference this one (CONFLICT,
 * e.g. a manifest that configurations use). PostgreSQL says which in the message.
 */
function foreignKeyCode(error: unknown): ErrorCode {
  const detail = (error as { detail?: unknown } | null)?.detail;
  const text = `${messageOf(error)} ${typeof detail === 'string' ? detail : ''}`;
  return /update or delete on table|still referenced/i.test(text) ? ErrorCode.CONFLICT : ErrorCode.NOT_FOUND;
}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE']);
/** pg's own errors for a lost session (no SQLSTATE): during a query, or after the client saw it. */
const PG_CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error and is not queryable)/;
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * The database is unreachable or dropped the session (restart, pg_terminate_backend,
 * connections refused): SQLSTATE classes 08 and 57P0x, 53300, any FATAL/PANIC error,
 * socket errors, pg's "Connection terminated" and "… not queryable", Prisma adapter connection kinds. Retryable.
 */
function isConnectionFailure(error: unknown, state: string | undefined): boolean {
  if (state && (state.startsWith('08') || /^57P0[1-5]$/.test(state) || state === '53300')) return true;
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as Record<string, unknown>;
    if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
    if (typeof e.code === 'string' && SOCKET_CODES.has(e.code)) return true;
    if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.message === 'string' && PG_CONNECTION_LOST.test(e.message)) return true;
    const meta = e.meta as Record<string, unknown> | undefined;
    current = e.cause ?? (meta?.driverAdapterError as unknown) ?? undefined;
  }
  return false;
}

function prismaCode(error: unknown): ErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? PRISMA_CODES[code] : undefined;
}

function messageOf(error: unknown): string {
  const e = error as { message?: string; meta?: { message?: string; driverAdapterError?: { cause?: { originalMessage?: string } } } };
  return e.meta?.driverAdapterError?.cause?.originalMessage ?? e.meta?.message ?? e.message ?? 'database error';
}

function defaultMessage(code: ErrorCode): string {
  switch (code) {
    case ErrorCode.CONFLICT:
      return 'conflicts with an existing record';
    case ErrorCode.NOT_FOUND:
      return 'a referenced record does not exist';
    case ErrorCode.UNAVAILABLE:
      return 'the database is unavailable; retry';
    default:
      return 'invalid value';
  }
}

/** Runs `fn`, mapping database errors at this boundary. */
export async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapDatabaseError(error);
  }
}
