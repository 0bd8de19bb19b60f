import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { badInput } from '../errors';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import type { EventHistoryFilter } from './event-history.input';
import { EVENT_COLUMNS, type EventRow, toRegistryEvent } from './event-rows';
import { type RegistrationEvent, toRegistrationEvent } from './registration-event.type';

/** The event log of one tenant, newest first, paginated by event id. */
export class EventHistoryService {
  constructor(private readonly db: Queryable) {}

  async list(tenantId: string, filter: EventHistoryFilter, page: PageRequest): Promise<Page<RegistrationEvent>> {
    if (page.afterKey !== null && !/^\d{1,19}$/.test(page.afterKey)) throw badInput('after is not an event cursor', 'after');
    return mapErrors(async () => {
      const where = `e.tenant_id = $1
        and ($2::text is null or e.agent_id = $2)
        and ($3::text is null or e.instance_id = $3)
        and ($4::text[] is null or e.kind::text = any ($4::text[]))`;
      const params = [tenantId, filter.agentId ?? null, filter.instanceId ?? null, filter.kinds?.length ? filter.kinds : null];
      const rows = await this.db.query<EventRow>(
        `select ${EVENT_COLUMNS} from mcp.registration_events e
         where ${where} and ($5::bigint is null or e.id < $5::bigint)
         order by e.id desc limit $6`,
        [...params, page.afterKey, page.limit + 1],
      );
      const [{ count }] = await this.db.query<{ count: number }>(
        `select count(*)::int as count from mcp.registration_events e where ${where}`,
        params,
      );
      return toPage(rows.map((row) => toRegistrationEvent(toRegistryEvent(row))), page, count, (e) => e.id);
    });
  }
}
