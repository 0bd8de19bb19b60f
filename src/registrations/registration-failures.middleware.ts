import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';

/**
 * Counts a refused `registerAgentInstance` in registrations_total{result="failure"}
 * whatever refused it after authentication: the input limits, argument validation, or the
 * registration itself (which counts its own failures once; see
 * AgentLifecycleService.registrationFailed). A global middleware, so that it runs before
 * the other global ones.
 */
export const countRegistrationFailures: MiddlewareFn<GraphQLContext> = async ({ context, info }, next) => {
  if (info.fieldName !== 'registerAgentInstance' || info.parentType.name !== 'Mutation') return next();
  try {
    return await next();
  } catch (error) {
    context.services.lifecycle.registrationFailed(error);
    throw error;
  }
};
