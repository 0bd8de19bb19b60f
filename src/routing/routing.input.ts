import { ArgsType, Field, ID, Int } from 'type-graphql';
import { InstanceOutcome } from './routing.type';

@ArgsType()
export class PickInstanceArgs {
  @Field(() => String, { description: 'The agent type to pick an instance of.' })
  agentId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Related requests with the same key go to the same instance while it is eligible and under its load bound (1 to 256 characters).',
  })
  affinityKey?: string | null;

  @Field(() => [String], { nullable: true, description: 'Instance ids not to pick, e.g. those already tried (at most 100).' })
  exclude?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Capabilities the instance must all have (at most 100).' })
  capabilities?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Fallbacks to return, 0 to 10. Default 3.' })
  fallbacks?: number | null;

  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant to pick in.' })
  tenantId?: string | null;
}

@ArgsType()
export class ReportInstanceOutcomeArgs {
  @Field(() => String, { description: 'The instance the request went to.' })
  instanceId!: string;

  @Field(() => InstanceOutcome)
  outcome!: InstanceOutcome;

  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant of the instance.' })
  tenantId?: string | null;
}
