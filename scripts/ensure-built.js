#!/usr/bin/env node
// `npm install` (postinstall) and `npm start` run this first: it rebuilds the server
// (prisma generate + tsc) and the dashboard (vite build dashboard -> dist/dashboard) only
// when one of their source files is newer than its last build, so starting an unchanged
// checkout is instant and an edited one never runs stale code; and it makes the embedded
// database's template when the migrations have none yet.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');

function newestMtime(target) {
  if (!fs.existsSync(target)) return 0;
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(target)) {
    if (entry === 'generated' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }
  return newest;
}

const newest = (sources) => Math.max(...sources.map((s) => newestMtime(path.join(root, s))));
const builtAt = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);
const run = (args) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status;
const touch = (file) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, new Date().toISOString());
};

// the server
const serverSources = ['src', 'prisma/schema.prisma', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const generated = fs.existsSync(path.join(root, 'src', 'generated', 'prisma', 'client.ts'));
if (builtAt(stamp) < newest(serverSources) || !generated) {
  if (run([path.join(__dirname, 'prisma-generate.js')]) !== 0) process.exit(1);
  if (run([path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']) !== 0) process.exit(1);
  touch(stamp);
}

// the embedded database's template (src/db/pglite-template.ts): a new embedded database
// starts as a copy of it instead of running PGlite's initdb (seconds). Made once per set of
// migrations and PGlite version, in node_modules/.cache/agent-registry/; without one, a new
// database is made by initdb, so a failure here only warns.
const { findPgliteTemplate } = require(path.join(root, 'dist', 'src', 'db', 'pglite-template.js'));
if (!findPgliteTemplate()) {
  if (run([path.join(root, 'dist', 'src', 'db', 'pglite-template-cli.js')]) !== 0) {
    console.warn('ensure-built: the embedded database template was not made; a new embedded database will run initdb');
  }
}

// the dashboard (served at /dashboard); Vite is a dev dependency: an install without dev
// dependencies keeps the registry working and /dashboard answers 503 saying how to build it
const dashboardStamp = path.join(root, 'dist', '.dashboard-stamp');
const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
// (newestMtime skips folders named `generated`: the typed documents are listed themselves)
const dashboardSources = ['dashboard', 'dashboard/src/generated/graphql.ts', 'package.json'];
if (builtAt(dashboardStamp) < newest(dashboardSources) || !fs.existsSync(path.join(root, 'dist', 'dashboard', 'index.html'))) {
  if (!fs.existsSync(vite)) {
    console.warn('ensure-built: vite is not installed (dev dependencies omitted?): the dashboard is not built');
  } else {
    if (run([vite, 'build', 'dashboard', '--logLevel', 'warn']) !== 0) process.exit(1);
    touch(dashboardStamp);
  }
}
