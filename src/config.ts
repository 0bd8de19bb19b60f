import path from 'node:path';

/**
 * Service configuration. The only module that reads `process.env`: every key is parsed
 * and validated once, every problem is reported at once, and the result is frozen.
 * `.env.example` lists every key with its default.
 */
export interface Config {
  /** HTTP port for /graphql, /agents, /metrics, /healthz, /readyz. Default 4000. */
  readonly port: number;
  /** Bind address. Default 127.0.0.1; set 0.0.0.0 to accept remote connections. */
  readonly host: string;
  /** PostgreSQL URL. When unset, the embedded PGlite database in `dataDir` is used. */
  readonly databaseUrl: string | undefined;
  /** Folder of the embedded database. Default ./.data. */
  readonly dataDir: string;
  /** Maximum PostgreSQL connections of the pool. Default 10. */
  readonly databasePoolSize: number;
  /** pino log level. Default info. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** A key accepted with the operator role (compared as a hash). Unset: none. */
  readonly operatorKey: string | undefined;
  /** On first start against an empty database, create a demo tenant and print keys. Default true. */
  readonly bootstrap: boolean;

  /** Heartbeat interval told to agents at registration. Default 15 s. */
  readonly heartbeatIntervalMs: number;
  /** An active instance without a heartbeat for this long is marked stale. Default 45 s. */
  readonly staleAfterMs: number;
  /** How often the stale sweep runs. Default 5 s. */
  readonly sweepIntervalMs: number;
  /** Stale and deregistered registrations are purged after this long. Default 24 h. */
  readonly purgeAfterMs: number;
  /** Self-preservation: hold back when one sweep would mark more than this share of a tenant's active instances stale. Default 0.5. */
  readonly selfPreservationShare: number;
  /** Self-preservation applies only to tenants with at least this many active instances. Default 10. */
  readonly selfPreservationMinActive: number;
  /** Self-preservation gives up holding after this long. Default 10 min. */
  readonly selfPreservationCeilingMs: number;
  /** Events older than this are pruned. Default 7 days. */
  readonly eventRetentionMs: number;
  /** Most heartbeats written in one group-commit statement. Default 2000. */
  readonly heartbeatBatchMax: number;

  /** Scaling signal: the utilisation (workload / capacity) the recommendation aims at, as HPA's target. Default 0.7. */
  readonly scalingTargetUtilisation: number;
  /** Scaling signal: no change while |utilisation / target − 1| is at most this. Default 0.1. */
  readonly scalingTolerance: number;
  /** Scaling signal: a lower recommendation waits until no higher proposal is this recent (scale-down stabilisation). Default 5 min. */
  readonly scalingStabilisationMs: number;
  /** Scaling signal: how often each process computes it (one at a time across processes). Default 15 s. */
  readonly scalingIntervalMs: number;

  /** Largest agent WebSocket frame accepted. Default 64 KiB. */
  readonly wsMaxFrameBytes: number;
  /** Sustained agent messages per second allowed per connection. Default 20. */
  readonly wsRateLimitPerSec: number;
  /** Burst of agent messages allowed per connection above the sustained rate. Default 40. */
  readonly wsRateBurst: number;

  /** Deepest GraphQL selection accepted. Default 10. */
  readonly graphqlMaxDepth: number;
  /** Highest GraphQL query complexity accepted. Default 2000. */
  readonly graphqlMaxComplexity: number;
  /** Highest GraphQL query complexity accepted from a request without an API key (introspection then refused). Default 50. */
  readonly graphqlAnonymousMaxComplexity: number;
  /** Introspection (with a key) and the Apollo Sandbox landing page on /graphql. Default true, false when NODE_ENV=production. */
  readonly graphqlIntrospection: boolean;
  /** Common GraphQL requests over HTTP run without Apollo's per-request pipeline (same rules, same answers). Default true. */
  readonly graphqlDirectExecution: boolean;
  /** `extensions.sqlState` and "Did you mean …?" suggestions in error responses. Default true, false when NODE_ENV=production. */
  readonly errorDetails: boolean;
  /** Largest page a list field returns. Default 100. */
  readonly maxPageSize: number;
  /** Largest HTTP request body. Default 1 MiB. */
  readonly maxBodyBytes: number;
  /** Longest string accepted in an input. Default 10000. */
  readonly maxStringLength: number;
  /** Largest JSON value (serialized) accepted in an input. Default 64 KiB. */
  readonly maxJsonBytes: number;
  /** Deepest nesting of objects and arrays accepted in a JSON input. Default 32. */
  readonly maxJsonDepth: number;
  /** Live events buffered per subscription before it falls back to reading the log. Default 1000. */
  readonly subscriptionMaxQueue: number;
  /** The event log is read at least this often, whatever wakes it. Default 500 ms. */
  readonly eventPollIntervalMs: number;
  /** At most one event NOTIFY (and one woken read) per process per this many ms. Default 5 ms. */
  readonly eventNotifyThrottleMs: number;
  /** A graphql-ws socket must send connection_init within this long. Default 3 s. */
  readonly wsConnectionInitTimeoutMs: number;
  /** How often the keys of open graphql-ws sockets are checked for revocation. Default 5 s. */
  readonly subscriptionAuthCheckMs: number;

