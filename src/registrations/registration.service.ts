import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { RegistrationRow } from '../db/registry-sql';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import type { ConnectionSelection } from '../graphql/selection';
import { type ScalingRow, toScalingRecommendation } from '../scaling/scaling.service';
import type { AgentSummary } from './agent-summary.type';
import { badInput } from '../errors';
import { type RegistrationFilter, type RegistrationOrder, RegistrationSortField, SortDirection } from './registration.input';
import type { HealthStatus, Registration, RegistrationStatus } from './registration.type';

const SELECT = `select r.id, r.tenant_id, r.instance_id, m.agent_id, m.agent_type, r.manifest_id, r.configuration_id,
  r.name, r.registration_status, r.health_status, r.last_health_check, r.connection_details, r.runtime_config,
  r.capabilities, r.current_workload, r.reconnect_count, r.registered_at, r.deregistered_at, r.updated_at,
  r.reported_health, r.reported_health_streak
  from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id`;

/** A registration row as the GraphQL type. */
export const toRegistration = (row: RegistrationRow): Registration => ({
  id: row.id,
  tenantId: row.tenant_id,
  instanceId: row.instance_id,
  agentId: row.agent_id,
  agentType: row.agent_type,
  manifestId: row.manifest_id,
  configurationId: row.configuration_id,
  name: row.name,
  // the GraphQL enums have exactly the database's values
  registrationStatus: row.registration_status as RegistrationStatus,
  healthStatus: row.health_status as HealthStatus,
  lastHealthCheck: row.last_health_check,
  connectionDetails: row.connection_details,
  runtimeConfig: row.runtime_config,
  capabilities: row.capabilities,
  currentWorkload: row.current_workload,
  reconnectCount: row.reconnect_count,
  registeredAt: row.registered_at,
  deregisteredAt: row.deregistered_at,
  updatedAt: row.updated_at,
  reportedHealth: row.reported_health as HealthStatus | null,
  reportedHealthStreak: row.reported_health_streak,
});

/** The column each Registration field reads; a page selects only those of the fields asked for. */
const FIELD_COLUMNS: Readonly<Record<keyof Registration, string>> = {
  id: 'r.id',
  tenantId: 'r.tenant_id',
  instanceId: 'r.instance_id',
  agentId: 'm.agent_id',
  agentType: 'm.agent_type',
  manifestId: 'r.manifest_id',
  configurationId: 'r.configuration_id',
  name: 'r.name',
  registrationStatus: 'r.registration_status',
  healthStatus: 'r.health_status',
  lastHealthCheck: 'r.last_health_check',
  connectionDetails: 'r.connection_details',
  runtimeConfig: 'r.runtime_config',
  capabilities: 'r.capabilities',
  currentWorkload: 'r.current_workload',
  reconnectCount: 'r.reconnect_count',
  registeredAt: 'r.registered_at',
  deregisteredAt: 'r.deregistered_at',
  updatedAt: 'r.updated_at',
  reportedHealth: 'r.reported_health',
  reportedHealthStreak: 'r.reported_health_streak',
};
const FIELDS = Object.keys(FIELD_COLUMNS) as (keyof Registration)[];

/** The filters of {@link RegistrationService.list}, in parameter order, and their columns. */
const FILTER_COLUMNS: readonly [keyof RegistrationFilter, string][] = [
  ['agentId', 'm.agent_id'],
  ['registrationStatus', 'r.registration_status'],
  ['healthStatus', 'r.health_status'],
  ['instanceId', 'r.instance_id'],
];

/** The SQL of each sort field: the column and the type its cursor value is cast back to. */
const SORT_COLUMNS: Record<RegistrationSortField, { column: string; type: string }> = {
  instanceId: { column: 'r.instance_id', type: 'text' },
  agentId: { column: 'm.agent_id', type: 'text' },
  healthStatus: { column: 'r.health_status', type: 'mcp.health_status' },
  lastHealthCheck: { column: 'r.last_health_check', type: 'timestamptz' },
  registeredAt: { column: 'r.registered_at', type: 'timestamptz' },
};

