import { ApiKeyService } from './api-keys/api-key.service';
import type { Database } from './db/client';
import { TenantService } from './tenants/tenant.service';

/** The keys printed once on the first start. */
export interface BootstrapResult {
  tenantId: string;
  tenantName: string;
  operatorKey: string;
  adminKey: string;
  agentKey: string;
}

/** Name of the tenant the bootstrap creates. */
export const DEMO_TENANT_NAME = 'demo';

/**
 * On an empty database (no tenants and no API keys): creates the demo tenant, an
 * operator key and the demo tenant's admin and agent keys, in one transaction under an
 * advisory lock, so that of several processes starting at once exactly one creates them.
 * Returns null when the database was not empty.
 */
export async function bootstrapDemo(db: Database): Promise<BootstrapResult | null> {
  // a database in use (every start but the first) is told by one plain query: Prisma's
  // query compiler (WebAssembly) then loads on the first request that needs it instead of
  // during start-up (0.1-0.5 s). An empty one is checked again under the lock below.
  const [{ used }] = await db.query<{ used: boolean }>(
    'select exists (select 1 from mcp.tenants) or exists (select 1 from mcp.api_keys) as used',
  );
  if (used) return null;
  // inside the transaction only `tx` (PGlite: one connection); the lock waits count
  // towards the transaction's timeout, hence more than Prisma's 5 s default
  return db.prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`select pg_advisory_xact_lock(hashtext('agent-registry:bootstrap'))`;
      const used = (await tx.tenant.findFirst({ select: { id: true } })) ?? (await tx.apiKey.findFirst({ select: { id: true } }));
      if (used) return null;
      const tenant = await new TenantService(tx).create(DEMO_TENANT_NAME);
      const keys = new ApiKeyService(tx);
      const operator = await keys.insert(null, 'bootstrap operator', 'operator');
      const admin = await keys.insert(tenant.id, 'demo admin', 'admin');
      const agent = await keys.insert(tenant.id, 'demo agent', 'agent');
      return {
        tenantId: tenant.id,
        tenantName: tenant.name,
        operatorKey: operator.key,
        adminKey: admin.key,
        agentKey: agent.key,
      };
    },
    { maxWait: 30_000, timeout: 60_000 },
  );
}

/** The plain-text banner with the keys and a curl that works against `url`. */
export function bootstrapBanner(keys: BootstrapResult, url: string): string {
  const query = JSON.stringify({ query: '{ me { role tenant { name } } }' });
  return [
    '',
    '================================================================================',
    ' Agent Registry: first start. These keys are shown ONCE; store them now.',
    '',
    ...[
      ['operator key (platform):', keys.operatorKey],
      [`admin key (tenant "${keys.tenantName}"):`, keys.adminKey],
      [`agent key (tenant "${keys.tenantName}"):`, keys.agentKey],
      [`tenant id:`, keys.tenantId],
    ].map(([label, value]) => ` ${label.padEnd(34)}${value}`),
    '',
    ' Try it:',
    ` curl -s ${url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${keys.adminKey}' -d '${query}'`,
    '',
    ` Dashboard: ${url}/dashboard   (sign in with the admin key)`,
    ` GraphQL Sandbox: ${url}/graphql   More: README.md, "GraphQL API".`,
    '================================================================================',
    '',
  ].join('\n');
}
