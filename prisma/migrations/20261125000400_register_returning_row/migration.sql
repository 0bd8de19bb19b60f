-- mcp.register_agent_instance_row: the same registration as mcp.register_agent_instance,
-- returning the whole registration (with its agent id and type) in the same round trip.
-- The API needs the row after registering; a second query cost a full round trip per
-- registration, which on the benchmark machine was the largest part of its latency.
-- The seed's function keeps its exact signature and result.

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
  updated_at timestamptz
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
           r.current_workload, r.reconnect_count, r.registered_at, r.deregistered_at, r.updated_at
    from mcp.agent_registrations r
    join mcp.agent_manifests m on m.id = r.manifest_id
    where r.id = v_result.registration_id;
end;
$$;

comment on function mcp.register_agent_instance_row is
  'mcp.register_agent_instance, returning the whole registration row (for the API) in one round trip.';
