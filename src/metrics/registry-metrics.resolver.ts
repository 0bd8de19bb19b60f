import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { actingTenant, requirePrincipal } from '../auth/authorize';
import type { GraphQLContext } from '../graphql/context';
import { RegistryMetricsSnapshot } from './registry-metrics.type';

@Resolver()
export class RegistryMetricsResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => RegistryMetricsSnapshot, { description: "The registry's figures for your tenant (see /metrics for Prometheus)." })
  registryMetrics(
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RegistryMetricsSnapshot> {
    return ctx.services.registryMetrics.snapshot(actingTenant(requirePrincipal(ctx.principal), tenantId));
  }
}
