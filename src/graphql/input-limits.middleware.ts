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
import { characterCount, checkJsonValue, checkText } from '../validation';
import type { ApiLimits, GraphQLContext } from './context';

const JSON_SCALARS = new Set(['JSON', 'JSONObject']);

/**
 * Enforces the input limits on every argument of root fields, whatever the field and the
 * transport: strings up to MAX_STRING_LENGTH characters (code points) without NUL or lone
 * surrogates; JSON values up to MAX_JSON_DEPTH levels and MAX_JSON_BYTES bytes serialized,
 * with storable strings and keys. Errors are BAD_USER_INPUT with `extensions.field` (the
 * argument path) and `extensions.limit` (`stringLength`, `text`, `jsonDepth` or `jsonBytes`).
 * Every resolver class applies it with `@UseMiddleware(inputLimits)`
 * (test/graphql/schema.test.ts checks that none is missing).
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

/** Walks an argument value along its input type; inputs are as deep as the schema's types, JSON values are walked without recursion. */
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
    checkJsonValue(value, path, limits);
    return;
  }
  if (typeof value === 'string') {
    const length = value.length > limits.maxStringLength ? characterCount(value) : value.length;
    if (length > limits.maxStringLength) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, `${path} must be at most ${limits.maxStringLength} characters (got ${length})`, {
        field: path,
        limit: 'stringLength',
        max: limits.maxStringLength,
      });
    }
    checkText(value, path);
  }
}
