import { AppError, ErrorCode, badInput } from './errors';

/** Input limits shared by every transport (from the config). */
export interface InputLimits {
  maxStringLength: number;
  maxJsonBytes: number;
  /** Deepest nesting of objects and arrays in a JSON value. */
  maxJsonDepth: number;
}

/**
 * Characters, as the docs and PostgreSQL's char_length count them: code points, so an
 * emoji (two UTF-16 units) is one.
 */
export function characterCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** Node 20 has String.prototype.isWellFormed (ES2024); the project's lib is older. */
type WellFormedString = string & { isWellFormed(): boolean };

/**
 * Why PostgreSQL would refuse this text, or undefined: a NUL character (text and jsonb
 * cannot hold U+0000) or a lone UTF-16 surrogate (not a character; jsonb refuses its escape).
 */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (!(value as WellFormedString).isWellFormed()) return 'must not contain lone UTF-16 surrogates';
  return undefined;
}

/** A string PostgreSQL can store: no NUL, no lone surrogate (BAD_USER_INPUT naming `field`). */
export function checkText(value: string, field: string): string {
  const problem = textProblem(value);
  if (problem) throw badInput(`${field} ${problem}`, field, 'text');
  return value;
}

/**
 * Checks a JSON value without recursion (a hostile value may be nested thousands deep):
 * at most `maxDepth` levels of objects and arrays, storable strings and keys, and at most
 * `maxBytes` bytes serialized (checked last, once the depth is known to be safe for
 * JSON.stringify). Errors are BAD_USER_INPUT with `field` (the path of the offending part)
 * and `limit` (`jsonDepth`, `jsonBytes` or `text`).
 */
export function checkJsonValue(value: unknown, field: string, limits: Pick<InputLimits, 'maxJsonBytes' | 'maxJsonDepth'>): void {
  const stack: Array<[unknown, number, string]> = [[value, 0, field]];
  while (stack.length > 0) {
    const [current, depth, path] = stack.pop()!;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) throw badInput(`${path} ${problem}`, path, 'text');
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= limits.maxJsonDepth) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, `${field} must be nested at most ${limits.maxJsonDepth} levels deep`, {
        field,
        limit: 'jsonDepth',
        max: limits.maxJsonDepth,
      });
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], depth + 1, `${path}[${i}]`]);
    } else {
      for (const [key, item] of Object.entries(current)) {
        const problem = textProblem(key);
        if (problem) throw badInput(`${path}: a key ${problem}`, path, 'text');
        stack.push([item, depth + 1, `${path}.${key}`]);
      }
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > limits.maxJsonBytes) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, `${field} must be at most ${limits.maxJsonBytes} bytes of JSON (got ${bytes})`, {
      field,
      limit: 'jsonBytes',
      max: limits.maxJsonBytes,
    });
  }
}

export const AGENT_ID_PATTERN = /^[a-z0-9._-]{1,64}$/;

export function checkAgentId(value: unknown, field = 'agentId'): string {
  if (typeof value !== 'string' || !AGENT_ID_PATTERN.test(value)) {
    throw badInput(`${field} must be 1 to 64 lowercase letters, digits, ".", "_" or "-"`, field);
  }
  return value;
}

/** A string of `min` to `max` characters (code points) that PostgreSQL can store. */
export function checkString(value: unknown, field: string, max: number, min = 0): string {
  if (typeof value !== 'string') throw badInput(`${field} must be a string`, field);
  // code points never outnumber UTF-16 units: count them only when the cheap bound fails
  const length = value.length > max || value.length < min ? characterCount(value) : value.length;
  if (length < min || length > max) {
    throw badInput(`${field} must be ${min > 0 ? `${min} to ` : 'at most '}${max} characters`, field);
  }
  return checkText(value, field);
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

/** A JSON object (not an array or scalar) within the limits of {@link checkJsonValue}. */
export function checkJsonObject(value: unknown, field: string, limits: Pick<InputLimits, 'maxJsonBytes' | 'maxJsonDepth'>): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`${field} must be a JSON object`, field);
  checkJsonValue(value, field, limits);
  return value as Record<string, unknown>;
}

/** A list of at most 100 short strings, or undefined. */
export function checkCapabilities(value: unknown, field = 'capabilities'): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 100) throw badInput(`${field} must be a list of at most 100 strings`, field);
  for (const item of value) {
    if (typeof item !== 'string' || item.length < 1 || characterCount(item) > 100) {
      throw badInput(`${field} items must be strings of 1 to 100 characters`, field);
    }
    checkText(item, field);
  }
  return value as string[];
}
