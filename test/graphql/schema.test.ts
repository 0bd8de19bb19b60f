import fs from 'node:fs';
import path from 'node:path';
import { getMetadataStorage } from 'type-graphql';
import { buildAppSchema } from '../../src/app';
import { inputLimits } from '../../src/graphql/input-limits.middleware';
import { printRegistrySchema } from '../../src/graphql/print-schema';

describe('schema.graphql', () => {
  it('is the SDL of the schema the code serves (run `npm run schema` after changing the API)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
    expect(printRegistrySchema(buildAppSchema())).toBe(committed);
  });

  it('applies the input limits to every root field (each resolver class carries @UseMiddleware(inputLimits))', () => {
    const schema = buildAppSchema();
    const storage = getMetadataStorage();
    const guarded = new Set(
      storage.resolverMiddlewares.filter((m) => m.middlewares.includes(inputLimits)).map((m) => m.target),
    );
    const rootTypes = { Query: schema.getQueryType(), Mutation: schema.getMutationType(), Subscription: schema.getSubscriptionType() };
    const roots = [
      ...storage.queries.map((q) => ['Query', q] as const),
      ...storage.mutations.map((m) => ['Mutation', m] as const),
      ...storage.subscriptions.map((s) => ['Subscription', s] as const),
    ];
    // only the fields the app serves (other schemas of the same process leave metadata too), and all of them
    const served = roots.filter(([type, field]) => rootTypes[type]?.getFields()[field.schemaName]);
    const rootFieldCount = Object.values(rootTypes).reduce((n, type) => n + Object.keys(type?.getFields() ?? {}).length, 0);
    expect(served.length).toBe(rootFieldCount);
    expect(served.filter(([, field]) => !guarded.has(field.target)).map(([type, field]) => `${type}.${field.schemaName}`)).toEqual([]);
  });
});
