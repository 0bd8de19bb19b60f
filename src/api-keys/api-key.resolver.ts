import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { requirePrincipal } from '../auth/authorize';
import type { GraphQLContext } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { CreateApiKeyInput } from './api-key.input';
import { ApiKey, ApiKeyConnection, CreatedApiKey } from './api-key.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver(() => ApiKey)
@UseMiddleware(inputLimits)
export class ApiKeyResolver {
  @Authorized('admin', 'operator')
  @Query(() => ApiKeyConnection, {
    description: "Your tenant's keys, oldest first (operators: the tenant named, or operator keys).",
    complexity: connectionComplexity,
  })
  apiKeys(
    @Args(() => PageArgs) page: PageArgs,
    @Arg('includeRevoked', () => Boolean, { nullable: true, defaultValue: false }) includeRevoked: boolean,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApiKeyConnection> {
    return ctx.services.apiKeys.list(requirePrincipal(ctx.principal), pageRequest(page, ctx.limits.maxPageSize), {
      tenantId,
      includeRevoked,
    });
  }

  @Authorized('admin', 'operator')
  @Mutation(() => CreatedApiKey, { description: 'Creates a key and returns it once.' })
  createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    return ctx.services.apiKeys.create(requirePrincipal(ctx.principal), input);
  }

  @Authorized('admin', 'operator')
  @Mutation(() => ApiKey, { description: 'Revokes a key at once; it stops working in every process within seconds.' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    return ctx.services.apiKeys.revoke(requirePrincipal(ctx.principal), id);
  }
}
