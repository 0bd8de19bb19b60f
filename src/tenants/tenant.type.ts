import { Field, ID, ObjectType } from 'type-graphql';
import { Connection } from '../graphql/pagination';

@ObjectType({ description: 'A customer of the platform. Every configuration, instance, event and key (but operator keys) belongs to one.' })
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class TenantConnection extends Connection(Tenant) {}
