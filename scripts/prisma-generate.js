#!/usr/bin/env node
// Generates the Prisma client into src/generated/prisma (not committed).
//
// The Prisma CLI wants to download its native schema engine even for `generate`,
// which needs no engine at all; this machine has no internet access. Pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download. We never run
// `prisma migrate` (see src/db/migrate.ts), so the engine is never actually used.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
if (!fs.existsSync(cli)) {
  console.error('prisma-generate: the prisma CLI is not installed yet; run `npm install`.');
  process.exit(1);
}
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
