-- Circuit breaking: the ejection multiplier decays.
--
-- An ejection lasts least(base x ejection_count, max). Until now ejection_count only grew:
-- an instance ejected five times on a bad day was ejected for the maximum (5 minutes by
-- default) at its next failure weeks later. As Envoy does (its multiplier is decremented
-- at every interval the host is found healthy), the count now falls by one for every base
-- ejection time the circuit has stayed closed since its last restore, down to zero. It is
-- applied lazily, when the circuit is next ejected after consecutive failures (a failed
-- probe happens while half-open: no closed time to count); restored_at records the restore.
-- The circuit's effective count, as GraphQL shows it, is the same formula
-- (src/routing/routing.service.ts, toCircuit). Same signature, results and locks.

alter table mcp.instance_circuits add column restored_at timestamptz(6);

create or replace function mcp.report_instance_outcomes(
  p_tenant_ids uuid[],
  p_instance_ids text[],
  p_outcomes text[],
  p_now timestamptz default null,
  p_failure_threshold integer default 5,
  p_base_ejection interval default '30 seconds',
  p_max_ejection interval default '300 seconds',
  p_max_share double precision default 0.1
) returns table (ordinal integer, registration_id uuid, result text, circuit text)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
  v_item record;
  v_current uuid;
  -- the circuit row of v_current was read and locked (it may not exist: v_has_row)
  v_loaded boolean := false;
  v_has_row boolean := false;
  v_dirty boolean := false;
  v_failures integer;
  v_count integer;
  v_ejected_at timestamptz;
  v_until timestamptz;
  v_probe timestamptz;
  v_restored timestamptz;
  v_ejected integer;
  v_active integer;
  v_lock_tenant uuid;
  v_lock_manifest uuid;
