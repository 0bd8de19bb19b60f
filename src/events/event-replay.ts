import type { Queryable } from '../db/client';
import { EVENT_COLUMNS, type EventRow, toRegistryEvent } from './event-rows';
import type { EventKind, LogPosition, RegistryEvent } from './types';

/** Which events a subscriber wants: always one tenant, optionally one agent and some kinds. */
export interface EventFilter {
  tenantId: string;
  /** Only events of this agent id (manifest). Null: all agents. */
  agentId?: string | null;
  /** Only these kinds. Null or empty: all kinds. */
  kinds?: readonly EventKind[] | null;
}

export function matchesFilter(filter: EventFilter, event: RegistryEvent): boolean {
  return (
    event.tenantId === filter.tenantId &&
    (!filter.agentId || event.agentId === filter.agentId) &&
    (!filter.kinds?.length || filter.kinds.includes(event.kind))
  );
}

/** The log position of one of the tenant's events, or null when it is not (or no longer) in the log. */
export async function positionOf(db: Queryable, tenantId: string, eventId: string): Promise<LogPosition | null> {
  if (!/^\d{1,19}$/.test(eventId)) return null;
  const [row] = await db.query<{ tx_id: string; id: string }>(
    `select tx_id::text as tx_id, id::text as id from mcp.registration_events where id = $1::bigint and tenant_id = $2`,
    [eventId, tenantId],
  );
  return row ? { txId: row.tx_id, id: row.id } : null;
}

/** Up to `limit` of the filter's events strictly after `after` and at or before `upTo`, in (tx_id, id) order. */
export async function readEventsBetween(
  db: Queryable,
  filter: EventFilter,
  after: LogPosition,
  upTo: LogPosition,
  limit: number,
): Promise<RegistryEvent[]> {
  const rows = await db.query<EventRow>(
    `select ${EVENT_COLUMNS}
     from mcp.registration_events e
     where (e.tx_id, e.id) > ($1::bigint, $2::bigint)
       and (e.tx_id, e.id) <= ($3::bigint, $4::bigint)
       and e.tenant_id = $5
       and ($6::text is null or e.agent_id = $6)
       and ($7::text[] is null or e.kind::text = any ($7::text[]))
     order by e.tx_id, e.id
     limit $8`,
    [
      after.txId,
      after.id,
      upTo.txId,
      upTo.id,
      filter.tenantId,
      filter.agentId ?? null,
      filter.kinds?.length ? [...filter.kinds] : null,
      limit,
    ],
  );
  return rows.map(toRegistryEvent);
}
