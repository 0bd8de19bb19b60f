import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context';
import type { OperationRules } from './operation-rules';

/**
 * Apollo's side of {@link OperationRules.checkCost}: refuses an operation whose estimated
 * cost exceeds the caller's budget once the variables are known (which a validation rule
 * could not see). graphql-ws runs the same check in its onSubscribe.
 */
export function complexityLimitPlugin(rules: OperationRules): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, contextValue }) {
          const error = rules.checkCost(document, request.operationName, request.variables ?? {}, contextValue.principal !== null);
          if (error) throw error;
        },
      };
    },
  };
}
