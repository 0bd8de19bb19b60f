import { ArrayMaxSize, IsOptional, Length, Matches } from '../graphql/constraints';
import { Field, InputType } from 'type-graphql';
import { AGENT_ID_PATTERN } from '../validation';

const AGENT_ID_MESSAGE = 'agentId must be 1 to 64 lowercase letters, digits, ".", "_" or "-"';

@InputType()
export class CreateManifestInput {
  @Field(() => String, { description: '1 to 64 lowercase letters, digits, ".", "_" or "-".' })
  @Matches(AGENT_ID_PATTERN, { message: AGENT_ID_MESSAGE })
  agentId!: string;

  @Field(() => String, { description: '1 to 64 characters, e.g. "ide", "slack", "k8s-monitor".' })
  @Length(1, 64)
  agentType!: string;

  @Field(() => String, { description: '1 to 200 characters.' })
  @Length(1, 200)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'At most 100, each 1 to 100 characters.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 100, { each: true })
  capabilities?: string[] | null;

  @Field(() => String, { nullable: true, description: 'Default "0.0.0". 1 to 64 characters.' })
  @IsOptional()
  @Length(1, 64)
  version?: string | null;
}

@InputType({ description: 'Fields left out (or null) keep their value.' })
export class UpdateManifestInput {
  @Field(() => String, { description: 'The manifest to update.' })
  @Matches(AGENT_ID_PATTERN, { message: AGENT_ID_MESSAGE })
  agentId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64)
  agentType?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 100, { each: true })
  capabilities?: string[] | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64)
  version?: string | null;
}
