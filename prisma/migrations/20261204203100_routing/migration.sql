-- Routing: which instance should take a request (mcp.pick_instance), and circuit breaking
-- from the outcomes callers report (mcp.report_instance_outcomes). All state lives here so
-- that every API process gives the same answer; time is a parameter (p_now).
--
-- New custom SQLSTATE (mapped in src/db/errors.ts):
--   RGAGT unknown agent (no manifest with that agent_id)   -> NOT_FOUND
--
-- Circuit states, derived from instance_circuits (no row = closed, never failed):
--   closed     ejected_until is null
--   open       ejected_until > now: never picked
--   half_open  ejected_until <= now: picked for at most one probe at a time (probe_started_at
--              within the probe timeout); a success restores it, a failure ejects it again

-- One row per instance that ever reported a failure. Apart from the registration so that
-- outcome reports never lock or rewrite the row heartbeats update (heartbeats stay HOT
-- updates of agent_registrations, and the two writers never wait for each other).
create table mcp.instance_circuits (
  registration_id uuid primary key references mcp.agent_registrations (id) on delete cascade,
  tenant_id uuid not null references mcp.tenants (id) on delete cascade,
  -- failures and timeouts since the last success
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  -- times ejected; an ejection lasts base x ejection_count (capped)
  ejection_count integer not null default 0 check (ejection_count >= 0),
  ejected_at timestamptz(6),
  ejected_until timestamptz(6),
  -- the half-open probe in flight (set by mcp.pick_instance, cleared by the next outcome)
  probe_started_at timestamptz(6),
  updated_at timestamptz(6) not null default now(),
  constraint instance_circuits_ejection check ((ejected_at is null) = (ejected_until is null))
);
create index instance_circuits_tenant_id_idx on mcp.instance_circuits (tenant_id);

-- Every instance of one agent in one tenant, with the reason it may not be picked
-- (verdict: inactive, excluded, disconnected, ejected, missing_capabilities, overloaded,
-- eligible; the first that applies). Reads the (tenant_id, manifest_id, registration_status)
-- index; no column that heartbeats write is indexed, so heartbeats stay HOT updates.
create function mcp.pick_candidates(
  p_tenant_id uuid,
  p_manifest_id uuid,
  p_manifest_capabilities text[],
  p_max_workload integer,
  p_exclude text[],
  p_capabilities text[],
  p_probe_timeout interval,
  p_now timestamptz
) returns table (
  id uuid,
  instance_id text,
  registration_status mcp.registration_status,
  health_status mcp.health_status,
  current_workload integer,
  connection_details jsonb,
  verdict text,
  half_open boolean,
  tier integer
)
language sql stable as $$
  select r.id, r.instance_id, r.registration_status, r.health_status, r.current_workload, r.connection_details,
         case
           when r.registration_status <> 'active' then 'inactive'
           when r.instance_id = any(p_exclude) then 'excluded'
           when r.health_status not in ('healthy', 'degraded', 'unhealthy') then 'disconnected'
           when ic.ejected_until > p_now then 'ejected'
           -- half-open with its probe still in flight: one probe at a time
           when ic.ejected_until is not null and ic.probe_started_at > p_now - p_probe_timeout then 'ejected'
           -- an instance that reported no capabilities of its own has its manifest's
           when not ((case when cardinality(r.capabilities) > 0 then r.capabilities else p_manifest_capabilities end)
                     @> p_capabilities) then 'missing_capabilities'
           when r.current_workload >= p_max_workload then 'overloaded'
           else 'eligible'
         end,
         coalesce(ic.ejected_until <= p_now, false),
         case r.health_status when 'healthy' then 0 when 'degraded' then 1 else 2 end
  from mcp.agent_registrations r
  left join mcp.instance_circuits ic on ic.registration_id = r.id
  where r.tenant_id = p_tenant_id and r.manifest_id = p_manifest_id
    and r.registration_status in ('active', 'stale');
$$;

