import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';

/** The committed SDL form of a schema: sorted, so that it only changes when the API does. */
export function printRegistrySchema(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema\`; do not edit. \`npm run schema:check\` fails when stale.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
