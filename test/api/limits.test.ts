import { getIntrospectionQuery } from 'graphql';
import { op } from '../graphql/operations';
import { type Harness, type TenantKeys, codeOf, createHarness } from './harness';

describe('limits and errors', () => {
  let h: Harness;
  let t: TenantKeys;
  beforeAll(async () => {
    h = await createHarness({
      GRAPHQL_MAX_DEPTH: '3',
      GRAPHQL_MAX_COMPLEXITY: '100',
      MAX_STRING_LENGTH: '64',
      MAX_JSON_BYTES: '256',
    });
    t = await h.tenant();
  });
  afterAll(() => h.dispose());

  const limitOf = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.limit;

  it('a query nested deeper than GRAPHQL_MAX_DEPTH is BAD_USER_INPUT (limit depth), fragments included', async () => {
    expect(codeOf(await h.run(t.viewer, `{ agentSummaries { nodes { agentId } } }`))).toBeUndefined();
    const deep = await h.run(t.viewer, `{ agentSummaries { nodes { byHealth { healthy } } } }`);
    expect([codeOf(deep), limitOf(deep)]).toEqual(['BAD_USER_INPUT', 'depth']);
    expect(deep.data).toBeUndefined();
    const viaFragment = await h.run(
      t.viewer,
      `query { agentSummaries { ...S } } fragment S on AgentSummaryConnection { nodes { byHealth { healthy } } }`,
    );
    expect(limitOf(viaFragment)).toBe('depth');
  });

  it('introspection with a key is not limited by depth (tools can load the schema)', async () => {
    const result = await h.run(t.viewer, getIntrospectionQuery());
    expect(result.errors).toBeUndefined();
  });

  it('introspection without a key is UNAUTHENTICATED; __typename alone is not introspection', async () => {
    expect(codeOf(await h.run(null, getIntrospectionQuery()))).toBe('UNAUTHENTICATED');
    expect(codeOf(await h.run(null, `{ __type(name: "Query") { name } }`))).toBe('UNAUTHENTICATED');
    const typename = await h.run(null, `{ __typename }`);
    expect([typename.errors, typename.data]).toEqual([undefined, { __typename: 'Query' }]);
  });

  it('a query costlier than GRAPHQL_MAX_COMPLEXITY is BAD_USER_INPUT (limit complexity); page size counts', async () => {
    const query = `query ($first: Int) { registrations(first: $first) { nodes { id instanceId } } }`;
    expect(codeOf(await h.run(t.viewer, query, { first: 10 }))).toBeUndefined();
    const costly = await h.run(t.viewer, query, { first: 50 });
    expect([codeOf(costly), limitOf(costly)]).toEqual(['BAD_USER_INPUT', 'complexity']);
    expect(costly.errors?.[0].extensions?.complexity).toBeGreaterThan(100);
  });

  it('a string longer than MAX_STRING_LENGTH is BAD_USER_INPUT naming the argument path', async () => {
    const registered = await h.run(t.agent, op('RegisterAgentInstance'), { input: { agentId: 'limits', instanceId: 'l-1' } });
    const id = registered.data!.registerAgentInstance.registration.configurationId;
    const long = await h.run(t.admin, op('UpdateConfiguration'), { input: { id, expectedVersion: 1, systemPrompt: 'x'.repeat(65) } });
    expect([codeOf(long), limitOf(long), long.errors?.[0].extensions?.field]).toEqual(['BAD_USER_INPUT', 'stringLength', 'input.systemPrompt']);
    const fits = await h.run(t.admin, op('UpdateConfiguration'), { input: { id, expectedVersion: 1, systemPrompt: 'x'.repeat(64) } });
    expect(fits.errors).toBeUndefined();
  });

  it('JSON larger than MAX_JSON_BYTES is BAD_USER_INPUT naming the argument path', async () => {
    const big = { blob: 'y'.repeat(300) };
    const register = await h.run(t.agent, op('RegisterAgentInstance'), {
      input: { agentId: 'limits', instanceId: 'l-2', connectionDetails: big },
    });
    expect([codeOf(register), limitOf(register), register.errors?.[0].extensions?.field]).toEqual([
      'BAD_USER_INPUT',
      'jsonBytes',
      'input.connectionDetails',
    ]);
    const config = await h.run(t.admin, op('CreateConfiguration'), { input: { agentId: 'limits', settings: big } });
    expect([limitOf(config), config.errors?.[0].extensions?.field]).toEqual(['jsonBytes', 'input.settings']);
  });

  it('malformed operations keep the standard GraphQL codes', async () => {
    expect(codeOf(await h.run(t.viewer, `{ registrations { `))).toBe('GRAPHQL_PARSE_FAILED');
    expect(codeOf(await h.run(t.viewer, `{ noSuchField }`))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(codeOf(await h.run(t.viewer, `query ($n: Int) { registrations(first: $n) { totalCount } }`, { n: 'ten' }))).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('an unexpected error is masked as INTERNAL_SERVER_ERROR, without its message', async () => {
    const db = h.database.db;
    await db.exec(`alter table mcp.agent_manifests rename column description to description_moved`);
    try {
      const result = await h.run(t.viewer, op('Manifests'), { first: 2 });
      expect(codeOf(result)).toBe('INTERNAL_SERVER_ERROR');
      expect(result.errors?.[0].message).toBe('internal server error');
      expect(JSON.stringify(result)).not.toMatch(/description|does not exist|stacktrace/);
    } finally {
      await db.exec(`alter table mcp.agent_manifests rename column description_moved to description`);
    }
  });
});
