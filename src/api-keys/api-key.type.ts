import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ApiKeyRole } from '../generated/prisma/enums';
import { Connection } from '../graphql/pagination';
import type { ApiKeyRecord } from './api-key.service';

/** The database enum `mcp.api_key_role`, as schema.prisma declares it. */
export { ApiKeyRole };
registerEnumType(ApiKeyRole, {
  name: 'Role',
  description:
    'operator: the platform (tenants, manifests, any tenant by naming it); admin: one tenant (configurations, keys, instances); agent: register, heartbeat, deregister; viewer: read.',
});

/** The service's record as GraphQL: a column changed in schema.prisma fails to compile here or in the resolver. */
@ObjectType({ description: 'An API key. The key itself is shown once, when created; only its hash is stored.' })
export class ApiKey implements ApiKeyRecord {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'Null for operator keys.' })
  tenantId!: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field(() => String, { description: 'The first characters of the key, to recognise it.' })
  prefix!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType()
export class ApiKeyConnection extends Connection(ApiKey) {}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: 'The key: shown this once, store it now. Send as Authorization: Bearer <key>.' })
  key!: string;
}
