import { buildPgliteTemplate } from './pglite-template';

/**
 * Makes the embedded database's template when missing (see pglite-template.ts); run by
 * `scripts/ensure-built.js`, so by `npm install` and `npm start`. Prints what it did.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const { pgdata, built } = await buildPgliteTemplate();
  if (built) console.log(`embedded database template made in ${Math.round(performance.now() - started)} ms: ${pgdata}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
