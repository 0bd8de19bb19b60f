import { GraphQLDateTimeISO } from 'graphql-scalars';
import { ArgsType, Field, ID, Int } from 'type-graphql';

/** Longest range healthHistory accepts (7 days: the default event retention). */
export const MAX_HISTORY_RANGE_SECONDS = 7 * 24 * 3600;
/** Most points one healthHistory answer has. */
export const MAX_HISTORY_BUCKETS = 1440;
/** Points when bucketSeconds is left out. */
export const DEFAULT_HISTORY_BUCKETS = 60;

@ArgsType()
export class HealthHistoryArgs {
  @Field(() => String, { nullable: true, description: 'One agent; default: all agents of your tenant.' })
  agentId?: string | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true, description: 'Default: `to` minus one hour.' })
  from?: Date | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true, description: 'Default: now.' })
  to?: Date | null;

  @Field(() => Int, {
    nullable: true,
    description: `Bucket width, at least 1; the range may hold at most ${MAX_HISTORY_BUCKETS} buckets. Default: the range / ${DEFAULT_HISTORY_BUCKETS}.`,
  })
  bucketSeconds?: number | null;

  @Field(() => ID, { nullable: true, description: 'Operators only: the tenant to read.' })
  tenantId?: string | null;
}
