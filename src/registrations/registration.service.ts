import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { RegistrationRow } from '../db/registry-sql';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { type ScalingRow, toScalingRecommendation } from '../scaling/scaling.service';
import type { AgentSummary } from './agent-summary.type';
import { badInput } from '../errors';
import { type RegistrationFilter, type RegistrationOrder, RegistrationSortField, SortDirection } from './registration.input';
import type { HealthStatus, Registration, RegistrationStatus } from './registration.type';

const SELECT = `select r.id, r.tenant_id, r.instance_id, m.agent_id, m.agent_type, r.manifest_id, r.configuration_id,
  r.name, r.registration_status, r.health_status, r.last_health_check, r.connection_details, r.runtime_config,
  r.capabilities, r.current_workload, r.reconnect_count, r.registered_at, r.deregistered_at, r.updated_at,
  r.reported_health, r.reported_health_streak
  from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id`;

/** A registration row as the GraphQL type. */
export const toRegistration = (row: RegistrationRow): Registration => ({
  id: row.id,
  tenantId: row.tenant_id,
  instanceId: row.instance_id,
  agentId: row.agent_id,
  agentType: row.agent_type,
  manifestId: row.manifest_id,
  configurationId: row.configuration_id,
  name: row.name,
  // the GraphQL enums have exactly the database's values
  registrationStatus: row.registration_status as RegistrationStatus,
  healthStatus: row.health_status as HealthStatus,
  lastHealthCheck: row.last_health_check,
  connectionDetails: row.connection_details,
  runtimeConfig: row.runtime_config,
  capabilities: row.capabilities,
  currentWorkload: row.current_workload,
  reconnectCount: row.reconnect_count,
  registeredAt: row.registered_at,
  deregisteredAt: row.deregistered_at,
  updatedAt: row.updated_at,
  reportedHealth: row.reported_health as HealthStatus | null,
  reportedHealthStreak: row.reported_health_streak,
});

interface SummaryRow {
  agent_id: string;
  agent_type: string;
  configuration_id: string;
  name: string;
  enabled: boolean;
  active: number;
  stale: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  disconnected: number;
  unknown: number;
  last_seen_at: Date | null;
  /** The stored scaling recommendation (null when not computed yet). */
  scaling: ScalingRow | null;
}

/** The SQL of each sort field: the column and the type its cursor value is cast back to. */
const SORT_COLUMNS: Record<RegistrationSortField, { column: string; type: string }> = {
  instanceId: { column: 'r.instance_id', type: 'text' },
  agentId: { column: 'm.agent_id', type: 'text' },
  healthStatus: { column: 'r.health_status', type: 'mcp.health_status' },
  lastHealthCheck: { column: 'r.last_health_check', type: 'timestamptz' },
  registeredAt: { column: 'r.registered_at', type: 'timestamptz' },
};

/** The position a cursor stands for; BAD_USER_INPUT for a cursor of another order or a forged one. */
function decodeSortKey(key: string, order: RegistrationOrder): { value: string; instanceId: string } {
  if (order.field === RegistrationSortField.instanceId && order.direction === SortDirection.asc) {
    return { value: key, instanceId: key };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== order.field ||
    parsed[1] !== order.direction ||
    typeof parsed[2] !== 'string' ||
    typeof parsed[3] !== 'string'
  ) {
    throw badInput('after is not a cursor of this order (it was returned for another orderBy, or not by this API)', 'after');
  }
  const value = parsed[2];
  // the value is cast in SQL: check it here so a forged one is a BAD_USER_INPUT, not a cast error
  if (SORT_COLUMNS[order.field].type === 'timestamptz' && Number.isNaN(Date.parse(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))) {
    throw badInput('after is not a cursor this API returned', 'after');
  }
  if (order.field === RegistrationSortField.healthStatus && !['healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown'].includes(value)) {
    throw badInput('after is not a cursor this API returned', 'after');
  }
  return { value, instanceId: parsed[3] };
}

/** Read side of the registrations of one tenant. Writes go through AgentLifecycleService. */
export class RegistrationService {
  constructor(private readonly db: Queryable) {}