/** The position a cursor stands for; BAD_USER_INPUT for a cursor of another order or a forged one. */
function decodeSortKey(key: string, order: RegistrationOrder): { value: string; instanceId: string } {
  if (order.field === RegistrationSortField.instanceId && order.direction === SortDirection.asc) {
    return { value: key, instanceId: key };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== order.field ||
    parsed[1] !== order.direction ||
    typeof parsed[2] !== 'string' ||
    typeof parsed[3] !== 'string'
  ) {
    throw badInput('after is not a cursor of this order (it was returned for another orderBy, or not by this API)', 'after');
  }
  const value = parsed[2];
  // the value is cast in SQL: check it here so a forged one is a BAD_USER_INPUT, not a cast error
  if (SORT_COLUMNS[order.field].type === 'timestamptz' && Number.isNaN(Date.parse(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))) {
    throw badInput('after is not a cursor this API returned', 'after');
  }
  if (order.field === RegistrationSortField.healthStatus && !['healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown'].includes(value)) {
    throw badInput('after is not a cursor this API returned', 'after');
  }
  return { value, instanceId: parsed[3] };
}

const DEFAULT_ORDER: RegistrationOrder = { field: RegistrationSortField.instanceId, direction: SortDirection.asc };
const isDefaultOrder = (order: RegistrationOrder) =>
  order.field === RegistrationSortField.instanceId && order.direction === SortDirection.asc;

/** A page selecting every field, with its total (callers that are not a GraphQL operation). */
const EVERYTHING: ConnectionSelection = { totalCount: true, nodeFields: new Set(FIELDS) };

const keyOfRegistration = (r: Registration) => r.instanceId;

const ALWAYS_SELECTED: ReadonlySet<keyof Registration> = new Set(['instanceId', 'id', 'tenantId']);

/** A page's row: the selected fields under their GraphQL names (the total and the sort key when asked for). */
type PageRow = Registration & { total_count: number; sortKey?: string };

/**
 * Statement texts by shape (filters present, cursor or not, order, fields, total or not),
 * each with a name so that PostgreSQL plans it once per connection. The texts hold no
 * values, so the shapes are few; past {@link MAX_NAMED_SHAPES} a shape runs unnamed.
 */
const pageQueries = new Map<string, { text: string; name: string | undefined }>();
const MAX_NAMED_SHAPES = 200;

/**
 * The statement of one page of {@link RegistrationService.list} (exported for the bench,
 * which runs the same SQL through pgbench): only the filters given, the cursor if any, in
 * `order` (keyset on the sort column and instanceId, unique per tenant).
 */
