import { textArrayLiteral } from '../db/array-literal';
import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { HealthStatus } from '../db/registry-sql';

/**
 * Typed wrappers of the routing SQL functions (prisma/migrations/*_routing): picking an
 * instance and reporting outcomes. `now` defaults to the database's clock; tests pass theirs.
 */

export interface PickRequest {
  tenantId: string;
  agentId: string;
  /** Consistent hashing with bounded loads when given. */
  affinityKey?: string | null;
  /** Instance ids not to pick (e.g. the ones a caller already tried). */
  exclude?: string[];
  /** Capabilities the instance must have (all of them). */
  capabilities?: string[];
  /** Fallbacks to return after the chosen instance. */
  fallbacks: number;
  /** ε of the load bound ceil((1 + ε) × average). */
  epsilon: number;
  probeTimeoutMs: number;
  now?: Date;
}

/** Instances of the agent by the first reason each one could not be picked. */
export interface PickCounts {
  /** Active and stale instances of the agent in the tenant. */
  instances: number;
  active: number;
  excluded: number;
  /** Active but disconnected (socket closed) or of unknown health. */
  disconnected: number;
  /** Ejected by circuit breaking, or half-open with its probe in flight. */
  ejected: number;
  missingCapabilities: number;
  /** current_workload at or above the configuration's max_workload. */
  overloaded: number;
  eligible: number;
}

export interface PickedRow {
  registrationId: string;
  instanceId: string;
  healthStatus: HealthStatus;
  currentWorkload: number;
  maxWorkload: number;
  connectionDetails: Record<string, unknown>;
}

export interface PickOutcome {
  /** Null when no instance is eligible (see counts). */
  chosen: PickedRow | null;
  /** The order to try others in, if the chosen one fails. */
  fallbacks: PickedRow[];
  /** The chosen instance is half-open: this request is its one probe; report its outcome. */
  probe: boolean;
  /** With an affinity key: the load bound ceil((1 + ε) × (sum of loads + 1) / instances). */
  capacity: number | null;
  counts: PickCounts;
}

interface PickSqlRow {
  rank: number | null;
  registration_id: string | null;
  instance_id: string | null;
  health_status: HealthStatus | null;
  current_workload: number | null;
  max_workload: number | null;
  connection_details: Record<string, unknown> | null;
  probe: boolean;
  capacity: number | null;
  instances: number;
  active: number;
  excluded: number;
  disconnected: number;
  ejected: number;
  missing_capabilities: number;
  overloaded: number;
  eligible: number;
}

const PICK_SQL = `select * from mcp.pick_instance($1, $2, $3, $4::text[], $5::text[], $6, $7,
  $8::double precision * interval '1 millisecond', $9)`;

/** mcp.pick_instance: one round trip. NOT_FOUND for an unknown agent, AGENT_DISABLED for a disabled one. */
export async function pickInstance(db: Queryable, request: PickRequest): Promise<PickOutcome> {
  const rows = await mapErrors(() =>
    db.query<PickSqlRow>(
      PICK_SQL,
      [
        request.tenantId,
        request.agentId,
        request.affinityKey ?? null,
        request.exclude ?? [],
        request.capabilities ?? [],
        request.fallbacks,
        request.epsilon,
        request.probeTimeoutMs,
        request.now ?? null,
      ],
      'mcp.pick_instance',
    ),
  );
  const first = rows[0];
  const picked = rows.filter((row) => row.rank !== null).map(toPicked);
  return {
    chosen: picked[0] ?? null,
    fallbacks: picked.slice(1),
    probe: first.rank === 0 && first.probe,
    capacity: first.rank === null ? null : first.capacity,
    counts: {
      instances: first.instances,
      active: first.active,
      excluded: first.excluded,
      disconnected: first.disconnected,
      ejected: first.ejected,
      missingCapabilities: first.missing_capabilities,
      overloaded: first.overloaded,
      eligible: first.eligible,
    },
  };
}

const toPicked = (row: PickSqlRow): PickedRow => ({
  registrationId: row.registration_id!,
  instanceId: row.instance_id!,
  healthStatus: row.health_status!,
  currentWorkload: row.current_workload!,
  maxWorkload: row.max_workload!,
  connectionDetails: row.connection_details ?? {},
});

export type InstanceOutcome = 'success' | 'failure' | 'timeout';
export type CircuitState = 'closed' | 'open' | 'half_open';
/** What one report did: see mcp.report_instance_outcomes. */
export type OutcomeResult = 'recorded' | 'ejected' | 'restored' | 'held' | 'not_found' | 'invalid';

export interface OutcomeItem {
  tenantId: string;
  instanceId: string;
  outcome: InstanceOutcome;
}

export interface OutcomeReportResult {
  registrationId: string | null;
  result: OutcomeResult;
  /** The circuit after this report; null when not_found. */
  circuit: CircuitState | null;
}

export interface CircuitPolicy {
  failureThreshold: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectedShare: number;
}

/** Writes a batch of outcome reports in one statement; results are in input order. */
export async function reportInstanceOutcomes(
  db: Queryable,
  items: OutcomeItem[],
  policy: CircuitPolicy,
  now?: Date,
): Promise<OutcomeReportResult[]> {
  if (items.length === 0) return [];
  const rows = await mapErrors(() =>
    db.query<{ ordinal: number; registration_id: string | null; result: OutcomeResult; circuit: CircuitState | null }>(
      `select * from mcp.report_instance_outcomes($1::uuid[], $2::text[], $3::text[], $4, $5,
         $6::double precision * interval '1 millisecond', $7::double precision * interval '1 millisecond', $8)`,
      [
        textArrayLiteral(items.map((i) => i.tenantId)),
        textArrayLiteral(items.map((i) => i.instanceId)),
        textArrayLiteral(items.map((i) => i.outcome)),
        now ?? null,
        policy.failureThreshold,
        policy.baseEjectionMs,
        policy.maxEjectionMs,
        policy.maxEjectedShare,
      ],
      'mcp.report_instance_outcomes',
    ),
  );
  const results = new Array<OutcomeReportResult>(items.length);
  for (const row of rows) {
    results[row.ordinal - 1] = { registrationId: row.registration_id, result: row.result, circuit: row.circuit };
  }
  return results;
}

export interface CircuitRow {
  registration_id: string;
  consecutive_failures: number;
  ejection_count: number;
  ejected_at: Date | null;
  ejected_until: Date | null;
  probe_started_at: Date | null;
  /** The last restore (a successful half-open probe); the ejection count decays from then on. */
  restored_at: Date | null;
}

/** The circuit rows of some registrations of one tenant (instances that never failed have none). */
export async function circuitsOf(db: Queryable, tenantId: string, registrationIds: string[]): Promise<CircuitRow[]> {
  return mapErrors(() =>
    db.query<CircuitRow>(
      `select registration_id, consecutive_failures, ejection_count, ejected_at, ejected_until, probe_started_at, restored_at
       from mcp.instance_circuits where tenant_id = $1 and registration_id = any($2::uuid[])`,
      [tenantId, registrationIds],
    ),
  );
}
