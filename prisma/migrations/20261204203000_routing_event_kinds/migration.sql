-- Event kinds of circuit breaking (src/routing/). In a migration of their own: a value
-- added to an enum cannot be used in the transaction that added it, and the next
-- migration's functions write these kinds.
alter type mcp.event_kind add value if not exists 'ejected';
alter type mcp.event_kind add value if not exists 'restored';
