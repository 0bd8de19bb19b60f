import { types } from 'pg';

/** node-pg's own parser of timestamptz text (postgres-date), taken before anyone replaces it. */
const parsePostgresDate = types.getTypeParser(types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date | number | null;

/**
 * PostgreSQL's text form of a `timestamptz` → Date, the same Date node-pg's own parser
 * (postgres-date) gives, for the form every registry timestamp takes on the wire:
 * `YYYY-MM-DD HH:MM:SS[.f…](+|-)HH[:MM[:SS]]` (DateStyle ISO). It reads the digits where they
 * stand instead of running three regular expressions; anything else (BC, infinity, a year
 * outside 1000–9999, another DateStyle) goes to postgres-date. A dashboard page of 50
 * registrations carries 100 of these: postgres-date was 3.5 % of the API's CPU for it.
 */
export function parseTimestamptz(text: string): Date | number | null {
  const length = text.length;
  // the shortest fast-path form: "2026-12-05 05:44:11+00"
  if (length < 22 || text.charCodeAt(4) !== 45 /* - */ || text.charCodeAt(10) !== 32 /* space */) {
    return parsePostgresDate(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (
    year < 1000 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58
  ) {
    return parsePostgresDate(text);
  }
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46 /* . */) {
    let end = at + 1;
    while (end < length && isDigit(text.charCodeAt(end))) end++;
    if (end === at + 1) return parsePostgresDate(text);
    // as postgres-date computes it (1000 × the fraction; Date.UTC truncates the rest)
    ms = 1000 * Number(text.slice(at, end));
    at = end;
  }
  const sign = text.charCodeAt(at);
  if (sign !== 43 /* + */ && sign !== 45 /* - */) return parsePostgresDate(text);
  let offset = digits(text, at + 1, 2);
  let next = at + 3;
  if (offset < 0) return parsePostgresDate(text);
  offset *= 3600;
  // ":MM", then ":SS", when present
  for (let unit = 60; next < length && unit >= 1; unit /= 60) {
    const part = text.charCodeAt(next) === 58 ? digits(text, next + 1, 2) : -1;
    if (part < 0) return parsePostgresDate(text);
    offset += part * unit;
    next += 3;
  }
  if (next !== length) return parsePostgresDate(text);
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return new Date(sign === 45 ? time + offset * 1000 : time - offset * 1000);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The decimal number of `count` digits at `start`, or -1 when one of them is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - 48);
  }
  return value;
}
