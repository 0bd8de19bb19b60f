import { badInput } from './errors';

/** Input limits shared by every transport (from the config). */
export interface InputLimits {
  maxStringLength: number;
  maxJsonBytes: number;
}

export const AGENT_ID_PATTERN = /^[a-z0-9._-]{1,64}$/;

export function checkAgentId(value: unknown, field = 'agentId'): string {
  if (typeof value !== 'string' || !AGENT_ID_PATTERN.test(value)) {
    throw badInput(`${field} must be 1 to 64 lowercase letters, digits, ".", "_" or "-"`, field);
  }
  return value;
}

export function checkString(value: unknown, field: string, max: number, min = 0): string {
  if (typeof value !== 'string') throw badInput(`${field} must be a string`, field);
  if (value.length < min || value.length > max) {
    throw badInput(`${field} must be ${min > 0 ? `${min} to ` : 'at most '}${max} characters`, field);
  }
  return value;
}

export function checkOptionalString(value: unknown, field: string, max: number): string | undefined {
  return value === undefined || value === null ? undefined : checkString(value, field, max);
}

export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${field} must be an integer between ${min} and ${max}`, field);
  }
  return value;
}

/** A JSON object (not an array or scalar) whose serialization fits `maxBytes`. */
export function checkJsonObject(value: unknown, field: string, maxBytes: number): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`${field} must be a JSON object`, field);
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > maxBytes) throw badInput(`${field} must be at most ${maxBytes} bytes of JSON (got ${size})`, field);
  return value as Record<string, unknown>;
}

/** A list of at most 100 short strings, or undefined. */
export function checkCapabilities(value: unknown, field = 'capabilities'): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 100) throw badInput(`${field} must be a list of at most 100 strings`, field);
  for (const item of value) {
    if (typeof item !== 'string' || item.length < 1 || item.length > 100) {
      throw badInput(`${field} items must be strings of 1 to 100 characters`, field);
    }
  }
  return value as string[];
}
