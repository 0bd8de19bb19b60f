import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { defaultDashboardDir } from '../../src/http/dashboard';

/** Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where the runs write their screenshots (the committed ones are copies in docs/). */
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? path.resolve(__dirname, '..', '..', 'dist', 'screenshots');

/** Fails early, saying what is missing, when the browser or the dashboard build is absent. */
export function assertBrowserReady(): void {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  if (!fs.existsSync(path.join(defaultDashboardDir(), 'index.html'))) {
    throw new Error('the dashboard is not built: npm run build:dashboard');
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of the page (a test expects none). */
  errors: string[];
  /** Every URL the page requested (to check that the key never appears in one). */
  requests: string[];
  /** Every console message (to check that the key is never logged). */
  console: string[];
}

/** A fresh browser context (its own sessionStorage) on `url`/dashboard/, at 1280×800 unless told. */
export async function openDashboard(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    consoleLines.push(message.text());
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('request', (request) => requests.push(request.url()));
  page.on('websocket', (socket) => requests.push(socket.url()));
  await page.goto(`${url}/dashboard/`);
  return { context, page, errors, requests, console: consoleLines };
}

/** Signs in with `key` through the form. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Plain GraphQL over HTTP for the test's own calls (the simulated agents, the admin's checks). */
export async function gql<T = Record<string, unknown>>(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

export const REGISTER = `mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`;
export const HEARTBEAT = `mutation ($id: String!, $health: ReportedHealth) { heartbeat(instanceId: $id, health: $health) { outcome } }`;
export const WORKLOAD = `mutation ($id: String!, $workload: Int) { heartbeat(instanceId: $id, workload: $workload) { outcome } }`;
/** A caller's report that a request to the instance failed (5 in a row eject it). */
export const REPORT_FAILURE = `mutation ($id: String!) { reportInstanceOutcome(instanceId: $id, outcome: failure) { result } }`;

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/**
 * A TCP proxy in front of the app, so a test can cut the network between browser and
 * server: `drop()` destroys every open connection (as a network failure would) and
 * refuses new ones until `restore()`.
 */
export interface NetworkProxy {
  url: string;
  drop(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetUrl: string): Promise<NetworkProxy> {
  const net = await import('node:net');
  const target = new URL(targetUrl);
  const sockets = new Set<import('node:net').Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    drop() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
