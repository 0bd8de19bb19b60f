import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';

/**
 * Counts a refused `registerAgentInstance` (over HTTP or graphql-ws) in
 * registrations_total{result="failure"}, whatever refused it after the role check: the
 * input limits, argument validation, or the registration itself. On AgentLifecycleResolver,
 * before inputLimits (so that it wraps it); the class's other fields pass straight through.
 */
export const countRegistrationFailures: MiddlewareFn<GraphQLContext> = ({ context, info }, next) => {
  if (info.fieldName !== 'registerAgentInstance' || info.parentType.name !== 'Mutation') return next();
  return next().catch((error: unknown) => {
    context.services.lifecycle.registrationRefused();
    throw error;
  });
};
