import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** The URL prefix the dashboard is served under. */
export const DASHBOARD_PATH = '/dashboard';

/**
 * The dashboard's Content-Security-Policy: its own scripts, styles and images only, no
 * inline script or style, GraphQL and graphql-ws on this origin only, never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  /** Hashed file names (Vite's assets/) never change: cached for a year, immutable. */
  immutable: boolean;
}

/** Handles a request if it is the dashboard's; returns false to let the next handler answer. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Where `npm install` (scripts/ensure-built.js) puts the Vite build: `<project>/dist/dashboard`. */
export function defaultDashboardDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'dashboard');
}

/**
 * Serves the built dashboard under `/dashboard` over plain node:http (the router's
 * fallback for paths under a prefix): `index.html` for `/dashboard` and `/dashboard/` with
 * `Cache-Control: no-cache`, the hashed files under `/dashboard/assets/` as immutable,
 * every response with the strict CSP. The files are read once, at start-up; when the
 * build is missing, `/dashboard` answers 503 saying how to build it.
 */
export function dashboardHandler(dir: string = defaultDashboardDir()): DashboardHandler {
  const assets = readAssets(dir);
  return (req, res) => {
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0];
    if (pathname !== DASHBOARD_PATH && !pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;
    if (pathname === DASHBOARD_PATH) {
      // relative asset URLs resolve against the directory: always serve it with a slash
      res.writeHead(308, { location: `${DASHBOARD_PATH}/${url.slice(pathname.length)}`, 'content-length': '0' });
      res.end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('method not allowed\n'));
      return true;
    }
    if (!assets) {
      send(req, res, 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from(
        'The dashboard is not built. Run `npm install` (or `npm run build:dashboard`) and restart.\n',
      ));
      return true;
    }
    const rel = pathname.slice(DASHBOARD_PATH.length + 1);
    const asset = rel === '' || rel === 'index.html' ? assets.get('index.html') : assets.get(rel);
    if (!asset) {
      send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from('not found\n'));
      return true;
    }
    send(req, res, 200, {
      'content-type': asset.type,
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    }, asset.body);
    return true;
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
  res.writeHead(status, {
    ...headers,
    'content-length': String(body.length),
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Every file of the build by its path relative to `dir` (slash-separated), or null without a build. */
function readAssets(dir: string): Map<string, Asset> | null {
  if (!fs.existsSync(path.join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && !entry.name.startsWith('.')) {
        assets.set(rel, {
          body: fs.readFileSync(path.join(dir, rel)),
          type: TYPES[path.extname(entry.name)] ?? 'application/octet-stream',
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  walk('');
  return assets;
}
