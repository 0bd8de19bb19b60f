-- Outcome reports: the common case set-based.
--
-- mcp.report_instance_outcomes ran every report through its PL/pgSQL loop, fetching each
-- into a 12-column record and answering it with `return next`, although nearly all reports
-- are successes of an instance whose circuit is closed and clean: they change nothing, lock
-- nothing and are answered 'recorded' / 'closed'. (Session 8 skipped the loop's steps for
-- them and gained 3-7 %: the cost is the loop itself.) Now one statement looks every report
-- up (the same key probe per report as before) and answers those, and the reports of unknown
-- instances, straight from its query. Only the others (an instance with a failure, a timeout
-- or an unknown outcome in the batch, or whose circuit has failures or an ejection) go, with
-- what the lookup found, to the loop, which is unchanged and now lives in
-- mcp.report_instance_outcomes_stateful. "Clean" is decided per instance over the whole
-- batch, as before: a success of an instance that also has a failure in the batch goes
-- through the loop, in order with it. Same signature, results, locks and lock order (clean
-- successes took no lock before either).
--
-- The loop gets its reports as an array (mcp.outcome_report) rather than looking them up
-- again: a second lookup, restricted to the loop's reports, was planned anew at every call
-- (~0.25 ms a batch), and with a cached generic plan it could read all of an agent's
-- registrations through the status index when the plan was made while the table was small.
--
-- Measured in a DO block of 300 calls (batches of 125 reports over 2,000 registrations, no
-- commit in between), ms per call, old -> new: all successes 0.73 -> 0.52, one failure
-- 0.80 -> 0.65 (with the second lookup under a generic plan; see the bench note).

-- A report that may change its instance's circuit, as mcp.report_instance_outcomes found it.
create type mcp.outcome_report as (
  ord integer,
  outcome text,
  reg_id uuid,
  tenant_id uuid,
  manifest_id uuid,
  configuration_id uuid,
  instance_id text,
  registration_status mcp.registration_status,
  health_status mcp.health_status,
  -- its circuit, read without a lock, has failures or an ejection
  needs_state boolean
);

-- The loop of 20261205061000_ejection_count_decay over the reports that may change a circuit
-- (nothing when p_reports is null). Called by mcp.report_instance_outcomes only.
create function mcp.report_instance_outcomes_stateful(
  p_reports mcp.outcome_report[],
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
  if p_reports is null then
    return;
  end if;

  -- Locks, in one order for every batch (so that concurrent batches cannot deadlock): per
  -- (tenant, agent) in (tenant_id, manifest_id) order, first a transaction advisory lock when
  -- any of its reports is a failure or a timeout (the ceiling is counted under it, so two
  -- processes cannot both take the last ejection slot), then its circuit rows in registration
  -- id order, as they are reached. (The first version took all the advisory locks first, in a
  -- statement of their own: without statistics it read all of an agent's registrations per
  -- failure through the status index.)
  for v_item in
    select x.ord, x.outcome, x.reg_id, x.tenant_id, x.manifest_id, x.configuration_id, x.instance_id,
           x.registration_status, x.health_status, m.agent_id,
           bool_or(x.outcome in ('failure', 'timeout')) over (partition by x.tenant_id, x.manifest_id) is true as group_fails,
           x.needs_state
    from unnest(p_reports) x
    left join mcp.agent_manifests m on m.id = x.manifest_id
    order by x.tenant_id nulls first, x.manifest_id, x.reg_id, x.ord
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


comment on function mcp.report_instance_outcomes_stateful is
  'Circuit breaking for the reports of a batch that may change a circuit: the loop of mcp.report_instance_outcomes.';

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
begin
  if p_failure_threshold is null or p_failure_threshold < 1 then
    raise exception 'failure threshold must be at least 1' using errcode = 'RGINP';
  end if;

  return query
    with b as materialized (
      select i.ord::integer as ord, i.outcome, r.id as reg_id, r.tenant_id, r.manifest_id, r.configuration_id,
             r.instance_id, r.registration_status, r.health_status,
             (c.consecutive_failures > 0 or c.ejected_until is not null) is true as needs_state,
             -- every report of this instance in the batch is a success
             bool_and(i.outcome is not distinct from 'success') over (partition by r.id) as only_successes
      from unnest(p_tenant_ids, p_instance_ids, p_outcomes) with ordinality as i (tenant_id, instance_id, outcome, ord)
      -- one probe of the (tenant_id, instance_id) key per report, whatever the statistics say
      -- (20261205000100; offset 0 keeps the status test out of the index scan)
      left join lateral (
        select r.id, r.tenant_id, r.manifest_id, r.configuration_id, r.instance_id, r.registration_status, r.health_status
        from mcp.agent_registrations r
        where r.tenant_id = i.tenant_id and r.instance_id = i.instance_id
        offset 0
      ) r on r.registration_status = 'active'
      left join lateral (
        select c.consecutive_failures, c.ejected_until from mcp.instance_circuits c where c.registration_id = r.id
      ) c on true
    )
    -- unknown instances, and successes that change nothing: answered here
    select b.ord, b.reg_id,
           case when b.reg_id is null then 'not_found' else 'recorded' end,
           case when b.reg_id is null then null else 'closed' end
    from b
    where b.reg_id is null or (b.only_successes and not b.needs_state)
    union all
    -- the rest: the loop
    select s.ordinal, s.registration_id, s.result, s.circuit
    from mcp.report_instance_outcomes_stateful(
      (select array_agg(row(b.ord, b.outcome, b.reg_id, b.tenant_id, b.manifest_id, b.configuration_id, b.instance_id,
                            b.registration_status, b.health_status, b.needs_state)::mcp.outcome_report)
       from b where b.reg_id is not null and not (b.only_successes and not b.needs_state)),
      coalesce(p_now, now()), p_failure_threshold, p_base_ejection, p_max_ejection, p_max_share
    ) s;
end;
$$;

comment on function mcp.report_instance_outcomes is
  'Circuit breaking: a batch of success/failure/timeout reports; ejects after consecutive failures (within a share of the agent), restores after a successful half-open probe; the ejection multiplier decays while closed. Successes that change nothing are answered set-based; the rest by mcp.report_instance_outcomes_stateful.';
