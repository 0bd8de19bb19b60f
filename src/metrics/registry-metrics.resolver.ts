import { Arg, Authorized, Ctx, ID, Query, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { RegistryMetricsSnapshot } from './registry-metrics.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver()
@UseMiddleware(inputLimits)
export class RegistryMetricsResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => RegistryMetricsSnapshot, { description: "The registry's figures for your tenant (see /metrics for Prometheus)." })
  registryMetrics(
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RegistryMetricsSnapshot> {
    return ctx.services.registryMetrics.snapshot(tenantOf(ctx, tenantId));
  }
}
