import type { PrismaDb } from '../db/client';
import { mapErrors } from '../db/errors';
import { badInput, conflict, notFound } from '../errors';
import type { EventFeed } from '../events/types';
import type { AgentConfiguration, Prisma } from '../generated/prisma/client';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';
import type { ConfigurationFields } from './configuration.input';

/**
 * A configuration as the service returns it: the Prisma row with its manifest's agentId.
 * `settings` is always a JSON object (GraphQL's JSONObject in, the column's default `{}`).
 */
export type ConfigurationRecord = Omit<AgentConfiguration, 'settings'> & { agentId: string; settings: Prisma.JsonObject };

/** A deleted configuration: which one it was. */
export interface DeletedConfigurationRecord {
  id: string;
  agentId: string;
}

const WITH_AGENT_ID = { manifest: { select: { agentId: true } } } as const;

type ConfigurationWithManifest = Prisma.AgentConfigurationGetPayload<{ include: typeof WITH_AGENT_ID }>;

function toRecord(row: AgentConfiguration, agentId: string): ConfigurationRecord {
  const { settings, ...rest } = row;
  return { ...rest, agentId, settings: settings as Prisma.JsonObject };
}

const withAgentId = ({ manifest, ...row }: ConfigurationWithManifest): ConfigurationRecord => toRecord(row, manifest.agentId);

/** The columns an admin edits, as both a create and an update of Prisma Client take them. */
type Editable = Partial<
  Pick<
    Prisma.AgentConfigurationCreateManyInput,
    'name' | 'modelId' | 'temperature' | 'maxTokens' | 'systemPrompt' | 'maxWorkload' | 'healthChangeThreshold' | 'enabled' | 'settings'
  >
>;

/** The given fields (left out or null: keep, or the column's default on create). */
function changes(fields: ConfigurationFields): Editable {
  const data: Editable = {};
  if (fields.name != null) data.name = fields.name;
  if (fields.modelId != null) data.modelId = fields.modelId;
  if (fields.temperature != null) data.temperature = fields.temperature;
  if (fields.maxTokens != null) data.maxTokens = fields.maxTokens;
  if (fields.systemPrompt != null) data.systemPrompt = fields.systemPrompt;
  if (fields.maxWorkload != null) data.maxWorkload = fields.maxWorkload;
  if (fields.healthChangeThreshold != null) data.healthChangeThreshold = fields.healthChangeThreshold;
  if (fields.enabled != null) data.enabled = fields.enabled;
  if (fields.settings != null) data.settings = fields.settings as Prisma.InputJsonObject;
  return data;
}

/**
 * A tenant's configurations of agent types, through Prisma Client. Every method is scoped
 * to `tenantId`: a row of another tenant is NOT_FOUND. SQL triggers (not this service) bump
 * `version` on every change and append the configuration_changed event in the same
 * statement, and deregister a deleted configuration's live instances; the event feed is
 * woken after commit (which pushes `config.updated` to connected agents).
 */
export class ConfigurationService {
  constructor(
    private readonly prisma: PrismaDb,
    private readonly events: EventFeed,
  ) {}

  /** Ordered by agentId. */
  async list(
    tenantId: string,
    page: PageRequest,
    filter: { agentId?: string | null; enabled?: boolean | null } = {},
  ): Promise<Page<ConfigurationRecord>> {
    const where: Prisma.AgentConfigurationWhereInput = { tenantId: checkUuid(tenantId, 'tenantId') };
    if (filter.agentId != null) where.manifest = { agentId: filter.agentId };
    if (filter.enabled != null) where.enabled = filter.enabled;
    return mapErrors(async () => {
      const rows = await this.prisma.agentConfiguration.findMany({
        where: page.afterKey !== null ? { AND: [where, { manifest: { agentId: { gt: page.afterKey } } }] } : where,
        include: WITH_AGENT_ID,
        orderBy: { manifest: { agentId: 'asc' } },
        take: page.limit + 1,
      });
      const count = await this.prisma.agentConfiguration.count({ where });
      return toPage(rows.map(withAgentId), page, count, (c) => c.agentId);
    });
  }

