import fs from 'node:fs';
import path from 'node:path';
import { buildAppSchema } from '../../src/app';
import { printRegistrySchema } from '../../src/graphql/print-schema';

describe('schema.graphql', () => {
  it('is the SDL of the schema the code serves (run `npm run schema` after changing the API)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
    expect(printRegistrySchema(buildAppSchema())).toBe(committed);
  });
});
