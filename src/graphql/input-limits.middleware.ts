import {
  type GraphQLInputType,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { AppError, ErrorCode } from '../errors';
import type { ApiLimits, GraphQLContext } from './context';

const JSON_SCALARS = new Set(['JSON', 'JSONObject']);

/**
 * Enforces the size limits on every argument of root fields, whatever the field:
 * strings up to MAX_STRING_LENGTH characters, JSON values up to MAX_JSON_BYTES bytes
 * serialized. Errors are BAD_USER_INPUT with `extensions.field` (the argument path) and
 * `extensions.limit` (`stringLength` or `jsonBytes`). Every resolver class applies it with
 * `@UseMiddleware(inputLimits)` (test/graphql/schema.test.ts checks that none is missing).
 */
export const inputLimits: MiddlewareFn<GraphQLContext> = ({ args, context, info }, next) => {
  if (info.path.prev === undefined) {
    const field = info.parentType.getFields()[info.fieldName];
    for (const arg of field?.args ?? []) {
      checkValue(args[arg.name], arg.type, arg.name, context.limits);
    }
  }
  return next();
};

function checkValue(value: unknown, type: GraphQLInputType, path: string, limits: ApiLimits): void {
  if (value === undefined || value === null) return;
  if (isNonNullType(type)) return checkValue(value, type.ofType, path, limits);
  if (isListType(type)) {
    if (Array.isArray(value)) value.forEach((item, i) => checkValue(item, type.ofType, `${path}[${i}]`, limits));
    return;
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const fieldType = fields[name]?.type;
      if (fieldType) checkValue(fieldValue, fieldType, `${path}.${name}`, limits);
    }
    return;
  }
  const named = getNamedType(type);
  if (isScalarType(named) && JSON_SCALARS.has(named.name)) {
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > limits.maxJsonBytes) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, `${path} must be at most ${limits.maxJsonBytes} bytes of JSON (got ${bytes})`, {
        field: path,
        limit: 'jsonBytes',
        max: limits.maxJsonBytes,
      });
    }
    return;
  }
  if (typeof value === 'string' && value.length > limits.maxStringLength) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, `${path} must be at most ${limits.maxStringLength} characters (got ${value.length})`, {
      field: path,
      limit: 'stringLength',
      max: limits.maxStringLength,
    });
  }
}
