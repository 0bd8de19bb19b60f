// Prisma 7 reads no .env by itself, and env() throws when a variable is unset, so this
// file reads process.env directly. Only `prisma generate` is used here: migrations are
// applied by our own runner (src/db/migrate.ts), which also migrates the embedded PGlite.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/agent_registry' },
});
