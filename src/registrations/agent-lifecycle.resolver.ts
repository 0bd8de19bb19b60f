import { Arg, Args, Authorized, Ctx, ID, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { type GraphQLContext, tenantOf } from '../graphql/context';
import { DeregisterPayload, HeartbeatAck, HeartbeatOutcome, RegisterAgentInstancePayload } from './agent-lifecycle.type';
import { HeartbeatArgs, RegisterAgentInstanceInput } from './registration.input';
import { toRegistration } from './registration.service';
import { inputLimits } from '../graphql/input-limits.middleware';
import { countRegistrationFailures } from './registration-failures.middleware';

/**
 * What agents do over GraphQL; the same AgentLifecycleService serves the agent WebSocket,
 * so both transports behave the same. The tenant is always the key's.
 */
@Resolver()
@UseMiddleware(countRegistrationFailures, inputLimits)
export class AgentLifecycleResolver {
  @Authorized('agent')
  @Mutation(() => RegisterAgentInstancePayload, {
    description: 'Registers an instance (idempotent: the same instanceId again is a reconnection). Agent keys.',
  })
  async registerAgentInstance(
    @Arg('input', () => RegisterAgentInstanceInput) input: RegisterAgentInstanceInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RegisterAgentInstancePayload> {
    const tenantId = tenantOf(ctx);
    const result = await ctx.services.lifecycle.register(tenantId, input);
    return {
      registration: toRegistration(result.registration),
      isNew: result.isNew,
      message: result.message,
      heartbeatIntervalMs: result.heartbeatIntervalMs,
      heartbeatIntervalSeconds: result.heartbeatIntervalMs / 1000,
    };
  }

  @Authorized('agent')
  @Mutation(() => HeartbeatAck, {
    description: 'Reports liveness, and optionally health and workload. NOT_REGISTERED: register again. Agent keys.',
  })
  async heartbeat(@Args(() => HeartbeatArgs) args: HeartbeatArgs, @Ctx() ctx: GraphQLContext): Promise<HeartbeatAck> {
    const ack = await ctx.services.lifecycle.heartbeat(tenantOf(ctx), args, 'graphql');
    return { registrationId: ack.registrationId, instanceId: args.instanceId, outcome: ack.outcome as HeartbeatOutcome };
  }

  @Authorized('agent')
  @Mutation(() => DeregisterPayload, { description: 'Deregisters an instance on shutdown. Agent keys.' })
  async deregisterAgentInstance(
    @Arg('instanceId', () => String) instanceId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeregisterPayload> {
    const result = await ctx.services.lifecycle.deregister(tenantOf(ctx), instanceId);
    return { ...result, instanceId };
  }

  @Authorized('admin', 'operator')
  @Mutation(() => DeregisterPayload, { description: 'Deregisters an instance of your tenant, e.g. a stuck one. Admins.' })
  async forceDeregisterInstance(
    @Arg('instanceId', () => String) instanceId: string,
    @Arg('tenantId', () => ID, { nullable: true, description: 'Operators only.' }) tenantId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeregisterPayload> {
    const result = await ctx.services.lifecycle.deregister(tenantOf(ctx, tenantId), instanceId, 'force-deregistered');
    return { ...result, instanceId };
  }
}
