import { Length } from '../graphql/constraints';
import { Field, InputType } from 'type-graphql';

@InputType()
export class CreateTenantInput {
  @Field(() => String, { description: '1 to 200 characters.' })
  @Length(1, 200)
  name!: string;
}
