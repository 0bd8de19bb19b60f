import type { AuthChecker } from 'type-graphql';
import type { Role } from '../auth/api-keys';
import { requirePrincipal, requireRole } from '../auth/authorize';
import type { GraphQLContext } from './context';

/**
 * `@Authorized(...roles)`: UNAUTHENTICATED without a valid key, FORBIDDEN when the key's
 * role is not listed. `@Authorized()` with no roles admits any valid key.
 */
export const authChecker: AuthChecker<GraphQLContext, Role> = ({ context }, roles) => {
  if (roles.length === 0) requirePrincipal(context.principal);
  else requireRole(context.principal, ...roles);
  return true;
};
