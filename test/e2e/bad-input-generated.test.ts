import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isLeafType,
} from 'graphql';
import { recordingLogger, startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';
import { type GraphQLCaller, httpCaller, type Transport, wsCaller } from '../helpers/graphql-transports';
import { createApiKey } from '../helpers/keys';
import { agentsUrl, RawAgent, type Frame } from '../agents/support';

/**
 * Bad input generated from the schema: for every argument of every query and mutation,
 * every string inside it (input fields included) gets a NUL character or a lone surrogate,
 * and every JSON value gets a NUL in a value, a NUL in a key, or 10,000 levels of nesting.
 * Sent with every role's key over HTTP and graphql-ws, and the same ideas for every method
 * of the agent WebSocket. Expected: coded client errors only, nothing written, no error-level
 * log line, and the process keeps serving.
 */
const CLIENT_CODES = new Set(['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'NOT_REGISTERED', 'AGENT_DISABLED', 'GRAPHQL_VALIDATION_FAILED']);

const JSON_SCALARS = new Set(['JSON', 'JSONObject']);
const DEEP_JSON = `{"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
const BAD_STRINGS = { nul: 'bad\u0000value', surrogate: 'bad\ud800value' };
const BAD_JSON = { nulValue: { k: 'v\u0000' }, nulKey: { ['k\u0000']: 1 } };

interface GeneratedCase {
  name: string;
  query: string;
  /** Variables as JSON text (the deep JSON cannot be written by JSON.stringify). */
  variables: string;
}

/** A valid-looking value of `type` (required input fields filled in). */
function sample(type: GraphQLInputType, tenantId: string): unknown {
  if (isNonNullType(type)) return sample(type.ofType, tenantId);
  if (isListType(type)) return [sample(type.ofType, tenantId)];
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type)) value[field.name] = sample(field.type, tenantId);
    }
    return value;
  }
  if (isEnumType(type)) return type.getValues()[0].value;
  switch (getNamedType(type).name) {
    case 'Int':
      return 1;
    case 'Float':
      return 1;
    case 'Boolean':
      return true;
    case 'ID':
      return tenantId;
    case 'DateTime':
      return new Date(0).toISOString();
    default:
      return JSON_SCALARS.has(getNamedType(type).name) ? {} : 'sample';
  }
}

type Leaf = { path: Array<string | number>; kind: 'string' | 'json' };

/** Every string and JSON leaf an argument can hold (optional input fields too). */
function leavesOf(type: GraphQLInputType, path: Array<string | number>, depth = 0): Leaf[] {
  if (depth > 4) return [];
  if (isNonNullType(type)) return leavesOf(type.ofType, path, depth);
  if (isListType(type)) return leavesOf(type.ofType, [...path, 0], depth);
  if (isInputObjectType(type)) {
    return Object.values(type.getFields()).flatMap((field) => leavesOf(field.type, [...path, field.name], depth + 1));
  }
  const name = getNamedType(type).name;
  if (JSON_SCALARS.has(name)) return [{ path, kind: 'json' }];
  if (name === 'String' || name === 'ID') return [{ path, kind: 'string' }];
  return [];
}

/** Sets `value` at `path` inside `root` (creating objects and one-item lists on the way). */
function setAt(root: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let current: any = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    if (current[key] === undefined || current[key] === null) current[key] = typeof path[i + 1] === 'number' ? [] : {};
    current = current[key];
  }
  current[path[path.length - 1]] = value;
}

function typeText(type: GraphQLInputType): string {
  return String(type);
}

function generateCases(schema: GraphQLSchema, tenantId: string): GeneratedCase[] {
  const cases: GeneratedCase[] = [];
  for (const [kind, root] of [['query', schema.getQueryType()], ['mutation', schema.getMutationType()]] as const) {
    for (const field of Object.values(root!.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      if (field.args.length === 0) continue;
      const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
      const query = `${kind} (${field.args.map((a: GraphQLArgument) => `$${a.name}: ${typeText(a.type)}`).join(', ')}) { ${field.name}(${field.args
        .map((a: GraphQLArgument) => `${a.name}: $${a.name}`)
        .join(', ')})${selection} }`;
      const base = () => {
        const variables: Record<string, unknown> = {};
        for (const arg of field.args) if (isNonNullType(arg.type)) variables[arg.name] = sample(arg.type, tenantId);
        return variables;
      };
      for (const arg of field.args) {
        for (const leaf of leavesOf(arg.type, [arg.name])) {
          const where = `${field.name} ${leaf.path.join('.')}`;
          const variants: Array<[string, unknown]> =
            leaf.kind === 'string' ? Object.entries(BAD_STRINGS) : [...Object.entries(BAD_JSON), ['deep', '<DEEP>']];
          for (const [variant, value] of variants) {
            const variables = base();
            // the rest of the path's required fields, so that only the bad value is wrong
            if (leaf.path.length > 1) setAt(variables, leaf.path.slice(0, 1), variables[arg.name] ?? sample(arg.type, tenantId));
            setAt(variables, leaf.path, value);
            cases.push({ name: `${where}: ${variant}`, query, variables: JSON.stringify(variables).replace('"<DEEP>"', DEEP_JSON) });
          }
        }
      }
    }
  }
  return cases;
}

async function tableDigest(t: TestApp): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const [table, columns] of [
    ['tenants', '*'],
    ['api_keys', 'id, tenant_id, name, role, key_hash, revoked_at'],
    ['agent_manifests', '*'],
    ['agent_configurations', '*'],
    ['agent_registrations', '*'],
    ['registration_events', '*'],
    ['sweep_holds', '*'],
  ]) {
    const [row] = await t.database.db.query<{ n: string; md5: string | null }>(
      `select count(*)::text as n, md5(string_agg(x::text, ',' order by x::text)) as md5 from (select ${columns} from mcp.${table}) x`,
    );
    digest[table] = `${row.n}:${row.md5}`;
  }
  return digest;
}

describe('generated bad input: NUL, lone surrogates and deep JSON in every argument', () => {
  let t: TestApp;
  const { logger, lines } = recordingLogger();
  let tenantId: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp({ logger });
    tenantId = await createTenant(t.database.db);
    for (const role of ['agent', 'admin', 'viewer'] as const) keys[role] = await createApiKey(t.database.db, tenantId, role);
    keys.operator = await createApiKey(t.database.db, null, 'operator');
  });
  afterAll(() => t.dispose());

  it.each<Transport>(['http', 'graphql-ws'])('over %s: client errors only, nothing written, nothing logged as an error', async (transport) => {
    const cases = generateCases(t.app.schema, tenantId);
    expect(cases.length).toBeGreaterThan(100);
    const before = await tableDigest(t);
    const outcomes = new Map<string, number>();
    const unexpected: string[] = [];
    for (const [role, key] of Object.entries(keys)) {
      const caller: GraphQLCaller = transport === 'http' ? httpCaller(t.url, key) : await wsCaller(t.url, key);
      try {
        for (let i = 0; i < cases.length; i += 16) {
          await Promise.all(
            cases.slice(i, i + 16).map(async (c) => {
              const answer = await caller.run(c.query, c.variables);
              const code = String(answer.errors?.[0]?.extensions?.code ?? (answer.errors ? 'no code' : 'accepted'));
              outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
              if (!CLIENT_CODES.has(code) || (answer.status !== undefined && answer.status >= 500)) {
                unexpected.push(`${role} ${c.name}: ${code} ${answer.errors?.[0]?.message ?? ''}`);
              }
            }),
          );
        }
      } finally {
        await caller.close();
      }
    }
    expect(unexpected).toEqual([]);
    expect(outcomes.get('BAD_USER_INPUT')).toBeGreaterThan(cases.length);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(await tableDigest(t)).toEqual(before);
    // and it still serves
    const ok = await httpCaller(t.url, keys.viewer).run(`{ me { role } }`);
    expect(ok.data).toEqual({ me: { role: 'viewer' } });
  });

  it('over the agent WebSocket: client error frames only, the socket stays usable', async () => {
    const before = await tableDigest(t);
    const agent = await RawAgent.open(agentsUrl(t.url));
    const strings = ['agent_id', 'instance_id', 'name', 'capabilities.0', 'auth.tenant_id', 'auth.api_key', 'connection_details.k', 'runtime_config.k'];
    const frames: string[] = [];
    const params = (path: string, value: string) => {
      const p: Record<string, any> = { agent_id: 'bad-input', auth: { api_key: keys.agent } };
      const parts = path.split('.');
      let target = p;
      for (const part of parts.slice(0, -1)) target = target[part] ??= part === 'capabilities' ? [] : {};
      target[parts[parts.length - 1]] = value;
      return p;
    };
    let id = 0;
    for (const path of strings) {
      for (const value of Object.values(BAD_STRINGS)) {
        frames.push(JSON.stringify({ type: 0, id: `g-${++id}`, method: 'agent.register', params: params(path, value) }));
      }
    }
    for (const field of ['connection_details', 'runtime_config']) {
      frames.push(JSON.stringify({ type: 0, id: `g-${++id}`, method: 'agent.register', params: { agent_id: 'bad-input', auth: { api_key: keys.agent }, [field]: { ['k\u0000']: 1 } } }));
      frames.push(
        `{"type":0,"id":"g-${++id}","method":"agent.register","params":{"agent_id":"bad-input","auth":{"api_key":${JSON.stringify(keys.agent)}},"${field}":${DEEP_JSON}}}`,
      );
    }
    for (const method of ['agent.heartbeat', 'agent.deregister']) {
      for (const value of Object.values(BAD_STRINGS)) {
        frames.push(JSON.stringify({ type: 0, id: `g-${++id}`, method, params: { instance_id: value, reason: value } }));
      }
    }
    const replies: Frame[] = [];
    for (const frame of frames) {
      agent.send(frame);
      replies.push(await agent.next((f) => f.type === 3 || f.type === 1));
    }
    const summary = replies.map((r) => `${r.id} ${r.type === 3 ? r.error.code : 'accepted'}`);
    expect(summary.filter((s) => !/ 40(00|01|04|05|08)$/.test(s))).toEqual([]);
    agent.send({ type: 4, id: 'still-there' });
    expect(await agent.next((f) => f.type === 5)).toEqual({ type: 5, id: 'still-there' });
    await agent.close();
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(await tableDigest(t)).toEqual(before);
  });
});
