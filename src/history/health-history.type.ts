import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Active instances by health at one moment (the end of a bucket).' })
export class HealthHistoryPoint {
  @Field(() => GraphQLDateTimeISO)
  at!: Date;

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

  @Field(() => Int, { description: 'All active instances.' })
  active!: number;
}

@ObjectType({ description: 'Active instances by health over a time range, one point per bucket.' })
export class HealthHistory {
  @Field(() => String, { nullable: true, description: 'The agent asked for; null: all agents of the tenant.' })
  agentId!: string | null;

  @Field(() => GraphQLDateTimeISO, { description: 'The start of the first bucket: `to` minus bucketCount × bucketSeconds.' })
  from!: Date;

  @Field(() => GraphQLDateTimeISO)
  to!: Date;

  @Field(() => Int)
  bucketSeconds!: number;

  @Field(() => [HealthHistoryPoint], { description: 'Oldest first; the last point is the state at `to`.' })
  points!: HealthHistoryPoint[];
}
