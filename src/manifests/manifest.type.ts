import { Field, ID, ObjectType } from 'type-graphql';
import { Connection } from '../graphql/pagination';

@ObjectType({ description: 'An agent type: shared by all tenants, identified by its agentId.' })
export class Manifest {
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
