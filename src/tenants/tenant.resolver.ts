import { Arg, Args, Authorized, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { CreateTenantInput } from './tenant.input';
import { Tenant, TenantConnection } from './tenant.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver(() => Tenant)
@UseMiddleware(inputLimits)
export class TenantResolver {
  @Authorized('operator')
  @Query(() => TenantConnection, { description: 'Every tenant, oldest first. Operator only.', complexity: connectionComplexity })
  tenants(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: GraphQLContext): Promise<TenantConnection> {
    return ctx.services.tenants.list(pageRequest(page, ctx.limits.maxPageSize));
  }

  @Authorized('operator')
  @Mutation(() => Tenant, { description: 'Creates a tenant. Operator only.' })
  createTenant(@Arg('input', () => CreateTenantInput) input: CreateTenantInput, @Ctx() ctx: GraphQLContext): Promise<Tenant> {
    return ctx.services.tenants.create(input.name);
  }
}
