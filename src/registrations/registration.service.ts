import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { RegistrationRow } from '../db/registry-sql';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import { type ScalingRow, toScalingRecommendation } from '../scaling/scaling.service';
import type { AgentSummary } from './agent-summary.type';
import type { RegistrationFilter } from './registration.input';
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

/** Read side of the registrations of one tenant. Writes go through AgentLifecycleService. */
export class RegistrationService {
  constructor(private readonly db: Queryable) {}

  /** Ordered by instanceId (unique per tenant), so cursors stay stable as rows change. */
  async list(tenantId: string, filter: RegistrationFilter, page: PageRequest): Promise<Page<Registration>> {
    return mapErrors(async () => {
      const where = `r.tenant_id = $1
        and ($2::text is null or m.agent_id = $2)
        and ($3::mcp.registration_status is null or r.registration_status = $3)
        and ($4::mcp.health_status is null or r.health_status = $4)
        and ($5::text is null or r.instance_id = $5)`;
      const params = [
        tenantId,
        filter.agentId ?? null,
        filter.registrationStatus ?? null,
        filter.healthStatus ?? null,
        filter.instanceId ?? null,
      ];
      const rows = await this.db.query<RegistrationRow>(
        `${SELECT} where ${where} and ($6::text is null or r.instance_id > $6) order by r.instance_id limit $7`,
        [...params, page.afterKey, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.agent_registrations r
         join mcp.agent_manifests m on m.id = r.manifest_id where ${where}`,
        params,
      );
      return toPage(rows.map(toRegistration), page, count, (r) => r.instanceId);
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
