import type { EventKind, RegistryEvent } from './types';

/** The columns of mcp.registration_events as read by {@link toRegistryEvent}; ids as text (PGlite and pg agree). */
export const EVENT_COLUMNS = `e.id::text as id, e.tx_id::text as tx_id, e.tenant_id::text as tenant_id,
  e.kind::text as kind, e.agent_id, e.manifest_id::text as manifest_id,
  e.configuration_id::text as configuration_id, e.registration_id::text as registration_id,
  e.instance_id, e.registration_status::text as registration_status,
  e.health_status::text as health_status, e.payload, e.occurred_at`;

export interface EventRow {
  id: string;
  tx_id: string;
  tenant_id: string;
  kind: string;
  agent_id: string | null;
  manifest_id: string | null;
  configuration_id: string | null;
  registration_id: string | null;
  instance_id: string | null;
  registration_status: string | null;
  health_status: string | null;
  payload: Record<string, unknown> | string | null;
  occurred_at: Date | string;
}

export function toRegistryEvent(row: EventRow): RegistryEvent {
  return {
    id: row.id,
    txId: row.tx_id,
    tenantId: row.tenant_id,
    kind: row.kind as EventKind,
    agentId: row.agent_id,
    manifestId: row.manifest_id,
    configurationId: row.configuration_id,
    registrationId: row.registration_id,
    instanceId: row.instance_id,
    registrationStatus: row.registration_status as RegistryEvent['registrationStatus'],
    healthStatus: row.health_status as RegistryEvent['healthStatus'],
    payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : (row.payload ?? {}),
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at),
  };
}

/** Orders events as the log is read: by writing transaction, then id. */
export function compareEvents(a: Pick<RegistryEvent, 'id' | 'txId'>, b: Pick<RegistryEvent, 'id' | 'txId'>): number {
  const tx = BigInt(a.txId) - BigInt(b.txId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const id = BigInt(a.id) - BigInt(b.id);
  return id === 0n ? 0 : id < 0n ? -1 : 1;
}
