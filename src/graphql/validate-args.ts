import type { ValidationError } from 'class-validator';
import { getMetadataStorage, validate } from './constraints';
import { ArgumentValidationError, type ValidatorFn } from 'type-graphql';

const OPTIONS = { skipMissingProperties: true, forbidUnknownValues: false } as const;
const constrained = new WeakMap<Function, boolean>();

/** Whether class-validator knows any constraint of `type` (or what it extends). */
function hasConstraints(type: Function): boolean {
  let known = constrained.get(type);
  if (known === undefined) {
    known = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).length > 0;
    constrained.set(type, known);
  }
  return known;
}

/**
 * type-graphql's argument validation, as its own `validate: true` does it (class-validator,
 * missing properties skipped, unknown values allowed; ArgumentValidationError on failure),
 * minus its per-call costs: class-validator is imported once instead of on every call, and
 * argument objects whose class declares no constraint are not walked at all.
 */
export const validateArgs: ValidatorFn = async (argValue) => {
  if (argValue === null || typeof argValue !== 'object') return;
  const items = Array.isArray(argValue) ? argValue : [argValue];
  const errors: ValidationError[] = [];
  for (const item of items) {
    if (item === null || typeof item !== 'object' || !hasConstraints(item.constructor)) continue;
    errors.push(...(await validate(item, OPTIONS)));
  }
  if (errors.length > 0) throw new ArgumentValidationError(errors);
};
