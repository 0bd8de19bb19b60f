// Kept apart from the service so the bench can run the same statement with pgbench
// without loading the GraphQL types.

/**
 * Active instances by health over time, computed in one statement from the event log
 * (every instance event carries the status and health after it) and the current rows:
 * 1. the state of each instance at `from`: its last event at or before `from`, or, for
 *    an instance with no event at all up to `to`, its current row if it was registered
 *    before `from` (its events were pruned: nothing changed since);
 * 2. each event inside the range starts a new state of its instance;
 * 3. every active state adds +1 to its health in the bucket it starts in and -1 in the
 *    bucket the next state of the instance starts in;
 * 4. a running sum over the buckets gives the count at each bucket's end.
 * Linear in the events read, not in instances × buckets.
 */
export const HEALTH_HISTORY_SQL = `
with bounds as (
  select $2::timestamptz as t_from, $3::timestamptz as t_to, $4::double precision as bucket, $5::int as n
),
at_start as (
  select distinct on (e.registration_id) e.registration_id, b.t_from as at, e.registration_status, e.health_status
  from mcp.registration_events e, bounds b
  where e.tenant_id = $1 and e.occurred_at <= b.t_from and e.registration_id is not null
    and ($6::text is null or e.agent_id = $6)
  order by e.registration_id, e.occurred_at desc, e.id desc
),
inside as (
  select e.registration_id, e.occurred_at as at, e.id, e.registration_status, e.health_status
  from mcp.registration_events e, bounds b
  where e.tenant_id = $1 and e.occurred_at > b.t_from and e.occurred_at <= b.t_to and e.registration_id is not null
    and ($6::text is null or e.agent_id = $6)
),
unlogged as (
  select r.id as registration_id, b.t_from as at, r.registration_status, r.health_status
  from mcp.agent_registrations r
  join mcp.agent_manifests m on m.id = r.manifest_id, bounds b
  where r.tenant_id = $1 and r.registered_at <= b.t_from and ($6::text is null or m.agent_id = $6)
    and not exists (select 1 from at_start s where s.registration_id = r.id)
    and not exists (select 1 from inside i where i.registration_id = r.id)
),
states as (
  select registration_id, at, 0::bigint as id, registration_status, health_status from at_start
  union all
  select registration_id, at, id, registration_status, health_status from inside
  union all
  select registration_id, at, 0::bigint, registration_status, health_status from unlogged
),
spans as (
  -- each state lasts until the next state of its instance (or to the end)
  select registration_status, health_status, at,
         lead(at) over (partition by registration_id order by at, id) as until
  from states
),
deltas as (
  select health_status::text as health,
         greatest(0, ceil(extract(epoch from (s.at - b.t_from)) / b.bucket))::int as k, 1 as d
  from spans s, bounds b where s.registration_status = 'active' and s.health_status is not null
  union all
  select health_status::text,
         greatest(0, ceil(extract(epoch from (s.until - b.t_from)) / b.bucket))::int, -1
  from spans s, bounds b where s.registration_status = 'active' and s.health_status is not null and s.until is not null
),
per_bucket as (
  select k, health, sum(d)::int as d from deltas group by k, health
),
grid as (
  select k, h.health
  from bounds b, generate_series(0, b.n) as k,
       unnest(array['healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown']) as h(health)
),
running as (
  select g.k, g.health, sum(coalesce(p.d, 0)) over (partition by g.health order by g.k) as active
  from grid g left join per_bucket p on p.k = g.k and p.health = g.health
)
select k,
  coalesce(max(active) filter (where health = 'healthy'), 0)::int as healthy,
  coalesce(max(active) filter (where health = 'degraded'), 0)::int as degraded,
  coalesce(max(active) filter (where health = 'unhealthy'), 0)::int as unhealthy,
  coalesce(max(active) filter (where health = 'disconnected'), 0)::int as disconnected,
  coalesce(max(active) filter (where health = 'unknown'), 0)::int as unknown
from running
where k >= 1
group by k
order by k`;
