import type { Queryable } from './client';
import { mapErrors } from './errors';

/** The scaling knobs of mcp.recommend_scaling (HPA's target, tolerance and scale-down window). */
export interface ScalingOptions {
  /** Target utilisation, greater than 0 (HPA's target average). */
  targetUtilisation: number;
  /** Tolerance band around the target within which nothing changes, e.g. 0.1. */
  tolerance: number;
  /** Scale-down stabilisation window: the recommendation is the highest proposal within it. */
  stabilisationMs: number;
  /** Default: the database's clock. */
  now?: Date;
}

/** One configuration's computation. */
export interface ScalingComputation {
  tenantId: string;
  configurationId: string;
  agentId: string;
  active: number;
  utilisation: number;
  /** HPA's count of this computation, before stabilisation. */
  proposed: number;
  /** The recommendation: the highest proposal within the stabilisation window. */
  desired: number;
  /** The recommendation before (for a first computation, the active count). */
  previousDesired: number;
  /** desired differs from previousDesired: a scaling_recommended event was written. */
  changed: boolean;
}

/**
 * mcp.recommend_scaling: computes and stores the recommendation of every configuration.
 * Empty when another process is computing at this moment.
 */
export async function recommendScaling(db: Queryable, options: ScalingOptions): Promise<ScalingComputation[]> {
  const rows = await mapErrors(() =>
    db.query<{
      tenant_id: string;
      configuration_id: string;
      agent_id: string;
      active: number;
      utilisation: number;
      proposed: number;
      desired: number;
      previous_desired: number;
      changed: boolean;
    }>(
      `select * from mcp.recommend_scaling(
         coalesce($1::timestamptz, now()), $2::double precision, $3::double precision,
         $4::double precision * interval '1 millisecond')`,
      [options.now ?? null, options.targetUtilisation, options.tolerance, options.stabilisationMs],
    ),
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    configurationId: row.configuration_id,
    agentId: row.agent_id,
    active: row.active,
    utilisation: row.utilisation,
    proposed: row.proposed,
    desired: row.desired,
    previousDesired: row.previous_desired,
    changed: row.changed,
  }));
}
