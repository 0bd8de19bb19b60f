import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Connection } from '../graphql/pagination';
import type { ConfigurationRecord, DeletedConfigurationRecord } from './configuration.service';

/** The service's record as GraphQL: a column changed in schema.prisma fails to compile here or in the resolver. */
@ObjectType({ description: "A tenant's configuration of one agent type (one per tenant and agentId)." })
export class Configuration implements Omit<ConfigurationRecord, 'settings'> {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String)
  agentId!: string;

  @Field(() => ID)
  manifestId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  modelId!: string;

  @Field(() => Float, { description: '0 to 2.' })
  temperature!: number;

  @Field(() => Int)
  maxTokens!: number;

  @Field(() => String)
  systemPrompt!: string;

  @Field(() => Int)
  maxWorkload!: number;

  @Field(() => Int, {
    description:
      'Flap damping: a health change reported by heartbeats applies after this many identical reports in a row (1 to 20; 1 = at once).',
  })
  healthChangeThreshold!: number;

  @Field(() => Boolean, { description: 'A disabled configuration refuses registrations (AGENT_DISABLED).' })
  enabled!: boolean;

  @Field(() => GraphQLJSONObject)
  settings!: Record<string, unknown>;

  @Field(() => Int, { description: 'Bumped on every change; pass as expectedVersion to update.' })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class ConfigurationConnection extends Connection(Configuration) {}

@ObjectType()
export class DeletedConfiguration implements DeletedConfigurationRecord {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  agentId!: string;
}
