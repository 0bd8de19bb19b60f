import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ApiKeyService } from '../api-keys/api-key.service';
import { ROLES, type Role } from '../auth/api-keys';
import { loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { migrate } from '../db/migrate';
import { findPgliteTemplate } from '../db/pglite-template';
import { TenantService } from '../tenants/tenant.service';

const HELP = `Manage tenants and API keys of the agent registry (DATABASE_URL, or the embedded database in DATA_DIR).

Usage: npm run keys -- <command> [options]

Commands:
  create-tenant <name>                         create a tenant; prints its id
  list-tenants                                 list tenants (id, created, name)
  create-key --role <role> --name <name> [--tenant <tenant id>]
                                               create a key and print it (shown once).
                                               roles: operator (no --tenant), admin, agent, viewer
  list-keys [--tenant <tenant id>] [--all]     list the keys of a tenant (operator keys without
                                               --tenant); --all includes revoked keys
  revoke-key <key id>                          revoke a key; it stops working within seconds

Examples:
  npm run keys -- create-tenant acme
  npm run keys -- create-key --tenant <tenant id> --role admin --name "acme admin"
  npm run keys -- revoke-key <key id>

The embedded database is used by one process at a time: stop the server first, or use
the GraphQL API (createTenant, createApiKey, revokeApiKey) with an operator key.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      tenant: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return values.help ? 0 : 1;
  }
  const config = loadConfig();
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    template: config.databaseUrl ? undefined : findPgliteTemplate(),
  });
  try {
    await migrate(db);
    const tenants = new TenantService(db.prisma);
    const keys = new ApiKeyService(db.prisma);
    const page = { limit: 10_000, afterKey: null };
    switch (command) {
      case 'create-tenant': {
        const name = rest.join(' ').trim();
        if (!name) throw new UsageError('create-tenant needs a name');
        const tenant = await tenants.create(name);
        console.log(`tenant ${tenant.name}: ${tenant.id}`);
        return 0;
      }
      case 'list-tenants': {
        for (const t of (await tenants.list(page)).nodes) console.log(`${t.id}  ${t.createdAt.toISOString()}  ${t.name}`);
        return 0;
      }
      case 'create-key': {
        const role = values.role as Role;
        if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
        if (!values.name) throw new UsageError('create-key needs --name');
        if ((role === 'operator') !== !values.tenant) {
          throw new UsageError(role === 'operator' ? 'operator keys take no --tenant' : `${role} keys need --tenant <tenant id>`);
        }
        const { apiKey, key } = await keys.insert(values.tenant ?? null, values.name, role);
        console.log(`${role} key "${apiKey.name}" (id ${apiKey.id}), shown once:\n\n  ${key}\n`);
        return 0;
      }
      case 'list-keys': {
        for (const k of (await keys.listOf(values.tenant ?? null, page, values.all ?? false)).nodes) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
          console.log(`${k.id}  ${k.role.padEnd(8)}  ${k.prefix}…  ${state.padEnd(10)}  ${k.name}`);
        }
        return 0;
      }
      case 'revoke-key': {
        if (!rest[0]) throw new UsageError('revoke-key needs a key id');
        const revoked = await keys.revoke({ keyId: null, keyName: 'keys CLI', role: 'operator', tenantId: null }, rest[0]);
        console.log(`revoked ${revoked.role} key "${revoked.name}" (${revoked.id})`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } finally {
    await db.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    if (error instanceof UsageError) console.error('see: npm run keys -- --help');
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
