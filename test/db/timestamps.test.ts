import { types } from 'pg';
import { parseTimestamptz } from '../../src/db/timestamps';

// node-pg's own parser (postgres-date), taken here before src/db/client.ts would replace it
const postgresDate = types.getTypeParser(types.builtins.TIMESTAMPTZ, 'text') as (text: string) => unknown;

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
  return Object.is(a, b);
}

/** Deterministic: a failure names the text that differs and reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

describe('parseTimestamptz gives the Date node-pg (postgres-date) gives', () => {
  it('for 200,000 random timestamps in every offset form PostgreSQL prints (0–6 fraction digits)', () => {
    const next = random(42);
    const int = (below: number) => Math.floor(next() * below);
    const zones = ['+00', '-05', '+05:30', '-03:30', '+14', '-12', '+05:53:28', '-00:25:21', '+01:00'];
    const differing: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const digits = int(7);
      const fraction = digits === 0 ? '' : `.${pad(int(10 ** digits), digits)}`;
      const text =
        `${pad(1000 + int(9000), 4)}-${pad(1 + int(12), 2)}-${pad(1 + int(31), 2)} ` +
        `${pad(int(24), 2)}:${pad(int(60), 2)}:${pad(int(60), 2)}${fraction}${zones[i % zones.length]}`;
      if (!sameValue(parseTimestamptz(text), postgresDate(text))) differing.push(text);
    }
    expect(differing).toEqual([]);
  });

  it('for every microsecond fraction of one second (the float arithmetic of the milliseconds)', () => {
    const differing: string[] = [];
    for (let micros = 0; micros < 1_000_000; micros++) {
      const text = `2026-12-05 05:44:11.${pad(micros, 6)}+00`;
      if (!sameValue(parseTimestamptz(text), postgresDate(text))) differing.push(text);
    }
    expect(differing).toEqual([]);
  });

  it.each([
    'infinity',
    '-infinity',
    '0099-01-01 00:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '2026-12-05 05:44:11+00 BC',
    '12026-12-05 05:44:11+00',
    '2026-12-05',
    '2026-12-05 05:44:11',
    '2026-12-05 05:44:11.+00',
    '2026-12-05 05:44:11Z',
    '2026-12-05T05:44:11+00',
    '2026-13-45 25:61:61+00',
    '2026-12-05 05:44:11+0',
    '2026-12-05 05:44:11+00:3',
    '2026-12-05 05:44:11.5-08:00:0',
    '2026-12-05 05:44:11.123456+05:30:15',
    '2026-02-30 05:44:11+00',
  ])('for the unusual form %j (left to postgres-date or read the same)', (text) => {
    expect(sameValue(parseTimestamptz(text), postgresDate(text))).toBe(true);
  });
});
