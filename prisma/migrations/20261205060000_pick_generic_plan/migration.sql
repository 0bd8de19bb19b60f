-- mcp.pick_instance plans its statements once per connection.
--
-- plpgsql caches a plan per statement and connection, but under plan_cache_mode = auto it
-- plans the first five executions with their parameter values, and keeps doing so while the
-- generic plan's estimated cost is above the custom plans' average, which it was here: every
-- pick planned its candidate query (a CTE of eight parts, two window functions) anew, ~0.5 ms
-- of PostgreSQL's CPU against ~0.25 ms to run it. Measured with pgbench on the bench
-- database after its scenarios (1 client / 8 clients, picks per second): 808 / 1,756 with
-- the default, 3,195 / 5,434 with the generic plan; on a database that was never analyzed
-- (autovacuum off) 913 / 1,868 against 2,337 / 6,580. The generic plan reads the same index
-- (agent_registrations_tenant_manifest_status_idx) with or without statistics: the choice
-- depends on the tenant and agent, never on the values of a particular pick.
alter function mcp.pick_instance(uuid, text, text, text[], text[], integer, double precision, interval, timestamptz)
  set plan_cache_mode = force_generic_plan;
