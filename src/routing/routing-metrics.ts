import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Queryable } from '../db/client';

/**
 * Routing metrics, in the registry's prom-client registry:
 * - agent_registry_ejected_instances{tenant_id, agent_id}  gauge, read from the database:
 *   active instances ejected by circuit breaking (open or half-open); the same in every process
 * - agent_registry_picks_total{result}                       counter: picked / none
 * - agent_registry_pick_duration_seconds                     histogram of pickInstance's SQL
 * - agent_registry_instance_outcomes_total{outcome}          counter of reports by outcome
 * - agent_registry_outcome_batch_size                        histogram: reports per statement
 * Series carry tenant ids, never names (see METRICS_TOKEN for protecting /metrics).
 */
export class RoutingMetrics {
  readonly picks: Counter<'result'>;
  readonly pickDuration: Histogram;
  readonly outcomes: Counter<'outcome'>;
  readonly outcomeBatchSize: Histogram;

  constructor(registry: Registry, db: Queryable) {
    const registers = [registry];
    this.picks = new Counter({
      name: 'agent_registry_picks_total',
      help: 'pickInstance calls by result (picked, none: NO_HEALTHY_INSTANCE).',
      labelNames: ['result'],
      registers,
    });
    this.pickDuration = new Histogram({
      name: 'agent_registry_pick_duration_seconds',
      help: 'pickInstance database round trip.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.outcomes = new Counter({
      name: 'agent_registry_instance_outcomes_total',
      help: 'Outcome reports stored, by outcome (success, failure, timeout).',
      labelNames: ['outcome'],
      registers,
    });
    this.outcomeBatchSize = new Histogram({
      name: 'agent_registry_outcome_batch_size',
      help: 'Outcome reports written per group-commit statement.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    });
    new Gauge({
      name: 'agent_registry_ejected_instances',
      help: 'Active instances ejected by circuit breaking (open or half-open), per tenant id and agent.',
      labelNames: ['tenant_id', 'agent_id'],
      registers,
      async collect() {
        const rows = await db.query<{ tenant_id: string; agent_id: string; count: number }>(
          `select c.tenant_id, m.agent_id, count(*)::integer as count
           from mcp.instance_circuits c
           join mcp.agent_registrations r on r.id = c.registration_id
           join mcp.agent_manifests m on m.id = r.manifest_id
           where c.ejected_until is not null and r.registration_status = 'active'
           group by c.tenant_id, m.agent_id`,
        );
        this.reset();
        for (const row of rows) this.set({ tenant_id: row.tenant_id, agent_id: row.agent_id }, row.count);
      },
    });
  }
}
