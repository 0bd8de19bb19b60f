import { getIntrospectionQuery } from 'graphql';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';
import { httpCaller, outcomeOf, wsCaller } from '../helpers/graphql-transports';
import { createApiKey } from '../helpers/keys';

const REGISTER = `mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`;

/** The attack of the review: hundreds of aliased copies of the whole schema in one small body. */
const schemaCopies = (copies: number) =>
  `{ ${Array.from({ length: copies }, (_, i) => `s${i}: __schema { types { name fields { name args { name type { name } } } } }`).join(' ')} }`;

describe('amplification: what a request can make the server write', () => {
  let t: TestApp;
  let viewerKey: string;
  beforeAll(async () => {
    t = await startTestApp();
    viewerKey = await createApiKey(t.database.db, await createTenant(t.database.db), 'viewer');
  });
  afterAll(() => t.dispose());

  // the response to a request without a key is at most a small multiple of its body (plus
  // one error's worth), whatever it asks
  const bounded = (bodyBytes: number, responseBytes: number) => expect(responseBytes).toBeLessThanOrEqual(4 * bodyBytes + 1024);

  it.each([
    ['300 aliased copies of __schema', schemaCopies(300)],
    ['one full introspection query', getIntrospectionQuery()],
    ['one __schema with every type, field and argument', schemaCopies(1)],
    ['ten __type selections', `{ ${Array.from({ length: 10 }, (_, i) => `t${i}: __type(name: "Query") { fields { name description args { name description } } }`).join(' ')} }`],
    ['2,000 aliased fields that need a key', `{ ${Array.from({ length: 2000 }, (_, i) => `m${i}: me { role }`).join(' ')} }`],
    ['a page of registrations', `{ registrations(first: 100) { nodes { id instanceId } totalCount } }`],
  ])('anonymous %s: response bounded by its body size', async (_name, query) => {
    const body = JSON.stringify({ query });
    const answer = await httpCaller(t.url, null).run(query);
    bounded(Buffer.byteLength(body), answer.bytes);
    expect(answer.data ?? null).toBeNull();
    // refused for the missing key, or by validation first (__schema once per operation)
    expect(['UNAUTHENTICATED', 'BAD_USER_INPUT']).toContain(answer.errors?.[0].extensions?.code);
  });

  it('anonymous: what needs no key still answers (__typename)', async () => {
    const answer = await httpCaller(t.url, null).run(`{ __typename }`);
    expect(answer).toMatchObject({ status: 200, data: { __typename: 'Query' } });
  });

  it.each(['http', 'graphql-ws'] as const)(
    'with a key over %s: the aliased copies are refused, one full introspection is allowed',
    async (transport) => {
      const caller = transport === 'http' ? httpCaller(t.url, viewerKey) : await wsCaller(t.url, viewerKey);
      try {
        const copies = await caller.run(schemaCopies(300));
        expect(outcomeOf(copies)).toEqual({ code: 'BAD_USER_INPUT', limit: 'introspection' });
        expect(copies.bytes).toBeLessThan(2048);
        const full = await caller.run(getIntrospectionQuery());
        expect(full.errors).toBeUndefined();
        expect((full.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(20);
      } finally {
        await caller.close();
      }
    },
  );
});

describe('GraphQL WebSocket frame size', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_BODY_BYTES: '4096' } });
  });
  afterAll(() => t.dispose());

  const closeOf = (frame: string) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      ws.once('error', () => undefined);
      ws.once('open', () => ws.send(frame));
      ws.once('close', (code) => resolve(code));
      setTimeout(() => reject(new Error('the socket stayed open')), 10_000).unref();
    });

  it('a connection_init larger than MAX_BODY_BYTES closes the socket with 1009 before it is read, quietly', async () => {
    const consoleError = jest.spyOn(console, 'error');
    try {
      const big = JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(8192) } });
      expect(await closeOf(big)).toBe(1009);
      // the client's oversized frame is not an "internal error" of ours
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
  });

  it('a frame within the limit is read (refused for its missing key with 4403, not 1009)', async () => {
    expect(await closeOf(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(1024) } }))).toBe(4403);
  });
});

describe('error details', () => {
  it.each([
    ['development', {}, true],
    ['production', { NODE_ENV: 'production' }, false],
  ] as const)('in %s, a database error shows its SQLSTATE: %s', async (_mode, env, shown) => {
    const t = await startTestApp({ env });
    try {
      const agentKey = await createApiKey(t.database.db, await createTenant(t.database.db), 'agent');
      const caller = httpCaller(t.url, agentKey);
      expect((await caller.run(REGISTER, { input: { agentId: 'first-type', instanceId: 'shared' } })).errors).toBeUndefined();
      const conflict = await caller.run(REGISTER, { input: { agentId: 'second-type', instanceId: 'shared' } });
      expect(outcomeOf(conflict)).toEqual({ code: 'CONFLICT' });
      expect(conflict.errors?.[0].extensions?.sqlState).toBe(shown ? 'RGCON' : undefined);
    } finally {
      await t.dispose();
    }
  });
});
