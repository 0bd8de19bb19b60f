-- The scaling signal: per configuration, how many instances the platform should run, as
-- Kubernetes' Horizontal Pod Autoscaler computes it, from the workload the instances
-- report. The registry only recommends (a table, gauges, an event); it starts nothing.
--
--   utilisation = sum(current_workload) / (active instances × max_workload)
--   proposed    = ceil(active × utilisation / target), or active when
--                 |utilisation / target − 1| ≤ tolerance (HPA's tolerance band); at
--                 least 1 while an instance is active (HPA's default minReplicas: an
--                 agent that reports no workload is not evidence that none is needed)
--   desired     = the highest proposal within the stabilisation window (HPA's scale-down
--                 stabilisation: up at once, down only as far as the window allows)
--
-- State lives here so that every API process agrees: the last recommendation per
-- configuration, and the proposals of the window.

alter type mcp.event_kind add value if not exists 'scaling_recommended';

create table mcp.scaling_recommendations (
  configuration_id uuid primary key references mcp.agent_configurations (id) on delete cascade,
  tenant_id uuid not null references mcp.tenants (id) on delete cascade,
  active integer not null check (active >= 0),
  workload bigint not null check (workload >= 0),
  -- active × max_workload
  capacity bigint not null check (capacity >= 0),
  utilisation double precision not null check (utilisation >= 0),
  target_utilisation double precision not null check (target_utilisation > 0),
  -- this computation's count, before stabilisation
  proposed integer not null check (proposed >= 0),
  desired integer not null check (desired >= 0),
  computed_at timestamptz(6) not null,
  -- when desired last changed (or was first computed)
  changed_at timestamptz(6) not null
);
create index scaling_recommendations_tenant_id_idx on mcp.scaling_recommendations (tenant_id);

-- the proposals of the stabilisation window; older ones are deleted by each computation
create table mcp.scaling_proposals (
  configuration_id uuid not null references mcp.agent_configurations (id) on delete cascade,
  proposed_at timestamptz(6) not null,
  proposed integer not null check (proposed >= 0),
  primary key (configuration_id, proposed_at)
);

-- One computation for every configuration. Periodic and idempotent, like the stale sweep:
-- only one process computes at a time (a transaction advisory lock; a concurrent call
-- returns no rows at once), the same p_now twice changes nothing, and a
-- scaling_recommended event is written only when a configuration's desired count differs
-- from its last one (for a configuration computed for the first time: from its active
-- count, so that a new or idle configuration says nothing). Returns one row per
-- configuration computed.
create function mcp.recommend_scaling(
  p_now timestamptz,
  p_target_utilisation double precision default 0.7,
  p_tolerance double precision default 0.1,
  p_window interval default '5 minutes'
) returns table (
  tenant_id uuid,
  configuration_id uuid,
  agent_id text,
  active integer,
  utilisation double precision,
  proposed integer,
  desired integer,
  previous_desired integer,
  changed boolean
)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
begin
  if p_target_utilisation is null or p_target_utilisation <= 0 then
    raise exception 'target utilisation must be greater than 0' using errcode = 'RGINP';
  end if;
  if p_tolerance is null or p_tolerance < 0 or p_window is null or p_window < interval '0' then
    raise exception 'tolerance and window must not be negative' using errcode = 'RGINP';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('mcp.recommend_scaling')) then
    return;
  end if;

  return query
  with configs as (
    -- skip locked: a configuration being deleted is left out of this computation instead
    -- of failing it (its rows here would violate the foreign keys once it is gone)
    select c.id, c.tenant_id, c.manifest_id, c.max_workload
    from mcp.agent_configurations c
    for key share skip locked
  ),
  figures as (
    select c.id, c.tenant_id, c.manifest_id, c.max_workload,
           count(r.id)::integer as active,
           coalesce(sum(r.current_workload), 0)::bigint as workload
    from configs c
    left join mcp.agent_registrations r
      on r.configuration_id = c.id and r.tenant_id = c.tenant_id and r.registration_status = 'active'
    group by c.id, c.tenant_id, c.manifest_id, c.max_workload
  ),
  proposals as (
    select f.*,
           f.active::bigint * f.max_workload as capacity,
           case when f.active = 0 then 0::double precision
                else f.workload::double precision / (f.active::double precision * f.max_workload) end as utilisation,
           -- in numeric, so that e.g. 77 / (100 × 0.7) is exactly 1.1 and ceil(7 / 7.0) is 1;
           -- ceil(active × utilisation / target) = ceil(workload / (max_workload × target))
           case when f.active = 0 then 0
                when abs(f.workload::numeric / (f.active::numeric * f.max_workload * p_target_utilisation::numeric) - 1)
                     <= p_tolerance::numeric then f.active
                else greatest(1, least(ceil(f.workload::numeric / (f.max_workload * p_target_utilisation::numeric)),
                                       2147483647))::integer
           end as proposed
    from figures f
  ),
  stabilised as (
    select p.*,
           greatest(p.proposed, coalesce((
             select max(w.proposed) from mcp.scaling_proposals w
             where w.configuration_id = p.id and w.proposed_at > v_now - p_window and w.proposed_at < v_now
           ), 0)) as desired
    from proposals p
  ),
  -- the snapshot of the statement: the recommendations as they were before it
  previous as (
    select s.configuration_id, s.desired from mcp.scaling_recommendations s
  ),
  saved_proposals as (
    insert into mcp.scaling_proposals as w (configuration_id, proposed_at, proposed)
    select s.id, v_now, s.proposed from stabilised s
    on conflict (configuration_id, proposed_at) do update set proposed = excluded.proposed
  ),
  saved as (
    insert into mcp.scaling_recommendations as s (
      configuration_id, tenant_id, active, workload, capacity, utilisation, target_utilisation,
      proposed, desired, computed_at, changed_at
    )
    select st.id, st.tenant_id, st.active, st.workload, st.capacity, st.utilisation, p_target_utilisation,
           st.proposed, st.desired, v_now, v_now
    from stabilised st
    on conflict (configuration_id) do update set
      active = excluded.active, workload = excluded.workload, capacity = excluded.capacity,
      utilisation = excluded.utilisation, target_utilisation = excluded.target_utilisation,
      proposed = excluded.proposed, desired = excluded.desired, computed_at = excluded.computed_at,
      changed_at = case when s.desired <> excluded.desired then excluded.computed_at else s.changed_at end
  ),
  result as (
    select st.*, m.agent_id, coalesce(pv.desired, st.active) as previous_desired,
           st.desired <> coalesce(pv.desired, st.active) as changed
    from stabilised st
    join mcp.agent_manifests m on m.id = st.manifest_id
    left join previous pv on pv.configuration_id = st.id
  ),
  events as (
    insert into mcp.registration_events (tenant_id, kind, agent_id, manifest_id, configuration_id, payload, occurred_at)
    select r.tenant_id, 'scaling_recommended'::mcp.event_kind, r.agent_id, r.manifest_id, r.id,
           jsonb_build_object(
             'desired', r.desired, 'previous_desired', r.previous_desired, 'proposed', r.proposed,
             'active', r.active, 'workload', r.workload, 'capacity', r.capacity,
             'utilisation', r.utilisation, 'target_utilisation', p_target_utilisation),
           v_now
    from result r
    where r.changed
  )
  select r.tenant_id, r.id, r.agent_id, r.active, r.utilisation, r.proposed, r.desired, r.previous_desired, r.changed
  from result r;

  -- the window has moved on: older proposals can never matter again
  delete from mcp.scaling_proposals w where w.proposed_at <= v_now - p_window;
end;
$$;

comment on function mcp.recommend_scaling is
  'The scaling signal (HPA formula, tolerance band, scale-down stabilisation window) for every configuration; one computation at a time across processes; scaling_recommended events on change.';
