import { IsInt, IsOptional, Length, Matches, Max, Min } from '../graphql/constraints';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArgsType, Field, Float, ID, InputType, Int } from 'type-graphql';
import { AGENT_ID_PATTERN } from '../validation';

const INT_MAX = 2_147_483_647;

/** The editable fields of a configuration; left out (or null) means "keep" or "default". */
@InputType()
export class ConfigurationFields {
  @Field(() => String, { nullable: true, description: '1 to 200 characters. Default: the manifest name.' })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => String, { nullable: true, description: '1 to 200 characters. Default "default".' })
  @IsOptional()
  @Length(1, 200)
  modelId?: string | null;

  @Field(() => Float, { nullable: true, description: '0 to 2. Default 0.7.' })
  @IsOptional()
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @Field(() => Int, { nullable: true, description: 'Greater than 0. Default 4096.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  maxTokens?: number | null;

  @Field(() => String, { nullable: true, description: 'Up to MAX_STRING_LENGTH characters. Default "".' })
  systemPrompt?: string | null;

  @Field(() => Int, { nullable: true, description: 'Greater than 0. Default 10.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  maxWorkload?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Flap damping: identical heartbeat health reports in a row before a change applies. 1 to 20. Default 1 (at once).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  healthChangeThreshold?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  enabled?: boolean | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Free-form; replaces the stored object. Up to MAX_JSON_BYTES.' })
  settings?: Record<string, unknown> | null;
}

@InputType()
export class CreateConfigurationInput extends ConfigurationFields {
  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant to act on.' })
  tenantId?: string | null;

  @Field(() => String, { description: 'The agent type; its manifest must exist (NOT_FOUND otherwise).' })
  @Matches(AGENT_ID_PATTERN, { message: 'agentId must be 1 to 64 lowercase letters, digits, ".", "_" or "-"' })
  agentId!: string;
}

@InputType()
export class UpdateConfigurationInput extends ConfigurationFields {
  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant to act on.' })
  tenantId?: string | null;

  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: 'The version you read; CONFLICT when the configuration changed since.' })
  expectedVersion!: number;
}

@ArgsType()
export class ConfigurationFilterArgs {
  @Field(() => String, { nullable: true })
  agentId?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}
