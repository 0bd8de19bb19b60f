-- The registry's invariants, in SQL so they hold under any concurrency and for every
-- client: idempotent registration, batched heartbeats, deregistration, disconnects,
-- the stale sweep with self-preservation, purging, and configuration versioning.
-- Every state change appends to mcp.registration_events in the same transaction.
--
-- Custom SQLSTATEs (mapped to API error codes in src/db/errors.ts):
--   RGTEN unknown tenant                     RGAID invalid agent_id
--   RGCON instance_id held by another agent  RGDIS configuration disabled
--   RGNRG instance not registered            RGINP invalid parameter
--   RGDRV write to a derived column of mcp.agents
-- Functions that tests need to control time take p_now (null means now()).

create function mcp.register_agent_instance(
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

comment on function mcp.register_agent_instance is
  'Idempotent registration: creates the manifest, the tenant configuration and the registration as needed; a known (tenant, instance) is a reconnection.';

-- One statement for a whole batch of heartbeats (group commit). Element i of each array
-- describes heartbeat i; null health or workload means "not reported". Never raises for
-- one bad element, since that would fail every heartbeat of the batch: unknown or
-- deregistered instances come back as not_registered, invalid health is ignored.
-- outcome: ok (nothing changed but last_health_check), changed (health or workload
-- changed, event written), revived (was stale: a reconnection), not_registered.
create function mcp.heartbeat_instances(
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
  cur as (
    select r.id, r.registration_status as old_status, r.health_status as old_health,
           r.current_workload as old_workload,
           coalesce(l.health,
             case when r.registration_status = 'stale' or r.health_status in ('disconnected', 'unknown')
               then 'healthy'::mcp.health_status else r.health_status end) as new_health,
           coalesce(l.workload, r.current_workload) as new_workload
    from latest l
    join mcp.agent_registrations r on r.tenant_id = l.tenant_id and r.instance_id = l.instance_id
    where r.registration_status <> 'deregistered'
    order by r.id
    for update of r
  ),
  upd as (
    update mcp.agent_registrations r set
      last_health_check = greatest(r.last_health_check, coalesce(p_now, now())),
      registration_status = 'active',
      health_status = c.new_health,
      current_workload = c.new_workload,
      reconnect_count = r.reconnect_count + (c.old_status = 'stale')::integer,
      updated_at = case
        when (c.old_status, c.old_health, c.old_workload) is distinct from ('active', c.new_health, c.new_workload)
        then coalesce(p_now, now()) else r.updated_at end
    from cur c
    where r.id = c.id
    returning r.id, r.tenant_id, r.manifest_id, r.configuration_id, r.instance_id,
              r.registration_status, r.health_status, r.current_workload, r.reconnect_count,
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
             'current_workload', u.current_workload, 'reconnect_count', u.reconnect_count),
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

-- Graceful shutdown of an instance. Raises RGNRG for an unknown instance; an instance
-- already deregistered is reported with was_active = false and writes no event.
create function mcp.deregister_agent_instance(
  p_tenant_id uuid,
  p_instance_id text,
  p_now timestamptz default null,
  p_reason text default 'deregistered'
) returns table (registration_id uuid, was_active boolean)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
  v_reg mcp.agent_registrations;
begin
  select r.* into v_reg from mcp.agent_registrations r
  where r.tenant_id = p_tenant_id and r.instance_id = p_instance_id
  for update;
  if v_reg.id is null then
    raise exception 'instance % is not registered', p_instance_id using errcode = 'RGNRG';
  end if;
  if v_reg.registration_status = 'deregistered' then
    return query select v_reg.id, false;
    return;
  end if;

  update mcp.agent_registrations r set
    registration_status = 'deregistered', health_status = 'disconnected',
    current_workload = 0, deregistered_at = v_now, updated_at = v_now
  where r.id = v_reg.id;

  insert into mcp.registration_events (
    tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
    registration_status, health_status, payload, occurred_at
  )
  select v_reg.tenant_id, 'deregistered', m.agent_id, v_reg.manifest_id, v_reg.configuration_id,
         v_reg.id, v_reg.instance_id, 'deregistered', 'disconnected',
         jsonb_build_object('reason', p_reason, 'previous_status', v_reg.registration_status), v_now
  from mcp.agent_manifests m where m.id = v_reg.manifest_id;

  return query select v_reg.id, true;
end;
$$;

-- A connection closed without deregistering: the instance stays active (a quick
-- reconnect resumes it) but is disconnected until it heartbeats or registers again.
-- With p_connection_id, only a registration still bound to that connection is touched,
-- so a late close of an old socket cannot disconnect an instance that already reconnected.
create function mcp.mark_instance_disconnected(
  p_tenant_id uuid,
  p_instance_id text,
  p_connection_id text default null,
  p_now timestamptz default null
) returns boolean
language sql volatile as $$
  with upd as (
    update mcp.agent_registrations r set
      health_status = 'disconnected', updated_at = coalesce(p_now, now())
    where r.tenant_id = p_tenant_id and r.instance_id = p_instance_id
      and r.registration_status = 'active' and r.health_status <> 'disconnected'
      and (p_connection_id is null or r.connection_details ->> 'connection_id' = p_connection_id)
    returning r.*
  ),
  events as (
    insert into mcp.registration_events (
      tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
      registration_status, health_status, payload, occurred_at
    )
    select u.tenant_id, 'disconnected', m.agent_id, u.manifest_id, u.configuration_id, u.id,
           u.instance_id, u.registration_status, u.health_status, '{}', coalesce(p_now, now())
    from upd u join mcp.agent_manifests m on m.id = u.manifest_id
  )
  select exists (select 1 from upd);
$$;

-- The stale sweep: marks active instances without a heartbeat for p_stale_after as stale.
-- Idempotent, and only one sweeper runs at a time across all processes (a transaction
-- advisory lock; a second concurrent call returns no rows at once).
--
-- Self-preservation: when a tenant has at least p_min_active active instances and more
-- than p_max_share of them would go stale in one sweep, the cause is more likely our
-- side (network, registry restart) than the agents: the sweep holds back for that tenant,
-- records the hold in mcp.sweep_holds, writes a self_preservation event, and gives up
-- holding once p_hold_ceiling has passed since the hold began.
create function mcp.mark_stale_instances(
  p_now timestamptz,
  p_stale_after interval,
  p_max_share double precision default 0.5,
  p_min_active integer default 10,
  p_hold_ceiling interval default '10 minutes'
) returns table (tenant_id uuid, candidates integer, active integer, marked integer, held boolean, held_since timestamptz)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
  v_cutoff timestamptz := coalesce(p_now, now()) - p_stale_after;
  v_tenant record;
  v_since timestamptz;
  v_new_hold boolean;
  v_marked integer;
begin
  if not pg_try_advisory_xact_lock(hashtext('mcp.mark_stale_instances')) then
    return;
  end if;

  -- a hold whose tenant has nothing left to mark stale is over
  with ended as (
    delete from mcp.sweep_holds h
    where not exists (
      select 1 from mcp.agent_registrations r
      where r.tenant_id = h.tenant_id and r.registration_status = 'active' and r.last_health_check < v_cutoff
    )
    returning h.*
  )
  insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
  select e.tenant_id, 'self_preservation',
         jsonb_build_object('holding', false, 'ended', true, 'held_since', e.held_since), v_now
  from ended e;

  for v_tenant in
    select r.tenant_id,
           (count(*) filter (where r.last_health_check < v_cutoff))::integer as candidates,
           count(*)::integer as active
    from mcp.agent_registrations r
    where r.registration_status = 'active'
    group by r.tenant_id
    having count(*) filter (where r.last_health_check < v_cutoff) > 0
  loop
    if v_tenant.active >= p_min_active and v_tenant.candidates > p_max_share * v_tenant.active then
      -- read first (the advisory lock makes this the only writer of sweep_holds): comparing
      -- held_since with v_now would take a repeated sweep at the same instant for a new hold
      v_new_hold := not exists (select 1 from mcp.sweep_holds h where h.tenant_id = v_tenant.tenant_id);
      insert into mcp.sweep_holds as h (tenant_id, held_since, candidates, active)
      values (v_tenant.tenant_id, v_now, v_tenant.candidates, v_tenant.active)
      on conflict (tenant_id) do update set candidates = excluded.candidates, active = excluded.active
      returning h.held_since into v_since;

      if v_now - v_since < p_hold_ceiling then
        if v_new_hold then
          insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
          values (v_tenant.tenant_id, 'self_preservation',
                  jsonb_build_object('holding', true, 'candidates', v_tenant.candidates,
                                     'active', v_tenant.active, 'held_since', v_since), v_now);
        end if;
        return query select v_tenant.tenant_id, v_tenant.candidates, v_tenant.active, 0, true, v_since;
        continue;
      end if;

      insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
      values (v_tenant.tenant_id, 'self_preservation',
              jsonb_build_object('holding', false, 'gave_up', true, 'candidates', v_tenant.candidates,
                                 'active', v_tenant.active, 'held_since', v_since), v_now);
      delete from mcp.sweep_holds h where h.tenant_id = v_tenant.tenant_id;
    else
      -- below the threshold, so an earlier hold is over: left in place, its old held_since
      -- would make the next mass silence give up at once instead of holding a full ceiling
      with ended as (
        delete from mcp.sweep_holds h where h.tenant_id = v_tenant.tenant_id returning h.*
      )
      insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
      select e.tenant_id, 'self_preservation',
             jsonb_build_object('holding', false, 'ended', true, 'held_since', e.held_since), v_now
      from ended e;
    end if;

    -- skip locked: a row someone holds is being heartbeated or re-registered right now, and
    -- waiting for it while holding other rows deadlocks against a heartbeat batch, which
    -- locks its rows in id order; a skipped row is swept next time if it is still silent
    with stale as (
      update mcp.agent_registrations r set
        registration_status = 'stale', health_status = 'unknown', updated_at = v_now
      where r.id in (
          select c.id from mcp.agent_registrations c
          where c.tenant_id = v_tenant.tenant_id and c.registration_status = 'active'
            and c.last_health_check < v_cutoff
          for update skip locked
        )
        and r.registration_status = 'active' and r.last_health_check < v_cutoff
      returning r.*
    )
    insert into mcp.registration_events (
      tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
      registration_status, health_status, payload, occurred_at
    )
    select s.tenant_id, 'stale', m.agent_id, s.manifest_id, s.configuration_id, s.id, s.instance_id,
           s.registration_status, s.health_status,
           jsonb_build_object('last_health_check', s.last_health_check), v_now
    from stale s join mcp.agent_manifests m on m.id = s.manifest_id;
    get diagnostics v_marked = row_count;

    return query select v_tenant.tenant_id, v_tenant.candidates, v_tenant.active, v_marked, false, null::timestamptz;
  end loop;
end;
$$;

-- Deletes registrations stale or deregistered for longer than p_older_than (stale rows
-- count from their last heartbeat), writing a purged event for each. Returns the count.
create function mcp.purge_registrations(
  p_now timestamptz,
  p_older_than interval default '24 hours'
) returns integer
language sql volatile as $$
  -- skip locked, as in the stale sweep: a locked row is being revived or re-registered,
  -- and waiting for it could deadlock against a heartbeat batch (which locks in id order)
  with candidates as (
    select r.id from mcp.agent_registrations r
    where (r.registration_status = 'stale' and r.last_health_check < coalesce(p_now, now()) - p_older_than)
       or (r.registration_status = 'deregistered' and r.deregistered_at < coalesce(p_now, now()) - p_older_than)
    for update skip locked
  ),
  purged as (
    delete from mcp.agent_registrations r
    using candidates c
    where r.id = c.id
    returning r.*
  ),
  events as (
    insert into mcp.registration_events (
      tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
      registration_status, health_status, payload, occurred_at
    )
    select p.tenant_id, 'purged', m.agent_id, p.manifest_id, p.configuration_id, p.id, p.instance_id,
           p.registration_status, p.health_status, '{}', coalesce(p_now, now())
    from purged p join mcp.agent_manifests m on m.id = p.manifest_id
  )
  select count(*)::integer from purged;
$$;

-- Event retention: deletes events older than p_older_than. Returns the count.
create function mcp.prune_events(
  p_now timestamptz,
  p_older_than interval
) returns integer
language sql volatile as $$
  with pruned as (
    delete from mcp.registration_events e
    where e.occurred_at < coalesce(p_now, now()) - p_older_than
    returning 1
  )
  select count(*)::integer from pruned;
$$;

-- Configurations: every change bumps `version` (the optimistic-concurrency token) and
-- `updated_at`, and every insert, change and delete writes a configuration_changed event.
create function mcp.tg_agent_configurations_version() returns trigger
language plpgsql volatile as $$
begin
  if (new.name, new.model_id, new.temperature, new.max_tokens, new.system_prompt,
      new.max_workload, new.enabled, new.settings, new.tenant_id, new.manifest_id)
     is distinct from
     (old.name, old.model_id, old.temperature, old.max_tokens, old.system_prompt,
      old.max_workload, old.enabled, old.settings, old.tenant_id, old.manifest_id) then
    new.version := old.version + 1;
    new.updated_at := now();
  else
    new.version := old.version;
  end if;
  return new;
end;
$$;

create trigger agent_configurations_version
  before update on mcp.agent_configurations
  for each row execute function mcp.tg_agent_configurations_version();

-- Deleting a configuration deregisters its live instances first (with their events);
-- the rows keep their history with configuration_id set to null.
create function mcp.tg_agent_configurations_deregister() returns trigger
language plpgsql volatile as $$
begin
  -- part of deleting the whole tenant: its registrations and events go too, and an event
  -- written now would violate the foreign key to the tenant being deleted
  if not exists (select 1 from mcp.tenants t where t.id = old.tenant_id) then
    return old;
  end if;
  -- in id order, the order heartbeat batches lock in, so the two cannot deadlock
  perform mcp.deregister_agent_instance(r.tenant_id, r.instance_id, now(), 'configuration deleted')
  from (
    select r.tenant_id, r.instance_id from mcp.agent_registrations r
    where r.configuration_id = old.id and r.registration_status <> 'deregistered'
    order by r.id
  ) r;
  return old;
end;
$$;

create trigger agent_configurations_deregister
  before delete on mcp.agent_configurations
  for each row execute function mcp.tg_agent_configurations_deregister();

create function mcp.tg_agent_configurations_event() returns trigger
language plpgsql volatile as $$
declare
  v_row mcp.agent_configurations := case when tg_op = 'DELETE' then old else new end;
begin
  if tg_op = 'UPDATE' and new.version = old.version then
    return null;
  end if;
  -- deleted along with its tenant: no event for a tenant that no longer exists
  if tg_op = 'DELETE' and not exists (select 1 from mcp.tenants t where t.id = old.tenant_id) then
    return null;
  end if;
  insert into mcp.registration_events (tenant_id, kind, agent_id, manifest_id, configuration_id, payload)
  select v_row.tenant_id, 'configuration_changed', m.agent_id, v_row.manifest_id, v_row.id,
         jsonb_build_object('operation', lower(tg_op), 'version', v_row.version, 'enabled', v_row.enabled)
  from mcp.agent_manifests m where m.id = v_row.manifest_id;
  return null;
end;
$$;

create trigger agent_configurations_event
  after insert or update or delete on mcp.agent_configurations
  for each row execute function mcp.tg_agent_configurations_event();
