import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { GroupCommitWriter } from '../db/group-commit';
import { heartbeatInstances, type HeartbeatItem, type HeartbeatResult } from '../db/registry-sql';

export interface HeartbeatWriterOptions {
  /** Most heartbeats in one statement. Default 2000. */
  maxBatch?: number;
  /** Test clock; by default the database's clock stamps heartbeats. */
  clock?: Clock;
  /** Called with the size of every batch written or failed (a metric). */
  onBatch?: (size: number) => void;
  /** Called with the cause when a batch could not be written (its heartbeats fail with UNAVAILABLE). */
  onError?: (error: unknown) => void;
}

/**
 * Group commit for heartbeats, the hot path ({@link GroupCommitWriter}): one
 * mcp.heartbeat_instances statement per batch; a heartbeat is acknowledged only after its
 * batch committed.
 */
export class HeartbeatWriter extends GroupCommitWriter<HeartbeatItem, HeartbeatResult> {
  constructor(db: Queryable, options: HeartbeatWriterOptions = {}) {
    super('heartbeat', (items) => heartbeatInstances(db, items, options.clock?.now()), options);
  }
}
