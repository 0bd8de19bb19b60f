import { startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';

/**
 * GRAPHQL_DIRECT_EXECUTION: the same requests, over real HTTP, to an app that runs common
 * requests without Apollo's pipeline and to one that sends everything through Apollo, on
 * one database. Every answer must be the same (status, content type, body), the first time
 * a document runs (graphql-js) and the next (compiled by graphql-jit); each case also says
 * which path the direct app took, so that both paths are really exercised.
 */
describe('GraphQL over HTTP: the direct path answers exactly as Apollo does', () => {
  let direct: TestApp;
  let apollo: TestApp;
  const keys: Record<'viewer' | 'agent' | 'admin', string> = { viewer: '', agent: '', admin: '' };
  beforeAll(async () => {
    direct = await startTestApp();
    apollo = await startTestApp({ database: direct.database, env: { GRAPHQL_DIRECT_EXECUTION: 'false' } });
    expect(apollo.app.direct).toBeUndefined();
    const tenantId = await createTenant(direct.database.db);
    for (const role of ['viewer', 'agent', 'admin'] as const) keys[role] = (await direct.app.services.apiKeys.insert(tenantId, role, role)).key;
    // one registration to read (its agent type is made on the way)
    await direct.app.services.lifecycle.register(tenantId, { agentId: 'direct-agent', instanceId: 'direct-1' });
  });
  afterAll(async () => {
    await apollo?.dispose();
    await direct?.dispose();
  });

  interface Answer {
    status: number;
    contentType: string | null;
    body: string;
  }
  async function post(app: TestApp, key: string | null, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
  }

  type Case = [name: string, key: keyof typeof keys | 'none' | 'unknown', body: Record<string, unknown>, tookDirect: boolean, headers?: Record<string, string>];
  const cases: Case[] = [
    ['a query', 'viewer', { query: '{ me { role keyName tenant { name } } }' }, true],
    ['a page with variables', 'viewer', { query: 'query ($a: String!) { activeInstances(agentId: $a, first: 5) { totalCount nodes { instanceId healthStatus } } }', variables: { a: 'direct-agent' } }, true],
    ['a chosen operation of several', 'viewer', { query: 'query A { me { role } } query B { me { keyName } }', operationName: 'B' }, true],
    ['an idempotent mutation (a reconnect)', 'agent', { query: 'mutation { registerAgentInstance(input: { agentId: "direct-agent", instanceId: "direct-1" }) { isNew registration { instanceId registrationStatus circuit { consecutiveFailures } } } }' }, true],
    ['a field error: NOT_FOUND', 'agent', { query: 'mutation { heartbeat(instanceId: "no-such-instance") { outcome } }' }, true],
    ['a field error: FORBIDDEN (a viewer registering)', 'viewer', { query: 'mutation { registerAgentInstance(input: { agentId: "direct-agent", instanceId: "v" }) { isNew } }' }, true],
    ['a field error: input validation', 'agent', { query: 'mutation ($i: RegisterAgentInstanceInput!) { registerAgentInstance(input: $i) { isNew } }', variables: { i: { agentId: 'x'.repeat(300), instanceId: 'direct-2' } } }, true],
    ['a list of objects with nested fields and dates', 'viewer', { query: '{ registrations(first: 5) { totalCount pageInfo { hasNextPage } nodes { instanceId agentId capabilities connectionDetails registeredAt deregisteredAt healthStatus circuit { state consecutiveFailures ejectedUntil } } } }' }, true],
    ['partial data: one field fails, one answers', 'viewer', { query: '{ me { role } pickInstance(agentId: "no-such-agent") { instance { instanceId } } }' }, true],
    ['no key: a field that needs one', 'none', { query: '{ me { role } }' }, true],
    ['an unknown key (401)', 'unknown', { query: '{ me { role } }' }, false],
    ['a syntax error', 'viewer', { query: '{ me { role }' }, false],
    ['a validation error', 'viewer', { query: '{ me { nope } }' }, false],
    ['variables that do not coerce', 'viewer', { query: 'query ($n: Int) { registrations(first: $n) { totalCount } }', variables: { n: 'many' } }, false],
    ['a missing required variable', 'viewer', { query: 'query ($a: String!) { activeInstances(agentId: $a) { totalCount } }' }, false],
    ['an unknown operation name', 'viewer', { query: 'query A { me { role } }', operationName: 'Z' }, false],
    ['several operations and no name', 'viewer', { query: 'query A { me { role } } query B { me { role } }' }, false],
    ['a cost over the budget', 'viewer', { query: '{ registrations(first: 100) { nodes { id instanceId name status healthStatus currentWorkload registeredAt lastHealthCheck capabilities agentId } } a: registrations(first: 100) { nodes { id instanceId name status healthStatus currentWorkload registeredAt lastHealthCheck capabilities agentId } } }' }, false],
    ['introspection without a key', 'none', { query: '{ __schema { queryType { name } } }' }, false],
    ['a subscription over HTTP', 'viewer', { query: 'subscription { registrationEvents { id } }' }, false],
    ['a persisted-query extension', 'viewer', { query: '{ me { role } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }, false],
    ['an empty body object', 'viewer', {}, false],
    ['variables that are not an object', 'viewer', { query: '{ me { role } }', variables: [1] }, false],
  ];

  it.each(cases)('%s', async (_name, who, body, tookDirect, headers = {}) => {
    const key = who === 'none' ? null : who === 'unknown' ? 'ar_not-a-real-key' : keys[who];
    const before = direct.app.direct!.answered;
    // twice: a document's first run goes through graphql-js, the next ones through graphql-jit
    const first = await post(direct, key, body, headers);
    const second = await post(direct, key, body, headers);
    const taken = direct.app.direct!.answered - before;
    const fromApollo = await post(apollo, key, body, headers);
    expect(first).toEqual(fromApollo);
    expect(second).toEqual(fromApollo);
    expect(taken).toBe(tookDirect ? 2 : 0);
  });

  it.each([
    ['application/json', true],
    ['*/*', true],
    ['application/graphql-response+json', false],
    ['application/graphql-response+json, application/json;q=0.9', false],
    ['text/html', false],
  ])('Accept: %s (direct: %s) gets the same answer', async (accept, tookDirect) => {
    const before = direct.app.direct!.answered;
    const fromDirect = await post(direct, keys.viewer, { query: '{ me { role } }' }, { accept });
    const taken = direct.app.direct!.answered - before;
    expect(fromDirect).toEqual(await post(apollo, keys.viewer, { query: '{ me { role } }' }, { accept }));
    expect(taken).toBe(tookDirect ? 1 : 0);
  });
});
