import { Arg, Args, Authorized, Ctx, ID, Query, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { PageArgs, connectionComplexity, pageRequest } from '../graphql/pagination';
import { EventHistoryFilter } from './event-history.input';
import { RegistrationEventConnection } from './event-history.type';
import { inputLimits } from '../graphql/input-limits.middleware';

@Resolver()
@UseMiddleware(inputLimits)
export class EventHistoryResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => RegistrationEventConnection, {
    description: "Your tenant's event history, newest first; `after` pages to older events. For live events, subscribe.",
    complexity: connectionComplexity,
  })
  events(
    @Arg('filter', () => EventHistoryFilter, { nullable: true }) filter: EventHistoryFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RegistrationEventConnection> {
    const tenant = tenantOf(ctx, tenantId);
    return ctx.services.eventHistory.list(tenant, filter ?? {}, pageRequest(page, ctx.limits.maxPageSize));
  }
}
