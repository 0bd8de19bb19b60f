import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Registration } from './registration.type';

@ObjectType()
export class RegisterAgentInstancePayload {
  @Field(() => Registration)
  registration!: Registration;

  @Field(() => Boolean, { description: 'True for a new instance, false for a reconnection.' })
  isNew!: boolean;

  @Field(() => String)
  message!: string;

  @Field(() => Int, { description: 'Send a heartbeat this often (HEARTBEAT_INTERVAL_MS, default 15000).' })
  heartbeatIntervalMs!: number;

  @Field(() => Float)
  heartbeatIntervalSeconds!: number;
}

export enum HeartbeatOutcome {
  ok = 'ok',
  changed = 'changed',
  revived = 'revived',
}
registerEnumType(HeartbeatOutcome, {
  name: 'HeartbeatOutcome',
  description:
    'ok: nothing but the time changed (also when a reported health is held back by flap damping); changed: health or workload changed; ' +
    'revived: a stale instance is active again.',
});

@ObjectType({ description: 'Sent after the heartbeat was committed.' })
export class HeartbeatAck {
  @Field(() => ID)
  registrationId!: string;

  @Field(() => String)
  instanceId!: string;

  @Field(() => HeartbeatOutcome)
  outcome!: HeartbeatOutcome;
}

@ObjectType()
export class DeregisterPayload {
  @Field(() => ID)
  registrationId!: string;

  @Field(() => String)
  instanceId!: string;

  @Field(() => Boolean, { description: 'False when the instance was already deregistered.' })
  wasActive!: boolean;
}
