import crypto from 'node:crypto';
import { $Enums, Prisma } from '../../src/generated/prisma/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/**
 * prisma/schema.prisma must match the migrations. For every model: a row with every
 * scalar field set is written and read back through the generated client, and the
 * table's columns, the schema's tables and the enums' labels are compared both ways.
 */

const tenantId = crypto.randomUUID();
const manifestId = crypto.randomUUID();
const configurationId = crypto.randomUUID();
const registrationId = crypto.randomUUID();
const at = (n: number) => new Date(Date.UTC(2030, 4, 6, 7, 8, n, 123));

/** One row per model, every scalar field set, in foreign-key order, with the table it maps to. */
const samples: Array<{
  model: Prisma.ModelName;
  table: string;
  data: Record<string, unknown>;
  /** The unique key to read it back by, when it is neither `id` nor `tenantId`. */
  where?: Record<string, unknown>;
}> = [
  { model: 'Tenant', table: 'tenants', data: { id: tenantId, name: 'Drift Inc', createdAt: at(1) } },
  {
    model: 'AgentManifest',
    table: 'agent_manifests',
    data: {
      id: manifestId,
      agentId: 'drift-agent',
      agentType: 'ide',
      name: 'Drift agent',
      description: 'checks the schema',
      capabilities: ['code', 'review'],
      version: '1.2.3',
      createdAt: at(2),
      updatedAt: at(3),
    },
  },
  {
    model: 'AgentConfiguration',
    table: 'agent_configurations',
    data: {
      id: configurationId,
      tenantId,
      manifestId,
      name: 'Drift config',
      modelId: 'model-x',
      temperature: 1.25,
      maxTokens: 2048,
      systemPrompt: 'you are a test',
      maxWorkload: 4,
      healthChangeThreshold: 3,
      enabled: false,
      settings: { nested: { list: [1, 'two', null] }, flag: true },
      version: 7,
      createdAt: at(4),
      updatedAt: at(5),
    },
  },
  {
    model: 'AgentRegistration',
    table: 'agent_registrations',
    data: {
      id: registrationId,
      tenantId,
      manifestId,
      configurationId,
      instanceId: 'drift-instance',
      name: 'Drift instance',
      registrationStatus: $Enums.RegistrationStatus.stale,
      healthStatus: $Enums.HealthStatus.degraded,
      lastHealthCheck: at(6),
      connectionDetails: { connection_id: 'c-1', ip: '10.0.0.1' },
      runtimeConfig: { region: 'eu', limits: [1, 2] },
      capabilities: ['code'],
      currentWorkload: 3,
      reconnectCount: 2,
      registeredAt: at(7),
      deregisteredAt: at(8),
      updatedAt: at(9),
      reportedHealth: $Enums.HealthStatus.unhealthy,
      reportedHealthStreak: 2,
    },
  },
  {
    model: 'ApiKey',
    table: 'api_keys',
    data: {
      id: crypto.randomUUID(),
      tenantId,
      name: 'drift key',
      role: $Enums.ApiKeyRole.admin,
      keyHash: crypto.createHash('sha256').update('drift').digest('hex'),
      prefix: 'ar_drift',
      createdAt: at(10),
      lastUsedAt: at(11),
      revokedAt: at(12),
    },
  },
  {
    model: 'RegistrationEvent',
    table: 'registration_events',
    data: {
      id: 9_000_000_001n,
      txId: 123_456_789n,
      tenantId,
      kind: $Enums.EventKind.health_changed,
      agentId: 'drift-agent',
      manifestId,
      configurationId,
      registrationId: crypto.randomUUID(),
      instanceId: 'drift-instance',
      registrationStatus: $Enums.RegistrationStatus.active,
      healthStatus: $Enums.HealthStatus.unhealthy,
      payload: { previous_health: 'healthy' },
      occurredAt: at(13),
    },
  },
  {
    model: 'SweepHold',
    table: 'sweep_holds',
    data: { tenantId, heldSince: at(14), candidates: 6, active: 10 },
  },
  {
    model: 'ScalingRecommendation',
    table: 'scaling_recommendations',
    data: {
      configurationId,
      tenantId,
      active: 4,
      workload: 36n,
      capacity: 40n,
      utilisation: 0.9,
      targetUtilisation: 0.7,
      proposed: 6,
      desired: 7,
      computedAt: at(15),
      changedAt: at(16),
    },
    where: { configurationId },
  },
  {
    model: 'ScalingProposal',
    table: 'scaling_proposals',
    data: { configurationId, proposedAt: at(17), proposed: 5 },
    where: { configurationId_proposedAt: { configurationId, proposedAt: at(17) } },
  },
  {
    model: 'InstanceCircuit',
    table: 'instance_circuits',
    data: {
      registrationId,
      tenantId,
      consecutiveFailures: 5,
      ejectionCount: 2,
      ejectedAt: at(15),
      ejectedUntil: at(16),
      probeStartedAt: at(17),
      updatedAt: at(18),
      restoredAt: at(19),
    },
  },
];