-- One answer of mcp.pick_instance, kept in an array while a lost probe race is retried.
create type mcp.pick_choice as (
  rank integer,
  registration_id uuid,
  instance_id text,
  health_status mcp.health_status,
  current_workload integer,
  max_workload integer,
  connection_details jsonb,
  probe boolean,
  capacity integer,
  instances integer,
  active integer,
  excluded integer,
  disconnected integer,
  ejected integer,
  missing_capabilities integer,
  overloaded integer,
  eligible integer
);

-- Which instance of an agent should take a request, in one round trip.
--
-- Eligible: active, not excluded, connected (healthy, degraded or unhealthy), not ejected
-- (half-open only while no probe is in flight), has the capabilities, current_workload below
-- the configuration's max_workload.
--
-- Without an affinity key: the best health tier present (healthy, else degraded, else
-- unhealthy), then power of two choices: two of that tier at random, the less loaded
-- (current_workload / max_workload) wins. Between two heartbeats loads do not move, so
-- "least loaded" alone would send every caller to the same instance; two random choices
-- give the least loaded at most (2n-1)/n^2 of the picks, under twice a fair share.
-- The choice is made here, in the same statement: only the answer leaves the database.
--
-- With an affinity key: consistent hashing with bounded loads (Mirrokni, Thorup,
-- Zadimoghaddam), in its rendezvous form: the key ranks the instances by
-- hashtextextended(key || '|' || instance_id) (the same everywhere: no process state), and
-- takes the first whose load (current_workload) + 1 fits the capacity
-- ceil((1 + epsilon) x (sum of loads + 1) / instances). When an instance leaves, only its
-- keys move, each to its next instance. Unhealthy instances come last when others remain.
--
-- Returns the chosen instance (rank 0) and up to p_fallbacks more (rank 1..), in the order
-- to try them, each row with the counts of the instances by verdict; when none is eligible,
-- one row with rank null and the counts (NO_HEALTHY_INSTANCE). A half-open instance is
-- never a fallback; chosen, it is claimed as the probe (probe = true), and a probe lost to
-- a concurrent caller is picked again without it.
create function mcp.pick_instance(
  p_tenant_id uuid,
  p_agent_id text,
  p_affinity_key text default null,
  p_exclude text[] default '{}',
  p_capabilities text[] default '{}',
  p_fallbacks integer default 3,
  p_epsilon double precision default 0.25,
  p_probe_timeout interval default '10 seconds',
  p_now timestamptz default null
) returns setof mcp.pick_choice
language plpgsql volatile as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_exclude text[] := coalesce(p_exclude, '{}');
  v_capabilities text[] := coalesce(p_capabilities, '{}');
  v_manifest_id uuid;
  v_manifest_capabilities text[];
  v_enabled boolean;
  v_max_workload integer;
  v_rows mcp.pick_choice[];
  v_first mcp.pick_choice;
