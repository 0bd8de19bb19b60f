import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Queryable } from '../db/client';
import type { EventFeed } from '../events/types';
import type { Logger } from '../logger';
import type { RegistryMetrics } from '../metrics/registry-metrics';
import { OutcomeWriter } from './outcome-writer';
import { RoutingMetrics } from './routing-metrics';
import { RoutingService } from './routing.service';

export interface RoutingWiring {
  service: RoutingService;
  /** Closed by the app on shutdown, after HTTP drained (flushes queued reports). */
  outcomes: OutcomeWriter;
  metrics: RoutingMetrics;
}

/** Wires routing for the composition root (src/app.ts): metrics, the outcome writer, the service. */
export function createRouting(deps: {
  db: Queryable;
  config: Config;
  clock?: Clock;
  metrics: RegistryMetrics;
  events: EventFeed;
  logger: Logger;
}): RoutingWiring {
  const { db, config, clock, events, logger } = deps;
  const metrics = new RoutingMetrics(deps.metrics.registry, db);
  const outcomes = new OutcomeWriter(db, {
    policy: {
      failureThreshold: config.circuitFailureThreshold,
      baseEjectionMs: config.circuitBaseEjectionMs,
      maxEjectionMs: config.circuitMaxEjectionMs,
      maxEjectedShare: config.circuitMaxEjectedShare,
    },
    maxBatch: config.outcomeBatchMax,
    minIntervalMs: config.outcomeBatchIntervalMs,
    clock,
    onBatch: (size) => metrics.outcomeBatchSize.observe(size),
    // ejected and restored events were written: wake the event readers (throttled)
    onTransitions: () => events.written(),
    onError: (error) => logger.error({ err: error }, 'an outcome batch could not be written'),
  });
  const service = new RoutingService({
    db,
    outcomes,
    metrics,
    clock,
    options: {
      affinityEpsilon: config.routingAffinityEpsilon,
      probeTimeoutMs: config.circuitProbeTimeoutMs,
      baseEjectionMs: config.circuitBaseEjectionMs,
    },
  });
  return { service, outcomes, metrics };
}
