import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { conflict, notFound } from '../errors';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import type { CreateManifestInput, UpdateManifestInput } from './manifest.input';
import type { Manifest } from './manifest.type';

interface ManifestRow {
  id: string;
  agent_id: string;
  agent_type: string;
  name: string;
  description: string;
  capabilities: string[];
  version: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `m.id, m.agent_id, m.agent_type, m.name, m.description, m.capabilities, m.version, m.created_at, m.updated_at`;

const toManifest = (row: ManifestRow): Manifest => ({
  id: row.id,
  agentId: row.agent_id,
  agentType: row.agent_type,
  name: row.name,
  description: row.description,
  capabilities: row.capabilities,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** The agent types (shared by all tenants). Operators write them; every role reads them. */
export class ManifestService {
  constructor(private readonly db: Queryable) {}

  /** Ordered by agentId. */
  async list(page: PageRequest, filter: { agentType?: string | null } = {}): Promise<Page<Manifest>> {
    return mapErrors(async () => {
      const rows = await this.db.query<ManifestRow>(
        `select ${COLUMNS} from mcp.agent_manifests m
         where ($1::text is null or m.agent_type = $1) and ($2::text is null or m.agent_id > $2)
         order by m.agent_id limit $3`,
        [filter.agentType ?? null, page.afterKey, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.agent_manifests m where ($1::text is null or m.agent_type = $1)`,
        [filter.agentType ?? null],
      );
      return toPage(rows.map(toManifest), page, count, (m) => m.agentId);
    });
  }

  /** The manifest of `agentId`, or null. */
  async find(agentId: string): Promise<Manifest | null> {
    const [row] = await mapErrors(() =>
      this.db.query<ManifestRow>(`select ${COLUMNS} from mcp.agent_manifests m where m.agent_id = $1`, [agentId]),
    );
    return row ? toManifest(row) : null;
  }

  /** CONFLICT when the agentId exists. */
  async create(input: CreateManifestInput): Promise<Manifest> {
    const [row] = await mapErrors(() =>
      this.db.query<ManifestRow>(
        `insert into mcp.agent_manifests as m (agent_id, agent_type, name, description, capabilities, version)
         values ($1, $2, $3, coalesce($4, ''), coalesce($5::text[], '{}'), coalesce($6, '0.0.0'))
         on conflict (agent_id) do nothing
         returning ${COLUMNS}`,
        [input.agentId, input.agentType, input.name, input.description ?? null, input.capabilities ?? null, input.version ?? null],
      ),
    );
    if (!row) throw conflict(`a manifest with agentId ${input.agentId} already exists`, { field: 'agentId' });
    return toManifest(row);
  }

  /** Writes the given fields; NOT_FOUND for an unknown agentId. */
  async update(input: UpdateManifestInput): Promise<Manifest> {
    const [row] = await mapErrors(() =>
      this.db.query<ManifestRow>(
        `update mcp.agent_manifests m set
           agent_type = coalesce($2, m.agent_type),
           name = coalesce($3, m.name),
           description = coalesce($4, m.description),
           capabilities = coalesce($5::text[], m.capabilities),
           version = coalesce($6, m.version),
           updated_at = now()
         where m.agent_id = $1
         returning ${COLUMNS}`,
        [
          input.agentId,
          input.agentType ?? null,
          input.name ?? null,
          input.description ?? null,
          input.capabilities ?? null,
          input.version ?? null,
        ],
      ),
    );
    if (!row) throw notFound(`manifest ${input.agentId}`);
    return toManifest(row);
  }
}