  /** When set, /metrics answers only `Authorization: Bearer <this token>` (Prometheus' `authorization` setting). Default unset. */
  readonly metricsToken: string | undefined;
  /** Routing, affinity: a key stays on its instance while its load is under ceil((1 + ε) × average). Default 0.25. */
  readonly routingAffinityEpsilon: number;
  /** Circuit breaking: consecutive failures (or timeouts) that eject an instance. Default 5. */
  readonly circuitFailureThreshold: number;
  /**
   * Circuit breaking: an ejection lasts this × the instance's number of ejections, which falls
   * by one for every such period the circuit stays closed after a restore. Default 30 s.
   */
  readonly circuitBaseEjectionMs: number;
  /** Circuit breaking: longest ejection. Default 5 min. */
  readonly circuitMaxEjectionMs: number;
  /** Circuit breaking: most of an agent's active instances ejected at once (at least one). Default 0.1. */
  readonly circuitMaxEjectedShare: number;
  /** Circuit breaking: a half-open probe without an outcome for this long lets another probe through. Default 10 s. */
  readonly circuitProbeTimeoutMs: number;
  /** Most outcome reports written in one group-commit statement. Default 2000. */
  readonly outcomeBatchMax: number;
  /**
   * Outcome statements start at least this long apart while reports keep arriving (reports
   * were queued when the last one committed; 0: as soon as it committed): fewer, larger
   * statements, for at most this much more latency per report. A lone report is written at
   * once. Default 200 ms.
   */
  readonly outcomeBatchIntervalMs: number;

