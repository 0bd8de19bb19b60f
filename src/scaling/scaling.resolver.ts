import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { Configuration } from '../configurations/configuration.type';
import type { GraphQLContext } from '../graphql/context';
import { ScalingRecommendation } from './scaling.type';

/** `Configuration.scaling`: the configuration's stored scaling recommendation. */
@Resolver(() => Configuration)
export class ConfigurationScalingResolver {
  @FieldResolver(() => ScalingRecommendation, {
    nullable: true,
    description: 'The scaling signal (README "Scaling signal"); null until it was first computed (every SCALING_INTERVAL_MS).',
  })
  scaling(@Root() configuration: Configuration, @Ctx() ctx: GraphQLContext): Promise<ScalingRecommendation | null> {
    // the configuration was read within its tenant; its tenantId scopes this read too
    return ctx.services.scaling.forConfiguration(configuration.tenantId, configuration.id);
  }
}
