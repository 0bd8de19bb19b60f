import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import { AppError, ErrorCode } from '../errors';
import { DEFAULT_HISTORY_BUCKETS, type HealthHistoryArgs, MAX_HISTORY_BUCKETS, MAX_HISTORY_RANGE_SECONDS } from './health-history.input';
import { HEALTH_HISTORY_SQL } from './health-history.sql';
import type { HealthHistory, HealthHistoryPoint } from './health-history.type';

interface PointRow {
  k: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  disconnected: number;
  unknown: number;
}

/** The healthHistory query: validates the range and buckets, then runs HEALTH_HISTORY_SQL. */
export class HealthHistoryService {
  constructor(
    private readonly db: Queryable,
    private readonly clock?: Clock,
  ) {}

  async history(tenantId: string, args: HealthHistoryArgs): Promise<HealthHistory> {
    const to = args.to ?? (this.clock ?? { now: () => new Date() }).now();
    const requestedFrom = args.from ?? new Date(to.getTime() - 3600_000);
    const rangeSeconds = (to.getTime() - requestedFrom.getTime()) / 1000;
    if (!(rangeSeconds > 0)) throw rangeError('from must be before to', 'from');
    if (rangeSeconds > MAX_HISTORY_RANGE_SECONDS) {
      throw rangeError(`the range may span at most ${MAX_HISTORY_RANGE_SECONDS} seconds (7 days)`, 'from', { limit: 'historyRange', max: MAX_HISTORY_RANGE_SECONDS });
    }
    const bucketSeconds = args.bucketSeconds ?? Math.max(1, Math.ceil(rangeSeconds / DEFAULT_HISTORY_BUCKETS));
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) throw rangeError('bucketSeconds must be at least 1', 'bucketSeconds');
    const buckets = Math.ceil(rangeSeconds / bucketSeconds);
    if (buckets > MAX_HISTORY_BUCKETS) {
      throw rangeError(`the range holds ${buckets} buckets of ${bucketSeconds} s; at most ${MAX_HISTORY_BUCKETS}: use wider buckets`, 'bucketSeconds', {
        limit: 'historyBuckets',
        max: MAX_HISTORY_BUCKETS,
      });
    }
    // whole buckets that end exactly at `to`
    const from = new Date(to.getTime() - buckets * bucketSeconds * 1000);
    const rows = await mapErrors(() =>
      this.db.query<PointRow>(HEALTH_HISTORY_SQL, [tenantId, from, to, bucketSeconds, buckets, args.agentId ?? null]),
    );
    const points = rows.map(
      (row): HealthHistoryPoint => ({
        at: new Date(from.getTime() + row.k * bucketSeconds * 1000),
        healthy: row.healthy,
        degraded: row.degraded,
        unhealthy: row.unhealthy,
        disconnected: row.disconnected,
        unknown: row.unknown,
        active: row.healthy + row.degraded + row.unhealthy + row.disconnected + row.unknown,
      }),
    );
    return { agentId: args.agentId ?? null, from, to, bucketSeconds, points };
  }
}

function rangeError(message: string, field: string, extensions: Record<string, unknown> = {}): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, message, { field, ...extensions });
}
