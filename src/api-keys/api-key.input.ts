import { Length } from '../graphql/constraints';
import { Field, ID, InputType } from 'type-graphql';
import { ApiKeyRole } from './api-key.type';

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: '1 to 200 characters, e.g. "ci-runner".' })
  @Length(1, 200)
  name!: string;

  @Field(() => ApiKeyRole, { description: 'Admins create admin, agent and viewer keys; operators any.' })
  role!: ApiKeyRole;

  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant of the key (none for an operator key).' })
  tenantId?: string | null;
}
