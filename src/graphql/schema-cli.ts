import fs from 'node:fs';
import path from 'node:path';
import 'reflect-metadata';
import { buildAppSchema } from '../app';
import { printRegistrySchema } from './print-schema';

/**
 * `npm run schema` writes the SDL of the served schema to schema.graphql;
 * `npm run schema:check` fails when the committed file differs from the code.
 */
function main(): void {
  const file = path.resolve(__dirname, '../../../schema.graphql');
  const sdl = printRegistrySchema(buildAppSchema());
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (committed !== sdl) {
      console.error('schema.graphql is stale: the code defines another schema. Run `npm run schema` and commit it.');
      process.exit(1);
    }
    console.log('schema.graphql matches the code');
    return;
  }
  fs.writeFileSync(file, sdl);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main();
