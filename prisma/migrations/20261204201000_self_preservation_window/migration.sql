-- Self-preservation judged over a window, not per sweep.
--
-- Real agents heartbeat on spread phases. When most of a tenant's agents fall silent at
-- once, their last heartbeats still lie up to one heartbeat interval apart, so they cross
-- the stale cutoff over several sweeps; each sweep saw only its slice, stayed below the
-- share, and marked it stale (measured: 16 of 20 silent agents all went stale in three
-- sweeps, the hold never began). As Eureka judges renewals per minute against an expected
-- rate, a sweep now counts what is going stale over one stale-timeout window: the instances
-- it marked stale within the window plus this sweep's candidates, against the instances
-- active at the window's start (active now plus those marked stale within it). Whatever the
-- phases, a mass expiry holds once it passes the share; a few silent instances go stale as
-- before.
--
-- Returned per tenant with candidates: candidates = the window's count (marked within the
-- window + this sweep's candidates), active = the base it is judged against; sweep_holds and
-- the self_preservation events carry the same figures.
create or replace function mcp.mark_stale_instances(
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
  -- the window is one stale timeout long, ending now
  v_window_start timestamptz := coalesce(p_now, now()) - p_stale_after;
  v_tenant record;
  v_expiring integer;
  v_base integer;
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
           (count(*) filter (where r.registration_status = 'active' and r.last_health_check < v_cutoff))::integer as candidates,
           (count(*) filter (where r.registration_status = 'active'))::integer as active,
           -- marked stale within the window (a stale row is written only by the sweep; a
           -- revived one is active again and counts as active)
           (count(*) filter (where r.registration_status = 'stale'))::integer as recent
    from mcp.agent_registrations r
    where r.registration_status = 'active'
       or (r.registration_status = 'stale' and r.updated_at >= v_window_start)
    group by r.tenant_id
    having count(*) filter (where r.registration_status = 'active' and r.last_health_check < v_cutoff) > 0
  loop
    v_expiring := v_tenant.recent + v_tenant.candidates;
    v_base := v_tenant.active + v_tenant.recent;
    if v_base >= p_min_active and v_expiring > p_max_share * v_base then
      -- read first (the advisory lock makes this the only writer of sweep_holds): comparing
      -- held_since with v_now would take a repeated sweep at the same instant for a new hold
      v_new_hold := not exists (select 1 from mcp.sweep_holds h where h.tenant_id = v_tenant.tenant_id);
      insert into mcp.sweep_holds as h (tenant_id, held_since, candidates, active)
      values (v_tenant.tenant_id, v_now, v_expiring, v_base)
      on conflict (tenant_id) do update set candidates = excluded.candidates, active = excluded.active
      returning h.held_since into v_since;

      if v_now - v_since < p_hold_ceiling then
        if v_new_hold then
          insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
          values (v_tenant.tenant_id, 'self_preservation',
                  jsonb_build_object('holding', true, 'candidates', v_expiring,
                                     'active', v_base, 'held_since', v_since), v_now);
        end if;
        return query select v_tenant.tenant_id, v_expiring, v_base, 0, true, v_since;
        continue;
      end if;

      -- after giving up, the instances it marks stale stay in the window for one stale
      -- timeout: a new silent instance meanwhile can begin a new hold, which ends as soon
      -- as they leave the window (at most one stale timeout later)
      insert into mcp.registration_events (tenant_id, kind, payload, occurred_at)
      values (v_tenant.tenant_id, 'self_preservation',
              jsonb_build_object('holding', false, 'gave_up', true, 'candidates', v_expiring,
                                 'active', v_base, 'held_since', v_since), v_now);
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

    return query select v_tenant.tenant_id, v_expiring, v_base, v_marked, false, null::timestamptz;
  end loop;
end;
$$;
