import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { GroupCommitWriter } from '../db/group-commit';
import {
  type CircuitPolicy,
  type OutcomeItem,
  type OutcomeReportResult,
  reportInstanceOutcomes,
} from './routing-sql';

export interface OutcomeWriterOptions {
  policy: CircuitPolicy;
  /** Most reports in one statement. Default 2000. */
  maxBatch?: number;
  /** Statements start at least this long apart under a steady stream of reports (ms; default 0). */
  minIntervalMs?: number;
  /** Test clock; by default the database's clock. */
  clock?: Clock;
  /** Called with the size of every batch written or failed (a metric). */
  onBatch?: (size: number) => void;
  /** Called after a batch that ejected or restored instances committed (wakes the event readers). */
  onTransitions?: () => void;
  /** Called with the cause when a batch could not be written (its reports fail with UNAVAILABLE). */
  onError?: (error: unknown) => void;
}

/**
 * Group commit for outcome reports, as for heartbeats ({@link GroupCommitWriter}): one
 * mcp.report_instance_outcomes statement per batch; a report is acknowledged only after its
 * batch committed. Under a stream, statements are spaced `minIntervalMs` apart
 * (OUTCOME_BATCH_INTERVAL_MS): a statement costs PostgreSQL about 1 ms beyond its reports
 * (more when it writes a circuit): in the bench's outcome row (5,000 reports/s) statements
 * hold 700-1,000 reports instead of 150-250, and PostgreSQL's CPU per report falls by about
 * a third.
 */
export class OutcomeWriter extends GroupCommitWriter<OutcomeItem, OutcomeReportResult> {
  constructor(db: Queryable, options: OutcomeWriterOptions) {
    super('outcome', (items) => reportInstanceOutcomes(db, items, options.policy, options.clock?.now()), {
      maxBatch: options.maxBatch,
      minIntervalMs: options.minIntervalMs,
      onBatch: options.onBatch,
      onError: options.onError,
      onWritten: (results) => {
        if (results.some((r) => r.result === 'ejected' || r.result === 'restored')) options.onTransitions?.();
      },
    });
  }
}
