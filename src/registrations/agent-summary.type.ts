import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Connection } from '../graphql/pagination';
import { ScalingRecommendation } from '../scaling/scaling.type';

@ObjectType({ description: 'Active instances of one agent by health.' })
export class HealthCounts {
  @Field(() => Int)
  healthy!: number;

  @Field(() => Int)
  degraded!: number;

  @Field(() => Int)
  unhealthy!: number;

  @Field(() => Int)
  disconnected!: number;

  @Field(() => Int)
  unknown!: number;
}

@ObjectType({ description: "One agent of your tenant (one configuration) and its instances, for dashboards." })
export class AgentSummary {
  @Field(() => String)
  agentId!: string;

  @Field(() => String)
  agentType!: string;

  @Field(() => ID)
  configurationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Int, { description: 'Instances with registrationStatus active.' })
  activeCount!: number;

  @Field(() => Int)
  staleCount!: number;

  @Field(() => Int, {
    description:
      'Active instances ejected by circuit breaking: open, or half-open until a probe succeeds (README "Circuit breaking"); ' +
      'counted as the agent_registry_ejected_instances gauge and the ejection ceiling count them.',
  })
  ejectedCount!: number;

  @Field(() => HealthCounts, { description: 'Active instances by health.' })
  byHealth!: HealthCounts;

  @Field(() => Date, { nullable: true, description: 'The latest heartbeat of any of its instances, or null if none ever registered.' })
  lastSeenAt!: Date | null;

  @Field(() => ScalingRecommendation, {
    nullable: true,
    description: 'The scaling signal of its configuration (README "Scaling signal"); null until it was first computed.',
  })
  scaling!: ScalingRecommendation | null;
}

@ObjectType()
export class AgentSummaryConnection extends Connection(AgentSummary) {}
