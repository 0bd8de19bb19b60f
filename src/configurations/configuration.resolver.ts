import { Arg, Args, Authorized, Ctx, ID, Int, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { ConfigurationFilterArgs, CreateConfigurationInput, UpdateConfigurationInput } from './configuration.input';
import { Configuration, ConfigurationConnection, DeletedConfiguration } from './configuration.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver(() => Configuration)
@UseMiddleware(inputLimits)
export class ConfigurationResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => ConfigurationConnection, { description: "Your tenant's configurations, ordered by agentId.", complexity: connectionComplexity })
  configurations(
    @Args(() => PageArgs) page: PageArgs,
    @Args(() => ConfigurationFilterArgs) filter: ConfigurationFilterArgs,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConfigurationConnection> {
    return ctx.services.configurations.list(tenantOf(ctx, tenantId), pageRequest(page, ctx.limits.maxPageSize), filter);
  }

  @Authorized('admin', 'viewer', 'operator')
  @Query(() => Configuration, { nullable: true, description: 'One configuration of your tenant, or null.' })
  configuration(
    @Arg('id', () => ID) id: string,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Configuration | null> {
    return ctx.services.configurations.find(tenantOf(ctx, tenantId), id);
  }

  @Authorized('admin', 'operator')
  @Mutation(() => Configuration, { description: 'Configures an existing agent type for your tenant (NOT_FOUND without its manifest, CONFLICT if configured).' })
  createConfiguration(
    @Arg('input', () => CreateConfigurationInput) input: CreateConfigurationInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Configuration> {
    return ctx.services.configurations.create(tenantOf(ctx, input.tenantId), input.agentId, input);
  }

  @Authorized('admin', 'operator')
  @Mutation(() => Configuration, { description: 'Changes the given fields if the configuration is still at expectedVersion; CONFLICT otherwise.' })
  updateConfiguration(
    @Arg('input', () => UpdateConfigurationInput) input: UpdateConfigurationInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Configuration> {
    return ctx.services.configurations.update(tenantOf(ctx, input.tenantId), input.id, input.expectedVersion, input);
  }

  @Authorized('admin', 'operator')
  @Mutation(() => DeletedConfiguration, { description: 'Deletes a configuration and deregisters its live instances.' })
  deleteConfiguration(
    @Arg('id', () => ID) id: string,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeletedConfiguration> {
    return ctx.services.configurations.delete(tenantOf(ctx, tenantId), id, expectedVersion);
  }
}
