import { integerArrayLiteral, textArrayLiteral } from './array-literal';
import type { Queryable } from './client';
import { mapErrors } from './errors';

/**
 * Typed wrappers of the registry's SQL functions (prisma/migrations/*_registry_functions).
 * Each maps database errors to coded {@link AppError}s. `now` defaults to the database's
 * clock; tests pass their own.
 */

export type ReportedHealth = 'healthy' | 'degraded' | 'unhealthy';
export type HealthStatus = ReportedHealth | 'disconnected' | 'unknown';
export type RegistrationStatus = 'active' | 'stale' | 'deregistered';

export interface RegisterInput {
  tenantId: string;
  agentId: string;
  instanceId: string;
  name?: string | null;
  connectionDetails?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  /** Capabilities the instance reports; null keeps what is stored. */
  capabilities?: string[] | null;
  now?: Date;
  /** A LISTEN/NOTIFY channel to notify with the registration's commit (see EventFeed.claimNotify). */
  notify?: string | null;
}

/** A registration row with its agent id and type, as the registry's reads return it. */
export interface RegistrationRow {
  id: string;
  tenant_id: string;
  instance_id: string;
  agent_id: string;
  agent_type: string;
  manifest_id: string;
  configuration_id: string | null;
  name: string | null;
  registration_status: RegistrationStatus;
  health_status: HealthStatus;
  last_health_check: Date;
  connection_details: Record<string, unknown>;
  runtime_config: Record<string, unknown>;
  capabilities: string[];
  current_workload: number;
  reconnect_count: number;
  registered_at: Date;
  deregistered_at: Date | null;
  updated_at: Date;
  /**
   * The health the last heartbeat reported (null before the first report after a
   * registration) and how many heartbeats in a row reported it (flap damping).
   */
  reported_health: ReportedHealth | null;
  reported_health_streak: number;
}

export interface RegisterResult {
  registrationId: string;
  manifestId: string;
  configId: string;
  isNew: boolean;
  message: string;
  /** The registration as stored after this call. */
  registration: RegistrationRow;
}

const REGISTER = `select * from mcp.register_agent_instance_row($1, $2, $3, $4, $5, $6, $7, $8)`;
/** The same, with a NOTIFY that leaves with the commit (a void function in FROM: one row, run once). */
const REGISTER_AND_NOTIFY = `select r.* from mcp.register_agent_instance_row($1, $2, $3, $4, $5, $6, $7, $8) r, pg_notify($9, '')`;

/**
 * mcp.register_agent_instance, through mcp.register_agent_instance_row so that the
 * stored registration comes back in the same round trip.
 */
export async function registerAgentInstance(db: Queryable, input: RegisterInput): Promise<RegisterResult> {
  const notify = input.notify ?? null;
  const [row] = await mapErrors(() =>
    db.query<RegistrationRow & { is_new: boolean; message: string }>(
      notify === null ? REGISTER : REGISTER_AND_NOTIFY,
      [
        input.tenantId,
        input.agentId,
        input.instanceId,
        input.name ?? null,
        JSON.stringify(input.connectionDetails ?? {}),
        JSON.stringify(input.runtimeConfig ?? {}),
        input.capabilities ?? null,
        input.now ?? null,
        ...(notify === null ? [] : [notify]),
      ],
      notify === null ? 'register_agent_instance_row' : 'register_agent_instance_row_notify',
    ),
  );
  const { is_new: isNew, message, ...registration } = row;
  return {
    registrationId: registration.id,
    manifestId: registration.manifest_id,
    configId: registration.configuration_id!,
    isNew,
    message,
    registration,
  };
}

export interface HeartbeatItem {
  tenantId: string;
  instanceId: string;
  health?: ReportedHealth | null;
  workload?: number | null;
}

export type HeartbeatOutcome = 'ok' | 'changed' | 'revived' | 'not_registered';

export interface HeartbeatResult {
  registrationId: string | null;
  outcome: HeartbeatOutcome;
}

