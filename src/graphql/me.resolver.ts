import { Authorized, Ctx, Field, ID, ObjectType, Query, Resolver, UseMiddleware } from 'type-graphql';
import { requirePrincipal } from '../auth/authorize';
import { ApiKeyRole } from '../api-keys/api-key.type';
import { Tenant } from '../tenants/tenant.type';
import type { GraphQLContext } from './context';
import { inputLimits } from './input-limits.middleware';

@ObjectType({ description: 'The caller: the API key of this request.' })
export class Me {
  @Field(() => ID, { nullable: true, description: 'Null for the OPERATOR_KEY from the environment.' })
  keyId!: string | null;

  @Field(() => String)
  keyName!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field(() => Tenant, { nullable: true, description: 'Null for operators.' })
  tenant!: Tenant | null;
}

@Resolver()
@UseMiddleware(inputLimits)
export class MeResolver {
  @Authorized()
  @Query(() => Me, { description: 'Who you are: your key, role and tenant.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<Me> {
    const principal = requirePrincipal(ctx.principal);
    return {
      keyId: principal.keyId,
      keyName: principal.keyName,
      role: principal.role as ApiKeyRole,
      tenant: principal.tenantId ? await ctx.services.tenants.get(principal.tenantId) : null,
    };
  }
}