  /** The configuration, or null (also for another tenant's). */
  async find(tenantId: string, id: string): Promise<ConfigurationRecord | null> {
    const where = { id: checkUuid(id, 'id'), tenantId: checkUuid(tenantId, 'tenantId') };
    const row = await mapErrors(() => this.prisma.agentConfiguration.findFirst({ where, include: WITH_AGENT_ID }));
    return row ? withAgentId(row) : null;
  }

  /** NOT_FOUND when the manifest does not exist, CONFLICT when the tenant already configures it. */
  async create(tenantId: string, agentId: string, fields: ConfigurationFields): Promise<ConfigurationRecord> {
    const tenant = checkUuid(tenantId, 'tenantId');
    const row = await mapErrors(async () => {
      const manifest = await this.prisma.agentManifest.findUnique({ where: { agentId }, select: { id: true, name: true } });
      if (!manifest) throw notFound(`manifest ${agentId}`);
      // insert … on conflict do nothing returning: the tenant's existing one is an empty result
      const [created] = await this.prisma.agentConfiguration.createManyAndReturn({
        data: { ...changes(fields), tenantId: tenant, manifestId: manifest.id, name: fields.name ?? manifest.name },
        skipDuplicates: true,
      });
      return created;
    });
    if (!row) throw conflict(`agent ${agentId} is already configured for this tenant; update that configuration`, { field: 'agentId' });
    this.events.written();
    return toRecord(row, agentId);
  }

  /**
   * Writes the given fields in one statement guarded by `expectedVersion` (`update … where
   * version = $expected returning …`): no row back is CONFLICT (with
   * `extensions.currentVersion`) when the row changed since, NOT_FOUND when it is gone.
   */
  async update(tenantId: string, id: string, expectedVersion: number, fields: ConfigurationFields): Promise<ConfigurationRecord> {
    const where = { id: checkUuid(id, 'id'), tenantId: checkUuid(tenantId, 'tenantId') };
    const data = changes(fields);
    if (Object.keys(data).length === 0) throw badInput('give at least one field to change', 'input');
    const [row] = await mapErrors(() =>
      this.prisma.agentConfiguration.updateManyAndReturn({ where: { ...where, version: expectedVersion }, data }),
    );
    if (!row) throw await this.missing(where, expectedVersion);
    this.events.written();
    return toRecord(row, await this.agentIdOf(row.manifestId));
  }

  /**
   * Deletes the configuration (its live instances are deregistered by trigger). With
   * `expectedVersion`, CONFLICT when it changed since: the delete's own count decides.
   */
  async delete(tenantId: string, id: string, expectedVersion?: number | null): Promise<DeletedConfigurationRecord> {
    const where = { id: checkUuid(id, 'id'), tenantId: checkUuid(tenantId, 'tenantId') };
    const current = await mapErrors(() => this.prisma.agentConfiguration.findFirst({ where, include: WITH_AGENT_ID }));
    if (!current) throw notFound(`configuration ${id}`);
    const { count } = await mapErrors(() =>
      this.prisma.agentConfiguration.deleteMany({ where: { ...where, version: expectedVersion ?? undefined } }),
    );
    if (count === 0) throw await this.missing(where, expectedVersion ?? null);
    this.events.written();
    return { id: current.id, agentId: current.manifest.agentId };
  }

  /** The agentId of a manifest (fixed for its lifetime; a manifest in use cannot be deleted). */
  private async agentIdOf(manifestId: string): Promise<string> {
    const manifest = await mapErrors(() =>
      this.prisma.agentManifest.findUniqueOrThrow({ where: { id: manifestId }, select: { agentId: true } }),
    );
    return manifest.agentId;
  }

  private async missing(where: { id: string; tenantId: string }, expectedVersion: number | null) {
    const current = await mapErrors(() => this.prisma.agentConfiguration.findFirst({ where, select: { version: true } }));
    if (!current) return notFound(`configuration ${where.id}`);
    return conflict(
      `configuration ${where.id} is at version ${current.version}, not ${expectedVersion}: read it again and retry`,
      { currentVersion: current.version, field: 'expectedVersion' },
    );
  }
}