  /** Graceful shutdown deadline. Default 10 s. */
  readonly shutdownTimeoutMs: number;
  /**
   * API processes sharing the port (node:cluster), e.g. one per core. PostgreSQL only:
   * everything they share goes through the database. Default 1.
   */
  readonly workers: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Thrown by {@link loadConfig} with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the configuration; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const value = env[key];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const num = (key: string, fallback: number, opts: { min?: number; max?: number; integer?: boolean } = {}) => {
    const raw = str(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = opts;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (key: string, fallback: boolean) => {
    const raw = str(key);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${key}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: expected a postgresql:// URL (unset it to use the embedded database)');
  }
  const logLevel = (str('LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const operatorKey = str('OPERATOR_KEY');
  if (operatorKey !== undefined && operatorKey.length < 16) {
    problems.push('OPERATOR_KEY: must be at least 16 characters');
  }

  const config: Config = {
    port: num('PORT', 4000, { max: 65535 }),
    host: str('HOST') ?? '127.0.0.1',
    databaseUrl,
    dataDir: path.resolve(cwd, str('DATA_DIR') ?? '.data'),
    databasePoolSize: num('DATABASE_POOL_SIZE', 10, { min: 1, max: 1000 }),
    logLevel,
    operatorKey,
    bootstrap: bool('BOOTSTRAP', true),
    heartbeatIntervalMs: num('HEARTBEAT_INTERVAL_MS', 15_000, { min: 100 }),
    staleAfterMs: num('STALE_AFTER_MS', 45_000, { min: 100 }),
    sweepIntervalMs: num('SWEEP_INTERVAL_MS', 5_000, { min: 10 }),
    purgeAfterMs: num('PURGE_AFTER_MS', 86_400_000, { min: 1000 }),
    selfPreservationShare: num('SELF_PRESERVATION_SHARE', 0.5, { max: 1, integer: false }),
    selfPreservationMinActive: num('SELF_PRESERVATION_MIN_ACTIVE', 10),
    selfPreservationCeilingMs: num('SELF_PRESERVATION_CEILING_MS', 600_000),
    eventRetentionMs: num('EVENT_RETENTION_MS', 7 * 86_400_000, { min: 1000 }),
    heartbeatBatchMax: num('HEARTBEAT_BATCH_MAX', 2000, { min: 1, max: 50_000 }),
    scalingTargetUtilisation: num('SCALING_TARGET_UTILISATION', 0.7, { min: 0.01, max: 1, integer: false }),
    scalingTolerance: num('SCALING_TOLERANCE', 0.1, { max: 1, integer: false }),
    scalingStabilisationMs: num('SCALING_STABILISATION_MS', 300_000, { max: 86_400_000 }),
    scalingIntervalMs: num('SCALING_INTERVAL_MS', 15_000, { min: 100 }),
    wsMaxFrameBytes: num('WS_MAX_FRAME_BYTES', 65_536, { min: 256 }),
    wsRateLimitPerSec: num('WS_RATE_LIMIT_PER_SEC', 20, { min: 1, integer: false }),
    wsRateBurst: num('WS_RATE_BURST', 40, { min: 1 }),
    graphqlMaxDepth: num('GRAPHQL_MAX_DEPTH', 10, { min: 2 }),
    graphqlMaxComplexity: num('GRAPHQL_MAX_COMPLEXITY', 2000, { min: 10 }),
    graphqlAnonymousMaxComplexity: num('GRAPHQL_ANONYMOUS_MAX_COMPLEXITY', 50, { min: 1 }),
    graphqlIntrospection: bool('GRAPHQL_INTROSPECTION', str('NODE_ENV') !== 'production'),
    graphqlDirectExecution: bool('GRAPHQL_DIRECT_EXECUTION', true),
    errorDetails: bool('ERROR_DETAILS', str('NODE_ENV') !== 'production'),
    maxPageSize: num('MAX_PAGE_SIZE', 100, { min: 1 }),
    maxBodyBytes: num('MAX_BODY_BYTES', 1_048_576, { min: 1024 }),
    maxStringLength: num('MAX_STRING_LENGTH', 10_000, { min: 64 }),
    maxJsonBytes: num('MAX_JSON_BYTES', 65_536, { min: 256 }),
    maxJsonDepth: num('MAX_JSON_DEPTH', 32, { min: 1, max: 1000 }),
    subscriptionMaxQueue: num('SUBSCRIPTION_MAX_QUEUE', 1000, { min: 1 }),
    eventPollIntervalMs: num('EVENT_POLL_INTERVAL_MS', 500, { min: 10, max: 60_000 }),
    eventNotifyThrottleMs: num('EVENT_NOTIFY_THROTTLE_MS', 5, { max: 1000 }),
    wsConnectionInitTimeoutMs: num('WS_CONNECTION_INIT_TIMEOUT_MS', 3000, { min: 10 }),
    subscriptionAuthCheckMs: num('SUBSCRIPTION_AUTH_CHECK_MS', 5000, { min: 10 }),
    metricsToken: str('METRICS_TOKEN'),
    routingAffinityEpsilon: num('ROUTING_AFFINITY_EPSILON', 0.25, { min: 0.01, max: 10, integer: false }),
    circuitFailureThreshold: num('CIRCUIT_FAILURE_THRESHOLD', 5, { min: 1, max: 1000 }),
    circuitBaseEjectionMs: num('CIRCUIT_BASE_EJECTION_MS', 30_000, { min: 1 }),
    circuitMaxEjectionMs: num('CIRCUIT_MAX_EJECTION_MS', 300_000, { min: 1 }),
    circuitMaxEjectedShare: num('CIRCUIT_MAX_EJECTED_SHARE', 0.1, { max: 1, integer: false }),
    circuitProbeTimeoutMs: num('CIRCUIT_PROBE_TIMEOUT_MS', 10_000, { min: 1 }),
    outcomeBatchMax: num('OUTCOME_BATCH_MAX', 2000, { min: 1, max: 50_000 }),
    outcomeBatchIntervalMs: num('OUTCOME_BATCH_INTERVAL_MS', 200, { max: 10_000 }),
    shutdownTimeoutMs: num('SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100 }),
    workers: num('WORKERS', 1, { min: 1, max: 64 }),
  };
  if (config.workers > 1 && !config.databaseUrl) {
    problems.push('WORKERS > 1 needs DATABASE_URL: the embedded database serves one process');
  }
  if (config.staleAfterMs <= config.heartbeatIntervalMs) {
    problems.push('STALE_AFTER_MS must be greater than HEARTBEAT_INTERVAL_MS (agents would go stale between heartbeats)');
  }
  if (config.circuitMaxEjectionMs < config.circuitBaseEjectionMs) {
    problems.push('CIRCUIT_MAX_EJECTION_MS must be at least CIRCUIT_BASE_EJECTION_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
