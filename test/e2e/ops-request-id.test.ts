import { type App, createApp } from '../../src/app';
import { createLogger } from '../../src/logger';
import { testConfig } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { waitFor } from '../helpers/wait';

type LogLine = Record<string, unknown> & { msg: string; level: number };

describe('request ids and structured logs', () => {
  let database: TestDatabase;
  let app: App;
  let url: string;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    app = await createApp(testConfig(database.url ? { DATABASE_URL: database.url } : {}), { db: database.db, logger });
    await app.start();
    url = app.url();
  });
  afterAll(async () => {
    await app.stop();
    await database.dispose();
  });

  it("echoes the caller's x-request-id and logs the request with it", async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    await waitFor(() => lines.some((l) => l.requestId === 'trace-abc.123'));
    expect(lines.find((l) => l.requestId === 'trace-abc.123')).toMatchObject({
      msg: 'request',
      method: 'GET',
      path: '/healthz',
      status: 200,
      service: 'agent-registry',
    });
  });

  it('generates an id when the caller sends none or an unusable one', async () => {
    const none = await fetch(`${url}/healthz`);
    const bad = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'spaces are not ok' } });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(none.headers.get('x-request-id')).toMatch(uuid);
    expect(bad.headers.get('x-request-id')).toMatch(uuid);
    expect(none.headers.get('x-request-id')).not.toBe(bad.headers.get('x-request-id'));
  });

  it('an unexpected error inside a GraphQL operation is logged with the request id and masked for the caller', async () => {
    const key = await createApiKey(database.db, await createTenant(database.db), 'viewer');
    // break what the registryMetrics query reads, so that it fails unexpectedly
    await database.db.query(`alter table mcp.sweep_holds rename to sweep_holds_hidden`);
    // twice: a document's first run goes through graphql-js, the next through graphql-jit
    const ids = ['gql-req-1', 'gql-req-2'];
    try {
      for (const id of ids) {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-request-id': id },
          body: JSON.stringify({ query: '{ registryMetrics { active } }' }),
        });
        const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
        expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
        expect(body.errors[0].message).not.toMatch(/sweep_holds/);
      }
    } finally {
      await database.db.query(`alter table mcp.sweep_holds_hidden rename to sweep_holds`);
    }
    for (const id of ids) {
      await waitFor(() => lines.some((l) => l.requestId === id && l.level >= 50));
      const logged = lines.find((l) => l.requestId === id && l.level >= 50);
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged)).toMatch(/sweep_holds/);
    }
  });
});
