import { ObjectType } from 'type-graphql';
import { Connection } from '../graphql/pagination';
import { RegistrationEvent } from './registration-event.type';

@ObjectType()
export class RegistrationEventConnection extends Connection(RegistrationEvent) {}
