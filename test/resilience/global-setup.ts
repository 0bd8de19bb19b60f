import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './support/service';

/**
 * Builds the production bundle when sources changed (`scripts/ensure-built.js`), names
 * this run (database prefix) and opens the summary file the scenarios append to.
 */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'ensure-built.js')], { cwd: ROOT, stdio: 'inherit' });
  process.env.AGENT_REGISTRY_RESILIENCE_RUN = `${Date.now().toString(36)}${process.pid}`;
  const file = path.join(os.tmpdir(), `agent-registry-resilience-${process.env.AGENT_REGISTRY_RESILIENCE_RUN}.jsonl`);
  fs.writeFileSync(file, '');
  process.env.RESILIENCE_SUMMARY_FILE = file;
  process.env.RESILIENCE_STARTED_AT = String(Date.now());
  console.log(`\nresilience suite on ${process.env.TEST_DATABASE_URL}; production build in dist/`);
}
