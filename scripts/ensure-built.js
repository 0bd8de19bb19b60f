#!/usr/bin/env node
// `npm start` runs this first: it rebuilds (prisma generate + tsc) only when a source
// file is newer than the last build, so starting an unchanged checkout is instant and
// an edited one never runs stale code.
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

const sources = ['src', 'prisma/schema.prisma', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const newestSource = Math.max(...sources.map((s) => newestMtime(path.join(root, s))));
const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const generated = fs.existsSync(path.join(root, 'src', 'generated', 'prisma', 'client.ts'));

if (built >= newestSource && generated) process.exit(0);

const run = (args) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status;
if (run([path.join(__dirname, 'prisma-generate.js')]) !== 0) process.exit(1);
if (run([path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']) !== 0) process.exit(1);
fs.mkdirSync(path.dirname(stamp), { recursive: true });
fs.writeFileSync(stamp, new Date().toISOString());
