import { startTestApp, type TestApp } from '../helpers/app';
import { postgresOnly } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import type { Browser } from 'playwright-core';
import { REGISTER, assertBrowserReady, gql, launchBrowser, openDashboard, signIn } from './support';

const pgOnly = postgresOnly('a real browser against a real server: run on the PostgreSQL backend');

describe('the dashboard: admin actions in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let tenant: string;
  let adminKey: string;
  let agentKey: string;
  const agent = agentId('cfg');

  beforeAll(async () => {
    if (!process.env.TEST_DATABASE_URL) return;
    assertBrowserReady();
    t = await startTestApp();
    browser = await launchBrowser();
    tenant = await createTenant(t.database.db, { name: 'admin-tests' });
    adminKey = await createApiKey(t.database.db, tenant, 'admin', 'first admin');
    agentKey = await createApiKey(t.database.db, tenant, 'agent');
    await gql(t.url, agentKey, REGISTER, { input: { agentId: agent, instanceId: 'cfg-1' } });
    await gql(t.url, agentKey, REGISTER, { input: { agentId: agent, instanceId: 'cfg-2' } });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
  });

  const stored = async () => {
    const [row] = await t.database.db.query<{ model_id: string; system_prompt: string; version: number; enabled: boolean }>(
      `select c.model_id, c.system_prompt, c.version, c.enabled from mcp.agent_configurations c
       join mcp.agent_manifests m on m.id = c.manifest_id where c.tenant_id = $1 and m.agent_id = $2`,
      [tenant, agent],
    );
    return row;
  };

  pgOnly('two admins edit one configuration: the second sees the conflict with the current values, nothing is overwritten', async () => {
    const a = await openDashboard(browser, t.url);
    const b = await openDashboard(browser, t.url);
    for (const s of [a, b]) {
      await signIn(s.page, adminKey);
      await s.page.getByRole('link', { name: 'Configurations' }).click();
      await s.page.locator(`form[data-config="${agent}"]`).waitFor();
    }
    const before = await stored();
    const formA = a.page.locator(`form[data-config="${agent}"]`);
    const formB = b.page.locator(`form[data-config="${agent}"]`);
    // B starts editing; A saves first
    await formB.getByLabel('System prompt').fill('B was here');
    await formA.getByLabel('Model').fill('model-from-a');
    await formA.getByRole('button', { name: 'Save' }).click();
    await formA.getByText(`Saved (version ${before.version + 1})`).waitFor();
    await formB.getByRole('button', { name: 'Save' }).click();
    const conflict = formB.locator('.message.conflict');
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('Changed by someone else — reload');
    expect(await conflict.textContent()).toContain('"model-from-a"');
    expect(await stored()).toMatchObject({ model_id: 'model-from-a', system_prompt: before.system_prompt, version: before.version + 1 });

    // B reloads: the form shows A's values; saving now works
    await formB.getByRole('button', { name: 'Reload' }).click();
    expect(await formB.getByLabel('Model').inputValue()).toBe('model-from-a');
    await formB.getByLabel('System prompt').fill('B, after reloading');
    await formB.getByRole('button', { name: 'Save' }).click();
    await formB.getByText(`Saved (version ${before.version + 2})`).waitFor();
    expect(await stored()).toMatchObject({ model_id: 'model-from-a', system_prompt: 'B, after reloading', version: before.version + 2 });

    // disable and enable
    await formB.getByRole('button', { name: 'Disable' }).click();
    await formB.locator('.tag.off').waitFor();
    expect((await stored()).enabled).toBe(false);
    await formB.getByRole('button', { name: 'Enable' }).click();
    await formB.locator('.tag.on').waitFor();
    expect((await stored()).enabled).toBe(true);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await a.context.close();
    await b.context.close();
  });

  pgOnly('force-deregister asks for confirmation; cancel changes nothing, confirm deregisters', async () => {
    const { page, context, errors } = await openDashboard(browser, t.url);
    await signIn(page, adminKey);
    await page.getByRole('link', { name: 'Instances' }).click();
    const row = page.locator('tr[data-instance="cfg-2"]');
    await row.waitFor();
    await row.getByRole('button', { name: 'Force-deregister cfg-2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    const status = async () =>
      (await t.database.db.query<{ s: string }>(`select registration_status::text as s from mcp.agent_registrations where tenant_id = $1 and instance_id = 'cfg-2'`, [tenant]))[0].s;
    expect(await status()).toBe('active');
    await row.getByRole('button', { name: 'Force-deregister cfg-2' }).click();
    // keyboard: the dialog has focus on Cancel; Tab moves to the confirming button
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await row.waitFor({ state: 'detached' });
    expect(await status()).toBe('deregistered');
    expect(errors).toEqual([]);
    await context.close();
  });
});
