-- healthHistory reads a tenant's instance events by time (the state at the start of the
-- range, then the changes inside it)
create index registration_events_tenant_id_occurred_at_idx
  on mcp.registration_events (tenant_id, occurred_at);