begin
  if p_fallbacks is null or p_fallbacks < 0 or p_epsilon is null or p_epsilon <= 0 then
    raise exception 'invalid fallbacks or epsilon' using errcode = 'RGINP';
  end if;
  select m.id, m.capabilities, c.enabled, c.max_workload
    into v_manifest_id, v_manifest_capabilities, v_enabled, v_max_workload
  from mcp.agent_manifests m
  left join mcp.agent_configurations c on c.tenant_id = p_tenant_id and c.manifest_id = m.id
  where m.agent_id = p_agent_id;
  if v_manifest_id is null then
    raise exception 'unknown agent %', p_agent_id using errcode = 'RGAGT';
  end if;
  if v_enabled = false then
    raise exception 'agent % is disabled for this tenant', p_agent_id using errcode = 'RGDIS';
  end if;
  -- no configuration in this tenant: it has no instances either, and the counts say so

  -- at most a few rounds: each lost probe race removes one half-open instance
  for v_round in 1..4 loop
    if p_affinity_key is null then
      with c as (
        select * from mcp.pick_candidates(p_tenant_id, v_manifest_id, v_manifest_capabilities,
                                          coalesce(v_max_workload, 1), v_exclude, v_capabilities, p_probe_timeout, v_now)
      ),
      e as (
        select c.*, c.current_workload::double precision / v_max_workload as ratio, random() as rnd
        from c where c.verdict = 'eligible'
      ),
      best as (
        select e.*, row_number() over (order by e.rnd) as i, count(*) over () as n
        from e where e.tier = (select min(tier) from e)
      ),
      -- two independent draws (with replacement, as in Mitzenmacher's analysis): the least
      -- loaded of n wins (2n - 1) / n^2 of the picks, the most loaded 1 / n^2
      draws as (
        select floor(random() * (select max(n) from best))::integer + 1 as i from generate_series(1, 2)
      ),
      chosen as (
        select b.* from best b join draws d on d.i = b.i order by b.ratio, b.rnd limit 1
      ),
      ordered as (
        select 0 as rank, ch.id, ch.instance_id, ch.health_status, ch.current_workload, ch.connection_details, ch.half_open
        from chosen ch
        union all
        select f.* from (
          select row_number() over (order by e.tier, e.ratio, e.rnd)::integer as rank,
                 e.id, e.instance_id, e.health_status, e.current_workload, e.connection_details, false
          from e where e.id is distinct from (select id from chosen) and not e.half_open
        ) f where f.rank <= p_fallbacks
      ),
      counts as (
        select count(*)::integer as instances,
               count(*) filter (where c.registration_status = 'active')::integer as active,
               count(*) filter (where c.verdict = 'excluded')::integer as excluded,
               count(*) filter (where c.verdict = 'disconnected')::integer as disconnected,
               count(*) filter (where c.verdict = 'ejected')::integer as ejected,
               count(*) filter (where c.verdict = 'missing_capabilities')::integer as missing_capabilities,
               count(*) filter (where c.verdict = 'overloaded')::integer as overloaded,
               count(*) filter (where c.verdict = 'eligible')::integer as eligible
        from c
      )
      select array_agg(row(o.rank, o.id, o.instance_id, o.health_status, o.current_workload, v_max_workload,
                           o.connection_details, coalesce(o.half_open, false), null::integer,
                           n.instances, n.active, n.excluded, n.disconnected, n.ejected,
                           n.missing_capabilities, n.overloaded, n.eligible)::mcp.pick_choice order by o.rank)
        into v_rows
      from counts n left join ordered o on true;
    else
      with c as (
        select * from mcp.pick_candidates(p_tenant_id, v_manifest_id, v_manifest_capabilities,
                                          coalesce(v_max_workload, 1), v_exclude, v_capabilities, p_probe_timeout, v_now)
      ),
      e as (
        select c.* from c where c.verdict = 'eligible'
      ),
      -- unhealthy instances share the load only when nothing better is left
      pool as (
        select e.* from e where e.tier < 2 or (select min(tier) from e) = 2
      ),
      bound as (
        select ceil((1 + p_epsilon) * (sum(p.current_workload) + 1) / count(*))::integer as capacity from pool p
      ),
      ranked as (
        select (row_number() over (
                  order by (e.id in (select id from pool)) desc,
                           (e.current_workload + 1 <= b.capacity) desc,
                           hashtextextended(p_affinity_key || '|' || e.instance_id, 0) desc,
                           e.instance_id) - 1)::integer as rank,
               e.id, e.instance_id, e.health_status, e.current_workload, e.connection_details, e.half_open, b.capacity
        from e cross join bound b
      ),
      ordered as (
        select r.* from ranked r where r.rank = 0
        union all
        select f.* from (
          select row_number() over (order by r.rank)::integer as rank,
                 r.id, r.instance_id, r.health_status, r.current_workload, r.connection_details, false, r.capacity
          from ranked r where r.rank > 0 and not r.half_open
        ) f where f.rank <= p_fallbacks
      ),
      counts as (
        select count(*)::integer as instances,
               count(*) filter (where c.registration_status = 'active')::integer as active,
               count(*) filter (where c.verdict = 'excluded')::integer as excluded,
               count(*) filter (where c.verdict = 'disconnected')::integer as disconnected,
               count(*) filter (where c.verdict = 'ejected')::integer as ejected,
               count(*) filter (where c.verdict = 'missing_capabilities')::integer as missing_capabilities,
               count(*) filter (where c.verdict = 'overloaded')::integer as overloaded,
               count(*) filter (where c.verdict = 'eligible')::integer as eligible
        from c
      )
      select array_agg(row(o.rank, o.id, o.instance_id, o.health_status, o.current_workload, v_max_workload,
                           o.connection_details, coalesce(o.half_open, false), o.capacity,
                           n.instances, n.active, n.excluded, n.disconnected, n.ejected,
                           n.missing_capabilities, n.overloaded, n.eligible)::mcp.pick_choice order by o.rank)
        into v_rows
      from counts n left join ordered o on true;
    end if;

    v_first := v_rows[1];
    if v_first.rank = 0 and v_first.probe then
      -- claim the probe; a concurrent caller that claimed it first makes this update find
      -- nothing (read committed re-checks the condition on the row it waited for)
      update mcp.instance_circuits ic set probe_started_at = v_now, updated_at = v_now
      where ic.registration_id = v_first.registration_id and ic.ejected_until <= v_now
        and (ic.probe_started_at is null or ic.probe_started_at <= v_now - p_probe_timeout);
      if not found then
        v_exclude := v_exclude || v_first.instance_id;
        continue;
      end if;
    end if;
    return query select * from unnest(v_rows);
    return;
  end loop;
  return query select * from unnest(v_rows);
end;
$$;

comment on function mcp.pick_instance is
  'Chooses an instance of an agent (and ordered fallbacks): health tier, then power of two choices on load; with an affinity key, consistent hashing with bounded loads.';

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
-- Locks: first a transaction advisory lock per (tenant, agent) whose instances reported a
-- failure (sorted: the ceiling is counted under it, so two processes cannot both take the
-- last ejection slot), then the circuit rows in registration id order. A success for an
-- instance whose circuit is closed with no failures writes nothing.
create function mcp.report_instance_outcomes(
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
begin
  if p_failure_threshold is null or p_failure_threshold < 1 then
    raise exception 'failure threshold must be at least 1' using errcode = 'RGINP';
  end if;

  perform pg_advisory_xact_lock(hashtextextended('mcp.report_instance_outcomes:' || k.tenant_id || ':' || k.manifest_id, 0))
  from (
    select distinct r.tenant_id, r.manifest_id
    from unnest(p_tenant_ids, p_instance_ids, p_outcomes) as i (tenant_id, instance_id, outcome)
    join mcp.agent_registrations r on r.tenant_id = i.tenant_id and r.instance_id = i.instance_id
    where r.registration_status = 'active' and i.outcome in ('failure', 'timeout')
    order by r.tenant_id, r.manifest_id
  ) k;

  -- in registration id order: circuit rows are locked in that order, as they are reached
  for v_item in
    select i.ord::integer as ord, i.outcome, r.id as reg_id, r.tenant_id, r.manifest_id, r.configuration_id,
           r.instance_id, r.registration_status, r.health_status, m.agent_id,
           -- read without a lock: a success for a circuit that is closed and clean changes nothing
           -- and takes no lock at all (the common case)
           (c.consecutive_failures > 0 or c.ejected_until is not null) is true as needs_state
    from unnest(p_tenant_ids, p_instance_ids, p_outcomes) with ordinality as i (tenant_id, instance_id, outcome, ord)
    left join mcp.agent_registrations r
      on r.tenant_id = i.tenant_id and r.instance_id = i.instance_id and r.registration_status = 'active'
    left join mcp.agent_manifests m on m.id = r.manifest_id
    left join mcp.instance_circuits c on c.registration_id = r.id
    order by r.id nulls first, i.ord
  loop
    ordinal := v_item.ord;
    registration_id := v_item.reg_id;
    if v_item.reg_id is null then
      result := 'not_found';
      circuit := null;
      return next;
      continue;
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
