import { ArrayMaxSize, IsInt, IsOptional, Length, Matches, Max, Min } from '../graphql/constraints';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArgsType, Field, InputType, Int, registerEnumType } from 'type-graphql';
import { AGENT_ID_PATTERN } from '../validation';
import { HealthStatus, RegistrationStatus } from './registration.type';

const AGENT_ID_MESSAGE = 'agentId must be 1 to 64 lowercase letters, digits, ".", "_" or "-"';

@InputType({ description: 'Every filter given must match.' })
export class RegistrationFilter {
  @Field(() => String, { nullable: true })
  agentId?: string | null;

  @Field(() => RegistrationStatus, { nullable: true })
  registrationStatus?: RegistrationStatus | null;

  @Field(() => HealthStatus, { nullable: true })
  healthStatus?: HealthStatus | null;

  @Field(() => String, { nullable: true })
  instanceId?: string | null;

  @Field(() => String, { nullable: true, description: 'Instance ids containing this text (case-insensitive), 1 to 256 characters.' })
  @IsOptional()
  @Length(1, 256)
  instanceIdContains?: string | null;
}

export enum RegistrationSortField {
  instanceId = 'instanceId',
  agentId = 'agentId',
  healthStatus = 'healthStatus',
  lastHealthCheck = 'lastHealthCheck',
  registeredAt = 'registeredAt',
}
registerEnumType(RegistrationSortField, {
  name: 'RegistrationSortField',
  description: 'What registrations can be ordered by; ties are broken by instanceId. healthStatus orders healthy, degraded, unhealthy, disconnected, unknown.',
});

export enum SortDirection {
  asc = 'asc',
  desc = 'desc',
}
registerEnumType(SortDirection, { name: 'SortDirection' });

@InputType({ description: 'An order of registrations; cursors are only valid with the order they were returned for.' })
export class RegistrationOrder {
  @Field(() => RegistrationSortField)
  field!: RegistrationSortField;

  @Field(() => SortDirection, { defaultValue: SortDirection.asc })
  direction!: SortDirection;
}

@InputType()
export class RegisterAgentInstanceInput {
  @Field(() => String, { description: 'The agent type; its manifest and your configuration are created if missing.' })
  @Matches(AGENT_ID_PATTERN, { message: AGENT_ID_MESSAGE })
  agentId!: string;

  @Field(() => String, { description: 'Your id for this instance (1 to 256 characters); registering it again is a reconnection.' })
  @Length(1, 256)
  instanceId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => [String], { nullable: true, description: 'At most 100, each 1 to 100 characters.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 100, { each: true })
  capabilities?: string[] | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  connectionDetails?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  runtimeConfig?: Record<string, unknown> | null;
}

export enum ReportedHealth {
  healthy = 'healthy',
  degraded = 'degraded',
  unhealthy = 'unhealthy',
}
registerEnumType(ReportedHealth, { name: 'ReportedHealth', description: 'What an instance may report about itself.' });

@ArgsType()
export class HeartbeatArgs {
  @Field(() => String)
  @Length(1, 256)
  instanceId!: string;

  @Field(() => ReportedHealth, { nullable: true, description: 'Unchanged when left out.' })
  health?: ReportedHealth | null;

  @Field(() => Int, { nullable: true, description: '0 to 1000000. Unchanged when left out.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  workload?: number | null;
}
