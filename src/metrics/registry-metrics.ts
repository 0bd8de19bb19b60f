import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database, Queryable } from '../db/client';

/**
 * The seed's five registry metrics plus process metrics, in one prom-client registry:
 * - agent_registry_active_registrations{agent_type}   gauge, read from the database
 * - agent_registry_registrations_total{result}        counter: success / failure
 * - agent_registry_reconnections_total                 counter
 * - agent_registry_stale_instances                     gauge, read from the database
 * - agent_registry_heartbeat_duration_seconds{transport} histogram: submit to acknowledgement
 * - agent_registry_db_statements_total                counter: statements sent to the database (round trips)
 * Counters count this process's work; gauges are the database's (same in every process).
 */
export class RegistryMetrics {
  readonly registry = new Registry();
  readonly registrations: Counter<'result'>;
  readonly reconnections: Counter;
  readonly heartbeatDuration: Histogram<'transport'>;
  readonly heartbeatBatchSize: Histogram;
  readonly heartbeats: Counter<'outcome'>;
  /** Tenants for which this process's last stale sweep held back (self-preservation). */
  readonly sweepHeldTenants: Gauge;
  /** Subscribers that fell more than SUBSCRIPTION_MAX_QUEUE events behind and went back to the log. */
  readonly subscriptionOverflows: Counter;
  /** Events this process's reader took from the log and handed to its listeners. */
  readonly eventsRead: Counter;
  private live: LiveSources = {};

  /** `db`: what the database gauges read; a {@link Database} also gives its statement count. */
  constructor(db: Queryable & Partial<Pick<Database, 'statementCount'>>, options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.registrations = new Counter({
      name: 'agent_registry_registrations_total',
      help: 'Registration attempts by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.reconnections = new Counter({
      name: 'agent_registry_reconnections_total',
      help: 'Registrations that were reconnections of a known instance, and stale instances revived by a heartbeat.',
      registers,
    });
    this.heartbeatDuration = new Histogram({
      name: 'agent_registry_heartbeat_duration_seconds',
      help: 'Heartbeat handling latency, from receipt to acknowledgement (after commit).',
      labelNames: ['transport'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.heartbeatBatchSize = new Histogram({
      name: 'agent_registry_heartbeat_batch_size',
      help: 'Heartbeats written per group-commit statement.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    });
    this.heartbeats = new Counter({
      name: 'agent_registry_heartbeats_total',
      help: 'Heartbeats handled, by outcome (ok, changed, revived, not_registered, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.sweepHeldTenants = new Gauge({
      name: 'agent_registry_sweep_held_tenants',
      help: 'Tenants for which the last stale sweep held back under self-preservation.',
      registers,
    });
    new Gauge({
      name: 'agent_registry_active_registrations',
      help: 'Active registrations per agent type (all tenants).',
      labelNames: ['agent_type'],
      registers,
      async collect() {
        const rows = await db.query<{ agent_type: string; count: number }>(
          `select m.agent_type, count(*)::integer as count
           from mcp.agent_registrations r join mcp.agent_manifests m on m.id = r.manifest_id
           where r.registration_status = 'active' group by m.agent_type`,
        );
        this.reset();
        for (const row of rows) this.set({ agent_type: row.agent_type }, row.count);
      },
    });
    new Gauge({
      name: 'agent_registry_stale_instances',
      help: 'Registrations currently marked stale (all tenants).',
      registers,
      async collect() {
        const [row] = await db.query<{ count: number }>(
          `select count(*)::integer as count from mcp.agent_registrations where registration_status = 'stale'`,
        );
        this.set(row.count);
      },
    });
    this.subscriptionOverflows = new Counter({
      name: 'agent_registry_subscription_overflows_total',
      help: 'Times a subscriber fell more than SUBSCRIPTION_MAX_QUEUE events behind and caught up from the log instead.',
      registers,
    });
    this.eventsRead = new Counter({
      name: 'agent_registry_events_read_total',
      help: "Events this process's event log reader delivered to its listeners.",
      registers,
    });
    const live = () => this.live;
    new Gauge({
      name: 'agent_registry_websocket_connections',
      help: 'Open WebSocket connections of this process, by endpoint (graphql: subscriptions, agents: agent protocol).',
      labelNames: ['endpoint'],
      registers,
      collect() {
        for (const [endpoint, count] of Object.entries(live().connections?.() ?? {})) this.set({ endpoint }, count);
      },
    });
    let statementsSeen = 0;
    new Counter({
      name: 'agent_registry_db_statements_total',
      help: 'Statements this process sent to the database (each one round trip; the LISTEN connection aside).',
      registers,
      collect() {
        const sent = db.statementCount?.() ?? 0;
        if (sent > statementsSeen) this.inc(sent - statementsSeen);
        statementsSeen = sent;
      },
    });
    new Gauge({
      name: 'agent_registry_subscriptions_active',
      help: 'Open registrationEvents subscriptions of this process.',
      registers,
      collect() {
        this.set(live().subscriptions?.() ?? 0);
      },
    });
    new Gauge({
      name: 'agent_registry_subscription_queued_events',
      help: 'Live events buffered for subscribers of this process (bounded by SUBSCRIPTION_MAX_QUEUE each).',
      registers,
      collect() {
        this.set(live().queued?.() ?? 0);
      },
    });
  }

  /**
   * Connects the gauges of this process's live state (set once by the app):
   * - agent_registry_websocket_connections{endpoint}  open sockets per endpoint (graphql, agents)
   * - agent_registry_subscriptions_active             open registrationEvents subscriptions
   * - agent_registry_subscription_queued_events       live events buffered across them
   */
  observe(sources: LiveSources): void {
    this.live = { ...this.live, ...sources };
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Read when /metrics is scraped. */
export interface LiveSources {
  connections?: () => Record<string, number>;
  subscriptions?: () => number;
  queued?: () => number;
}