export function registrationPageQuery(
  tenantId: string,
  filter: RegistrationFilter,
  page: PageRequest,
  selection: ConnectionSelection,
  order: RegistrationOrder = DEFAULT_ORDER,
): { text: string; name: string | undefined; params: unknown[] } {
  const params: unknown[] = [tenantId];
  const conditions = ['r.tenant_id = $1'];
  for (const [key, column] of FILTER_COLUMNS) {
    const value = filter[key];
    if (value === undefined || value === null) continue;
    params.push(value);
    conditions.push(`${column} = $${params.length}`);
  }
  if (filter.instanceIdContains) {
    params.push(`%${filter.instanceIdContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    conditions.push(`r.instance_id ilike $${params.length} escape '\\'`);
  }
  const sort = SORT_COLUMNS[order.field];
  const desc = order.direction === SortDirection.desc;
  let after = '';
  if (page.afterKey !== null) {
    const position = decodeSortKey(page.afterKey, order);
    if (isDefaultOrder(order)) {
      params.push(position.instanceId);
      after = ` and r.instance_id > $${params.length}`;
    } else {
      params.push(position.value, position.instanceId);
      after = ` and (${sort.column}, r.instance_id) ${desc ? '<' : '>'} ($${params.length - 1}::${sort.type}, $${params.length}::text)`;
    }
  }
  params.push(page.limit + 1);
  return { ...pageQuery(conditions.join(' and '), after, `$${params.length}`, selection, order), params };
}

/**
 * One page in one statement. With the total: the count and the page joined laterally, so
 * the count is one row even when the page is empty (then its page columns are null); the
 * page keeps its top-N sort (a `count(*) over ()` would sort every matching row).
 */
function pageQuery(where: string, after: string, limit: string, selection: ConnectionSelection, order: RegistrationOrder) {
  // instanceId for the cursor; id and tenantId for field resolvers of Registration that
  // look things up by them (circuit), whether or not the operation selects them itself
  const fields = FIELDS.filter((f) => ALWAYS_SELECTED.has(f) || selection.nodeFields.has(f));
  const key = `${where}|${after}|${limit}|${fields.join(',')}|${selection.totalCount}|${order.field}|${order.direction}`;
  let query = pageQueries.get(key);
  if (!query) {
    const sort = SORT_COLUMNS[order.field];
    const direction = order.direction === SortDirection.desc ? 'desc' : 'asc';
    // the cursor of another order carries the sort value as PostgreSQL text (full timestamp precision)
    const sortKey = isDefaultOrder(order) ? '' : `, (${sort.column})::text as "sortKey"`;
    const columns = fields.map((f) => `${FIELD_COLUMNS[f]} as "${f}"`).join(', ') + sortKey;
    const from = 'from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id';
    const rows = `select ${columns} ${from} where ${where}${after} order by ${sort.column} ${direction}, r.instance_id ${direction} limit ${limit}`;
    const text = selection.totalCount
      ? `select t.total_count, p.* from (select count(*)::int as total_count ${from} where ${where}) t
         left join lateral (${rows}) p on true`
      : rows;
    const name = pageQueries.size < MAX_NAMED_SHAPES ? `registrations_page_${pageQueries.size}` : undefined;
    query = { text, name };
    if (name) pageQueries.set(key, query);
  }
  return query;
}

interface SummaryRow {
  agent_id: string;
  agent_type: string;
  configuration_id: string;
  name: string;
  enabled: boolean;
  active: number;
  stale: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  disconnected: number;
  unknown: number;
  last_seen_at: Date | null;
  /** Active instances ejected by circuit breaking (open or half-open). */
  ejected: number;
  /** The stored scaling recommendation (null when not computed yet). */
  scaling: ScalingRow | null;
  /** The tenant's agent configurations, all pages. */
  total: number;
}

/** Read side of the registrations of one tenant. Writes go through AgentLifecycleService. */
export class RegistrationService {
  constructor(private readonly db: Queryable) {}

  /**
   * One page of the tenant's registrations matching every filter, in `order` (default:
   * instanceId ascending). Keyset paging on (sort column, instanceId): instanceId is unique
   * per tenant, so cursors stay stable as rows change; a cursor carries the sort value and
   * is refused under another order. One statement per page: the rows (only the columns of
   * the fields selected) and, when selected, the total over every page, as a named
   * statement per shape (see {@link pageQuery}).
   */
  async list(
    tenantId: string,
    filter: RegistrationFilter,
    page: PageRequest,
    order: RegistrationOrder = DEFAULT_ORDER,
    selection: ConnectionSelection = EVERYTHING,
  ): Promise<Page<Registration>> {
    const query = registrationPageQuery(tenantId, filter, page, selection, order);
    return mapErrors(async () => {
      const rows = await this.db.query<PageRow>(query.text, query.params, query.name);
      const keyOf = isDefaultOrder(order)
        ? keyOfRegistration // the original cursor format: cursors of the default order stay valid
        : (r: PageRow) => JSON.stringify([order.field, order.direction, r.sortKey, r.instanceId]);
      if (!selection.totalCount) return toPage(rows, page, 0, keyOf);
      // the total comes on every row, and alone (with a null page row) when the page is empty
      const totalCount = rows[0].total_count;
      return toPage(rows[0].instanceId === null ? [] : rows, page, totalCount, keyOf);
    });
  }


  /** One registration of the tenant by instanceId, or null. */
  async findByInstance(tenantId: string, instanceId: string): Promise<Registration | null> {
    const [row] = await mapErrors(() =>
      this.db.query<RegistrationRow>(`${SELECT} where r.tenant_id = $1 and r.instance_id = $2`, [tenantId, instanceId]),
    );
    return row ? toRegistration(row) : null;
  }

  /**
   * Per configured agent: active and stale counts, active instances by health and ejected, last seen,
   * the scaling signal; one statement for the page (plus its total). Ordered by agentId.
   */
  async summaries(tenantId: string, page: PageRequest): Promise<Page<AgentSummary>> {
    return mapErrors(async () => {
      const rows = await this.db.query<SummaryRow>(
        `select m.agent_id, m.agent_type, c.id as configuration_id, c.name, c.enabled,
           count(r.id) filter (where r.registration_status = 'active')::int as active,
           count(r.id) filter (where r.registration_status = 'stale')::int as stale,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'healthy')::int as healthy,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'degraded')::int as degraded,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'unhealthy')::int as unhealthy,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'disconnected')::int as disconnected,
           count(r.id) filter (where r.registration_status = 'active' and r.health_status = 'unknown')::int as unknown,
           -- ejected = open or half-open (ejected_until stays set until a probe succeeds), as the
           -- routing gauge and the ejection ceiling count it; no clock needed
           count(r.id) filter (where r.registration_status = 'active' and ic.ejected_until is not null)::int as ejected,
           max(r.last_health_check) as last_seen_at,
           case when s.configuration_id is not null then to_jsonb(s) end as scaling,
           -- the total in the same statement (one round trip per page)
           (select count(*)::int from mcp.agent_configurations t where t.tenant_id = $1) as total
         from mcp.agent_configurations c
         join mcp.agent_manifests m on m.id = c.manifest_id
         left join mcp.agent_registrations r on r.configuration_id = c.id and r.tenant_id = c.tenant_id
         left join mcp.instance_circuits ic on ic.registration_id = r.id and ic.tenant_id = r.tenant_id
         left join mcp.scaling_recommendations s on s.configuration_id = c.id and s.tenant_id = c.tenant_id
         where c.tenant_id = $1 and ($2::text is null or m.agent_id > $2)
         group by c.id, m.agent_id, m.agent_type, s.configuration_id
         order by m.agent_id limit $3`,
        [tenantId, page.afterKey, page.limit + 1],
      );
      // an empty page (no agents, or a cursor past the last one) has no row to carry the total
      const count =
        rows.length > 0
          ? rows[0].total
          : (
              await this.db.query<{ count: number }>(
                `select count(*)::int as count from mcp.agent_configurations where tenant_id = $1`,
                [tenantId],
              )
            )[0].count;
      const summaries = rows.map(
        (row): AgentSummary => ({
          agentId: row.agent_id,
          agentType: row.agent_type,
          configurationId: row.configuration_id,
          name: row.name,
          enabled: row.enabled,
          activeCount: row.active,
          staleCount: row.stale,
          ejectedCount: row.ejected,
          byHealth: {
            healthy: row.healthy,
            degraded: row.degraded,
            unhealthy: row.unhealthy,
            disconnected: row.disconnected,
            unknown: row.unknown,
          },
          lastSeenAt: row.last_seen_at,
          // through jsonb the timestamps arrive as text
          scaling: row.scaling
            ? toScalingRecommendation({
                ...row.scaling,
                computed_at: new Date(row.scaling.computed_at),
                changed_at: new Date(row.scaling.changed_at),
              })
            : null,
        }),
      );
      return toPage(summaries, page, count, (s) => s.agentId);
    });
  }
}
