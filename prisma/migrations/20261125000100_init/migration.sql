-- Schema `mcp`: tenants and keys, then the three tiers of the seed document
-- (manifests -> configurations -> registrations), then the event log.
-- Conventions: prisma/CONVENTIONS.md.

create schema if not exists mcp;

create type mcp.api_key_role as enum ('operator', 'admin', 'agent', 'viewer');
create type mcp.registration_status as enum ('active', 'stale', 'deregistered');
create type mcp.health_status as enum ('healthy', 'degraded', 'unhealthy', 'disconnected', 'unknown');
create type mcp.event_kind as enum (
  'registered', 'reconnected', 'health_changed', 'disconnected',
  'stale', 'deregistered', 'purged', 'configuration_changed',
  -- the stale sweep holding back for a tenant (self-preservation), or giving up holding
  'self_preservation'
);

create table mcp.tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz(6) not null default now()
);

create table mcp.api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references mcp.tenants (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  role mcp.api_key_role not null,
  -- hex SHA-256 of the key; the key itself is shown once and never stored
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  prefix text not null,
  created_at timestamptz(6) not null default now(),
  last_used_at timestamptz(6),
  revoked_at timestamptz(6),
  -- operators act on the whole platform, every other role on exactly one tenant
  constraint api_keys_role_tenant check ((role = 'operator') = (tenant_id is null))
);
create index api_keys_tenant_id_idx on mcp.api_keys (tenant_id);

create table mcp.agent_manifests (
  id uuid primary key default gen_random_uuid(),
  agent_id text not null unique
    constraint agent_manifests_agent_id_format check (agent_id ~ '^[a-z0-9._-]{1,64}$'),
  agent_type text not null check (length(agent_type) between 1 and 64),
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  capabilities text[] not null default '{}',
  version text not null default '0.0.0',
  created_at timestamptz(6) not null default now(),
  updated_at timestamptz(6) not null default now()
);

create table mcp.agent_configurations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references mcp.tenants (id) on delete cascade,
  manifest_id uuid not null references mcp.agent_manifests (id) on delete restrict,
  name text not null check (length(name) between 1 and 200),
  model_id text not null default 'default',
  temperature double precision not null default 0.7 check (temperature between 0 and 2),
  max_tokens integer not null default 4096 check (max_tokens > 0),
  system_prompt text not null default '',
  max_workload integer not null default 10 check (max_workload > 0),
  enabled boolean not null default true,
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  -- bumped by trigger on every change: the optimistic-concurrency token
  version integer not null default 1,
  created_at timestamptz(6) not null default now(),
  updated_at timestamptz(6) not null default now(),
  unique (tenant_id, manifest_id)
);
create index agent_configurations_manifest_id_idx on mcp.agent_configurations (manifest_id);

create table mcp.agent_registrations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references mcp.tenants (id) on delete cascade,
  manifest_id uuid not null references mcp.agent_manifests (id) on delete restrict,
  -- null only after the configuration was deleted; such a row is always deregistered
  configuration_id uuid references mcp.agent_configurations (id) on delete set null,
  instance_id text not null check (length(instance_id) between 1 and 256),
  name text,
  registration_status mcp.registration_status not null default 'active',
  health_status mcp.health_status not null default 'healthy',
  last_health_check timestamptz(6) not null default now(),
  connection_details jsonb not null default '{}',
  runtime_config jsonb not null default '{}',
  capabilities text[] not null default '{}',
  current_workload integer not null default 0 check (current_workload >= 0),
  reconnect_count integer not null default 0 check (reconnect_count >= 0),
  registered_at timestamptz(6) not null default now(),
  deregistered_at timestamptz(6),
  updated_at timestamptz(6) not null default now(),
  -- instance ids are unique per tenant only: two tenants never see each other's rows
  unique (tenant_id, instance_id)
);
create index agent_registrations_tenant_manifest_status_idx
  on mcp.agent_registrations (tenant_id, manifest_id, registration_status);
create index agent_registrations_configuration_id_idx on mcp.agent_registrations (configuration_id);
-- the stale sweep scans only active rows, oldest heartbeat first
create index agent_registrations_active_health_check_idx
  on mcp.agent_registrations (last_health_check) where registration_status = 'active';

create table mcp.registration_events (
  id bigserial primary key,
  -- the writing transaction: readers only read below the oldest running transaction,
  -- so a commit that lands out of id order can never be skipped (see src/events/)
  tx_id bigint not null default (pg_current_xact_id()::text::bigint),
  tenant_id uuid not null references mcp.tenants (id) on delete cascade,
  kind mcp.event_kind not null,
  agent_id text,
  manifest_id uuid,
  configuration_id uuid,
  -- no foreign key: events outlive purged registrations
  registration_id uuid,
  instance_id text,
  registration_status mcp.registration_status,
  health_status mcp.health_status,
  payload jsonb not null default '{}',
  occurred_at timestamptz(6) not null default now()
);
create index registration_events_tx_id_id_idx on mcp.registration_events (tx_id, id);
create index registration_events_tenant_id_id_idx on mcp.registration_events (tenant_id, id);

create table mcp.sweep_holds (
  tenant_id uuid primary key references mcp.tenants (id) on delete cascade,
  held_since timestamptz(6) not null,
  candidates integer not null,
  active integer not null
);
