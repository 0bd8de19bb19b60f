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
