import { Field, ID, ObjectType } from 'type-graphql';
import type { AgentManifest } from '../generated/prisma/client';
import { Connection } from '../graphql/pagination';

/** The Prisma model as GraphQL: a column changed in schema.prisma fails to compile here or in the resolver. */
@ObjectType({ description: 'An agent type: shared by all tenants, identified by its agentId.' })
export class Manifest implements AgentManifest {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'Deterministic, unique id, e.g. "ide-agent".' })
  agentId!: string;

  @Field(() => String)
  agentType!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => [String])
  capabilities!: string[];

  @Field(() => String)
  version!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class ManifestConnection extends Connection(Manifest) {}
