/**
 * PostgreSQL array literals (`{"a","b",NULL}`) for the batch statements' array parameters
 * (heartbeats, outcome reports), passed as one text value and cast in SQL (`$2::text[]`).
 *
 * pg serializes a JS array element by element: string concatenation and two regular
 * expressions per element (escaping), about 600 bytes allocated per heartbeat in a batch of
 * ~900 (allocation sampling, session 11). Here an element is quoted only when it has to be,
 * and a batch without nulls or special characters is one `join`. PGlite takes the same text.
 */

/** Characters that must be escaped inside a quoted element. */
const ESCAPED = /[\\"]/;
const ESCAPED_ALL = /[\\"]/g;

const quote = (value: string): string => `"${ESCAPED.test(value) ? value.replace(ESCAPED_ALL, '\\$&') : value}"`;

/** Text (or uuid, or enum) elements; null and undefined are NULL. */
export function textArrayLiteral(values: readonly (string | null | undefined)[]): string {
  let plain = true;
  for (const value of values) {
    if (value === null || value === undefined || ESCAPED.test(value)) {
      plain = false;
      break;
    }
  }
  if (plain) return values.length === 0 ? '{}' : `{"${values.join('","')}"}`;
  const elements = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    elements[i] = value === null || value === undefined ? 'NULL' : quote(value);
  }
  return `{${elements.join(',')}}`;
}

/** Integer elements; null and undefined are NULL. */
export function integerArrayLiteral(values: readonly (number | null | undefined)[]): string {
  const elements = new Array<string | number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) elements[i] = 'NULL';
    else if (Number.isInteger(value)) elements[i] = value;
    else throw new TypeError(`not an integer: ${value}`);
  }
  return `{${elements.join(',')}}`;
}
