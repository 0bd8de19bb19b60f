import { badInput } from '../errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `value` when it is a UUID; BAD_USER_INPUT naming `field` otherwise. */
export function checkUuid(value: string, field: string): string {
  if (!UUID.test(value)) throw badInput(`${field} must be a UUID`, field);
  return value.toLowerCase();
}
