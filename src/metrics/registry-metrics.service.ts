import type { Queryable } from '../db/client';
import type { RegistryMetrics } from './registry-metrics';
import type { RegistryMetricsSnapshot } from './registry-metrics.type';

/** The registry figures of one tenant, read from the database (the same in every process). */
export class RegistryMetricsService {
  constructor(
    private readonly db: Queryable,
    private readonly metrics: RegistryMetrics,
  ) {}

  async snapshot(tenantId: string): Promise<RegistryMetricsSnapshot> {
    const [byType, [totals], heartbeat] = await Promise.all([
      this.db.query<{ agent_type: string; count: number }>(
        `select m.agent_type, count(*)::integer as count
         from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
         where r.tenant_id = $1 and r.registration_status = 'active'
         group by m.agent_type order by m.agent_type`,
        [tenantId],
      ),
      this.db.query<{
        active: number;
        stale: number;
        deregistered: number;
        reconnections: number;
        registered: number;
        held: boolean;
      }>(
        `select
           count(*) filter (where r.registration_status = 'active')::integer as active,
           count(*) filter (where r.registration_status = 'stale')::integer as stale,
           count(*) filter (where r.registration_status = 'deregistered')::integer as deregistered,
           coalesce(sum(r.reconnect_count), 0)::integer as reconnections,
           (select count(*)::integer from mcp.registration_events e
            where e.tenant_id = $1 and e.kind = 'registered' and e.occurred_at > now() - interval '1 hour') as registered,
           exists (select 1 from mcp.sweep_holds h where h.tenant_id = $1) as held
         from mcp.agent_registrations r where r.tenant_id = $1`,
        [tenantId],
      ),
      this.metrics.heartbeatDuration.get(),
    ]);
    let count = 0;
    let sum = 0;
    for (const value of heartbeat.values) {
      if (value.metricName === 'agent_registry_heartbeat_duration_seconds_count') count += value.value;
      if (value.metricName === 'agent_registry_heartbeat_duration_seconds_sum') sum += value.value;
    }
    return {
      activeByAgentType: byType.map((row) => ({ agentType: row.agent_type, count: row.count })),
      active: totals.active,
      stale: totals.stale,
      deregistered: totals.deregistered,
      reconnections: totals.reconnections,
      registrationsLastHour: totals.registered,
      selfPreservationHeld: totals.held,
      heartbeatLatency: { count, meanSeconds: count > 0 ? sum / count : null },
    };
  }
}
