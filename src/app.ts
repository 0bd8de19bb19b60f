import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import type { Clock } from './clock';
import { AgentSocketServer } from './agents-ws/agent-socket-server';
import { type Database, openDatabase } from './db/client';
import { migrate } from './db/migrate';
import { findPgliteTemplate } from './db/pglite-template';
import { Authenticator } from './auth/api-keys';
import { EventLogReader } from './events/event-log-reader';
import type { EventFeed } from './events/types';
import { healthHandlers } from './http/health';
import { metricsHandler } from './http/metrics';
import { createRouter } from './http/router';
import { HeartbeatWriter } from './liveness/heartbeat-writer';
import type { OutcomeWriter } from './routing/outcome-writer';
import { StaleSweeper } from './liveness/sweeper';
import { createLogger, type Logger } from './logger';
import { RegistryMetrics } from './metrics/registry-metrics';
import { AgentLifecycleService } from './registrations/agent-lifecycle.service';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Principal } from './auth/api-keys';
import { ApiKeyService } from './api-keys/api-key.service';
import { type BootstrapResult, bootstrapBanner, bootstrapDemo } from './bootstrap';
import { ConfigurationService } from './configurations/configuration.service';
import { EventHistoryService } from './events/event-history.service';
import { HealthHistoryService } from './history/health-history.service';
import { dashboardHandler } from './http/dashboard';
import { type ApiServices, type GraphQLContext, createContext } from './graphql/context';
import { buildRegistrySchema } from './graphql/schema';
import { createGraphQLServer, graphqlHttpHandler } from './graphql/server';
import { DirectExecution } from './graphql/direct-execution';
import { ManifestService } from './manifests/manifest.service';
import { RegistrationService } from './registrations/registration.service';
import { TenantService } from './tenants/tenant.service';
import { RegistryMetricsResolver } from './metrics/registry-metrics.resolver';
import { RegistryMetricsService } from './metrics/registry-metrics.service';
import { EventStreamService } from './subscriptions/event-stream.service';
import { GraphQLWsServer } from './subscriptions/graphql-ws-server';
import { RegistrationEventsResolver } from './subscriptions/registration-events.resolver';
import { createFormatError } from './graphql/format-error';
import { OperationRules } from './graphql/operation-rules';
import { ScalingRecommender } from './scaling/scaling-recommender';
import { registerScalingGauges } from './scaling/scaling.metrics';
import { ConfigurationScalingResolver } from './scaling/scaling.resolver';
import { ScalingService } from './scaling/scaling.service';
import { createRouting } from './routing/routing.wiring';
import { StartupTimer } from './ops/startup-timer';

export interface AppOptions {
  /** Test clock; by default the database's clock stamps every change. */
  clock?: Clock;
  logger?: Logger;
  /** Use this database instead of opening one from the config (tests). Not closed by stop(). */
  db?: Database;
}

/** The services every transport shares: those resolvers call, and the machinery behind them. */
export interface Services extends ApiServices {
  readonly heartbeats: HeartbeatWriter;
  /** Group commit of reportInstanceOutcome (src/routing/). */
  readonly outcomes: OutcomeWriter;
  readonly metrics: RegistryMetrics;
  readonly events: EventFeed;
  /** The same feed, with its position and lifecycle (subscriptions replay up to its position). */
  readonly eventLog: EventLogReader;
  /** Open registrationEvents subscriptions. */
  readonly eventStreams: EventStreamService;
}

/**
 * The GraphQL schema the app serves (queries, mutations and, once added here, the
 * subscriptions): built once, shared by HTTP and graphql-ws. `npm run schema:check`
 * compares it with the committed schema.graphql.
 */
export function buildAppSchema(): GraphQLSchema {
  return buildRegistrySchema({
    extraResolvers: [RegistrationEventsResolver, RegistryMetricsResolver, ConfigurationScalingResolver],
  });
}

