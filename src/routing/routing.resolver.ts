import { Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { inputLimits } from '../graphql/input-limits.middleware';
import { Registration } from '../registrations/registration.type';
import { PickInstanceArgs, ReportInstanceOutcomeArgs } from './routing.input';
import {
  CircuitState,
  InstanceCircuit,
  OutcomeAck,
  OutcomeResult,
  PickResult,
  type PickedInstance,
} from './routing.type';
import type { PickedRow } from './routing-sql';

const toPickedInstance = (row: PickedRow): PickedInstance => ({
  ...row,
  healthStatus: row.healthStatus as PickedInstance['healthStatus'],
});

/**
 * Routing: which instance should take a request, and how it went (circuit breaking).
 * The same RoutingService serves the agent WebSocket (agent.pick, agent.report_outcome).
 */
@Resolver()
@UseMiddleware(inputLimits)
export class RoutingResolver {
  @Authorized('viewer', 'admin', 'agent', 'operator')
  @Query(() => PickResult, {
    description:
      'The instance of an agent that should take a request, and fallbacks in order. Healthy before degraded before ' +
      'unhealthy, then power of two choices on load; with an affinityKey, consistent hashing with bounded loads. ' +
      'NO_HEALTHY_INSTANCE (extensions.counts says why) when none is eligible.',
  })
  async pickInstance(@Args(() => PickInstanceArgs) args: PickInstanceArgs, @Ctx() ctx: GraphQLContext): Promise<PickResult> {
    const picked = await ctx.services.routing.pick(tenantOf(ctx, args.tenantId), args);
    return {
      instance: toPickedInstance(picked.chosen),
      fallbacks: picked.fallbacks.map(toPickedInstance),
      probe: picked.probe,
      affinityCapacity: picked.capacity,
      counts: picked.counts,
    };
  }

  @Authorized('agent', 'admin', 'operator')
  @Mutation(() => OutcomeAck, {
    description:
      'How a request sent to an instance went (circuit breaking): consecutive failures eject it for a while; a ' +
      'half-open probe that succeeds restores it. Acknowledged once stored. NOT_FOUND: no such active instance.',
  })
  async reportInstanceOutcome(
    @Args(() => ReportInstanceOutcomeArgs) args: ReportInstanceOutcomeArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<OutcomeAck> {
    const ack = await ctx.services.routing.reportOutcome(tenantOf(ctx, args.tenantId), args.instanceId, args.outcome);
    return {
      registrationId: ack.registrationId,
      instanceId: args.instanceId,
      result: ack.result as OutcomeResult,
      circuit: ack.circuit as CircuitState,
    };
  }
}

/** Registration.circuit: read in one query per operation, whatever the number of registrations. */
@Resolver(() => Registration)
@UseMiddleware(inputLimits)
export class RegistrationCircuitResolver {
  @FieldResolver(() => InstanceCircuit, { description: 'Circuit breaking state (outlier ejection).' })
  async circuit(@Root() registration: Registration, @Ctx() ctx: GraphQLContext): Promise<InstanceCircuit> {
    const circuit = await ctx.services.routing.circuitOf(ctx, registration.tenantId, registration.id);
    return { ...circuit, state: circuit.state as CircuitState };
  }
}
