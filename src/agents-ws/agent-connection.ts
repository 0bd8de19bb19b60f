import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Authenticator, Principal } from '../auth/api-keys';
import type { Queryable } from '../db/client';
import { AppError, ErrorCode, conflict } from '../errors';
import type { Logger } from '../logger';
import type { AgentLifecycleService } from '../registrations/agent-lifecycle.service';
import type { RoutingService } from '../routing/routing.service';
import { pickOverSocket, reportOutcomeOverSocket, reportOutcomesOverSocket } from '../routing/routing.socket';
import { loadAgentConfiguration } from './configuration';
import { authFailed, invalidMessage, invalidParams, methodNotFound, rateLimited, toErrorBody } from './errors';
import { type ClientFrame, echoableId, parseFrame } from './messages';
import {
  type DeregisterResult,
  type HeartbeatResult,
  type MessageId,
  MessageType,
  Method,
  type RegisterResult,
  type ServerMessage,
  WsErrorCode,
} from './protocol';
import { TokenBucket } from './rate-limit';
import { characterCount, textProblem } from '../validation';

/** What a connection needs from its server. */
export interface ConnectionContext {
  auth: Authenticator;
  lifecycle: AgentLifecycleService;
  /** agent.pick and agent.report_outcome (src/routing/); without it they are unknown methods. */
  routing?: RoutingService;
  db: Queryable;
  logger: Logger;
  rateLimitPerSec: number;
  rateBurst: number;
  /** The connection now serves this configuration (for config.updated). */
  bind(connection: AgentConnection): void;
  unbind(connection: AgentConnection): void;
  /** True while the server shuts down: closes then are not agent disconnects. */
  closing(): boolean;
  /** Keeps a write that outlives its socket (a disconnect) until shutdown awaits it. */
  track(work: Promise<unknown>): void;
}

/**
 * True for a principal that may act as an agent: a key with the agent role, of a tenant.
 * Least privilege, as over GraphQL (whose agent mutations are `@Authorized('agent')`): an
 * admin key is refused here too.
 */
export function mayActAsAgent(principal: Principal | null): principal is Principal & { tenantId: string } {
  return principal !== null && principal.role === 'agent' && principal.tenantId !== null;
}

/**
 * One agent's socket: parses and rate-limits its frames, handles them one after the
 * other (so a heartbeat sent right after a register sees the registration), and marks
 * its instance disconnected when the socket closes without a deregister.
 */
