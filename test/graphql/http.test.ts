import { startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';

/** /graphql over real HTTP: headers, bodies, methods and CSRF prevention. */
describe('GraphQL over HTTP', () => {
  let t: TestApp;
  let viewerKey: string;
  let agentKey: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_BODY_BYTES: '2048' } });
    const tenantId = await createTenant(t.database.db);
    viewerKey = (await t.app.services.apiKeys.insert(tenantId, 'viewer', 'viewer')).key;
    agentKey = (await t.app.services.apiKeys.insert(tenantId, 'agent', 'agent')).key;
  });
  afterAll(() => t.dispose());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const query = (q: string, variables?: unknown) => JSON.stringify({ query: q, variables });
  type Body = { data?: any; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };

  it('a valid Bearer key is the caller', async () => {
    const res = await post(query('{ me { role } }'), { authorization: `Bearer ${viewerKey}` });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).data).toEqual({ me: { role: 'viewer' } });
  });

  it('no key: fields that need one answer UNAUTHENTICATED', async () => {
    const res = await post(query('{ me { role } }'));
    const body = (await res.json()) as Body;
    expect(body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it.each([['Bearer ar_not-a-real-key'], ['Basic dXNlcjpwYXNz'], ['Bearer']])(
    'an unknown or malformed Authorization header (%s) is 401 UNAUTHENTICATED',
    async (header) => {
      const res = await post(query('{ me { role } }'), { authorization: header });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Body).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    },
  );

  it('a body that is not JSON is 400 with a JSON error', async () => {
    const res = await post('{"query": "{ me { role } }"', { authorization: `Bearer ${viewerKey}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Body).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('a body over MAX_BODY_BYTES is 413 with a JSON error', async () => {
    const res = await post(query('{ me { role } }', { padding: 'x'.repeat(4096) }), { authorization: `Bearer ${viewerKey}` });
    expect(res.status).toBe(413);
    expect(((await res.json()) as Body).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'bodyBytes', max: 2048 });
  });

  it('GET runs queries (with a preflight header) but not mutations', async () => {
    const url = (q: string) => `${t.url}/graphql?query=${encodeURIComponent(q)}`;
    const headers = { authorization: `Bearer ${viewerKey}`, 'apollo-require-preflight': 'true' };
    const get = await fetch(url('{ me { role } }'), { headers });
    expect(get.status).toBe(200);
    expect(((await get.json()) as Body).data).toEqual({ me: { role: 'viewer' } });
    const mutation = await fetch(url('mutation { heartbeat(instanceId: "x") { outcome } }'), {
      headers: { ...headers, authorization: `Bearer ${agentKey}` },
    });
    expect(mutation.status).toBe(405);
  });

  it('CSRF prevention: a simple request (GET without preflight header, text/plain POST) is refused', async () => {
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ me { role } }')}`, {
      headers: { authorization: `Bearer ${viewerKey}` },
    });
    expect(get.status).toBe(400);
    const plain = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${viewerKey}` },
      body: query('{ me { role } }'),
    });
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/CSRF/i);
  });

  it('the Sandbox landing page is served to browsers when introspection is on', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    await res.text();
  });
});
