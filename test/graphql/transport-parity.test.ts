import { startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';
import { type GraphQLCaller, httpCaller, outcomeOf, type Transport, wsCaller } from '../helpers/graphql-transports';
import { createApiKey } from '../helpers/keys';

/**
 * One rule set for every transport: each limit-breaking operation is sent over HTTP and as a
 * graphql-ws `subscribe` message, and must be refused with the same code (and limit) on both,
 * writing nothing. Removing a rule from either transport fails the case for that transport.
 */
const LIMITS = {
  GRAPHQL_MAX_DEPTH: '3',
  GRAPHQL_MAX_COMPLEXITY: '100',
  MAX_PAGE_SIZE: '10',
  MAX_STRING_LENGTH: '64',
  MAX_JSON_BYTES: '256',
  MAX_JSON_DEPTH: '5',
};

const REGISTER = `mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`;
const register = (input: Record<string, unknown>) => ({ input: { agentId: 'parity', instanceId: 'p-1', ...input } });
const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown> | string;
  expected: { code: string; limit?: string };
  /** Which key sends it. Default agent. */
  as?: 'agent' | 'viewer';
}

const cases: Case[] = [
  {
    name: 'nested deeper than GRAPHQL_MAX_DEPTH',
    query: `query { agentSummaries { ...S } } fragment S on AgentSummaryConnection { nodes { byHealth { healthy } } }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'depth' },
    as: 'viewer',
  },
  {
    name: 'costlier than GRAPHQL_MAX_COMPLEXITY (aliased mutations)',
    query: `mutation { ${Array.from({ length: 60 }, (_, i) => `r${i}: registerAgentInstance(input: { agentId: "parity", instanceId: "alias-${i}" }) { isNew registration { id } }`).join(' ')} }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'complexity' },
  },
  {
    name: 'costlier than GRAPHQL_MAX_COMPLEXITY (page size from a variable)',
    query: `query ($first: Int) { registrations(first: $first) { nodes { id instanceId name healthStatus registrationStatus lastHealthCheck agentId reconnectCount currentWorkload registeredAt updatedAt } } }`,
    variables: { first: 10 },
    expected: { code: 'BAD_USER_INPUT', limit: 'complexity' },
    as: 'viewer',
  },
  {
    name: 'a page larger than MAX_PAGE_SIZE',
    query: `{ registrations(first: 11) { totalCount } }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'pageSize' },
    as: 'viewer',
  },
  {
    name: 'a string longer than MAX_STRING_LENGTH',
    query: REGISTER,
    variables: register({ name: 'n'.repeat(65) }),
    expected: { code: 'BAD_USER_INPUT', limit: 'stringLength' },
  },
  {
    name: '65 emoji: longer than MAX_STRING_LENGTH characters',
    query: REGISTER,
    variables: register({ name: '🤖'.repeat(65) }),
    expected: { code: 'BAD_USER_INPUT', limit: 'stringLength' },
  },
  {
    name: 'a NUL character in a string argument',
    query: REGISTER,
    variables: register({ instanceId: 'p\u00001' }),
    expected: { code: 'BAD_USER_INPUT', limit: 'text' },
  },
  {
    name: 'a NUL character in a filter value',
    query: `query ($agentId: String!) { activeInstances(agentId: $agentId) { totalCount } }`,
    variables: { agentId: 'a\u0000b' },
    expected: { code: 'BAD_USER_INPUT', limit: 'text' },
    as: 'viewer',
  },
  {
    name: 'a lone surrogate in a string argument',
    query: REGISTER,
    variables: register({ name: 'half \ud83e' }),
    expected: { code: 'BAD_USER_INPUT', limit: 'text' },
  },
  {
    name: 'a NUL character inside a JSON value',
    query: REGISTER,
    variables: register({ connectionDetails: { host: 'h\u0000' } }),
    expected: { code: 'BAD_USER_INPUT', limit: 'text' },
  },
  {
    name: 'a NUL character in a JSON key',
    query: REGISTER,
    variables: register({ runtimeConfig: { ['k\u0000']: 1 } }),
    expected: { code: 'BAD_USER_INPUT', limit: 'text' },
  },
  {
    name: 'JSON nested deeper than MAX_JSON_DEPTH',
    query: REGISTER,
    variables: register({ runtimeConfig: { deep: nested(6) } }),
    expected: { code: 'BAD_USER_INPUT', limit: 'jsonDepth' },
  },
  {
    name: 'JSON 10,000 levels deep (checked without recursion)',
    query: REGISTER,
    // JSON text: too deep for JSON.stringify to write
    variables: `{"input":{"agentId":"parity","instanceId":"p-1","runtimeConfig":{"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`,
    expected: { code: 'BAD_USER_INPUT', limit: 'jsonDepth' },
  },
  {
    name: 'JSON larger than MAX_JSON_BYTES',
    query: REGISTER,
    variables: register({ connectionDetails: { blob: 'y'.repeat(300) } }),
    expected: { code: 'BAD_USER_INPUT', limit: 'jsonBytes' },
  },
  {
    name: '__schema selected twice',
    query: `{ a: __schema { queryType { name } } b: __schema { queryType { name } } }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'introspection' },
    as: 'viewer',
  },
  {
    name: 'more than 10 __type selections',
    query: `{ ${Array.from({ length: 11 }, (_, i) => `t${i}: __type(name: "Query") { name }`).join(' ')} }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'introspection' },
    as: 'viewer',
  },
  {
    name: 'introspection nested past its depth',
    query: `{ __type(name: "Query") { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } }`,
    expected: { code: 'BAD_USER_INPUT', limit: 'introspection' },
    as: 'viewer',
  },
  {
    name: 'a variable of the wrong type',
    query: REGISTER,
    variables: { input: { agentId: 'parity', instanceId: 42 } },
    expected: { code: 'BAD_USER_INPUT' },
  },
  {
    name: 'an unknown field',
    query: `{ registrationz { totalCount } }`,
    expected: { code: 'GRAPHQL_VALIDATION_FAILED' },
    as: 'viewer',
  },
  {
    name: 'a syntax error',
    query: `{ registrations { `,
    expected: { code: 'GRAPHQL_PARSE_FAILED' },
    as: 'viewer',
  },
];

describe.each<Transport>(['http', 'graphql-ws'])('every limit over %s', (transport) => {
  let t: TestApp;
  const callers: Record<string, GraphQLCaller> = {};
  beforeAll(async () => {
    t = await startTestApp({ env: LIMITS });
    const tenantId = await createTenant(t.database.db);
    for (const role of ['agent', 'viewer'] as const) {
      const key = await createApiKey(t.database.db, tenantId, role);
      callers[role] = transport === 'http' ? httpCaller(t.url, key) : await wsCaller(t.url, key);
    }
  });
  afterAll(async () => {
    for (const caller of Object.values(callers)) await caller.close();
    await t.dispose();
  });

  const registrations = async () =>
    Number((await t.database.db.query<{ n: string }>(`select count(*)::text as n from mcp.agent_registrations`))[0].n);

  it.each(cases)('$name → $expected.code $expected.limit', async ({ query, variables, expected, as }) => {
    const before = await registrations();
    const answer = await callers[as ?? 'agent'].run(query, variables);
    expect(outcomeOf(answer)).toEqual(expected);
    expect(answer.data ?? undefined).toBeUndefined();
    expect(await registrations()).toBe(before);
  });

  it('a valid operation still runs (the limits are not refusing everything)', async () => {
    const answer = await callers.agent.run(REGISTER, register({ name: '🤖'.repeat(64), connectionDetails: { deep: nested(4) } }));
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({ registerAgentInstance: { isNew: true } });
  });
});

describe.each<Transport>(['http', 'graphql-ws'])('NODE_ENV=production over %s', (transport) => {
  let t: TestApp;
  let caller: GraphQLCaller;
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production' } });
    const key = await createApiKey(t.database.db, await createTenant(t.database.db), 'viewer');
    caller = transport === 'http' ? httpCaller(t.url, key) : await wsCaller(t.url, key);
  });
  afterAll(async () => {
    await caller.close();
    await t.dispose();
  });

  it('introspection is refused', async () => {
    const answer = await caller.run(`{ __schema { queryType { name } } }`);
    expect(outcomeOf(answer)).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(answer.errors?.[0].message).toMatch(/introspection/i);
  });

  it('errors carry no field suggestions', async () => {
    const answer = await caller.run(`{ registrationz { totalCount } }`);
    expect(outcomeOf(answer)).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(answer.errors?.[0].message).toBe('Cannot query field "registrationz" on type "Query".');
  });
});

describe('NODE_ENV unset (development)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.dispose());

  it('errors suggest fields, and introspection works with a key', async () => {
    const caller = await wsCaller(t.url, await createApiKey(t.database.db, await createTenant(t.database.db), 'viewer'));
    try {
      expect((await caller.run(`{ registrationz { totalCount } }`)).errors?.[0].message).toMatch(/Did you mean .*"registrations"\?/);
      expect((await caller.run(`{ __schema { queryType { name } } }`)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await caller.close();
    }
  });
});
