import { Arg, Args, Authorized, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { CreateManifestInput, UpdateManifestInput } from './manifest.input';
import { Manifest, ManifestConnection } from './manifest.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver(() => Manifest)
@UseMiddleware(inputLimits)
export class ManifestResolver {
  @Authorized()
  @Query(() => ManifestConnection, { description: 'The agent types, ordered by agentId. Any role.', complexity: connectionComplexity })
  manifests(
    @Args(() => PageArgs) page: PageArgs,
    @Arg('agentType', () => String, { nullable: true }) agentType: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ManifestConnection> {
    return ctx.services.manifests.list(pageRequest(page, ctx.limits.maxPageSize), { agentType });
  }

  @Authorized()
  @Query(() => Manifest, { nullable: true, description: 'One agent type by agentId, or null. Any role.' })
  manifest(@Arg('agentId', () => String) agentId: string, @Ctx() ctx: GraphQLContext): Promise<Manifest | null> {
    return ctx.services.manifests.find(agentId);
  }

  @Authorized('operator')
  @Mutation(() => Manifest, { description: 'Creates an agent type; CONFLICT when the agentId exists. Operator only.' })
  createManifest(@Arg('input', () => CreateManifestInput) input: CreateManifestInput, @Ctx() ctx: GraphQLContext): Promise<Manifest> {
    return ctx.services.manifests.create(input);
  }

  @Authorized('operator')
  @Mutation(() => Manifest, { description: 'Updates an agent type; NOT_FOUND for an unknown agentId. Operator only.' })
  updateManifest(@Arg('input', () => UpdateManifestInput) input: UpdateManifestInput, @Ctx() ctx: GraphQLContext): Promise<Manifest> {
    return ctx.services.manifests.update(input);
  }
}
