import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { badInput, conflict, notFound } from '../errors';
import type { EventFeed } from '../events/types';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { checkUuid } from '../graphql/uuid';
import type { ConfigurationFields } from './configuration.input';
import type { Configuration, DeletedConfiguration } from './configuration.type';

interface ConfigurationRow {
  id: string;
  tenant_id: string;
  manifest_id: string;
  agent_id: string;
  name: string;
  model_id: string;
  temperature: number;
  max_tokens: number;
  system_prompt: string;
  max_workload: number;
  health_change_threshold: number;
  enabled: boolean;
  settings: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `c.id, c.tenant_id, c.manifest_id, c.name, c.model_id, c.temperature, c.max_tokens, c.system_prompt,
  c.max_workload, c.health_change_threshold, c.enabled, c.settings, c.version, c.created_at, c.updated_at`;
const AGENT_ID = `(select m.agent_id from mcp.agent_manifests m where m.id = c.manifest_id) as agent_id`;

/** Input field → column, and how its parameter is typed. */
const FIELDS: ReadonlyArray<[keyof ConfigurationFields, string, string]> = [
  ['name', 'name', 'text'],
  ['modelId', 'model_id', 'text'],
  ['temperature', 'temperature', 'double precision'],
  ['maxTokens', 'max_tokens', 'integer'],
  ['systemPrompt', 'system_prompt', 'text'],
  ['maxWorkload', 'max_workload', 'integer'],
  ['healthChangeThreshold', 'health_change_threshold', 'integer'],
  ['enabled', 'enabled', 'boolean'],
  ['settings', 'settings', 'jsonb'],
];

const toConfiguration = (row: ConfigurationRow): Configuration => ({
  id: row.id,
  tenantId: row.tenant_id,
  agentId: row.agent_id,
  manifestId: row.manifest_id,
  name: row.name,
  modelId: row.model_id,
  temperature: row.temperature,
  maxTokens: row.max_tokens,
  systemPrompt: row.system_prompt,
  maxWorkload: row.max_workload,
  healthChangeThreshold: row.health_change_threshold,
  enabled: row.enabled,
  settings: row.settings,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** The given fields as (column, parameter) pairs, parameters numbered from `first`. */
function assignments(fields: ConfigurationFields, first: number): { columns: string[]; params: string[]; values: unknown[] } {
  const columns: string[] = [];
  const params: string[] = [];
  const values: unknown[] = [];
  for (const [key, column, type] of FIELDS) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    columns.push(column);
    params.push(`$${first + values.length}::${type}`);
    values.push(type === 'jsonb' ? JSON.stringify(value) : value);
  }
  return { columns, params, values };
}

/**
 * A tenant's configurations of agent types. Every method is scoped to `tenantId`: a row
 * of another tenant is NOT_FOUND. Writes bump `version` (by trigger) and write a
 * configuration_changed event in the same statement; the feed is woken after commit.
 */
export class ConfigurationService {
  constructor(
    private readonly db: Queryable,
    private readonly events: EventFeed,
  ) {}

  /** Ordered by agentId. */
  async list(
    tenantId: string,
    page: PageRequest,
    filter: { agentId?: string | null; enabled?: boolean | null } = {},
  ): Promise<Page<Configuration>> {
    return mapErrors(async () => {
      const where = `c.tenant_id = $1 and ($2::text is null or m.agent_id = $2) and ($3::boolean is null or c.enabled = $3)`;
      const params = [tenantId, filter.agentId ?? null, filter.enabled ?? null];
      const rows = await this.db.query<ConfigurationRow>(
        `select ${COLUMNS}, m.agent_id from mcp.agent_configurations c
         join mcp.agent_manifests m on m.id = c.manifest_id
         where ${where} and ($4::text is null or m.agent_id > $4)
         order by m.agent_id limit $5`,
        [...params, page.afterKey, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.agent_configurations c
         join mcp.agent_manifests m on m.id = c.manifest_id where ${where}`,
        params,
      );
      return toPage(rows.map(toConfiguration), page, count, (c) => c.agentId);
    });
  }

  /** The configuration, or null (also for another tenant's). */
  async find(tenantId: string, id: string): Promise<Configuration | null> {
    const [row] = await mapErrors(() =>
      this.db.query<ConfigurationRow>(
        `select ${COLUMNS}, ${AGENT_ID} from mcp.agent_configurations c where c.id = $1 and c.tenant_id = $2`,
        [checkUuid(id, 'id'), tenantId],
      ),
    );
    return row ? toConfiguration(row) : null;
  }

  /** NOT_FOUND when the manifest does not exist, CONFLICT when the tenant already configures it. */
  async create(tenantId: string, agentId: string, fields: ConfigurationFields): Promise<Configuration> {
    const set = assignments(fields, 3);
    // the manifest's name unless the admin gave one
    const name = set.columns.includes('name') ? '' : ', name';
    const [row] = await mapErrors(() =>
      this.db.query<ConfigurationRow>(
        `insert into mcp.agent_configurations as c (tenant_id, manifest_id${name}${set.columns.map((c) => `, ${c}`).join('')})
         select $1::uuid, m.id${name ? ', m.name' : ''}${set.params.map((p) => `, ${p}`).join('')}
         from mcp.agent_manifests m where m.agent_id = $2
         on conflict (tenant_id, manifest_id) do nothing
         returning ${COLUMNS}, ${AGENT_ID}`,
        [tenantId, agentId, ...set.values],
      ),
    );
    if (!row) {
      const [manifest] = await this.db.query(`select 1 from mcp.agent_manifests where agent_id = $1`, [agentId]);
      if (!manifest) throw notFound(`manifest ${agentId}`);
      throw conflict(`agent ${agentId} is already configured for this tenant; update that configuration`, { field: 'agentId' });
    }
    this.events.written();
    return toConfiguration(row);
  }

  /**
   * Writes the given fields in one statement guarded by `expectedVersion`: CONFLICT (with
   * `extensions.currentVersion`) when the row changed since, NOT_FOUND when it is gone.
   */
  async update(tenantId: string, id: string, expectedVersion: number, fields: ConfigurationFields): Promise<Configuration> {
    const configurationId = checkUuid(id, 'id');
    const set = assignments(fields, 4);
    if (set.columns.length === 0) throw badInput('give at least one field to change', 'input');
    const [row] = await mapErrors(() =>
      this.db.query<ConfigurationRow>(
        `update mcp.agent_configurations c
         set ${set.columns.map((column, i) => `${column} = ${set.params[i]}`).join(', ')}
         where c.id = $1 and c.tenant_id = $2 and c.version = $3
         returning ${COLUMNS}, ${AGENT_ID}`,
        [configurationId, tenantId, expectedVersion, ...set.values],
      ),
    );
    if (!row) throw await this.missing(tenantId, configurationId, expectedVersion);
    this.events.written();
    return toConfiguration(row);
  }

  /**
   * Deletes the configuration (its live instances are deregistered by trigger). With
   * `expectedVersion`, CONFLICT when it changed since.
   */
  async delete(tenantId: string, id: string, expectedVersion?: number | null): Promise<DeletedConfiguration> {
    const configurationId = checkUuid(id, 'id');
    const [row] = await mapErrors(() =>
      this.db.query<{ id: string; agent_id: string }>(
        `delete from mcp.agent_configurations c
         where c.id = $1 and c.tenant_id = $2 and ($3::integer is null or c.version = $3)
         returning c.id, ${AGENT_ID}`,
        [configurationId, tenantId, expectedVersion ?? null],
      ),
    );
    if (!row) throw await this.missing(tenantId, configurationId, expectedVersion ?? null);
    this.events.written();
    return { id: row.id, agentId: row.agent_id };
  }

  private async missing(tenantId: string, id: string, expectedVersion: number | null) {
    const [current] = await this.db.query<{ version: number }>(
      `select version from mcp.agent_configurations where id = $1 and tenant_id = $2`,
      [id, tenantId],
    );
    if (!current) return notFound(`configuration ${id}`);
    return conflict(
      `configuration ${id} is at version ${current.version}, not ${expectedVersion}: read it again and retry`,
      { currentVersion: current.version, field: 'expectedVersion' },
    );
  }
}
