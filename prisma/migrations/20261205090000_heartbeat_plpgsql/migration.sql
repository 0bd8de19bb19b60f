-- mcp.heartbeat_instances in PL/pgSQL: its statement is planned once per connection, not
-- on every batch.
--
-- It was a LANGUAGE sql function. PostgreSQL inlines only simple SQL functions; this one
-- returns a table and writes, so every call parsed, analyzed, rewrote and planned its
-- statement (six CTEs, an update and an insert) from scratch: before PostgreSQL 18 a SQL
-- function keeps no plan beyond the statement that called it. PL/pgSQL keeps its statements'
-- plans for the connection, and force_generic_plan (as mcp.pick_instance since
-- 20261205060000) keeps it from planning again with each batch's values: the plan is index
-- probes per heartbeat whatever the batch holds. pgbench on the bench database after its
-- picks scenario, one client, synchronous_commit off, batches per second for batches of
-- 1 / 20 / 200 / 900 heartbeats: 286 / 287 / 317 / 95 as SQL, 1,141 / 1,411 / 258 / 87 as
-- PL/pgSQL with the default plan_cache_mode, 2,353 / 1,650 / 377 / 96 with the generic plan.
-- The statement is the same, word for word (20261204202000_flap_damping); so are the
-- signature, the results, the locks and the events.

create or replace function mcp.heartbeat_instances(
  p_tenant_ids uuid[],
  p_instance_ids text[],
  -- text, not the enum: one agent's unknown health string must not fail the whole batch
  p_health text[],
  p_workloads integer[],
  p_now timestamptz default null
) returns table (ordinal integer, registration_id uuid, outcome text)
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  return query
  with input as (
    select i.ord::integer as ord, i.tenant_id, i.instance_id,
           case when i.health in ('healthy', 'degraded', 'unhealthy') then i.health::mcp.health_status end as health,
           -- not greatest(i.workload, 0) alone: greatest ignores nulls, and a heartbeat that
           -- reports no workload would reset it to 0
           case when i.workload is not null then greatest(i.workload, 0) end as workload
    from unnest(p_tenant_ids, p_instance_ids, p_health, p_workloads)
      with ordinality as i (tenant_id, instance_id, health, workload, ord)
  ),
  -- an instance that appears twice in one batch: its last heartbeat wins
  latest as (
    select distinct on (tenant_id, instance_id) *
    from input
    order by tenant_id, instance_id, ord desc
  ),
  -- lock in id order so that concurrent batches from several processes cannot deadlock;
  -- the locked row is the latest committed version, so old_* are the true previous values
  locked as (
    select r.id, r.registration_status as old_status, r.health_status as old_health,
           r.current_workload as old_workload, r.reported_health as old_reported,
           r.reported_health_streak as old_streak,
           l.health as reported, l.workload as reported_workload,
           -- a registration always has its configuration; 1 keeps the old rule if not
           coalesce((select c.health_change_threshold from mcp.agent_configurations c
                     where c.id = r.configuration_id), 1) as threshold
    from latest l
    join mcp.agent_registrations r on r.tenant_id = l.tenant_id and r.instance_id = l.instance_id
    where r.registration_status <> 'deregistered'
    order by r.id
    for update of r
  ),
  streak as (
    select k.*,
           case when k.reported is null then k.old_streak
                when k.reported is not distinct from k.old_reported
                  then least(k.old_streak, 2147483646) + 1
                else 1 end as new_streak
    from locked k
  ),
  cur as (
    select s.*,
           case
             when s.old_status = 'stale' or s.old_health in ('disconnected', 'unknown')
               then coalesce(s.reported, 'healthy'::mcp.health_status)
             when s.reported is not null and s.new_streak >= s.threshold then s.reported
             else s.old_health
           end as new_health,
           coalesce(s.reported_workload, s.old_workload) as new_workload
    from streak s
  ),
  upd as (
    update mcp.agent_registrations r set
      last_health_check = greatest(r.last_health_check, coalesce(p_now, now())),
      registration_status = 'active',
      health_status = c.new_health,
      current_workload = c.new_workload,
      reported_health = coalesce(c.reported, r.reported_health),
      reported_health_streak = c.new_streak,
      reconnect_count = r.reconnect_count + (c.old_status = 'stale')::integer,
      updated_at = case
        when (c.old_status, c.old_health, c.old_workload) is distinct from ('active', c.new_health, c.new_workload)
        then coalesce(p_now, now()) else r.updated_at end
    from cur c
    where r.id = c.id
    returning r.id, r.tenant_id, r.manifest_id, r.configuration_id, r.instance_id,
              r.registration_status, r.health_status, r.current_workload, r.reconnect_count,
              r.reported_health, r.reported_health_streak,
              c.old_status, c.old_health, c.old_workload,
              (c.old_status, c.old_health, c.old_workload)
                is distinct from ('active'::mcp.registration_status, c.new_health, c.new_workload) as changed
  ),
  events as (
    insert into mcp.registration_events (
      tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
      registration_status, health_status, payload, occurred_at
    )
    select u.tenant_id,
           case when u.old_status = 'stale' then 'reconnected' else 'health_changed' end::mcp.event_kind,
           m.agent_id, u.manifest_id, u.configuration_id, u.id, u.instance_id,
           u.registration_status, u.health_status,
           jsonb_build_object(
             'previous_health', u.old_health, 'previous_workload', u.old_workload,
             'current_workload', u.current_workload, 'reconnect_count', u.reconnect_count,
             'reported_health', u.reported_health, 'reported_health_streak', u.reported_health_streak),
           coalesce(p_now, now())
    from upd u
    join mcp.agent_manifests m on m.id = u.manifest_id
    where u.changed
  )
  select i.ord, u.id,
         case when u.id is null then 'not_registered'
              when u.old_status = 'stale' then 'revived'
              when u.changed then 'changed'
              else 'ok' end
  from input i
  left join upd u on u.tenant_id = i.tenant_id and u.instance_id = i.instance_id
  order by i.ord;
end;
$$;
