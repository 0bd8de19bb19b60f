import fs from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLInputType,
} from 'graphql';
import { ROOT } from './service';

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed with its seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Random text mixing ASCII, markup, control characters, NUL, astral and lone surrogates. */
  text(length: number): string {
    const pieces = ['a', 'Z', '0', ' ', '"', '\\', '{', '}', '<', '\n', '\u0000', '\u0007', 'é', '☃', '😀', '\ud800', '\udfff', '\u202e', "'", ';--'];
    let out = '';
    while (out.length < length) out += this.pick(pieces);
    return out.slice(0, length);
  }
  /** Never a valid agent id (^[a-z0-9._-]{1,64}$): too long, empty, or with a forbidden character. */
  invalidAgentId(): string {
    switch (this.int(4)) {
      case 0:
        return 'a'.repeat(65 + this.int(20_000));
      case 1:
        return '';
      case 2:
        return `Agent ${this.text(1 + this.int(30))}`;
      default:
        return `x${this.pick(['A', ' ', '/', '\u0000', '☃', '😀', '\ud800', '*'])}${this.text(this.int(10))}`;
    }
  }
  /** A JSON value nested `depth` deep. */
  deep(depth: number): unknown {
    let value: unknown = this.pick([1, 'x', null, true, []]);
    for (let i = 0; i < depth; i++) value = this.chance(0.5) ? { a: value } : [value];
    return value;
  }
  /** A value of a JSON type that `type` never accepts (GraphQL input coercion fails). */
  wrongFor(type: GraphQLInputType): unknown {
    if (isNonNullType(type) && this.chance(0.2)) return null;
    const inner = isNonNullType(type) ? type.ofType : type;
    if (isListType(inner)) return this.pick([{ not: 'a list' }, [{ nested: [1] }], true]);
    const named = getNamedType(inner);
    if (isInputObjectType(named)) return this.pick(['not an object', 12, [1, 2], true]);
    if (isEnumType(named)) return this.pick([12, 'NOT_A_VALUE', { x: 1 }, ['healthy']]);
    if (isScalarType(named)) {
      switch (named.name) {
        case 'Int':
          return this.pick(['12', 1.5, 2 ** 40, { n: 1 }, [1], true]);
        case 'Float':
          return this.pick(['1.5', { n: 1 }, [1], true]);
        case 'Boolean':
          return this.pick(['true', 0, { b: 1 }, [true]]);
        case 'JSONObject':
          return this.pick(['string', 12, [1, 2], true]);
        default:
          // String, ID, DateTime, UUID…: an object or a list is never one
          return this.pick([{ s: 'x' }, [this.text(5)], { deep: this.deep(50) }]);
      }
    }
    return { unknown: true };
  }
}

