import type * as ClassValidator from 'class-validator';

/**
 * The class-validator decorators and functions this project uses, loaded from their own
 * files instead of the package's index. The index loads every decorator it has, among them
 * IsPhoneNumber with libphonenumber-js's metadata and all of `validator`: 220 ms of every
 * start against 28 ms for these (measured on this machine, `node -e "require(…)"`), about a
 * tenth of the embedded start. The decorators register in the same global metadata storage
 * the validator reads, so nothing else changes. The paths are class-validator 0.15's
 * (package.json pins it); test/graphql/constraints.test.ts fails if one moves.
 */
export const { Length } = require('class-validator/cjs/decorator/string/Length') as Pick<typeof ClassValidator, 'Length'>;
export const { Matches } = require('class-validator/cjs/decorator/string/Matches') as Pick<typeof ClassValidator, 'Matches'>;
export const { IsOptional } = require('class-validator/cjs/decorator/common/IsOptional') as Pick<typeof ClassValidator, 'IsOptional'>;
export const { IsInt } = require('class-validator/cjs/decorator/typechecker/IsInt') as Pick<typeof ClassValidator, 'IsInt'>;
export const { Min } = require('class-validator/cjs/decorator/number/Min') as Pick<typeof ClassValidator, 'Min'>;
export const { Max } = require('class-validator/cjs/decorator/number/Max') as Pick<typeof ClassValidator, 'Max'>;
export const { ArrayMaxSize } = require('class-validator/cjs/decorator/array/ArrayMaxSize') as Pick<typeof ClassValidator, 'ArrayMaxSize'>;
export const { getMetadataStorage } = require('class-validator/cjs/metadata/MetadataStorage') as Pick<typeof ClassValidator, 'getMetadataStorage'>;

const { getFromContainer } = require('class-validator/cjs/container') as Pick<typeof ClassValidator, 'getFromContainer'>;
const { Validator } = require('class-validator/cjs/validation/Validator') as Pick<typeof ClassValidator, 'Validator'>;

/** class-validator's `validate(object, options)`, as its index defines it. */
export function validate(object: object, options?: ClassValidator.ValidatorOptions): Promise<ClassValidator.ValidationError[]> {
  return getFromContainer(Validator).validate(object, options);
}
