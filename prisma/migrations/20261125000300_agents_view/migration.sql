-- mcp.agents: the pre-registry "one row per agent" shape, one row per configuration, for
-- code that has not moved to the three tiers yet. Writes go through INSTEAD OF triggers:
-- INSERT creates the manifest (if missing) and the configuration, keeping the given id;
-- UPDATE writes configuration fields and enables/disables through `status`;
-- DELETE removes the configuration and so deregisters its live instances.
-- No trigger invents registrations, and a write to a derived column raises RGDRV rather
-- than being dropped silently.

create view mcp.agents as
select
  c.id,
  c.tenant_id,
  m.agent_id,
  c.name,
  m.agent_type as type,
  c.model_id,
  m.capabilities,
  c.settings as configuration,
  c.system_prompt,
  c.temperature,
  c.max_tokens,
  c.max_workload,
  coalesce(s.current_workload, 0)::integer as current_workload,
  case
    when not c.enabled then 'disabled'
    when coalesce(s.healthy_active, 0) > 0 then 'active'
    else 'offline'
  end as status,
  coalesce(s.instance_count, 0)::integer as instance_count,
  s.last_seen_at,
  c.created_at,
  c.updated_at
from mcp.agent_configurations c
join mcp.agent_manifests m on m.id = c.manifest_id
left join lateral (
  select
    count(*) filter (where r.registration_status = 'active') as instance_count,
    count(*) filter (where r.registration_status = 'active' and r.health_status = 'healthy') as healthy_active,
    sum(r.current_workload) filter (where r.registration_status = 'active') as current_workload,
    max(r.last_health_check) as last_seen_at
  from mcp.agent_registrations r
  where r.configuration_id = c.id
) s on true;

comment on view mcp.agents is
  'Compatibility view: one row per tenant configuration in the old agent shape; status derives from live registrations.';

create function mcp.tg_agents_insert() returns trigger
language plpgsql volatile as $$
declare
  v_manifest mcp.agent_manifests;
begin
  if new.tenant_id is null then
    raise exception 'mcp.agents: tenant_id is required' using errcode = 'RGINP';
  end if;
  if new.agent_id is null or new.agent_id !~ '^[a-z0-9._-]{1,64}$' then
    raise exception 'invalid agent_id %: use 1 to 64 lowercase letters, digits, ".", "_" or "-"',
      coalesce(quote_literal(new.agent_id), 'null') using errcode = 'RGAID';
  end if;
  if coalesce(new.current_workload, 0) <> 0 or coalesce(new.instance_count, 0) <> 0
     or new.last_seen_at is not null then
    raise exception 'mcp.agents: current_workload, instance_count and last_seen_at derive from registrations'
      using errcode = 'RGDRV';
  end if;
  if new.status is not null and new.status not in ('active', 'offline', 'disabled') then
    raise exception 'mcp.agents: status must be active, offline or disabled' using errcode = 'RGINP';
  end if;

  insert into mcp.agent_manifests (agent_id, agent_type, name, capabilities)
  values (new.agent_id, coalesce(new.type, new.agent_id), coalesce(new.name, new.agent_id),
          coalesce(new.capabilities, '{}'))
  on conflict (agent_id) do nothing;
  select m.* into v_manifest from mcp.agent_manifests m where m.agent_id = new.agent_id;

  -- type and capabilities belong to the manifest, which all tenants share
  if new.type is distinct from null and new.type <> v_manifest.agent_type
     or new.capabilities is distinct from null and new.capabilities <> v_manifest.capabilities then
    raise exception 'mcp.agents: type and capabilities of agent % are set by its manifest', new.agent_id
      using errcode = 'RGDRV';
  end if;

  insert into mcp.agent_configurations (
    id, tenant_id, manifest_id, name, model_id, temperature, max_tokens, system_prompt,
    max_workload, enabled, settings
  ) values (
    coalesce(new.id, gen_random_uuid()), new.tenant_id, v_manifest.id,
    coalesce(new.name, v_manifest.name), coalesce(new.model_id, 'default'),
    coalesce(new.temperature, 0.7), coalesce(new.max_tokens, 4096),
    coalesce(new.system_prompt, ''), coalesce(new.max_workload, 10),
    new.status is distinct from 'disabled', coalesce(new.configuration, '{}')
  )
  returning id, name, model_id, temperature, max_tokens, system_prompt, max_workload, settings,
            case when enabled then 'offline' else 'disabled' end, created_at, updated_at
  into new.id, new.name, new.model_id, new.temperature, new.max_tokens, new.system_prompt,
       new.max_workload, new.configuration, new.status, new.created_at, new.updated_at;

  new.type := v_manifest.agent_type;
  new.capabilities := v_manifest.capabilities;
  new.current_workload := 0;
  new.instance_count := 0;
  new.last_seen_at := null;
  return new;
end;
$$;

create function mcp.tg_agents_update() returns trigger
language plpgsql volatile as $$
declare
  v_enabled boolean;
begin
  if (new.id, new.tenant_id, new.agent_id, new.type, new.capabilities, new.current_workload,
      new.instance_count, new.last_seen_at, new.created_at, new.updated_at)
     is distinct from
     (old.id, old.tenant_id, old.agent_id, old.type, old.capabilities, old.current_workload,
      old.instance_count, old.last_seen_at, old.created_at, old.updated_at) then
    raise exception 'mcp.agents: only name, model_id, configuration, system_prompt, temperature, max_tokens, max_workload and status can be changed'
      using errcode = 'RGDRV';
  end if;

  v_enabled := case
    when new.status is not distinct from old.status then old.status <> 'disabled'
    when new.status = 'disabled' then false
    -- active/offline derive from live instances: writing one only means "enabled"
    when old.status = 'disabled' and new.status in ('active', 'offline') then true
    when new.status in ('active', 'offline') then null
    else null
  end;
  if v_enabled is null then
    raise exception 'mcp.agents: status % cannot be set; use disabled, or active/offline to enable', quote_literal(new.status)
      using errcode = case when new.status in ('active', 'offline') then 'RGDRV' else 'RGINP' end;
  end if;

  update mcp.agent_configurations c set
    name = new.name, model_id = new.model_id, temperature = new.temperature,
    max_tokens = new.max_tokens, system_prompt = new.system_prompt,
    max_workload = new.max_workload, settings = new.configuration, enabled = v_enabled
  where c.id = old.id
  returning c.updated_at into new.updated_at;
  new.status := case when not v_enabled then 'disabled' when old.status = 'disabled' then 'offline' else old.status end;
  return new;
end;
$$;

create function mcp.tg_agents_delete() returns trigger
language plpgsql volatile as $$
begin
  -- the configuration's delete trigger deregisters its live instances
  delete from mcp.agent_configurations c where c.id = old.id;
  return old;
end;
$$;

create trigger agents_insert instead of insert on mcp.agents
  for each row execute function mcp.tg_agents_insert();
create trigger agents_update instead of update on mcp.agents
  for each row execute function mcp.tg_agents_update();
create trigger agents_delete instead of delete on mcp.agents
  for each row execute function mcp.tg_agents_delete();