/** Writes a batch of heartbeats in one statement; results are in input order. */
export async function heartbeatInstances(db: Queryable, items: HeartbeatItem[], now?: Date): Promise<HeartbeatResult[]> {
  if (items.length === 0) return [];
  const rows = await mapErrors(() =>
    db.query<{ ordinal: number; registration_id: string | null; outcome: HeartbeatOutcome }>(
      // health travels as text[]: PGlite cannot serialize a JS array as an enum array
      `select * from mcp.heartbeat_instances($1::uuid[], $2::text[], $3::text[], $4::integer[], $5)`,
      [
        textArrayLiteral(items.map((i) => i.tenantId)),
        textArrayLiteral(items.map((i) => i.instanceId)),
        textArrayLiteral(items.map((i) => i.health)),
        integerArrayLiteral(items.map((i) => i.workload)),
        now ?? null,
      ],
    ),
  );
  return rows.map((row) => ({ registrationId: row.registration_id, outcome: row.outcome }));
}

export interface DeregisterResult {
  registrationId: string;
  /** False when the instance was already deregistered (nothing changed). */
  wasActive: boolean;
}

/** Deregisters an instance; NOT_REGISTERED when the tenant has no such instance. */
export async function deregisterAgentInstance(
  db: Queryable,
  tenantId: string,
  instanceId: string,
  options: { now?: Date; reason?: string } = {},
): Promise<DeregisterResult> {
  const [row] = await mapErrors(() =>
    db.query<{ registration_id: string; was_active: boolean }>(
      `select * from mcp.deregister_agent_instance($1, $2, $3, $4)`,
      [tenantId, instanceId, options.now ?? null, options.reason ?? 'deregistered'],
    ),
  );
  return { registrationId: row.registration_id, wasActive: row.was_active };
}

/** Marks an instance disconnected (its socket closed without deregistering). */
export async function markInstanceDisconnected(
  db: Queryable,
  tenantId: string,
  instanceId: string,
  options: { connectionId?: string; now?: Date } = {},
): Promise<boolean> {
  const [row] = await mapErrors(() =>
    db.query<{ changed: boolean }>(`select mcp.mark_instance_disconnected($1, $2, $3, $4) as changed`, [
      tenantId,
      instanceId,
      options.connectionId ?? null,
      options.now ?? null,
    ]),
  );
  return row.changed;
}

export interface StaleSweepOptions {
  now?: Date;
  staleAfterMs: number;
  maxShare: number;
  minActive: number;
  holdCeilingMs: number;
}

export interface StaleSweepTenant {
  tenantId: string;
  candidates: number;
  active: number;
  marked: number;
  held: boolean;
  heldSince: Date | null;
}

/** One stale sweep; an empty result when another process is sweeping at this moment. */
export async function markStaleInstances(db: Queryable, options: StaleSweepOptions): Promise<StaleSweepTenant[]> {
  const rows = await mapErrors(() =>
    db.query<{
      tenant_id: string;
      candidates: number;
      active: number;
      marked: number;
      held: boolean;
      held_since: Date | null;
    }>(
      `select * from mcp.mark_stale_instances(
         coalesce($1::timestamptz, now()), $2::double precision * interval '1 millisecond',
         $3, $4, $5::double precision * interval '1 millisecond')`,
      [options.now ?? null, options.staleAfterMs, options.maxShare, options.minActive, options.holdCeilingMs],
    ),
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    candidates: row.candidates,
    active: row.active,
    marked: row.marked,
    held: row.held,
    heldSince: row.held_since,
  }));
}

/** Deletes registrations stale or deregistered for longer than `olderThanMs`. */
export async function purgeRegistrations(db: Queryable, olderThanMs: number, now?: Date): Promise<number> {
  const [row] = await mapErrors(() =>
    db.query<{ purged: number }>(
      `select mcp.purge_registrations(coalesce($1::timestamptz, now()), $2::double precision * interval '1 millisecond') as purged`,
      [now ?? null, olderThanMs],
    ),
  );
  return row.purged;
}

/** Deletes events older than `olderThanMs`. */
export async function pruneEvents(db: Queryable, olderThanMs: number, now?: Date): Promise<number> {
  const [row] = await mapErrors(() =>
    db.query<{ pruned: number }>(
      `select mcp.prune_events(coalesce($1::timestamptz, now()), $2::double precision * interval '1 millisecond') as pruned`,
      [now ?? null, olderThanMs],
    ),
  );
  return row.pruned;
}
