import { Field, ID, ObjectType } from 'type-graphql';
import type { Tenant as TenantRecord } from '../generated/prisma/client';
import { Connection } from '../graphql/pagination';

/** The Prisma model as GraphQL: a column changed in schema.prisma fails to compile here or in the resolver. */
@ObjectType({ description: 'A customer of the platform. Every configuration, instance, event and key (but operator keys) belongs to one.' })
export class Tenant implements TenantRecord {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class TenantConnection extends Connection(Tenant) {}
