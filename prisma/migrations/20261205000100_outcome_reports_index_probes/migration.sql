-- Outcome reports: one index probe per report.
--
-- mcp.report_instance_outcomes (20261204203100_routing) joined a batch's reports to
-- agent_registrations with plain joins on (tenant_id, instance_id) and
-- registration_status = 'active'. On a table without statistics yet (a new database, before
-- autovacuum's first analyze) the planner read every active registration through the
-- (tenant_id, manifest_id, registration_status) index and hashed them: 45 ms for a batch of
-- 100 reports among 2,500 registrations (auto_explain, in the bench's outcome scenario),
-- about 0.9 ms of PostgreSQL per report where a key lookup costs ~10 µs, and the reports took
-- heartbeats' share of the database. Now each report is one lookup of the
-- (tenant_id, instance_id) key in a lateral subquery (offset 0 keeps the status test out of
-- the index scan: it is checked on the row found), and the advisory locks are taken in the
-- loop, group by group, instead of by a statement of their own that looked the
-- registrations up again (and, without statistics, chose the status index for it too).
-- Same signature, results and guarantees.

-- Outcomes that callers report about instances, a whole group-commit batch in one call.
-- Element i of each array is report i; outcome is text ('success', 'failure', 'timeout')
-- so that one bad element cannot fail the batch. Per report: result
--   recorded   counted (a success resets the failure count)
--   ejected    this report ejected the instance (failure threshold reached, or a failed probe)
--   restored   this success closed a half-open circuit
--   held       the threshold was reached but the agent already has its share of instances
--              ejected (p_max_share of its active instances, at least one): not ejected
--   not_found  no active instance of that id in the tenant
--   invalid    unknown outcome
-- and the circuit state after it (closed, open, half_open).
--
-- An instance is ejected for least(p_base x ejection_count, p_max_ejection). Outcomes
-- reported while it is open are counted but change nothing (they were requests sent before
-- it was ejected). Once half-open, the next outcome decides: success restores, failure or
-- timeout ejects again. Ejections and restorations are events, in this transaction.
--
-- Locks: per (tenant, agent), in (tenant_id, manifest_id) order, a transaction advisory lock
-- if any of its reports is a failure or a timeout (the ceiling is counted under it, so two
-- processes cannot both take the last ejection slot), then its circuit rows in registration
-- id order. A success for an instance whose circuit is closed with no failures writes nothing.
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
          ejected_at = v_ejected_at, ejected_until = v_until, probe_started_at = v_probe, updated_at = v_now
        where c.registration_id = v_current;
      end if;
      v_current := v_item.reg_id;
      v_loaded := false;
      v_has_row := false;
      v_dirty := false;
      v_failures := 0; v_count := 0; v_ejected_at := null; v_until := null; v_probe := null;
    end if;

    if v_item.outcome is null or v_item.outcome not in ('success', 'failure', 'timeout') then
      result := 'invalid';
      circuit := case when v_until is null then 'closed' when v_until > v_now then 'open' else 'half_open' end;
      return next;
      continue;
    end if;

    if not v_loaded and (v_item.outcome <> 'success' or v_item.needs_state) then
      select c.consecutive_failures, c.ejection_count, c.ejected_at, c.ejected_until, c.probe_started_at
        into v_failures, v_count, v_ejected_at, v_until, v_probe
      from mcp.instance_circuits c where c.registration_id = v_item.reg_id
      for update;
      v_has_row := found;
      v_loaded := true;
      if not v_has_row then
        v_failures := 0; v_count := 0; v_ejected_at := null; v_until := null; v_probe := null;
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
        v_failures := 0; v_ejected_at := null; v_until := null; v_probe := null;
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
      ejected_at = v_ejected_at, ejected_until = v_until, probe_started_at = v_probe, updated_at = v_now
    where c.registration_id = v_current;
  end if;
end;
$$;

comment on function mcp.report_instance_outcomes is
  'Circuit breaking: a batch of success/failure/timeout reports; ejects after consecutive failures (within a share of the agent), restores after a successful half-open probe.';
