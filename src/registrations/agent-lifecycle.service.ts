import type { Clock } from '../clock';
import type { Database } from '../db/client';
import {
  deregisterAgentInstance,
  markInstanceDisconnected,
  registerAgentInstance,
  type DeregisterResult,
  type HeartbeatItem,
  type HeartbeatOutcome,
  type RegistrationRow,
  type ReportedHealth,
} from '../db/registry-sql';
import { badInput, notRegistered } from '../errors';
import type { EventFeed } from '../events/types';
import type { HeartbeatWriter } from '../liveness/heartbeat-writer';
import type { RegistryMetrics } from '../metrics/registry-metrics';
import {
  checkAgentId,
  checkCapabilities,
  checkInteger,
  checkJsonObject,
  checkOptionalString,
  checkString,
  type InputLimits,
} from '../validation';

export interface RegisterRequest {
  agentId: unknown;
  instanceId: unknown;
  name?: unknown;
  capabilities?: unknown;
  connectionDetails?: unknown;
  runtimeConfig?: unknown;
}

export interface Registered {
  registrationId: string;
  manifestId: string;
  configId: string;
  instanceId: string;
  isNew: boolean;
  message: string;
  /** How often the instance should heartbeat. */
  heartbeatIntervalMs: number;
  /** The registration as stored. */
  registration: RegistrationRow;
}

export interface HeartbeatRequest {
  instanceId: unknown;
  health?: unknown;
  workload?: unknown;
}

export interface HeartbeatAck {
  registrationId: string;
  outcome: Exclude<HeartbeatOutcome, 'not_registered'>;
}

const REPORTED_HEALTH: readonly ReportedHealth[] = ['healthy', 'degraded', 'unhealthy'];

export interface AgentLifecycleDeps {
  db: Database;
  heartbeats: HeartbeatWriter;
  metrics: RegistryMetrics;
  events: EventFeed;
  limits: InputLimits;
  heartbeatIntervalMs: number;
  clock?: Clock;
}

/**
 * What agents do, whatever the transport (GraphQL or the agent WebSocket): register,
 * heartbeat, deregister, and the disconnect of a socket. Validates input, calls the SQL
 * layer, counts metrics and wakes the event readers. The caller has already checked the
 * role; `tenantId` is always the authenticated key's tenant.
 */
export class AgentLifecycleService {
  constructor(private readonly deps: AgentLifecycleDeps) {}

  /**
   * Counts a refused registration of an authenticated agent. The transports call it
   * around their whole attempt (GraphQL: src/registrations/registration-failures.middleware.ts;
   * the agent WebSocket: AgentConnection), because some refusals happen before
   * {@link register} (argument validation, input limits); {@link register} counts successes.
   */
  registrationRefused(): void {
    this.deps.metrics.registrations.inc({ result: 'failure' });
  }

  async register(tenantId: string, request: RegisterRequest): Promise<Registered> {
    const { limits } = this.deps;
    const agentId = checkAgentId(request.agentId);
    const instanceId = checkString(request.instanceId, 'instanceId', 256, 1);
    const name = checkOptionalString(request.name, 'name', 200);
    const capabilities = checkCapabilities(request.capabilities);
    const connectionDetails = checkJsonObject(request.connectionDetails, 'connectionDetails', limits);
    const runtimeConfig = checkJsonObject(request.runtimeConfig, 'runtimeConfig', limits);
    // the other processes' NOTIFY rides on the registration's own statement when one is due
    const notify = this.deps.events.claimNotify?.() ?? null;
    let result;
    try {
      result = await registerAgentInstance(this.deps.db, {
        tenantId,
        agentId,
        instanceId,
        name,
        capabilities,
        connectionDetails,
        runtimeConfig,
        now: this.deps.clock?.now(),
        notify,
      });
    } catch (error) {
      // the claimed NOTIFY did not go out: send one for the commits that counted on it
      if (notify !== null) this.deps.events.written();
      throw error;
    }
    this.deps.metrics.registrations.inc({ result: 'success' });
    if (!result.isNew) this.deps.metrics.reconnections.inc();
    this.deps.events.written(notify !== null);
    return { ...result, instanceId, heartbeatIntervalMs: this.deps.heartbeatIntervalMs };
  }

  /**
   * Acknowledged only after the heartbeat's batch committed; NOT_REGISTERED for unknown or
   * deregistered instances. Bad input is refused before anything is queued (and not counted).
   *
   * The hot path of the agent socket: written with one `then` instead of an async function,
   * because what a heartbeat allocates lives until its batch commits (tens of ms under load,
   * long enough to survive a scavenge): an async frame and its awaits cost about 1 KB per
   * heartbeat there (allocation sampling, session 11).
   */
  heartbeat(tenantId: string, request: HeartbeatRequest, transport: 'graphql' | 'websocket'): Promise<HeartbeatAck> {
    let item: HeartbeatItem;
    try {
      item = this.heartbeatItem(tenantId, request);
    } catch (error) {
      return Promise.reject(error);
    }
    // performance.now() rather than prom-client's startTimer (a closure, two hrtime arrays and
    // a merged labels object per heartbeat)
    const started = performance.now();
    return this.deps.heartbeats.submit(item).then(
      (result) => {
        this.heartbeatDone(result.outcome, transport, started);
        if (result.outcome === 'not_registered' || !result.registrationId) throw notRegistered(item.instanceId);
        if (result.outcome === 'revived') this.deps.metrics.reconnections.inc();
        if (result.outcome !== 'ok') this.deps.events.written();
        return { registrationId: result.registrationId, outcome: result.outcome };
      },
      (error: unknown) => {
        this.heartbeatDone('failed', transport, started);
        throw error;
      },
    );
  }

  private heartbeatItem(tenantId: string, request: HeartbeatRequest): HeartbeatItem {
    const instanceId = checkString(request.instanceId, 'instanceId', 256, 1);
    let health: ReportedHealth | undefined;
    if (request.health !== undefined && request.health !== null) {
      if (!REPORTED_HEALTH.includes(request.health as ReportedHealth)) {
        throw badInput(`health must be one of ${REPORTED_HEALTH.join(', ')}`, 'health');
      }
      health = request.health as ReportedHealth;
    }
    const workload =
      request.workload === undefined || request.workload === null
        ? undefined
        : checkInteger(request.workload, 'workload', 0, 1_000_000);
    return { tenantId, instanceId, health, workload };
  }

  private heartbeatDone(outcome: HeartbeatOutcome | 'failed', transport: 'graphql' | 'websocket', started: number): void {
    this.deps.metrics.heartbeats.inc({ outcome });
    this.deps.metrics.heartbeatDuration.observe({ transport }, (performance.now() - started) / 1000);
  }

  /** Deregisters an instance; NOT_REGISTERED when the tenant has no such instance. */
  async deregister(tenantId: string, instanceIdInput: unknown, reason = 'deregistered'): Promise<DeregisterResult> {
    const instanceId = checkString(instanceIdInput, 'instanceId', 256, 1);
    const result = await deregisterAgentInstance(this.deps.db, tenantId, instanceId, {
      now: this.deps.clock?.now(),
      reason,
    });
    if (result.wasActive) this.deps.events.written();
    return result;
  }

  /** The agent's socket closed without deregistering: mark it disconnected (if still bound to that connection). */
  async disconnected(tenantId: string, instanceId: string, connectionId?: string): Promise<boolean> {
    const changed = await markInstanceDisconnected(this.deps.db, tenantId, instanceId, {
      connectionId,
      now: this.deps.clock?.now(),
    });
    if (changed) this.deps.events.written();
    return changed;
  }
}