export class AgentConnection {
  /** A random id per connection: the default instance id, stored as connection_details.connection_id. */
  readonly id = crypto.randomUUID();
  tenantId: string | null = null;
  instanceId: string | null = null;
  configurationId: string | null = null;
  /** The newest configuration version this connection was sent. */
  configurationVersion = 0;
  /** Answered a pong (or sent anything) since the last ping. */
  alive = true;
  /** The key this connection acts with (from the upgrade or the last register), checked again on every request. */
  private key: string | null;
  private principal: (Principal & { tenantId: string }) | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private deregistered = false;
  private refusedInARow = 0;
  private readonly bucket: TokenBucket;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: WebSocket,
    private readonly request: IncomingMessage,
    upgradeKey: string | null,
    private readonly ctx: ConnectionContext,
  ) {
    this.key = upgradeKey;
    this.bucket = new TokenBucket(ctx.rateLimitPerSec, ctx.rateBurst);
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => ctx.logger.debug({ err: error, connectionId: this.id }, 'agent socket error'));
  }

  /** Settles when every frame received so far has been handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  send(message: ServerMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    this.alive = true;
    if (!this.bucket.take()) {
      this.refusedInARow += 1;
      this.replyError(null, undefined, rateLimited());
      // a client that keeps flooding after `burst` refusals is not listening: drop it
      if (this.refusedInARow > this.ctx.rateBurst) this.socket.close(WsErrorCode.RateLimited, 'rate limited');
      return;
    }
    this.refusedInARow = 0;
    let frame: ClientFrame;
    try {
      if (isBinary) throw invalidMessage('binary frames are not accepted; send JSON text');
      frame = parseFrame(rawText(data));
    } catch (error) {
      this.replyError(idOf(data, isBinary), undefined, error);
      return;
    }
    if (frame.type === MessageType.Ping) {
      this.send({ type: MessageType.Pong, ...(frame.id !== undefined ? { id: frame.id } : {}) });
      return;
    }
    if (frame.type === MessageType.Pong) return;
    const { id, method, params } = frame;
    if (this.ctx.closing()) {
      this.replyError(id, method, new AppError(ErrorCode.UNAVAILABLE, 'the registry is shutting down; reconnect'));
      return;
    }
    this.chain = this.chain.then(() => this.handle(id, method, params));
  }

  /**
   * Answers one request. Plain promises, no async functions, on this path and the
   * heartbeat's: what a request allocates lives until its answer (a heartbeat's until its
   * batch commits), and an async frame with its awaits is the largest part of that.
   */
  private handle(id: MessageId, method: string, params: Record<string, unknown>): Promise<void> {
    let answer: Promise<unknown>;
    try {
      answer = this.dispatch(method, params);
    } catch (error) {
      answer = Promise.reject(error);
    }
    return answer.then(
      (result) => this.send({ type: MessageType.Response, id, method, result: result as Record<string, unknown> }),
      (error: unknown) => this.replyError(id, method, error),
    );
  }

  private dispatch(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case Method.Register:
        return this.register(params);
      case Method.Heartbeat:
        return this.heartbeat(params);
      case Method.Deregister:
        return this.deregister(params);
      case Method.Pick:
        if (!this.ctx.routing) break;
        return this.authenticated().then((p) => pickOverSocket(this.ctx.routing!, p.tenantId, params));
      case Method.ReportOutcome:
        if (!this.ctx.routing) break;
        return this.authenticated().then((p) => reportOutcomeOverSocket(this.ctx.routing!, p.tenantId, params));
      case Method.ReportOutcomes:
        if (!this.ctx.routing) break;
        return this.authenticated().then((p) => reportOutcomesOverSocket(this.ctx.routing!, p.tenantId, params));
    }
    return Promise.reject(methodNotFound(method));
  }

  /**
   * The principal this connection acts with (the upgrade's key or the last register's),
   * looked up again at most once a second: a revoked key stops working and its socket is
   * closed with 4001.
   */
  private async authenticated(): Promise<Principal & { tenantId: string }> {
    if (this.key === null) throw authFailed('register first, or authenticate the upgrade request');
    const now = performance.now();
    let principal = this.principal;
    if (principal === null || now - this.checkedAt >= 1_000) {
      const found = await this.ctx.auth.authenticate(this.key);
      principal = mayActAsAgent(found) ? found : null;
      this.principal = principal;
      this.checkedAt = now;
    }
    if (principal === null || (this.tenantId !== null && principal.tenantId !== this.tenantId)) {
      setImmediate(() => this.socket.close(WsErrorCode.AuthFailed, 'API key revoked'));
      throw authFailed('the API key is no longer valid');
    }
    return principal;
  }

  private async register(params: Record<string, unknown>): Promise<RegisterResult> {
    const auth = optionalObject(params.auth, 'auth');
    const apiKey = optionalString(auth?.api_key, 'auth.api_key');
    const claimedTenant = optionalString(auth?.tenant_id, 'auth.tenant_id');

    const key = apiKey ?? this.key;
    const principal = key === null ? null : await this.ctx.auth.authenticate(key);
    if (!mayActAsAgent(principal)) throw authFailed();
    if (claimedTenant !== undefined && claimedTenant !== principal.tenantId) {
      throw authFailed('auth.tenant_id does not match the API key');
    }
    // from here on a refusal is a failed registration of an authenticated agent (as over GraphQL)
    try {
      return await this.registerAs(key!, principal, params);
    } catch (error) {
      this.ctx.lifecycle.registrationRefused();
      throw error;
    }
  }

  private async registerAs(
    key: string,
    principal: Principal & { tenantId: string },
    params: Record<string, unknown>,
  ): Promise<RegisterResult> {
    const instanceParam = optionalString(params.instance_id, 'instance_id');
    const details = optionalObject(params.connection_details, 'connection_details');
    const instanceId = instanceParam ?? this.instanceId ?? this.id;
    if (this.instanceId !== null && (instanceId !== this.instanceId || principal.tenantId !== this.tenantId)) {
      throw conflict(`this connection serves instance ${this.instanceId}; open another connection for another instance`);
    }

    const registered = await this.ctx.lifecycle.register(principal.tenantId, {
      agentId: params.agent_id,
      instanceId,
      name: params.name,
      capabilities: params.capabilities,
      runtimeConfig: params.runtime_config,
      connectionDetails: {
        ...details,
        transport: 'websocket',
        connection_id: this.id,
        remote_address: this.request.socket.remoteAddress ?? null,
        user_agent: this.request.headers['user-agent'] ?? null,
      },
    });
    this.key = key;
    this.principal = principal;
    this.checkedAt = performance.now();
    this.tenantId = principal.tenantId;
    this.instanceId = instanceId;
    this.configurationId = registered.configId;
    this.deregistered = false;
    this.ctx.bind(this);

    const configuration = await loadAgentConfiguration(this.ctx.db, principal.tenantId, registered.configId).catch(
      (error: unknown) => {
        this.ctx.logger.warn({ err: error, connectionId: this.id }, 'could not load the configuration of a registration');
        return null;
      },
    );
    if (configuration) this.configurationVersion = configuration.version;
    return {
      registration_id: registered.registrationId,
      instance_id: instanceId,
      is_new: registered.isNew,
      message: registered.message,
      heartbeat_interval_ms: registered.heartbeatIntervalMs,
      connection_id: this.id,
      configuration,
    };
  }

  private heartbeat(params: Record<string, unknown>): Promise<HeartbeatResult> {
    // the principal checked less than a second ago (every heartbeat but one a second): no await
    const principal = this.principal !== null && performance.now() - this.checkedAt < 1_000 ? this.principal : null;
    if (principal === null || (this.tenantId !== null && principal.tenantId !== this.tenantId)) {
      return this.target(params).then(({ tenantId, instanceId }) => this.beat(tenantId, instanceId, params));
    }
    return this.beat(principal.tenantId, this.instanceFor(params), params);
  }

  private beat(tenantId: string, instanceId: string, params: Record<string, unknown>): Promise<HeartbeatResult> {
    return this.ctx.lifecycle
      .heartbeat(tenantId, { instanceId, health: params.health, workload: params.workload }, 'websocket')
      .then((ack) => ({ registration_id: ack.registrationId, outcome: ack.outcome }));
  }

  private async deregister(params: Record<string, unknown>): Promise<DeregisterResult> {
    const { tenantId, instanceId } = await this.target(params);
    const reason = optionalString(params.reason, 'reason', 200);
    const result = await this.ctx.lifecycle.deregister(tenantId, instanceId, reason ?? 'deregistered');
    if (instanceId === this.instanceId) this.deregistered = true;
    return { registration_id: result.registrationId, was_active: result.wasActive };
  }

  /**
   * The tenant and instance a heartbeat or deregister is about; the key is checked again
   * (see {@link authenticated}).
   */
  private async target(params: Record<string, unknown>): Promise<{ tenantId: string; instanceId: string }> {
    optionalString(params.instance_id, 'instance_id');
    const principal = await this.authenticated();
    return { tenantId: principal.tenantId, instanceId: this.instanceFor(params) };
  }

  /** The instance a request is about: `params.instance_id`, else this connection's. */
  private instanceFor(params: Record<string, unknown>): string {
    const instanceParam = optionalString(params.instance_id, 'instance_id');
    if (this.instanceId !== null && instanceParam !== undefined && instanceParam !== this.instanceId) {
      throw invalidParams(`this connection serves instance ${this.instanceId}`, 'instance_id');
    }
    const instanceId = instanceParam ?? this.instanceId;
    if (instanceId === null) {
      throw new AppError(ErrorCode.NOT_REGISTERED, 'this connection has not registered an instance; call agent.register');
    }
    return instanceId;
  }

  private replyError(id: MessageId | null, method: string | undefined, error: unknown): void {
    const { body, masked } = toErrorBody(error);
    if (masked) this.ctx.logger.error({ err: error, connectionId: this.id, method }, 'agent request failed');
    this.send({ type: MessageType.Error, id, ...(method ? { method } : {}), error: body });
  }

  private onClose(): void {
    this.ctx.unbind(this);
    if (this.ctx.closing() || this.instanceId === null || this.tenantId === null || this.deregistered) return;
    const { tenantId, instanceId } = this;
    // after the frames already received (a deregister in flight wins over the disconnect)
    const work = this.chain.then(async () => {
      if (this.deregistered) return;
      try {
        await this.ctx.lifecycle.disconnected(tenantId, instanceId, this.id);
      } catch (error) {
        this.ctx.logger.warn({ err: error, connectionId: this.id, instanceId }, 'could not mark an instance disconnected');
      }
    });
    this.ctx.track(work);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The id of a frame that failed to parse, when it can be found cheaply. */
function idOf(data: WebSocket.RawData, isBinary: boolean): MessageId | null {
  if (isBinary) return null;
  try {
    const value = JSON.parse(rawText(data)) as { id?: unknown } | null;
    return typeof value === 'object' && value !== null ? echoableId(value.id) : null;
  } catch {
    return null;
  }
}

function optionalString(value: unknown, field: string, max = 256): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || (value.length > max && characterCount(value) > max)) {
    throw invalidParams(`${field} must be a string of 1 to ${max} characters`, field);
  }
  const problem = textProblem(value);
  if (problem) throw invalidParams(`${field} ${problem}`, field);
  return value;
}

function optionalObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParams(`${field} must be a JSON object`, field);
  return value as Record<string, unknown>;
}
