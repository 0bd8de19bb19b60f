import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { ScalingRecommendation } from './scaling.type';

/** The columns of mcp.scaling_recommendations a {@link ScalingRecommendation} is read from. */
export interface ScalingRow {
  configuration_id: string;
  active: number;
  workload: string | number;
  capacity: string | number;
  utilisation: number;
  target_utilisation: number;
  proposed: number;
  desired: number;
  computed_at: Date;
  changed_at: Date;
}

/** A stored recommendation as the GraphQL type. */
export const toScalingRecommendation = (row: ScalingRow): ScalingRecommendation => ({
  activeInstances: row.active,
  // bigint columns arrive as strings from pg
  workload: Number(row.workload),
  capacity: Number(row.capacity),
  utilisation: row.utilisation,
  targetUtilisation: row.target_utilisation,
  proposedInstances: row.proposed,
  desiredInstances: row.desired,
  computedAt: row.computed_at,
  changedAt: row.changed_at,
});

interface Batch {
  ids: Set<string>;
  result: Promise<Map<string, ScalingRecommendation>>;
}

/**
 * Reads the stored scaling recommendations (written by mcp.recommend_scaling, see
 * ScalingRecommender), always within one tenant. Lookups made in the same tick for the
 * same tenant — the `scaling` field of every configuration of a page — share one query.
 */
export class ScalingService {
  private readonly batches = new Map<string, Batch>();

  constructor(private readonly db: Queryable) {}

  /** The recommendation of the tenant's configuration, or null (not computed yet, or another tenant's). */
  async forConfiguration(tenantId: string, configurationId: string): Promise<ScalingRecommendation | null> {
    let batch = this.batches.get(tenantId);
    if (!batch) {
      const ids = new Set<string>();
      const result = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
        this.batches.delete(tenantId);
        return this.read(tenantId, [...ids]);
      });
      batch = { ids, result };
      this.batches.set(tenantId, batch);
    }
    batch.ids.add(configurationId);
    return (await batch.result).get(configurationId) ?? null;
  }

  private async read(tenantId: string, configurationIds: string[]): Promise<Map<string, ScalingRecommendation>> {
    const rows = await mapErrors(() =>
      this.db.query<ScalingRow>(
        `select s.configuration_id, s.active, s.workload, s.capacity, s.utilisation, s.target_utilisation,
                s.proposed, s.desired, s.computed_at, s.changed_at
         from mcp.scaling_recommendations s
         where s.tenant_id = $1 and s.configuration_id = any($2::uuid[])`,
        [tenantId, configurationIds],
      ),
    );
    return new Map(rows.map((row) => [row.configuration_id, toScalingRecommendation(row)]));
  }
}