export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly logger: Logger;
  readonly services: Services;
  /** The agent WebSocket endpoint (/agents). */
  readonly agentSockets: AgentSocketServer;
  /** The periodic stale sweep and purge. */
  readonly sweeper: StaleSweeper;
  /** The periodic scaling signal (mcp.recommend_scaling). */
  readonly scaling: ScalingRecommender;
  /** graphql-ws subscriptions on /graphql. */
  readonly graphqlSockets: GraphQLWsServer;
  /** The HTTP server (listening after start()). */
  readonly server: http.Server;
  /** The GraphQL schema served on /graphql (HTTP and graphql-ws). */
  readonly schema: GraphQLSchema;
  /** The Apollo server (tests run operations with `executeOperation`). */
  readonly graphql: ApolloServer<GraphQLContext>;
  /** What runs common requests over HTTP without Apollo's pipeline (undefined when GRAPHQL_DIRECT_EXECUTION=false). */
  readonly direct: DirectExecution | undefined;
  /** The context of a GraphQL operation by `principal` (null: anonymous). */
  contextFor(principal: Principal | null): GraphQLContext;
  /** Base URL once started, e.g. http://127.0.0.1:4000. */
  url(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The composition root: opens and migrates the database, wires the services, the HTTP
 * routes and the sockets. Nothing listens until start(); stop() undoes start() in reverse.
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const timer = new StartupTimer();
  const logger = options.logger ?? createLogger(config.logLevel);
  // production stamps time with the database's clock (one clock for all processes);
  // tests inject theirs
  const clock: Clock | undefined = options.clock;
  const ownsDb = !options.db;
  const db =
    options.db ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      template: config.databaseUrl ? undefined : findPgliteTemplate(),
    }));
  timer.mark('openDatabase');
  if (db.origin === 'template' || db.origin === 'initdb') {
    logger.info({ dataDir: config.dataDir, from: db.origin }, 'created the embedded database');
  }
  let accepting = false;

  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'applied migrations');
    timer.mark('migrate');
  } catch (error) {
    if (ownsDb) await db.close();
    throw error;
  }

  const metrics = new RegistryMetrics(db);
  registerScalingGauges(metrics.registry, db);
  const eventLog = new EventLogReader(db, {
    pollIntervalMs: config.eventPollIntervalMs,
    throttleMs: config.eventNotifyThrottleMs,
    logger,
    onDelivered: (count) => metrics.eventsRead.inc(count),
  });
  const events: EventFeed = eventLog;
  const auth = new Authenticator(db, { operatorKey: config.operatorKey });
  const heartbeats = new HeartbeatWriter(db, {
    maxBatch: config.heartbeatBatchMax,
    clock,
    onBatch: (size) => metrics.heartbeatBatchSize.observe(size),
    onError: (error) => logger.error({ err: error }, 'a heartbeat batch could not be written'),
  });
  const lifecycle = new AgentLifecycleService({
    db,
    heartbeats,
    metrics,
    events,
    clock,
    limits: config,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
  });
  const routing = createRouting({ db, config, clock, metrics, events, logger });
  const services: Services = {
    auth,
    heartbeats,
    lifecycle,
    metrics,
    events,
    eventLog,
    tenants: new TenantService(db.prisma),
    manifests: new ManifestService(db.prisma),
    configurations: new ConfigurationService(db.prisma, events),
    registrations: new RegistrationService(db),
    apiKeys: new ApiKeyService(db.prisma, auth),
    eventHistory: new EventHistoryService(db),
    healthHistory: new HealthHistoryService(db, clock),
    registryMetrics: new RegistryMetricsService(db, metrics),
    scaling: new ScalingService(db),
    routing: routing.service,
    outcomes: routing.outcomes,
    eventStreams: new EventStreamService({
      feed: eventLog,
      db,
      maxQueue: config.subscriptionMaxQueue,
      onOverflow: () => metrics.subscriptionOverflows.inc(),
    }),
  };
  timer.mark('services');
  const bootstrapped: BootstrapResult | null = config.bootstrap ? await bootstrapDemo(db) : null;
  timer.mark('bootstrap');

  const schema = buildAppSchema();
  timer.mark('schema');
  const formatError = createFormatError(logger, { details: config.errorDetails });
  // one rule set for HTTP and graphql-ws
  const rules = new OperationRules(schema, {
    maxDepth: config.graphqlMaxDepth,
    maxComplexity: config.graphqlMaxComplexity,
    anonymousMaxComplexity: config.graphqlAnonymousMaxComplexity,
    introspection: config.graphqlIntrospection,
  });
  const graphql = createGraphQLServer({ schema, formatError, rules });
  await graphql.start();
  timer.mark('graphqlStart');
  const limits = config;
  const contextFor = (principal: Principal | null) => createContext(services, limits, principal);
  const direct = config.graphqlDirectExecution ? new DirectExecution({ schema, rules, formatError }) : undefined;
  const health = healthHandlers({ db, isAccepting: () => accepting });
  const server = http.createServer(
    createRouter({
      logger,
      routes: {
        '/healthz': { GET: health.healthz },
        '/readyz': { GET: health.readyz },
        '/metrics': { GET: metricsHandler(metrics, config.metricsToken) },
        '/graphql': {
          '*': graphqlHttpHandler({
            server: graphql,
            services,
            limits,
            maxBodyBytes: config.maxBodyBytes,
            direct,
          }),
        },
      },
      // /dashboard and its files (dist/dashboard, built by npm install)
      fallbacks: [dashboardHandler()],
    }),
  );

  const agentSockets = new AgentSocketServer({
    auth,
    lifecycle,
    routing: routing.service,
    events,
    db,
    logger,
    maxFrameBytes: config.wsMaxFrameBytes,
    rateLimitPerSec: config.wsRateLimitPerSec,
    rateBurst: config.wsRateBurst,
    pingIntervalMs: config.heartbeatIntervalMs,
  });
  const graphqlSockets = new GraphQLWsServer({
    schema,
    auth,
    db,
    streams: services.eventStreams,
    createContext: (principal) => contextFor(principal),
    formatError,
    logger,
    connectionInitWaitTimeoutMs: config.wsConnectionInitTimeoutMs,
    rules,
    maxPayloadBytes: config.maxBodyBytes,
    revocationCheckMs: config.subscriptionAuthCheckMs,
  });
  metrics.observe({
    connections: () => ({ graphql: graphqlSockets.size, agents: agentSockets.size }),
    subscriptions: () => services.eventStreams.size,
    queued: () => services.eventStreams.queued,
  });
  // each WebSocket endpoint takes the upgrades of its own path and leaves the others alone
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/agents') {
      agentSockets.handleUpgrade(request, socket, head);
    } else if (path === '/graphql') {
      graphqlSockets.handleUpgrade(request, socket, head);
    } else {
      // no WebSocket endpoint here: answer instead of leaving the socket hanging
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });
  const sweeper = new StaleSweeper({
    db,
    logger,
    clock,
    staleAfterMs: config.staleAfterMs,
    sweepIntervalMs: config.sweepIntervalMs,
    purgeAfterMs: config.purgeAfterMs,
    eventRetentionMs: config.eventRetentionMs,
    selfPreservationShare: config.selfPreservationShare,
    selfPreservationMinActive: config.selfPreservationMinActive,
    selfPreservationCeilingMs: config.selfPreservationCeilingMs,
    onHeld: (tenants) => metrics.sweepHeldTenants.set(tenants),
    onWritten: () => events.written(),
  });
  const scaling = new ScalingRecommender({
    db,
    logger,
    clock,
    targetUtilisation: config.scalingTargetUtilisation,
    tolerance: config.scalingTolerance,
    stabilisationMs: config.scalingStabilisationMs,
    intervalMs: config.scalingIntervalMs,
    onWritten: () => events.written(),
  });

  timer.mark('wiring');

  const app: App = {
    config,
    db,
    logger,
    services,
    agentSockets,
    sweeper,
    scaling,
    graphqlSockets,
    server,
    schema,
    graphql,
    contextFor,
    direct,
    url() {
      const address = server.address() as AddressInfo | null;
      if (!address) throw new Error('the app is not listening');
      return `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    },
    async start() {
      timer.mark('untilStart');
      await eventLog.start();
      timer.mark('eventLog');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      accepting = true;
      timer.mark('listen');
      agentSockets.start();
      graphqlSockets.start();
      sweeper.start();
      scaling.start();
      timer.mark('background');
      logger.debug(timer.summary(), 'start-up steps (ms)');
      logger.info({ url: app.url(), database: db.kind }, 'agent registry listening');
      // printed plainly, once: the only time these keys are ever shown
      if (bootstrapped) process.stdout.write(bootstrapBanner(bootstrapped, app.url()));
    },
    async stop() {
      accepting = false;
      // subscribers get what is committed so far, then 1001 (they resume elsewhere with since)
      await eventLog.flush();
      await graphqlSockets.close();
      await agentSockets.close();
      await scaling.stop();
      await sweeper.stop();
      await new Promise<void>((resolve) => {
        // in-flight requests finish; connections still busy after half the shutdown deadline are cut
        const cut = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs / 2);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      await graphql.stop();
      await heartbeats.close();
      await routing.outcomes.close();
      await eventLog.stop();
      if (ownsDb) await db.close();
      logger.info('agent registry stopped');
    },
  };
  return app;
}
