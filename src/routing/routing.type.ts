import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { HealthStatus } from '../registrations/registration.type';

export enum CircuitState {
  closed = 'closed',
  open = 'open',
  half_open = 'half_open',
}
registerEnumType(CircuitState, {
  name: 'CircuitState',
  description:
    'closed: picked normally; open: ejected, never picked; half_open: the ejection ended, picked for one probe at a time.',
});

export enum InstanceOutcome {
  success = 'success',
  failure = 'failure',
  timeout = 'timeout',
}
registerEnumType(InstanceOutcome, { name: 'InstanceOutcome', description: 'How a request sent to an instance went.' });

export enum OutcomeResult {
  recorded = 'recorded',
  ejected = 'ejected',
  restored = 'restored',
  held = 'held',
}
registerEnumType(OutcomeResult, {
  name: 'OutcomeResult',
  description:
    'recorded: counted; ejected: this report ejected the instance; restored: this success closed its half-open circuit; ' +
    'held: the failure threshold was reached but the agent already has its share of instances ejected.',
});

@ObjectType({ description: 'An instance to send a request to.' })
export class PickedInstance {
  @Field(() => ID)
  registrationId!: string;

  @Field(() => String)
  instanceId!: string;

  @Field(() => HealthStatus)
  healthStatus!: HealthStatus;

  @Field(() => Int, { description: 'As last reported by its heartbeats.' })
  currentWorkload!: number;

  @Field(() => Int, { description: "The configuration's max_workload." })
  maxWorkload!: number;

  @Field(() => GraphQLJSONObject, { description: 'How to reach it, as it registered.' })
  connectionDetails!: Record<string, unknown>;
}

@ObjectType({ description: 'Instances of the agent by the first reason each one could not be picked.' })
export class PickCounts {
  @Field(() => Int, { description: 'Active and stale instances of the agent in your tenant.' })
  instances!: number;

  @Field(() => Int)
  active!: number;

  @Field(() => Int, { description: 'Named in `exclude`.' })
  excluded!: number;

  @Field(() => Int, { description: 'Active, but the socket closed or the health is unknown.' })
  disconnected!: number;

  @Field(() => Int, { description: 'Ejected by circuit breaking, or half-open with a probe in flight.' })
  ejected!: number;

  @Field(() => Int, { description: 'Lacking a requested capability.' })
  missingCapabilities!: number;

  @Field(() => Int, { description: "currentWorkload at or above the configuration's maxWorkload." })
  overloaded!: number;

  @Field(() => Int)
  eligible!: number;
}

@ObjectType({ description: 'The instance that should take a request, and the ones to try next.' })
export class PickResult {
  @Field(() => PickedInstance)
  instance!: PickedInstance;

  @Field(() => [PickedInstance], { description: 'In the order to try them if the instance fails (never half-open ones).' })
  fallbacks!: PickedInstance[];

  @Field(() => Boolean, {
    description: 'The instance is half-open and this request is its one probe: report its outcome (reportInstanceOutcome).',
  })
  probe!: boolean;

  @Field(() => Int, {
    nullable: true,
    description: 'With an affinityKey: the load bound ceil((1 + ε) × (sum of workloads + 1) / instances).',
  })
  affinityCapacity!: number | null;

  @Field(() => PickCounts)
  counts!: PickCounts;
}

@ObjectType({ description: 'Circuit breaking state of an instance (outlier ejection).' })
export class InstanceCircuit {
  @Field(() => CircuitState)
  state!: CircuitState;

  @Field(() => Int, { description: 'Failures and timeouts reported since the last success.' })
  consecutiveFailures!: number;

  @Field(() => Int, {
    description:
      'Times ejected; an ejection lasts base × this (capped). While the circuit is closed it falls by one for every base ejection time since the last restore.',
  })
  ejectionCount!: number;

  @Field(() => Date, { nullable: true })
  ejectedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Half-open from then on; null when closed.' })
  ejectedUntil!: Date | null;

  @Field(() => Boolean, { description: 'Half-open with a probe picked and its outcome not yet reported.' })
  probeInFlight!: boolean;
}

@ObjectType()
export class OutcomeAck {
  @Field(() => ID)
  registrationId!: string;

  @Field(() => String)
  instanceId!: string;

  @Field(() => OutcomeResult)
  result!: OutcomeResult;

  @Field(() => CircuitState, { description: 'The circuit after this report.' })
  circuit!: CircuitState;
}
