import * as classValidator from 'class-validator';
import * as constraints from '../../src/graphql/constraints';

describe('class-validator loaded from its own files (src/graphql/constraints.ts)', () => {
  it('the decorators and the metadata storage are the package index’s own', () => {
    for (const name of ['Length', 'Matches', 'IsOptional', 'IsInt', 'Min', 'Max', 'ArrayMaxSize', 'getMetadataStorage'] as const) {
      expect(constraints[name]).toBe(classValidator[name]);
    }
  });

  it('validate finds the same errors as the index’s validate', async () => {
    class Input {
      @constraints.Length(1, 3)
      name = 'abcd';

      @constraints.IsOptional()
      @constraints.IsInt()
      @constraints.Min(1)
      @constraints.Max(5)
      count: unknown = 9;

      @constraints.ArrayMaxSize(1)
      @constraints.Matches(/^x$/, { each: true })
      tags = ['y', 'x'];
    }
    const ours = await constraints.validate(new Input(), { forbidUnknownValues: false });
    const theirs = await classValidator.validate(new Input(), { forbidUnknownValues: false });
    expect(ours.map((e) => [e.property, Object.keys(e.constraints ?? {}).sort()])).toEqual([
      ['name', ['isLength']],
      ['count', ['max']],
      ['tags', ['arrayMaxSize', 'matches']],
    ]);
    expect(ours.map((e) => e.constraints)).toEqual(theirs.map((e) => e.constraints));
  });
});

describe('building the schema', () => {
  it('does not load the class-validator index (libphonenumber-js, all of validator)', async () => {
    const loaded: string[] = [];
    jest.isolateModules(() => {
      jest.doMock('libphonenumber-js/max', () => {
        loaded.push('libphonenumber-js/max');
        return {};
      });
      const { buildRegistrySchema } = require('../../src/graphql/schema') as typeof import('../../src/graphql/schema');
      expect(typeof buildRegistrySchema).toBe('function');
    });
    expect(loaded).toEqual([]);
  });
});
