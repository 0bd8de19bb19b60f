-- Heartbeats as in-page (HOT) updates.
--
-- A heartbeat rewrites last_health_check of one row. While that column was indexed
-- (agent_registrations_active_health_check_idx), no heartbeat could be a HOT update:
-- each one inserted new entries into all five indexes of the table. The index did not
-- serve the stale sweep either, which counts every active row per tenant anyway (it needs
-- the active total for self-preservation). Without it, and with room left on each page,
-- a heartbeat touches one heap page and no index.
drop index mcp.agent_registrations_active_health_check_idx;

-- leave 30 % of every page free for the new versions of its rows
alter table mcp.agent_registrations set (fillfactor = 70);
