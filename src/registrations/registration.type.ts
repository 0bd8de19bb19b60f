import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../graphql/pagination';

export enum RegistrationStatus {
  active = 'active',
  stale = 'stale',
  deregistered = 'deregistered',
}
registerEnumType(RegistrationStatus, {
  name: 'RegistrationStatus',
  description: 'active: heartbeating; stale: no heartbeat within the stale timeout; deregistered: gone.',
});

export enum HealthStatus {
  healthy = 'healthy',
  degraded = 'degraded',
  unhealthy = 'unhealthy',
  disconnected = 'disconnected',
  unknown = 'unknown',
}
registerEnumType(HealthStatus, {
  name: 'HealthStatus',
  description: 'Reported by the instance (healthy, degraded, unhealthy) or set by the registry (disconnected, unknown).',
});

@ObjectType({ description: 'A connected (or recently connected) instance of an agent, in one tenant.' })
export class Registration {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String, { description: 'Unique per tenant.' })
  instanceId!: string;

  @Field(() => String)
  agentId!: string;

  @Field(() => String)
  agentType!: string;

  @Field(() => ID)
  manifestId!: string;

  @Field(() => ID, { nullable: true, description: 'Null only after the configuration was deleted.' })
  configurationId!: string | null;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => RegistrationStatus)
  registrationStatus!: RegistrationStatus;

  @Field(() => HealthStatus)
  healthStatus!: HealthStatus;

  @Field(() => Date, { description: 'The last heartbeat (or the registration).' })
  lastHealthCheck!: Date;

  @Field(() => GraphQLJSONObject)
  connectionDetails!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject)
  runtimeConfig!: Record<string, unknown>;

  @Field(() => [String])
  capabilities!: string[];

  @Field(() => Int)
  currentWorkload!: number;

  @Field(() => Int)
  reconnectCount!: number;

  @Field(() => Date)
  registeredAt!: Date;

  @Field(() => Date, { nullable: true })
  deregisteredAt!: Date | null;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => HealthStatus, {
    nullable: true,
    description:
      'The health the last heartbeat reported (healthy, degraded or unhealthy), applied or not; null before the first report since registering. ' +
      'healthStatus follows it after healthChangeThreshold reports in a row (flap damping).',
  })
  reportedHealth!: HealthStatus | null;

  @Field(() => Int, { description: 'How many heartbeats in a row reported reportedHealth (0 before the first report).' })
  reportedHealthStreak!: number;
}

@ObjectType()
export class RegistrationConnection extends Connection(Registration) {}
