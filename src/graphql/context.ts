import type { HealthHistoryService } from '../history/health-history.service';
import type { Principal } from '../auth/api-keys';
import type { Authenticator } from '../auth/api-keys';
import type { ApiKeyService } from '../api-keys/api-key.service';
import type { ConfigurationService } from '../configurations/configuration.service';
import type { EventHistoryService } from '../events/event-history.service';
import type { RegistryMetricsService } from '../metrics/registry-metrics.service';
import type { ManifestService } from '../manifests/manifest.service';
import type { AgentLifecycleService } from '../registrations/agent-lifecycle.service';
import type { RegistrationService } from '../registrations/registration.service';
import type { RoutingService } from '../routing/routing.service';
import type { TenantService } from '../tenants/tenant.service';
import type { ScalingService } from '../scaling/scaling.service';
import { actingTenant, requirePrincipal } from '../auth/authorize';

/** The services resolvers call. */
export interface ApiServices {
  readonly auth: Authenticator;
  readonly lifecycle: AgentLifecycleService;
  readonly tenants: TenantService;
  readonly manifests: ManifestService;
  readonly configurations: ConfigurationService;
  readonly registrations: RegistrationService;
  readonly apiKeys: ApiKeyService;
  readonly eventHistory: EventHistoryService;
  /** The registryMetrics query (src/metrics/). */
  readonly registryMetrics: RegistryMetricsService;
  /** Stored scaling recommendations (src/scaling/). */
  readonly scaling: ScalingService;
  /** pickInstance, reportInstanceOutcome, Registration.circuit (src/routing/). */
  readonly routing: RoutingService;
  /** The healthHistory query (src/history/). */
  readonly healthHistory: HealthHistoryService;
}

/** Limits resolvers and middlewares enforce (from the config). */
export interface ApiLimits {
  readonly maxPageSize: number;
  readonly maxStringLength: number;
  readonly maxJsonBytes: number;
  readonly maxJsonDepth: number;
}

/** The context of every GraphQL operation, over HTTP or graphql-ws. */
export interface GraphQLContext {
  /** The caller, or null when no key was sent. */
  readonly principal: Principal | null;
  readonly services: ApiServices;
  readonly limits: ApiLimits;
  /** The HTTP request's id (x-request-id), when the operation came over HTTP: error logs carry it. */
  readonly requestId?: string;
}

/** Builds the context of one operation for `principal` (null: anonymous). */
export function createContext(services: ApiServices, limits: ApiLimits, principal: Principal | null, requestId?: string): GraphQLContext {
  return { principal, services, limits, requestId };
}

/**
 * The tenant a resolver acts on: the caller's own, or the one an operator names
 * (UNAUTHENTICATED without a key; see actingTenant for the rules).
 */
export function tenantOf(ctx: GraphQLContext, tenantId?: string | null): string {
  return actingTenant(requirePrincipal(ctx.principal), tenantId);
}
