import { Args, ArgsType, Field, ID, Resolver, Root, Subscription, UseMiddleware } from 'type-graphql';
import { actingTenant, requireRole } from '../auth/authorize';
import { AppError, ErrorCode } from '../errors';
import { EventKindValue, RegistrationEvent, toRegistrationEvent } from '../events/registration-event.type';
import type { EventKind, RegistryEvent } from '../events/types';
import type { GraphQLContext } from '../graphql/context';
import { sessionOf } from './subscription-session';
import { inputLimits } from '../graphql/input-limits.middleware';

@ArgsType()
export class RegistrationEventsArgs {
  @Field(() => String, { nullable: true, description: 'Only events of this agent id.' })
  agentId?: string | null;

  @Field(() => [EventKindValue], { nullable: true, description: 'Only these kinds (default: all).' })
  kinds?: EventKindValue[] | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Resume: first the events after this event id (from the log), then live ones. Default: live only.',
  })
  since?: string | null;

  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant to watch.' })
  tenantId?: string | null;
}

@Resolver()
@UseMiddleware(inputLimits)
export class RegistrationEventsResolver {
  @Subscription(() => RegistrationEvent, {
    description:
      "Live registry events of your tenant, in log order, each once. Over graphql-ws on /graphql. " +
      'Resume after a disconnect with `since` set to the last event id you received.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const request = args as RegistrationEventsArgs;
      const principal = requireRole(ctx.principal, 'admin', 'viewer', 'operator');
      const tenantId = actingTenant(principal, request.tenantId);
      const session = sessionOf(ctx);
      if (!session) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, 'subscriptions are served over graphql-ws (WebSocket) at /graphql');
      }
      return session.streams.subscribe(tenantId, {
        agentId: request.agentId,
        kinds: request.kinds as EventKind[] | null | undefined,
        since: request.since,
      });
    },
  })
  registrationEvents(
    @Root() event: RegistryEvent,
    // the arguments were checked when subscribing; validating them again per event costs every delivery
    @Args(() => RegistrationEventsArgs, { validate: false }) _args: RegistrationEventsArgs,
  ): RegistrationEvent {
    return toRegistrationEvent(event);
  }
}
