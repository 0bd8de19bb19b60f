import type { Queryable } from '../../src/db/client';
import type { RegistrationRow as StoredRegistration } from '../../src/db/registry-sql';
import { AppError } from '../../src/errors';

/** One row of mcp.registration_events, as the tests compare it. */
export interface EventRow {
  id: string;
  kind: string;
  tenant_id: string;
  agent_id: string | null;
  registration_id: string | null;
  instance_id: string | null;
  configuration_id: string | null;
  registration_status: string | null;
  health_status: string | null;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/** A row of mcp.agent_registrations (`select *`: without the manifest's agent id and type). */
export type RegistrationRow = Omit<StoredRegistration, 'agent_id' | 'agent_type'>;

/**
 * A controlled clock for one test: `at(s)` is `s` seconds after a base instant that no
 * other test of the file uses (each call of `testClock` moves the base one day on), so
 * time-based sweeps in one test never see another test's fresh rows as fresh.
 */
let clockDay = 0;
export function testClock(): (seconds: number) => Date {
  const base = Date.UTC(2030, 0, 1) + clockDay++ * 86_400_000;
  return (seconds) => new Date(base + seconds * 1000);
}

/** Events of a tenant with id greater than `afterId` (default: all), oldest first. */
export async function eventsOf(db: Queryable, tenantId: string, afterId = '0'): Promise<EventRow[]> {
  return db.query<EventRow>(
    `select id, kind, tenant_id, agent_id, registration_id, instance_id, configuration_id,
            registration_status, health_status, payload, occurred_at
     from mcp.registration_events where tenant_id = $1 and id > $2::bigint order by id`,
    [tenantId, afterId],
  );
}

/** The id of the newest event in the database ('0' when none): a cursor for {@link eventsOf}. */
export async function lastEventId(db: Queryable): Promise<string> {
  const [row] = await db.query<{ id: string }>(`select coalesce(max(id), 0)::text as id from mcp.registration_events`);
  return row.id;
}

/** The registration of (tenant, instance), or undefined. */
export async function registrationOf(
  db: Queryable,
  tenantId: string,
  instanceId: string,
): Promise<RegistrationRow | undefined> {
  const [row] = await db.query<RegistrationRow>(
    `select * from mcp.agent_registrations where tenant_id = $1 and instance_id = $2`,
    [tenantId, instanceId],
  );
  return row;
}

/** Row counts of the tables a failed call must leave untouched. */
export async function tableCounts(db: Queryable): Promise<Record<string, number>> {
  const [row] = await db.query<Record<string, number>>(
    `select (select count(*) from mcp.agent_manifests)::integer as manifests,
            (select count(*) from mcp.agent_configurations)::integer as configurations,
            (select count(*) from mcp.agent_registrations)::integer as registrations,
            (select count(*) from mcp.registration_events)::integer as events`,
  );
  return row;
}

/** The SQLSTATE a raw statement fails with (fails the test if it succeeds). */
export async function sqlStateOfFailure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error('expected the statement to fail');
}

/** The AppError a wrapper call fails with (fails the test if it succeeds or throws anything else). */
export async function appErrorOf(run: () => Promise<unknown>): Promise<AppError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
