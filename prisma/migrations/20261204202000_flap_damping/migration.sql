-- Flap damping (Consul's success_before_passing / failures_before_critical): a health
-- change reported by heartbeats is applied only after the same health was reported
-- health_change_threshold times in a row. The default 1 is the behaviour before this
-- migration (every reported change applies at once).
--
-- The raw report stays visible: reported_health is the health of the last heartbeat that
-- reported one (null until the first such heartbeat after a registration), and
-- reported_health_streak counts how many heartbeats in a row reported it.

alter table mcp.agent_configurations
  add column health_change_threshold integer not null default 1
    constraint agent_configurations_health_change_threshold_range check (health_change_threshold between 1 and 20);

-- neither column is indexed, so heartbeats stay in-page (HOT) updates
alter table mcp.agent_registrations
  add column reported_health mcp.health_status
    constraint agent_registrations_reported_health_reportable
    check (reported_health in ('healthy', 'degraded', 'unhealthy')),
  add column reported_health_streak integer not null default 0
    constraint agent_registrations_reported_health_streak_range check (reported_health_streak >= 0);

-- Every column but the bookkeeping ones is configuration: compared as a whole row, so a
-- column added later bumps the version without this function being rewritten again.
create or replace function mcp.tg_agent_configurations_version() returns trigger
language plpgsql volatile as $$
begin
  if (to_jsonb(new) - 'version' - 'updated_at' - 'created_at')
     is distinct from (to_jsonb(old) - 'version' - 'updated_at' - 'created_at') then
    new.version := old.version + 1;
    new.updated_at := now();
  else
    new.version := old.version;
  end if;
  return new;
end;
$$;

-- mcp.heartbeat_instances with flap damping; same signature, result and batch rules as
-- before (see *_registry_functions). Per instance, with K = its configuration's
-- health_change_threshold and h the reported health:
--   * the streak counts consecutive heartbeats that reported h (a heartbeat without a
--     health neither extends nor breaks it);
--   * h is applied when it was reported K times in a row, or at once when the registry
--     itself had set the health (stale, disconnected, unknown): such an instance is
--     evidently back and its own report is the best we know.
-- A heartbeat whose report is not (yet) applied writes last_health_check and the two
-- reported_* columns only, and no event: outcome ok.
create or replace function mcp.heartbeat_instances(
  p_tenant_ids uuid[],
  p_instance_ids text[],
  -- text, not the enum: one agent's unknown health string must not fail the whole batch
  p_health text[],
  p_workloads integer[],
  p_now timestamptz default null
) returns table (ordinal integer, registration_id uuid, outcome text)
language sql volatile as $$
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
$$;

-- mcp.register_agent_instance as in *_registry_functions, except that a reconnection (or
-- a takeover) also clears reported_health and its streak: the registration starts
-- healthy, and reports from before it must not count towards changing that.
create or replace function mcp.register_agent_instance(
  p_tenant_id uuid,
  p_agent_id text,
  p_instance_id text,
  p_name text default null,
  p_connection_details jsonb default '{}',
  p_runtime_config jsonb default '{}',
  p_capabilities text[] default null,
  p_now timestamptz default null
) returns table (registration_id uuid, manifest_id uuid, config_id uuid, is_new boolean, message text)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
  v_manifest_id uuid;
  v_manifest_name text;
  v_config_id uuid;
  v_enabled boolean;
  v_reg mcp.agent_registrations;
  v_held_by text;
begin
  if p_agent_id is null or p_agent_id !~ '^[a-z0-9._-]{1,64}$' then
    raise exception 'invalid agent_id %: use 1 to 64 lowercase letters, digits, ".", "_" or "-"',
      coalesce(quote_literal(p_agent_id), 'null') using errcode = 'RGAID';
  end if;
  if p_instance_id is null or length(p_instance_id) not between 1 and 256 then
    raise exception 'invalid instance_id: 1 to 256 characters required' using errcode = 'RGINP';
  end if;
  perform 1 from mcp.tenants t where t.id = p_tenant_id;
  if not found then
    raise exception 'unknown tenant %', p_tenant_id using errcode = 'RGTEN';
  end if;

  -- insert-or-nothing, then read: under read committed the read sees a row that a
  -- concurrent caller committed while we waited on its unique key
  insert into mcp.agent_manifests as m (agent_id, agent_type, name, capabilities, created_at, updated_at)
  values (p_agent_id, p_agent_id, p_agent_id, coalesce(p_capabilities, '{}'), v_now, v_now)
  on conflict (agent_id) do nothing;
  select m.id, m.name into v_manifest_id, v_manifest_name
  from mcp.agent_manifests m where m.agent_id = p_agent_id;

  insert into mcp.agent_configurations as c (tenant_id, manifest_id, name, created_at, updated_at)
  values (p_tenant_id, v_manifest_id, v_manifest_name, v_now, v_now)
  on conflict (tenant_id, manifest_id) do nothing;
  select c.id, c.enabled into v_config_id, v_enabled
  from mcp.agent_configurations c where c.tenant_id = p_tenant_id and c.manifest_id = v_manifest_id;

  if not v_enabled then
    raise exception 'agent % is disabled for this tenant', p_agent_id using errcode = 'RGDIS';
  end if;

  insert into mcp.agent_registrations as r (
    tenant_id, manifest_id, configuration_id, instance_id, name, last_health_check,
    connection_details, runtime_config, capabilities, registered_at, updated_at
  ) values (
    p_tenant_id, v_manifest_id, v_config_id, p_instance_id, p_name, v_now,
    coalesce(p_connection_details, '{}'), coalesce(p_runtime_config, '{}'),
    coalesce(p_capabilities, '{}'), v_now, v_now
  )
  on conflict (tenant_id, instance_id) do update set
    manifest_id = excluded.manifest_id,
    configuration_id = excluded.configuration_id,
    name = coalesce(excluded.name, r.name),
    registration_status = 'active',
    health_status = 'healthy',
    -- a new registration starts a new streak: reports from before it are not evidence
    reported_health = null,
    reported_health_streak = 0,
    last_health_check = greatest(r.last_health_check, excluded.last_health_check),
    connection_details = excluded.connection_details,
    runtime_config = excluded.runtime_config,
    capabilities = coalesce(p_capabilities, r.capabilities),
    current_workload = 0,
    -- a takeover by another agent type starts afresh: it is a new registration
    reconnect_count = case when r.manifest_id = excluded.manifest_id then r.reconnect_count + 1 else 0 end,
    registered_at = case when r.manifest_id = excluded.manifest_id then r.registered_at else excluded.registered_at end,
    deregistered_at = null,
    updated_at = excluded.updated_at
  -- an instance id belongs to one agent type while it is live; the update is skipped
  -- for another type unless the old instance deregistered (its id is free again)
  where r.manifest_id = excluded.manifest_id or r.registration_status = 'deregistered'
  returning r.* into v_reg;

  if v_reg.id is null then
    select m.agent_id into v_held_by
    from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
    where r.tenant_id = p_tenant_id and r.instance_id = p_instance_id;
    raise exception 'instance % is already registered as agent %', p_instance_id, v_held_by
      using errcode = 'RGCON';
  end if;

  -- the insert leaves reconnect_count at 0, every update raises it: exactly one caller
  -- of any number racing on one new instance sees is_new
  insert into mcp.registration_events (
    tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
    registration_status, health_status, payload, occurred_at
  ) values (
    p_tenant_id,
    case when v_reg.reconnect_count = 0 then 'registered' else 'reconnected' end::mcp.event_kind,
    p_agent_id, v_manifest_id, v_config_id, v_reg.id, p_instance_id,
    v_reg.registration_status, v_reg.health_status,
    jsonb_build_object('name', v_reg.name, 'reconnect_count', v_reg.reconnect_count),
    v_now
  );

  return query select
    v_reg.id, v_manifest_id, v_config_id, v_reg.reconnect_count = 0,
    case when v_reg.reconnect_count = 0
      then format('registered new instance %s of %s', p_instance_id, p_agent_id)
      else format('instance %s of %s reconnected (reconnection %s)', p_instance_id, p_agent_id, v_reg.reconnect_count)
    end;
end;
$$;

-- mcp.register_agent_instance_row returns every column of the registration, so it gains
-- the two reported_* columns; a result type cannot be changed in place, hence drop + create
-- (nothing in the database depends on it).
drop function mcp.register_agent_instance_row(uuid, text, text, text, jsonb, jsonb, text[], timestamptz);

create function mcp.register_agent_instance_row(
  p_tenant_id uuid,
  p_agent_id text,
  p_instance_id text,
  p_name text default null,
  p_connection_details jsonb default '{}',
  p_runtime_config jsonb default '{}',
  p_capabilities text[] default null,
  p_now timestamptz default null
) returns table (
  is_new boolean,
  message text,
  id uuid,
  tenant_id uuid,
  instance_id text,
  agent_id text,
  agent_type text,
  manifest_id uuid,
  configuration_id uuid,
  name text,
  registration_status mcp.registration_status,
  health_status mcp.health_status,
  last_health_check timestamptz,
  connection_details jsonb,
  runtime_config jsonb,
  capabilities text[],
  current_workload integer,
  reconnect_count integer,
  registered_at timestamptz,
  deregistered_at timestamptz,
  updated_at timestamptz,
  reported_health mcp.health_status,
  reported_health_streak integer
)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_result record;
begin
  select * into v_result
  from mcp.register_agent_instance(p_tenant_id, p_agent_id, p_instance_id, p_name,
                                   p_connection_details, p_runtime_config, p_capabilities, p_now);
  -- a new statement: its snapshot sees the row the call above wrote
  return query
    select v_result.is_new, v_result.message, r.id, r.tenant_id, r.instance_id, m.agent_id, m.agent_type,
           r.manifest_id, r.configuration_id, r.name, r.registration_status, r.health_status,
           r.last_health_check, r.connection_details, r.runtime_config, r.capabilities,
           r.current_workload, r.reconnect_count, r.registered_at, r.deregistered_at, r.updated_at,
           r.reported_health, r.reported_health_streak
    from mcp.agent_registrations r
    join mcp.agent_manifests m on m.id = r.manifest_id
    where r.id = v_result.registration_id;
end;
$$;

comment on function mcp.register_agent_instance_row is
  'mcp.register_agent_instance, returning the whole registration row (for the API) in one round trip.';
