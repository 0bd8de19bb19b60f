import { Args, Authorized, Ctx, Query, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { inputLimits } from '../graphql/input-limits.middleware';
import { HealthHistoryArgs } from './health-history.input';
import { HealthHistory } from './health-history.type';

@Resolver()
@UseMiddleware(inputLimits)
export class HealthHistoryResolver {
  @Authorized('admin', 'viewer', 'operator')
  @Query(() => HealthHistory, {
    description:
      'Active instances by health over time (default: the last hour in 60 points), from the event log and the current state. ' +
      'At most 7 days and 1440 buckets (BAD_USER_INPUT beyond); it reaches back as far as the event log (EVENT_RETENTION_MS).',
  })
  healthHistory(@Args(() => HealthHistoryArgs) args: HealthHistoryArgs, @Ctx() ctx: GraphQLContext): Promise<HealthHistory> {
    return ctx.services.healthHistory.history(tenantOf(ctx, args.tenantId ?? null), args);
  }
}