begin
  if p_failure_threshold is null or p_failure_threshold < 1 then
    raise exception 'failure threshold must be at least 1' using errcode = 'RGINP';
  end if;

  -- Locks, in one order for every batch (so that concurrent batches cannot deadlock): per
  -- (tenant, agent) in (tenant_id, manifest_id) order, first a transaction advisory lock when
  -- any of its reports is a failure or a timeout (the ceiling is counted under it, so two
  -- processes cannot both take the last ejection slot), then its circuit rows in registration
  -- id order, as they are reached. (The first version took all the advisory locks first, in a
  -- statement of their own: without statistics it read all of an agent's registrations per
  -- failure through the status index.)
  for v_item in
    select i.ord::integer as ord, i.outcome, r.id as reg_id, r.tenant_id, r.manifest_id, r.configuration_id,
           r.instance_id, r.registration_status, r.health_status, m.agent_id,
           bool_or(i.outcome in ('failure', 'timeout')) over (partition by r.tenant_id, r.manifest_id) is true as group_fails,
           -- read without a lock: a success for a circuit that is closed and clean changes nothing
           -- and takes no lock at all (the common case)
           (c.consecutive_failures > 0 or c.ejected_until is not null) is true as needs_state
    from unnest(p_tenant_ids, p_instance_ids, p_outcomes) with ordinality as i (tenant_id, instance_id, outcome, ord)
    -- one probe of the (tenant_id, instance_id) key per report, whatever the statistics say
    -- (see the header; offset 0 keeps the status test out of the index scan)
    left join lateral (
      select r.id, r.tenant_id, r.manifest_id, r.configuration_id, r.instance_id, r.registration_status, r.health_status
      from mcp.agent_registrations r
      where r.tenant_id = i.tenant_id and r.instance_id = i.instance_id
      offset 0
    ) r on r.registration_status = 'active'
    left join mcp.agent_manifests m on m.id = r.manifest_id
    left join lateral (
      select c.consecutive_failures, c.ejected_until from mcp.instance_circuits c where c.registration_id = r.id
    ) c on true
    order by r.tenant_id nulls first, r.manifest_id, r.id, i.ord
  loop
    ordinal := v_item.ord;
    registration_id := v_item.reg_id;
    if v_item.reg_id is null then
      result := 'not_found';
      circuit := null;
      return next;
      continue;
    end if;

    if v_item.group_fails and (v_item.tenant_id, v_item.manifest_id) is distinct from (v_lock_tenant, v_lock_manifest) then
      perform pg_advisory_xact_lock(hashtextextended(
        'mcp.report_instance_outcomes:' || v_item.tenant_id || ':' || v_item.manifest_id, 0));
      v_lock_tenant := v_item.tenant_id;
      v_lock_manifest := v_item.manifest_id;
    end if;

    if v_item.reg_id is distinct from v_current then
      if v_dirty then
        update mcp.instance_circuits c set consecutive_failures = v_failures, ejection_count = v_count,
          ejected_at = v_ejected_at, ejected_until = v_until, probe_started_at = v_probe, restored_at = v_restored,
          updated_at = v_now
        where c.registration_id = v_current;
      end if;
      v_current := v_item.reg_id;
      v_loaded := false;
      v_has_row := false;
      v_dirty := false;
      v_failures := 0; v_count := 0; v_ejected_at := null; v_until := null; v_probe := null; v_restored := null;
    end if;

    if v_item.outcome is null or v_item.outcome not in ('success', 'failure', 'timeout') then
      result := 'invalid';
      circuit := case when v_until is null then 'closed' when v_until > v_now then 'open' else 'half_open' end;
      return next;
      continue;
    end if;

    if not v_loaded and (v_item.outcome <> 'success' or v_item.needs_state) then
      select c.consecutive_failures, c.ejection_count, c.ejected_at, c.ejected_until, c.probe_started_at, c.restored_at
        into v_failures, v_count, v_ejected_at, v_until, v_probe, v_restored
      from mcp.instance_circuits c where c.registration_id = v_item.reg_id
      for update;
      v_has_row := found;
      v_loaded := true;
      if not v_has_row then
        v_failures := 0; v_count := 0; v_ejected_at := null; v_until := null; v_probe := null; v_restored := null;
      end if;
    end if;

    if not v_loaded then
      -- a success for a closed circuit without failures: nothing to write
      result := 'recorded';
    elsif v_until is not null and v_until > v_now then
      -- open: a late report of a request sent before the ejection
      result := 'recorded';
      if v_item.outcome <> 'success' then
        v_failures := v_failures + 1;
        v_dirty := true;
      end if;
    elsif v_until is not null then
      -- half-open: this outcome decides
      if v_item.outcome = 'success' then
        result := 'restored';
        insert into mcp.registration_events (
          tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
          registration_status, health_status, payload, occurred_at
        ) values (
          v_item.tenant_id, 'restored', v_item.agent_id, v_item.manifest_id, v_item.configuration_id, v_item.reg_id,
          v_item.instance_id, v_item.registration_status, v_item.health_status,
          jsonb_build_object('ejection_count', v_count, 'ejected_at', v_ejected_at), v_now
        );
        v_failures := 0; v_ejected_at := null; v_until := null; v_probe := null; v_restored := v_now;
      else
        result := 'ejected';
        v_failures := v_failures + 1;
        v_count := v_count + 1;
        v_ejected_at := v_now;
        v_until := v_now + least(p_base_ejection * v_count, p_max_ejection);
        v_probe := null;
        insert into mcp.registration_events (
          tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
          registration_status, health_status, payload, occurred_at
        ) values (
          v_item.tenant_id, 'ejected', v_item.agent_id, v_item.manifest_id, v_item.configuration_id, v_item.reg_id,
          v_item.instance_id, v_item.registration_status, v_item.health_status,
          jsonb_build_object('reason', 'probe_failed', 'outcome', v_item.outcome, 'consecutive_failures', v_failures,
                             'ejection_count', v_count, 'ejected_until', v_until), v_now
        );
      end if;
      v_dirty := true;
    elsif v_item.outcome = 'success' then
      result := 'recorded';
      if v_failures > 0 then
        v_failures := 0;
        v_dirty := true;
      end if;
    else
      v_failures := v_failures + 1;
      v_dirty := true;
      result := 'recorded';
      if v_failures >= p_failure_threshold then
        -- the ceiling: ejected (open or half-open) active instances of this agent, counting
        -- the ones this loop already wrote; under the advisory lock taken above
        select count(*) filter (where c.ejected_until is not null)::integer, count(*)::integer
          into v_ejected, v_active
        from mcp.agent_registrations r
        left join mcp.instance_circuits c on c.registration_id = r.id
        where r.tenant_id = v_item.tenant_id and r.manifest_id = v_item.manifest_id and r.registration_status = 'active';
        if v_ejected < greatest(1, floor(p_max_share * v_active)::integer) then
          result := 'ejected';
          -- the multiplier decays while the circuit stays closed: one off for every base
          -- ejection time since the last restore (Envoy decrements it per healthy interval)
          if v_restored is not null then
            v_count := greatest(0, v_count - floor(extract(epoch from v_now - v_restored)
                                                   / extract(epoch from p_base_ejection))::integer);
          end if;
          v_count := v_count + 1;
          v_ejected_at := v_now;
          v_until := v_now + least(p_base_ejection * v_count, p_max_ejection);
          v_probe := null;
          insert into mcp.registration_events (
            tenant_id, kind, agent_id, manifest_id, configuration_id, registration_id, instance_id,
            registration_status, health_status, payload, occurred_at
          ) values (
            v_item.tenant_id, 'ejected', v_item.agent_id, v_item.manifest_id, v_item.configuration_id, v_item.reg_id,
            v_item.instance_id, v_item.registration_status, v_item.health_status,
            jsonb_build_object('reason', 'consecutive_failures', 'outcome', v_item.outcome,
                               'consecutive_failures', v_failures, 'ejection_count', v_count, 'ejected_until', v_until), v_now
          );
        else
          result := 'held';
        end if;
      end if;
    end if;

    if v_dirty and not v_has_row then
      -- the ceiling above must see this row once it is ejected: create it now (under the
      -- advisory lock, so no concurrent batch creates it with failures of its own)
      insert into mcp.instance_circuits as c (registration_id, tenant_id, updated_at)
      values (v_item.reg_id, v_item.tenant_id, v_now)
      on conflict (registration_id) do nothing;
      perform 1 from mcp.instance_circuits c where c.registration_id = v_item.reg_id for update;
      v_has_row := true;
    end if;

    circuit := case when v_until is null then 'closed' when v_until > v_now then 'open' else 'half_open' end;
    return next;
  end loop;

  if v_dirty then
    update mcp.instance_circuits c set consecutive_failures = v_failures, ejection_count = v_count,
      ejected_at = v_ejected_at, ejected_until = v_until, probe_started_at = v_probe, restored_at = v_restored,
      updated_at = v_now
    where c.registration_id = v_current;
  end if;
end;
$$;

comment on function mcp.report_instance_outcomes is
  'Circuit breaking: a batch of success/failure/timeout reports; ejects after consecutive failures (within a share of the agent), restores after a successful half-open probe; the ejection multiplier decays while closed.';