export interface HttpCase {
  kind: string;
  method: 'POST' | 'GET' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Keys {
  agent: string;
  admin: string;
  viewer: string;
}

const SCHEMA = buildSchema(fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
const MUTATIONS = Object.values(SCHEMA.getMutationType()!.getFields());
const QUERIES = Object.values(SCHEMA.getQueryType()!.getFields());

function operation(kind: 'mutation' | 'query', field: GraphQLField<unknown, unknown>, extraArg = ''): string {
  const vars = field.args.map((a: GraphQLArgument) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const allArgs = [args, extraArg].filter(Boolean).join(', ');
  const named = getNamedType(field.type);
  const selection = 'getFields' in named ? ' { __typename }' : '';
  return `${kind}${vars ? ` (${vars})` : ''} { ${field.name}${allArgs ? `(${allArgs})` : ''}${selection} }`;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * One malformed GraphQL HTTP request. Every case is invalid by construction (wrong-typed
 * variables, an unknown argument, a never-valid agent id, an unknown instance, broken
 * JSON or bytes, too deep, too big, bad credentials), so none may change data.
 */
export function httpCase(rng: Rng, keys: Keys): HttpCase {
  const key = rng.pick([keys.agent, keys.agent, keys.admin, keys.viewer]);
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const post = (kind: string, body: Buffer, extra: Record<string, string> = {}): HttpCase => ({
    kind,
    method: 'POST',
    path: '/graphql',
    headers: { ...headers, ...extra },
    body,
  });
  const wrongVariables = () => {
    const field = rng.pick([...MUTATIONS, ...QUERIES.filter((q) => q.args.some((a) => isNonNullType(a.type)))]);
    const kind = MUTATIONS.includes(field) ? 'mutation' : 'query';
    const required = field.args.filter((a) => isNonNullType(a.type));
    const variables: Record<string, unknown> = {};
    for (const arg of field.args) if (rng.chance(0.5)) variables[arg.name] = rng.wrongFor(arg.type);
    // at least one argument is certainly wrong
    const target = rng.pick(required.length > 0 ? required : field.args);
    if (target) variables[target.name] = rng.wrongFor(target.type);
    else return json({ query: operation(kind, field, 'fuzz: 1') });
    return json({ query: operation(kind, field), variables });
  };
  switch (rng.int(13)) {
    case 0:
    case 1:
      return post('wrong-typed variables', wrongVariables());
    case 2: {
      const field = rng.pick(MUTATIONS);
      return post('unknown argument', json({ query: operation('mutation', field, `fuzz${rng.int(9)}: ${rng.pick(['1', '"x"', '[1]', '{a: 1}'])}`) }));
    }
    case 3: {
      const input: Record<string, unknown> = { agentId: rng.invalidAgentId(), instanceId: `fuzz-${rng.text(1 + rng.int(300))}` };
      if (rng.chance(0.5)) input.name = rng.text(rng.int(12_000));
      if (rng.chance(0.5)) input.capabilities = Array.from({ length: rng.int(300) }, () => rng.text(1 + rng.int(150)));
      if (rng.chance(0.5)) input.connectionDetails = { deep: rng.deep(rng.int(3000)) };
      if (rng.chance(0.3)) input.runtimeConfig = { big: rng.text(rng.int(80_000)) };
      return post('register: never-valid agent id', json({ query: operation('mutation', SCHEMA.getMutationType()!.getFields().registerAgentInstance), variables: { input } }));
    }
    case 4: {
      const variables = {
        instanceId: rng.chance(0.3) ? rng.text(rng.int(20_000)) : `fuzz-unknown-${rng.int(1e9)}`,
        workload: rng.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31)]),
        health: rng.pick(['HEALTHY', 'DEGRADED', 'UNHEALTHY']),
      };
      return post('heartbeat/deregister of an unknown instance', json({
        query: rng.chance(0.7)
          ? `mutation ($instanceId: String!, $workload: Int, $health: ReportedHealth) { heartbeat(instanceId: $instanceId, workload: $workload, health: $health) { outcome } }`
          : `mutation ($instanceId: String!) { deregisterAgentInstance(instanceId: $instanceId) { __typename } }`,
        variables: rng.chance(0.7) ? variables : { instanceId: variables.instanceId },
      }));
    }
    case 5: {
      const full = wrongVariables();
      return post('truncated JSON', full.subarray(0, rng.int(full.length)));
    }
    case 6: {
      const full = Buffer.from(wrongVariables());
      for (let i = 0, n = 1 + rng.int(8); i < n; i++) full[rng.int(full.length)] = 0x80 + rng.int(0x80);
      return post('invalid UTF-8 bytes', full);
    }
    case 7: {
      const depth = 11 + rng.int(3000);
      const query = rng.chance(0.5)
        ? `query { ${'me { tenant { '.repeat(Math.ceil(depth / 2))}id${' } }'.repeat(Math.ceil(depth / 2))} }`
        : `${'{'.repeat(depth)}${'}'.repeat(rng.int(depth))}`;
      return post('deep nesting', json({ query }));
    }
    case 8: {
      const body = Buffer.alloc(rng.int(4096));
      for (let i = 0; i < body.length; i++) body[i] = rng.int(256);
      return post('random bytes', body);
    }
    case 9:
      return post('oversized body', json({ query: '{ me { keyName } }', variables: { pad: 'x'.repeat(1_048_576 + rng.int(100_000)) } }));
    case 10:
      return rng.pick<HttpCase>([
        { kind: 'GET junk', method: 'GET', path: `/graphql?query=${Array.from({ length: rng.int(2000) }, () => `%${rng.int(256).toString(16).padStart(2, '0')}`).join('')}&variables=%7B`, headers: { authorization: headers.authorization } },
        { kind: 'GET mutation', method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { revokeApiKey(id: "x") { id } }')}`, headers: { authorization: headers.authorization, 'apollo-require-preflight': 'true' } },
        { kind: 'PUT', method: 'PUT', path: '/graphql', headers, body: wrongVariables() },
        post('text/plain (CSRF)', Buffer.from(`{"query":"mutation { createTenant(input: {name: \\"csrf\\"}) { id } }"}`), { 'content-type': 'text/plain' }),
      ]);
    case 11:
      return post('batch', Buffer.from(`[${wrongVariables()},${wrongVariables()}]`));
    default:
      return post('bad credentials', json({ query: '{ me { keyName } }' }), {
        authorization: rng.pick([`Bearer ${rng.text(rng.int(300))}`.replace(/[^\x20-\x7e]/g, '?'), 'Bearer ', 'Basic abc', `Bearer ar_${'0'.repeat(40)}`]),
      });
  }
}

export interface WsFrame {
  kind: string;
  data: Buffer | string;
  binary: boolean;
}

/**
 * One malformed agent frame. Every register carries a never-valid agent id or a bad key;
 * heartbeats and deregisters name unknown instances; nothing may change data.
 */
export function wsFrame(rng: Rng, maxFrameBytes: number): WsFrame {
  const text = (kind: string, value: unknown): WsFrame => ({ kind, data: typeof value === 'string' ? value : JSON.stringify(value), binary: false });
  const id = rng.pick<unknown>([rng.int(1e6), `f-${rng.int(1e6)}`, null, { o: 1 }, [1], true, rng.text(rng.int(50))]);
  const register = () => ({
    type: 0,
    id,
    method: 'agent.register',
    params: rng.chance(0.8)
      ? {
          agent_id: rng.chance(0.8) ? rng.invalidAgentId() : rng.pick([12, null, ['a'], { a: 1 }]),
          ...(rng.chance(0.5) ? { instance_id: rng.pick<unknown>([rng.text(rng.int(400)), 5, {}, []]) } : {}),
          ...(rng.chance(0.4) ? { capabilities: rng.pick<unknown>(['x', [1, 2], [rng.text(500)], { a: 1 }]) } : {}),
          ...(rng.chance(0.3) ? { connection_details: rng.deep(rng.int(2000)) } : {}),
          ...(rng.chance(0.3) ? { auth: rng.pick<unknown>([{ api_key: rng.text(40) }, 'key', { tenant_id: 'not-a-uuid' }, null]) } : {}),
        }
      : rng.pick<unknown>(['params', 12, [1, 2], null]),
  });
  switch (rng.int(12)) {
    case 0:
    case 1:
      return text('register: never-valid', register());
    case 2: {
      const full = JSON.stringify(register());
      return text('truncated JSON', full.slice(0, rng.int(full.length)));
    }
    case 3: {
      const bytes = Buffer.from(JSON.stringify(register()));
      for (let i = 0, n = 1 + rng.int(6); i < n; i++) bytes[rng.int(bytes.length)] = 0x80 + rng.int(0x80);
      return { kind: 'invalid UTF-8 text frame', data: bytes, binary: false };
    }
    case 4: {
      const bytes = Buffer.alloc(rng.int(2048));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      return { kind: 'binary frame', data: bytes, binary: true };
    }
    case 5:
      return rng.chance(0.1)
        ? text('oversized frame', { type: 0, id: 1, method: 'agent.heartbeat', params: { pad: 'x'.repeat(maxFrameBytes + rng.int(10_000)) } })
        : text('heartbeat: wrong types', {
            type: 0,
            id,
            method: 'agent.heartbeat',
            params: {
              health: rng.pick<unknown>(['sick', 5, null, ['healthy'], 'HEALTHY']),
              workload: rng.pick<unknown>([-1, 1.5, '3', 1e20, { n: 1 }, null]),
              ...(rng.chance(0.5) ? { instance_id: rng.pick<unknown>([`unknown-${rng.int(1e9)}`, 12, {}]) } : {}),
            },
          });
    case 6:
      return text('heartbeat/deregister of an unknown instance', {
        type: 0,
        id: `h-${rng.int(1e6)}`,
        method: rng.pick(['agent.heartbeat', 'agent.deregister']),
        params: { instance_id: `unknown-${rng.int(1e9)}`, health: 'healthy', workload: rng.int(10) },
      });
    case 7:
      return text('wrong envelope types', {
        type: rng.pick<unknown>(['0', 0.5, -1, 99, null, { t: 0 }, 1, 2, 3, 5]),
        id,
        method: rng.pick<unknown>([5, null, ['agent.register'], 'agent.unknown', '', rng.text(rng.int(100))]),
        params: rng.pick<unknown>([[], 'x', 7, null, rng.deep(rng.int(100))]),
      });
    case 8:
      return text('not an object', rng.pick<unknown>(['null', '12', '"str"', '[1,2]', 'true', '', ' ', rng.text(rng.int(300))]));
    case 9: {
      const depth = 1000 + rng.int(20_000);
      const nested = `${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`;
      const method = rng.pick(['agent.register', 'agent.heartbeat', 'x']);
      return text('deep params', `{"type":0,"id":"d-${rng.int(1e6)}","method":"${method}","params":{"agent_id":"Not Valid","a":${nested}}}`);
    }
    case 10:
      return text('ping', { type: 4, id: rng.pick<unknown>([id, undefined, rng.text(20)]) });
    default:
      return text('unknown method', { type: 0, id: `u-${rng.int(1e6)}`, method: rng.pick(['agent.Register', 'agent.heartbeat ', 'config.updated', '__proto__', 'constructor']), params: {} });
  }
}
