/** Kinds of mcp.registration_events rows (the enum mcp.event_kind). */
export type EventKind =
  | 'registered'
  | 'reconnected'
  | 'health_changed'
  | 'disconnected'
  | 'stale'
  | 'deregistered'
  | 'purged'
  | 'configuration_changed'
  | 'self_preservation'
  | 'scaling_recommended'
  | 'ejected'
  | 'restored';

/** One row of the event log, as delivered to in-process listeners. */
export interface RegistryEvent {
  /** bigserial, as a string. */
  id: string;
  /** The writing transaction's id, as a string. */
  txId: string;
  tenantId: string;
  kind: EventKind;
  agentId: string | null;
  manifestId: string | null;
  configurationId: string | null;
  registrationId: string | null;
  instanceId: string | null;
  registrationStatus: 'active' | 'stale' | 'deregistered' | null;
  healthStatus: 'healthy' | 'degraded' | 'unhealthy' | 'disconnected' | 'unknown' | null;
  payload: Record<string, unknown>;
  occurredAt: Date;
}

/** A place in the log, in delivery order: (transaction id, event id), both as strings. */
export interface LogPosition {
  txId: string;
  id: string;
}

/**
 * The live feed of the event log: every event committed by any process, delivered to
 * every listener of every process, in log order, each exactly once.
 */
export interface EventFeed {
  /** Registers a listener for new events; returns the function that removes it. */
  subscribe(listener: (events: readonly RegistryEvent[]) => void): () => void;
  /**
   * Says that a transaction which appended events has committed. Cheap and never blocks:
   * it only wakes the readers (throttled, outside the write path).
   */
  written(notified?: boolean): void;
  /**
   * For a write about to run: the channel to NOTIFY inside it when a NOTIFY is due (the
   * notification then leaves with the write's commit, saving a round trip), else null.
   * The caller passes `written(true)` after committing such a write, and plain
   * `written()` when it failed (the NOTIFY did not go out). Optional: feeds that do not
   * notify other processes omit it.
   */
  claimNotify?(): string | null;
  /**
   * Resolves once the feed's position covers every event committed before the call (a
   * feed may stop reading while nobody listens). Optional: a feed that always reads omits it.
   */
  catchUp?(): Promise<void>;
}
