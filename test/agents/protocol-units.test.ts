import { parseFrame } from '../../src/agents-ws/messages';
import { toErrorBody } from '../../src/agents-ws/errors';
import { TokenBucket } from '../../src/agents-ws/rate-limit';
import { backoffDelay } from '../../src/client/backoff';
import { AppError, ErrorCode } from '../../src/errors';

describe('backoffDelay (full jitter)', () => {
  it('is random * min(cap, base * 2^attempt)', () => {
    const opts = { baseMs: 100, capMs: 1000 };
    expect([0, 1, 2, 3, 4, 10, 100].map((n) => backoffDelay(n, opts, () => 0.5))).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
  });

  it('never exceeds the cap and spreads over the whole range', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(20, { baseMs: 100, capMs: 1000 }));
    expect(Math.max(...delays)).toBeLessThan(1000);
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);
    expect(Array.from({ length: 7 }, () => bucket.take())).toEqual([true, true, true, true, true, false, false]);
    now += 100; // one token per 100 ms at 10/s
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000; // refills up to the burst, not beyond
    expect(Array.from({ length: 6 }, () => bucket.take()).filter(Boolean)).toHaveLength(5);
  });
});

describe('parseFrame', () => {
  const codeOf = (text: string) => {
    try {
      parseFrame(text);
      return 'ok';
    } catch (error) {
      return toErrorBody(error).body.code;
    }
  };

  it('reads requests, pings and pongs', () => {
    expect(parseFrame('{"type":0,"id":"a","method":"agent.heartbeat"}')).toEqual({
      type: 0,
      id: 'a',
      method: 'agent.heartbeat',
      params: {},
    });
    expect(parseFrame('{"type":4,"id":7}')).toEqual({ type: 4, id: 7 });
    expect(parseFrame('{"type":5}')).toEqual({ type: 5, id: undefined });
  });

  it.each([
    ['not JSON', '{', 4000],
    ['null', 'null', 4000],
    ['a number', '42', 4000],
    ['type as a string', '{"type":"0","id":"a","method":"m"}', 4000],
    ['an unknown type', '{"type":6}', 4000],
    ['a server-only type', '{"type":2,"method":"x","params":{}}', 4000],
    ['a request without id', '{"type":0,"method":"m"}', 4000],
    ['a boolean id', '{"type":0,"id":true,"method":"m"}', 4000],
    ['an empty method', '{"type":0,"id":1,"method":""}', 4000],
    ['params as a string', '{"type":0,"id":1,"method":"m","params":"x"}', 4005],
    ['params as a list', '{"type":0,"id":1,"method":"m","params":[]}', 4005],
  ])('%s is refused with its code', (_name, text, code) => {
    expect(codeOf(text)).toBe(code);
  });
});

describe('toErrorBody', () => {
  it('maps catalogue codes to numeric codes and keeps the string code in data', () => {
    expect(toErrorBody(new AppError(ErrorCode.NOT_REGISTERED, 'x')).body).toMatchObject({ code: 4008, data: { code: 'NOT_REGISTERED' } });
    expect(toErrorBody(new AppError(ErrorCode.BAD_USER_INPUT, 'x', { field: 'workload' })).body).toMatchObject({
      code: 4005,
      data: { code: 'BAD_USER_INPUT', field: 'workload' },
    });
    expect(toErrorBody(new AppError(ErrorCode.UNAVAILABLE, 'x')).body.code).toBe(4003);
  });

  it('masks unknown errors as 4003 INTERNAL_SERVER_ERROR', () => {
    const { body, masked } = toErrorBody(new Error('connection string postgres://secret'));
    expect(masked).toBe(true);
    expect(body).toEqual({ code: 4003, message: 'internal server error', data: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
