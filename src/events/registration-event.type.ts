import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { HealthStatus, RegistrationStatus } from '../registrations/registration.type';
import type { RegistryEvent } from './types';

/** The kinds of registry events (mcp.event_kind). */
export enum EventKindValue {
  registered = 'registered',
  reconnected = 'reconnected',
  health_changed = 'health_changed',
  disconnected = 'disconnected',
  stale = 'stale',
  deregistered = 'deregistered',
  purged = 'purged',
  configuration_changed = 'configuration_changed',
  self_preservation = 'self_preservation',
  scaling_recommended = 'scaling_recommended',
  ejected = 'ejected',
  restored = 'restored',
}
registerEnumType(EventKindValue, {
  name: 'EventKind',
  description:
    'registered, reconnected, health_changed, disconnected, stale, deregistered, purged (an instance), ' +
    'configuration_changed (a configuration), self_preservation (the stale sweep held back for a tenant), ' +
    'scaling_recommended (the desired instance count of a configuration changed), ' +
    'ejected, restored (circuit breaking of an instance).',
});

@ObjectType({ description: 'One entry of the registry event log: a state change of an instance or a configuration.' })
export class RegistrationEvent {
  @Field(() => ID, { description: 'The event id; pass it as `since` to resume after this event.' })
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => EventKindValue)
  kind!: EventKindValue;

  @Field(() => String, { nullable: true })
  agentId!: string | null;

  @Field(() => ID, { nullable: true })
  manifestId!: string | null;

  @Field(() => ID, { nullable: true })
  configurationId!: string | null;

  @Field(() => ID, { nullable: true })
  registrationId!: string | null;

  @Field(() => String, { nullable: true })
  instanceId!: string | null;

  @Field(() => RegistrationStatus, { nullable: true, description: 'The instance status after the change.' })
  registrationStatus!: RegistrationStatus | null;

  @Field(() => HealthStatus, { nullable: true, description: 'The instance health after the change.' })
  healthStatus!: HealthStatus | null;

  @Field(() => GraphQLJSONObject, { description: 'Kind-specific details (e.g. previous health, reason, version).' })
  payload!: Record<string, unknown>;

  @Field(() => Date)
  occurredAt!: Date;
}

/** A log event as its GraphQL type (the shapes agree field by field). */
export function toRegistrationEvent(event: RegistryEvent): RegistrationEvent {
  return event as unknown as RegistrationEvent;
}
