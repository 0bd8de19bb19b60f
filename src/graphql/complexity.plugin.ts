import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { type ComplexityEstimator, fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { ErrorCode } from '../errors';

/** Introspection (the Sandbox, codegen) costs nothing. */
const introspectionIsFree: ComplexityEstimator = ({ type, field }) =>
  type.name.startsWith('__') || field.name.startsWith('__') ? 0 : undefined;

/**
 * Rejects operations whose estimated cost exceeds `maxComplexity` before they run.
 * Every field costs 1; list fields multiply their children by the page size asked for
 * (`first`). Runs once the variables are known, which a validation rule could not see.
 * The error is BAD_USER_INPUT with `extensions.limit = 'complexity'`, HTTP 400.
 */
export function complexityLimitPlugin(maxComplexity: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              query: document,
              operationName: request.operationName ?? undefined,
              variables: request.variables ?? {},
              estimators: [introspectionIsFree, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch {
            // invalid variables: execution reports them with their own code
            return;
          }
          if (complexity > maxComplexity) {
            throw new GraphQLError(`the query is too complex: ${complexity} exceeds the maximum of ${maxComplexity}`, {
              extensions: {
                code: ErrorCode.BAD_USER_INPUT,
                limit: 'complexity',
                max: maxComplexity,
                complexity,
                http: { status: 400 },
              },
            });
          }
        },
      };
    },
  };
}
