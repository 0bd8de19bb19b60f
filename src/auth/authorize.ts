import { forbidden, unauthenticated } from '../errors';
import type { Principal, Role } from './api-keys';

/** The principal, or UNAUTHENTICATED. */
export function requirePrincipal(principal: Principal | null | undefined): Principal {
  if (!principal) throw unauthenticated();
  return principal;
}

/** The principal when its role is one of `roles`; UNAUTHENTICATED or FORBIDDEN otherwise. */
export function requireRole(principal: Principal | null | undefined, ...roles: Role[]): Principal {
  const p = requirePrincipal(principal);
  if (!roles.includes(p.role)) throw forbidden(`this requires the ${roles.join(' or ')} role; your key is ${p.role}`);
  return p;
}

/**
 * The tenant a call acts on: always the key's own tenant; an operator (no tenant of its
 * own) must name one. A tenant key naming another tenant is FORBIDDEN.
 */
export function actingTenant(principal: Principal, requested?: string | null): string {
  if (principal.tenantId) {
    if (requested && requested !== principal.tenantId) throw forbidden('your key belongs to another tenant');
    return principal.tenantId;
  }
  if (!requested) throw forbidden('operator calls must name the tenant they act on (tenantId)');
  return requested;
}