const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The generated client's scalar fields of a model. */
function scalarFields(model: Prisma.ModelName): string[] {
  const fieldEnum = (Prisma as unknown as Record<string, Record<string, string>>)[`${model}ScalarFieldEnum`];
  return Object.values(fieldEnum);
}

/** The model's delegate on the client (prisma.tenant, prisma.agentManifest, …). */
type Delegate = {
  create(args: { data: Record<string, unknown> }): Promise<Record<string, unknown>>;
  findUniqueOrThrow(args: { where: Record<string, unknown> }): Promise<Record<string, unknown>>;
};

describe('schema.prisma matches the migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  it('has a sample with every scalar field for every model', () => {
    expect(samples.map((s) => s.model).sort()).toEqual(Object.values(Prisma.ModelName).sort());
    for (const sample of samples) {
      expect({ model: sample.model, fields: Object.keys(sample.data).sort() }).toEqual({
        model: sample.model,
        fields: scalarFields(sample.model).sort(),
      });
    }
  });

  it('writes and reads back every field of every model through the generated client', async () => {
    for (const { model, data, where: key } of samples) {
      const delegate = (t.db.prisma as unknown as Record<string, Delegate>)[model[0].toLowerCase() + model.slice(1)];
      const where =
        key ??
        ('id' in data ? { id: data.id } : 'registrationId' in data ? { registrationId: data.registrationId } : { tenantId: data.tenantId });

      const created = await delegate.create({ data });
      const read = await delegate.findUniqueOrThrow({ where });

      expect({ model, row: created }).toEqual({ model, row: data });
      expect({ model, row: read }).toEqual({ model, row: data });
    }
    const byTenantAndManifest = await t.db.prisma.agentConfiguration.findUnique({
      where: { tenantId_manifestId: { tenantId, manifestId } },
    });
    const byTenantAndInstance = await t.db.prisma.agentRegistration.findUnique({
      where: { tenantId_instanceId: { tenantId, instanceId: 'drift-instance' } },
    });
    expect(byTenantAndManifest?.id).toBe(configurationId);
    expect(byTenantAndInstance?.instanceId).toBe('drift-instance');
  });

  it('leaves database defaults to the database', async () => {
    const tenant = await t.db.prisma.tenant.create({ data: { name: 'Defaults Ltd' } });
    const event = await t.db.prisma.registrationEvent.create({ data: { tenantId: tenant.id, kind: 'purged' } });

    expect(tenant.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof event.id).toBe('bigint');
    expect(event.txId > 0n).toBe(true);
    expect(event).toMatchObject({ payload: {}, agentId: null, registrationStatus: null });
  });

  it('maps every column of every table in schema mcp, and no other', async () => {
    const columns = await t.db.query<{ table_name: string; column_name: string }>(
      `select c.table_name, c.column_name
       from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
       where c.table_schema = 'mcp' and t.table_type = 'BASE TABLE'
       order by c.table_name, c.column_name`,
    );
    const inDatabase: Record<string, string[]> = {};
    for (const { table_name, column_name } of columns) (inDatabase[table_name] ??= []).push(column_name);

    const inPrisma = Object.fromEntries(
      samples.map((s) => [s.table, scalarFields(s.model).map(snakeCase).sort()] as const),
    );

    expect(inPrisma).toEqual(inDatabase);
  });

  it('has the same enum labels, in the same order, as the database', async () => {
    const labels = await t.db.query<{ name: string; labels: string[] }>(
      `select t.typname as name, array_agg(e.enumlabel order by e.enumsortorder)::text[] as labels
       from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
       where n.nspname = 'mcp' group by t.typname order by t.typname`,
    );

    expect(Object.fromEntries(labels.map((row) => [row.name, row.labels]))).toEqual({
      api_key_role: Object.values($Enums.ApiKeyRole),
      event_kind: Object.values($Enums.EventKind),
      health_status: Object.values($Enums.HealthStatus),
      registration_status: Object.values($Enums.RegistrationStatus),
    });
  });
});
