import { startTestApp, type TestApp } from './helpers/app';

describe('health endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.dispose());

  it('GET /healthz answers 200 while the process is up', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers and every migration is applied', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ready');
  });

  it('GET /readyz answers 503 when a migration is pending', async () => {
    const [last] = await t.database.db.query<{ migration_name: string }>(
      `select migration_name from public._prisma_migrations order by migration_name desc limit 1`,
    );
    await t.database.db.query(`update public._prisma_migrations set finished_at = null where migration_name = $1`, [
      last.migration_name,
    ]);
    try {
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { pending: string[] }).pending).toEqual([last.migration_name]);
    } finally {
      await t.database.db.query(`update public._prisma_migrations set finished_at = now() where migration_name = $1`, [
        last.migration_name,
      ]);
    }
  });
});

describe('HTTP routing and /metrics protection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: 'scrape-secret-123' } });
  });
  afterAll(() => t.dispose());

  it('with METRICS_TOKEN, /metrics needs Authorization: Bearer <token>', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-123' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP agent_registry_/m);
  });

  it('an unknown path is a JSON 404; another method on a known path a 405', async () => {
    const missing = await fetch(`${t.url}/nowhere`);
    expect([missing.status, ((await missing.json()) as { error: string }).error]).toEqual([404, 'no such path: /nowhere']);
    const post = await fetch(`${t.url}/healthz`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  });
});
