import { ArrayMaxSize, IsOptional } from '../graphql/constraints';
import { Field, InputType } from 'type-graphql';
import { EventKindValue } from './registration-event.type';

@InputType({ description: 'Every filter given must match.' })
export class EventHistoryFilter {
  @Field(() => String, { nullable: true })
  agentId?: string | null;

  @Field(() => String, { nullable: true })
  instanceId?: string | null;

  @Field(() => [EventKindValue], { nullable: true, description: 'Any of these kinds.' })
  @IsOptional()
  @ArrayMaxSize(20)
  kinds?: EventKindValue[] | null;
}
