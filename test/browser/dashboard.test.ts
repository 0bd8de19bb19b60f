import { markStaleInstances } from '../../src/db/registry-sql';
import { DASHBOARD_CSP } from '../../src/http/dashboard';
import { startTestApp, type TestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { waitFor } from '../helpers/wait';
import type { Browser } from 'playwright-core';
import { HEARTBEAT, REGISTER, REPORT_FAILURE, WORKLOAD, assertBrowserReady, gql, launchBrowser, openDashboard, screenshot, signIn } from './support';

const pgOnly = postgresOnly('a real browser against a real server: run on the PostgreSQL backend');

describe('the dashboard in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let tenant: string;
  let viewerKey: string;
  let adminKey: string;
  let agentKey: string;

  beforeAll(async () => {
    if (!process.env.TEST_DATABASE_URL) return;
    assertBrowserReady();
    // the scaling signal is computed when the test says so (app.scaling.recommend), not by the timer
    t = await startTestApp({ env: { SUBSCRIPTION_AUTH_CHECK_MS: '300', SCALING_INTERVAL_MS: '3600000' } });
    browser = await launchBrowser();
    tenant = await createTenant(t.database.db, { name: 'browser-tests' });
    viewerKey = await createApiKey(t.database.db, tenant, 'viewer', 'dashboard viewer');
    adminKey = await createApiKey(t.database.db, tenant, 'admin', 'dashboard admin');
    agentKey = await createApiKey(t.database.db, tenant, 'agent', 'simulated agent');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
  });

  pgOnly('serves /dashboard/ from the registry: strict CSP, index no-cache, hashed assets immutable', async () => {
    const redirect = await fetch(`${t.url}/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const index = await fetch(`${t.url}/dashboard/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    for (const asset of assets) {
      const response = await fetch(`${t.url}${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${t.url}/dashboard/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${t.url}/dashboard/`, { method: 'POST' })).status).toBe(405);
  });

  pgOnly('a wrong key gets a clear message and stays on the sign-in form', async () => {
    const { page, context, errors } = await openDashboard(browser, t.url);
    await signIn(page, 'ar_thisIsNotAKeyOfThisRegistry0000');
    await page.getByRole('alert').filter({ hasText: 'not valid or has been revoked' }).waitFor();
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    // the agent key is refused too: the dashboard is for viewers and admins
    await signIn(page, agentKey);
    await page.getByRole('alert').filter({ hasText: 'agent key' }).waitFor();
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
    await context.close();
  });

  pgOnly('a viewer sees an agent register, change health and go stale live, and no admin control', async () => {
    const agent = agentId('ide');
    const { page, context, errors, requests, console: lines } = await openDashboard(browser, t.url);
    await signIn(page, viewerKey);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.connection[data-state="live"]').waitFor();
    expect(await page.getByRole('link', { name: 'Configurations' }).count()).toBe(0);

    // an agent registers: it shows up in the overview without a reload
    let started = Date.now();
    await gql(t.url, agentKey, REGISTER, { input: { agentId: agent, instanceId: 'sim-1', name: 'Simulated agent' } });
    await page.locator(`tr[data-agent="${agent}"] [data-field="active"]`, { hasText: '1' }).waitFor();
    const overviewLatency = Date.now() - started;

    await page.getByRole('link', { name: 'Instances' }).click();
    await page.locator('tr[data-instance="sim-1"][data-health="healthy"]').waitFor();
    expect(await page.locator('[data-action="force-deregister"]').count()).toBe(0);

    started = Date.now();
    await gql(t.url, agentKey, REGISTER, { input: { agentId: agent, instanceId: 'sim-2' } });
    await page.locator('tr[data-instance="sim-2"]').waitFor();
    const tableLatency = Date.now() - started;

    await gql(t.url, agentKey, HEARTBEAT, { id: 'sim-1', health: 'degraded' });
    await page.locator('tr[data-instance="sim-1"][data-health="degraded"]').waitFor();

    // sim-1 stops heartbeating: the sweep marks it stale (run here with a clock an hour ahead)
    await t.database.db.query(`update mcp.agent_registrations set last_health_check = now() - interval '1 hour' where tenant_id = $1 and instance_id = 'sim-1'`, [tenant]);
    await markStaleInstances(t.database.db, { staleAfterMs: 45_000, maxShare: 1, minActive: 1_000_000, holdCeilingMs: 1000 });
    t.app.services.events.written();
    // the table shows active instances by default: the stale one leaves it…
    await page.locator('tr[data-instance="sim-1"]').waitFor({ state: 'detached' });
    // …and shows up under status "stale"
    await page.getByLabel('Status').selectOption('stale');
    await page.locator('tr[data-instance="sim-1"][data-status="stale"]').waitFor();
    await page.getByLabel('Status').selectOption('active');
    await page.locator('tr[data-instance="sim-2"]').waitFor();

    // a few more agents with mixed health, for the screenshots
    const fleet: Array<[string, string, string | null]> = [
      ['slack-bot', 'slack-1', null], ['slack-bot', 'slack-2', 'degraded'], ['slack-bot', 'slack-3', null],
      ['k8s-monitor', 'k8s-eu-1', null], ['k8s-monitor', 'k8s-eu-2', 'unhealthy'], ['k8s-monitor', 'k8s-us-1', null], ['k8s-monitor', 'k8s-us-2', 'degraded'],
      ['ci-runner', 'ci-7f3a', null], ['ci-runner', 'ci-91bc', null],
    ];
    for (const [kind, id, health] of fleet) {
      await gql(t.url, agentKey, REGISTER, { input: { agentId: kind, instanceId: id, name: `${kind} ${id.split('-').pop()}` } });
      if (health) await gql(t.url, agentKey, HEARTBEAT, { id, health });
    }
    await page.locator('tr[data-instance="k8s-us-2"][data-health="degraded"]').waitFor();
    // the rows that came or changed are highlighted for 1.5 s, then not
    expect(await page.locator('tr.changed').count()).toBeGreaterThan(0);
    await waitFor(async () => (await page.locator('tr.changed').count()) === 0, 10_000, 100, 'the highlights to end');
    await screenshot(page, 'dashboard-instances');

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator(`tr[data-agent="${agent}"] [data-field="stale"]`, { hasText: '1' }).waitFor();
    await page.locator('tr[data-agent="k8s-monitor"] [data-field="active"]', { hasText: '4' }).waitFor();
    const cell = (agentIdentifier: string, field: string) => page.locator(`tr[data-agent="${agentIdentifier}"] [data-field="${field}"]`);
    expect(await cell('k8s-monitor', 'ejected').textContent()).toBe('0');
    expect(await cell('slack-bot', 'utilisation').textContent()).toBe('—not computed yet');

    // while the overview is open: callers report 5 failures of k8s-eu-2 (circuit breaking
    // ejects it), the agents report workloads and the scaling signal is computed
    for (let i = 0; i < 5; i++) await gql(t.url, agentKey, REPORT_FAILURE, { id: 'k8s-eu-2' });
    for (const [id, workload] of [['slack-1', 9], ['slack-2', 8], ['slack-3', 9], ['k8s-eu-1', 7], ['k8s-eu-2', 7], ['k8s-us-1', 7], ['k8s-us-2', 7]] as const) {
      await gql(t.url, agentKey, WORKLOAD, { id, workload });
    }
    await t.app.scaling.recommend();
    // k8s-monitor: one of 4 ejected; 28 of 40 is the 70 % target: steady
    await cell('k8s-monitor', 'ejected').filter({ hasText: '1' }).waitFor();
    await cell('k8s-monitor', 'desired').filter({ hasText: /^4steady$/ }).waitFor();
    expect(await cell('k8s-monitor', 'utilisation').textContent()).toBe('70 %target 70 %');
    // slack-bot: 26 of 30 is 87 %, over the target: ceil(26 / 7) = 4 wanted for 3 active
    await cell('slack-bot', 'desired').filter({ hasText: /^4scale up \+1$/ }).waitFor();
    expect(await cell('slack-bot', 'utilisation').textContent()).toBe('87 %target 70 %');
    expect(await cell('slack-bot', 'ejected').textContent()).toBe('0');
    // ci-runner: idle, at least one while any instance is active
    expect(await cell('ci-runner', 'desired').textContent()).toBe('1scale down −1');
    expect(await page.getByRole('columnheader').allTextContents()).toEqual(['Agent', 'Active', 'By health', 'Ejected', 'Utilisation', 'Desired', 'Stale', 'Last seen']);
    await screenshot(page, 'dashboard-overview');
    await page.getByRole('link', { name: 'Health over time' }).click();
    await page.locator('svg.chart polygon').first().waitFor();
    await screenshot(page, 'dashboard-health');

    // every instance stops heartbeating at once: the sweep holds back (self-preservation)
    // and the overview says so, live
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.locator('.banner').isVisible()).toBe(false);
    await t.database.db.query(`update mcp.agent_registrations set last_health_check = now() - interval '1 hour' where tenant_id = $1 and registration_status = 'active'`, [tenant]);
    const swept = await markStaleInstances(t.database.db, { staleAfterMs: 45_000, maxShare: 0.5, minActive: 2, holdCeilingMs: 600_000 });
    expect(swept.find((x) => x.tenantId === tenant)?.held).toBe(true);
    t.app.services.events.written();
    await page.locator('.banner', { hasText: 'Self-preservation' }).waitFor();

    // the key never appears in a URL or the console
    expect(requests.some((u) => u.includes(viewerKey))).toBe(false);
    expect(lines.some((l) => l.includes(viewerKey))).toBe(false);
    expect(errors).toEqual([]);
    process.stdout.write(`dashboard latency: overview ${overviewLatency} ms, instances table ${tableLatency} ms after the registration\n`);
    await context.close();
  });

  pgOnly('revoking the key while the page is open signs it out with a message', async () => {
    const key = await createApiKey(t.database.db, tenant, 'viewer', 'to be revoked');
    const { page, context } = await openDashboard(browser, t.url);
    await signIn(page, key);
    await page.locator('.connection[data-state="live"]').waitFor();
    const [{ id }] = await t.database.db.query<{ id: string }>(`select id from mcp.api_keys where name = 'to be revoked'`);
    await gql(t.url, adminKey, `mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id });
    await page.getByRole('alert').filter({ hasText: 'no longer valid' }).waitFor();
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    await context.close();
  });
});
