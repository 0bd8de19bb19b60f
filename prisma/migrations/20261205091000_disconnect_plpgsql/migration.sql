-- mcp.mark_instance_disconnected in PL/pgSQL with a generic plan, for the reason given in
-- 20261205090000_heartbeat_plpgsql: as a LANGUAGE sql function with a data-modifying CTE it
-- was never inlined, so every call planned its statement from scratch. It runs once per
-- closed agent socket, so a fleet that loses its connections at once (a deploy, a network
-- blip) sends thousands in a burst. pgbench on the bench database, one client,
-- synchronous_commit off, calls for sockets that are no longer the instance's (nothing to
-- write): 2,895/s as SQL, 11,953/s as PL/pgSQL with the generic plan. Same statement,
-- signature, result and event.

create or replace function mcp.mark_instance_disconnected(
  p_tenant_id uuid,
  p_instance_id text,
  p_connection_id text default null,
  p_now timestamptz default null
) returns boolean
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
declare
  v_changed boolean;
begin
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
  select exists (select 1 from upd) into v_changed;
  return v_changed;
end;
$$;
