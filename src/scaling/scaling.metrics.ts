import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../db/client';

interface GaugeRow {
  tenant_id: string;
  agent_id: string;
  desired: number;
  utilisation: number;
}

/**
 * The scaling signal as gauges an HPA / KEDA external-metrics setup can scrape, read from
 * mcp.scaling_recommendations at scrape time (the same in every process):
 * - agent_registry_desired_instances{tenant_id, agent_id}  the recommended instance count
 * - agent_registry_utilisation{tenant_id, agent_id}        workload / capacity
 * Labelled by tenant id, never by tenant name.
 */
export function registerScalingGauges(registry: Registry, db: Queryable): void {
  // both gauges are collected in one scrape: they share one query
  let reading: Promise<GaugeRow[]> | null = null;
  const rows = () => {
    reading ??= db
      .query<GaugeRow>(
        `select s.tenant_id, m.agent_id, s.desired, s.utilisation
         from mcp.scaling_recommendations s
         join mcp.agent_configurations c on c.id = s.configuration_id
         join mcp.agent_manifests m on m.id = c.manifest_id`,
      )
      .finally(() => {
        reading = null;
      });
    return reading;
  };
  const labelNames = ['tenant_id', 'agent_id'] as const;
  new Gauge({
    name: 'agent_registry_desired_instances',
    help: 'Scaling signal: recommended instances per configuration (HPA formula, tolerance band, scale-down stabilisation).',
    labelNames,
    registers: [registry],
    async collect() {
      const current = await rows();
      // reset first: a deleted configuration's series disappears
      this.reset();
      for (const row of current) this.set({ tenant_id: row.tenant_id, agent_id: row.agent_id }, row.desired);
    },
  });
  new Gauge({
    name: 'agent_registry_utilisation',
    help: 'Scaling signal: sum of current workload / (active instances × max_workload) per configuration.',
    labelNames,
    registers: [registry],
    async collect() {
      const current = await rows();
      this.reset();
      for (const row of current) this.set({ tenant_id: row.tenant_id, agent_id: row.agent_id }, row.utilisation);
    },
  });
}
