import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, ID, Info, Query, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { connectionSelection } from '../graphql/selection';
import { AgentSummaryConnection } from './agent-summary.type';
import { RegistrationFilter, RegistrationOrder } from './registration.input';
import { Registration, RegistrationConnection, RegistrationStatus } from './registration.type';
import { inputLimits } from '../graphql/input-limits.middleware';

const TENANT_ARG = { nullable: true, description: 'Operators only: the tenant to read.' } as const;

@Resolver(() => Registration)
@UseMiddleware(inputLimits)
export class RegistrationResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => RegistrationConnection, {
    description: "Your tenant's instances matching every filter given, ordered by `orderBy` (default: instanceId).",
    complexity: connectionComplexity,
  })
  registrations(
    @Arg('filter', () => RegistrationFilter, { nullable: true }) filter: RegistrationFilter | null,
    @Arg('orderBy', () => RegistrationOrder, { nullable: true }) orderBy: RegistrationOrder | null,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('tenantId', () => ID, TENANT_ARG) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RegistrationConnection> {
    return ctx.services.registrations.list(
      tenantOf(ctx, tenantId),
      filter ?? {},
      pageRequest(page, ctx.limits.maxPageSize),
      orderBy ?? undefined,
      connectionSelection(info),
    );
  }

  @Authorized('admin', 'viewer', 'operator')
  @Query(() => RegistrationConnection, {
    description: 'All active instances of an agent in your tenant, ordered by instanceId.',
    complexity: connectionComplexity,
  })
  activeInstances(
    @Arg('agentId', () => String) agentId: string,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('tenantId', () => ID, TENANT_ARG) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RegistrationConnection> {
    return ctx.services.registrations.list(
      tenantOf(ctx, tenantId),
      { agentId, registrationStatus: RegistrationStatus.active },
      pageRequest(page, ctx.limits.maxPageSize),
      undefined,
      connectionSelection(info),
    );
  }

  @Authorized('admin', 'viewer', 'operator')
  @Query(() => Registration, { nullable: true, description: 'One instance of your tenant by instanceId, or null.' })
  registration(
    @Arg('instanceId', () => String) instanceId: string,
    @Arg('tenantId', () => ID, TENANT_ARG) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Registration | null> {
    return ctx.services.registrations.findByInstance(tenantOf(ctx, tenantId), instanceId);
  }

  @Authorized('admin', 'viewer', 'operator')
  @Query(() => AgentSummaryConnection, {
    description: 'Per configured agent of your tenant: instances by status and health, last seen. Ordered by agentId.',
    complexity: connectionComplexity,
  })
  agentSummaries(
    @Args(() => PageArgs) page: PageArgs,
    @Arg('tenantId', () => ID, TENANT_ARG) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AgentSummaryConnection> {
    return ctx.services.registrations.summaries(tenantOf(ctx, tenantId), pageRequest(page, ctx.limits.maxPageSize));
  }
}
