import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Active instances of one agent type.' })
export class AgentTypeCount {
  @Field(() => String)
  agentType!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'Heartbeat handling latency measured by the process that answered (receipt to acknowledgement).' })
export class HeartbeatLatency {
  @Field(() => Int, { description: 'Heartbeats handled by this process since it started.' })
  count!: number;

  @Field(() => Float, { nullable: true, description: 'Mean seconds; null before the first heartbeat.' })
  meanSeconds!: number | null;
}

@ObjectType({
  description:
    "The registry's figures for your tenant, as on /metrics (which covers all tenants): for dashboards without Prometheus.",
})
export class RegistryMetricsSnapshot {
  @Field(() => [AgentTypeCount], { description: 'agent_registry_active_registrations{agent_type}, for your tenant.' })
  activeByAgentType!: AgentTypeCount[];

  @Field(() => Int, { description: 'Registrations with status active.' })
  active!: number;

  @Field(() => Int, { description: 'agent_registry_stale_instances, for your tenant.' })
  stale!: number;

  @Field(() => Int, { description: 'Registrations deregistered and not yet purged.' })
  deregistered!: number;

  @Field(() => Int, { description: 'Sum of the reconnect counts of your current registrations.' })
  reconnections!: number;

  @Field(() => Int, { description: 'New registrations (registered events) in the last hour.' })
  registrationsLastHour!: number;

  @Field(() => Boolean, { description: 'The stale sweep is holding back for your tenant (self-preservation).' })
  selfPreservationHeld!: boolean;

  @Field(() => HeartbeatLatency)
  heartbeatLatency!: HeartbeatLatency;
}