  /**
   * One page of the tenant's registrations matching every filter, in `order` (default:
   * instanceId ascending). Keyset paging on (sort column, instanceId): instanceId is unique
   * per tenant, so cursors stay stable as rows change. The cursor carries the sort value as
   * PostgreSQL text (full timestamp precision) and is refused under another order.
   */
  async list(
    tenantId: string,
    filter: RegistrationFilter,
    page: PageRequest,
    order: RegistrationOrder = { field: RegistrationSortField.instanceId, direction: SortDirection.asc },
  ): Promise<Page<Registration>> {
    const sort = SORT_COLUMNS[order.field];
    const desc = order.direction === SortDirection.desc;
    const after = page.afterKey === null ? null : decodeSortKey(page.afterKey, order);
    return mapErrors(async () => {
      const where = `r.tenant_id = $1
        and ($2::text is null or m.agent_id = $2)
        and ($3::mcp.registration_status is null or r.registration_status = $3)
        and ($4::mcp.health_status is null or r.health_status = $4)
        and ($5::text is null or r.instance_id = $5)
        and ($6::text is null or r.instance_id ilike $6 escape '\\')`;
      const params = [
        tenantId,
        filter.agentId ?? null,
        filter.registrationStatus ?? null,
        filter.healthStatus ?? null,
        filter.instanceId ?? null,
        filter.instanceIdContains ? `%${filter.instanceIdContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
      ];
      const direction = desc ? 'desc' : 'asc';
      const rows = await this.db.query<RegistrationRow & { sort_key: string }>(
        `${SELECT.replace('select ', `select (${sort.column})::text as sort_key, `)}
         where ${where}
           and ($7::text is null or (${sort.column}, r.instance_id) ${desc ? '<' : '>'} ($7::${sort.type}, $8::text))
         order by ${sort.column} ${direction}, r.instance_id ${direction} limit $9`,
        [...params, after?.value ?? null, after?.instanceId ?? null, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.agent_registrations r
         join mcp.agent_manifests m on m.id = r.manifest_id where ${where}`,
        params,
      );
      const keys = new Map(rows.map((row) => [row.instance_id, row.sort_key]));
      return toPage(rows.map(toRegistration), page, count, (r) =>
        order.field === RegistrationSortField.instanceId && !desc
          ? r.instanceId // the original cursor format: cursors of the default order stay valid
          : JSON.stringify([order.field, order.direction, keys.get(r.instanceId), r.instanceId]),
      );
    });
  }

  /** One registration of the tenant by instanceId, or null. */
  async findByInstance(tenantId: string, instanceId: string): Promise<Registration | null> {
    const [row] = await mapErrors(() =>
      this.db.query<RegistrationRow>(`${SELECT} where r.tenant_id = $1 and r.instance_id = $2`, [tenantId, instanceId]),
    );
    return row ? toRegistration(row) : null;
  }

  /** Per configured agent: active and stale counts, active instances by health, last seen. Ordered by agentId. */
  async summaries(tenantId: string, page: PageRequest): Promise<Page<AgentSummary>> {
    return mapErrors(async () => {
      const rows = await this.db.query<SummaryRow>(
        `select m.agent_id, m.agent_type, c.id as configuration_id, c.name, c.enabled,
           count(r.id) filter (where r.registration_status = 'active')::int as active,
           count(r.id) filter (where r.registration_status = 'stale')::int as stale,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'healthy')::int as healthy,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'degraded')::int as degraded,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'unhealthy')::int as unhealthy,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'disconnected')::int as disconnected,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'unknown')::int as unknown,
           max(r.last_health_check) as last_seen_at,
           case when s.configuration_id is not null then to_jsonb(s) end as scaling
         from mcp.agent_configurations c
         join mcp.agent_manifests m on m.id = c.manifest_id
         left join mcp.agent_registrations r on r.configuration_id = c.id and r.tenant_id = c.tenant_id
         left join mcp.scaling_recommendations s on s.configuration_id = c.id and s.tenant_id = c.tenant_id
         where c.tenant_id = $1 and ($2::text is null or m.agent_id > $2)
         group by c.id, m.agent_id, m.agent_type, s.configuration_id
         order by m.agent_id limit $3`,
        [tenantId, page.afterKey, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.agent_configurations where tenant_id = $1`,
        [tenantId],
      );
      const summaries = rows.map(
        (row): AgentSummary => ({
          agentId: row.agent_id,
          agentType: row.agent_type,
          configurationId: row.configuration_id,
          name: row.name,
          enabled: row.enabled,
          activeCount: row.active,
          staleCount: row.stale,
          byHealth: {
            healthy: row.healthy,
            degraded: row.degraded,
            unhealthy: row.unhealthy,
            disconnected: row.disconnected,
            unknown: row.unknown,
          },
          lastSeenAt: row.last_seen_at,
          // through jsonb the timestamps arrive as text
          scaling: row.scaling
            ? toScalingRecommendation({
                ...row.scaling,
                computed_at: new Date(row.scaling.computed_at),
                changed_at: new Date(row.scaling.changed_at),
              })
            : null,
        }),
      );
      return toPage(summaries, page, count, (s) => s.agentId);
    });
  }
}
