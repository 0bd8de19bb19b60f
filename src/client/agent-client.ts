import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  type AgentConfiguration,
  type DeregisterResult,
  type ErrorBody,
  type HeartbeatParams,
  type HeartbeatResult,
  MessageType,
  Method,
  Notification,
  type RegisterParams,
  type RegisterResult,
  WsErrorCode,
} from '../agents-ws/protocol';
import type {
  PickParams,
  PickResultMessage,
  ReportOutcomeParams,
  ReportOutcomeResult,
  ReportOutcomesResult,
} from '../routing/routing.socket';
import { type BackoffOptions, backoffDelay } from './backoff';

export interface AgentClientOptions {
  /** The registry's agent endpoint, e.g. ws://127.0.0.1:4000/agents. */
  url: string;
  /** An agent (or admin) API key of the tenant. */
  apiKey: string;
  /** The tenant the key belongs to; checked by the server when given. */
  tenantId?: string;
  /** The agent type, e.g. `ide-agent`. */
  agentId: string;
  name?: string;
  capabilities?: string[];
  /** This instance's id; by default the server's first connection id, kept across reconnects. */
  instanceId?: string;
  connectionDetails?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  /** Reconnect backoff (full jitter). Defaults: base 500 ms, cap 30 s. */
  backoff?: BackoffOptions;
  /** A request without an answer after this long counts as a lost connection. Default 10 s. */
  requestTimeoutMs?: number;
  /** Deregister and close on SIGTERM and SIGINT, then let the signal take its course. Default false. */
  handleSignals?: boolean;
  /** Random source of the jitter (tests). Default Math.random. */
  random?: () => number;
}

/** An error reply of the registry. `dataCode` is the catalogue code, e.g. NOT_REGISTERED. */
/** Most reports the client puts in one `agent.report_outcomes` message (the server's limit). */
const MAX_OUTCOMES_PER_MESSAGE = 500;

export class AgentRequestError extends Error {
  readonly code: number;
  readonly dataCode: string;
  /** NO_HEALTHY_INSTANCE: the agent's instances by the reason none could be picked. */
  readonly counts: Record<string, number> | undefined;
  constructor(method: string, body: ErrorBody) {
    super(`${method}: ${body.message}`);
    this.name = 'AgentRequestError';
    this.code = body.code;
    this.dataCode = body.data?.code ?? 'UNKNOWN';
    this.counts = body.data?.counts;
  }
}

/** Events of {@link AgentClient}. */
export interface AgentClientEvents {
  /** Registered (first time or after a reconnect). */
  registered: [RegisterResult];
  /** The server pushed a changed configuration (`config.updated`). */
  config: [AgentConfiguration];
  heartbeat: [HeartbeatResult];
  /** The socket closed; a reconnect follows unless the client was closed. */
  disconnected: [{ code: number; reason: string }];
  /** The next connection attempt starts after `delayMs`. */
  reconnecting: [{ attempt: number; delayMs: number }];
  /** A failure worth knowing about (emitted only when someone listens). */
  error: [Error];
  closed: [];
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Errors that retrying cannot fix: bad key, bad params, an instance id held by another agent type. */
const FATAL = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'CONFLICT']);

/**
 * A registry agent: connects, registers, heartbeats on the interval the server gives,
 * reconnects under the same instance id (exponential backoff, full jitter, a cap),
 * registers again when told NOT_REGISTERED, surfaces `config.updated`, and deregisters
 * on {@link close} (and on SIGTERM/SIGINT with `handleSignals`).
 *
 * ```ts
 * const agent = new AgentClient({ url: 'ws://127.0.0.1:4000/agents', apiKey, agentId: 'ide-agent' });
 * agent.on('config', (configuration) => apply(configuration));
 * await agent.start();
 * ```
 */
export class AgentClient extends EventEmitter<AgentClientEvents> {
  private ws: WebSocket | null = null;
  private instance: string | undefined;
  private registeredNow = false;
  private intervalMs = 15_000;
  private attempt = 0;
  private seq = 0;
  /** Outcome reports waiting for the next `agent.report_outcomes` message. */
  private outcomes: Array<{
    report: ReportOutcomeParams;
    resolve: (result: ReportOutcomeResult) => void;
    reject: (error: unknown) => void;
  }> = [];
  private reportingOutcomes = false;
  private closing = false;
  private readonly pending = new Map<string, Pending>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private health: HeartbeatParams['health'];
  private workload: number | undefined;
  private startWaiters: { resolve: (r: RegisterResult) => void; reject: (e: Error) => void }[] = [];
  private readonly onSignal = (signal: NodeJS.Signals) => {
    void this.close().finally(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };

  constructor(private readonly options: AgentClientOptions) {
    super();
    this.instance = options.instanceId;
  }

  /** This instance's id (known after the first registration unless given). */
  get instanceId(): string | undefined {
    return this.instance;
  }

  /** True while registered on an open connection. */
  get registered(): boolean {
    return this.registeredNow;
  }

  /** Connects and registers; resolves with the first registration, rejects on an error retrying cannot fix. */
  start(): Promise<RegisterResult> {
    if (this.options.handleSignals) {
      process.once('SIGTERM', this.onSignal);
      process.once('SIGINT', this.onSignal);
    }
    const started = new Promise<RegisterResult>((resolve, reject) => this.startWaiters.push({ resolve, reject }));
    this.connect();
    return started;
  }

  /** Health and workload to report from the next heartbeat on. */
  report(health: HeartbeatParams['health'], workload?: number): void {
    this.health = health;
    this.workload = workload;
  }

  /** Sends a heartbeat now (it is also sent on the server's interval). */
  async heartbeat(): Promise<HeartbeatResult> {
    const result = await this.request<HeartbeatResult>(Method.Heartbeat, {
      ...(this.health ? { health: this.health } : {}),
      ...(this.workload !== undefined ? { workload: this.workload } : {}),
    });
    this.emit('heartbeat', result);
    return result;
  }

  /**
   * Picks an instance of an agent to delegate a request to (`agent.pick`), with fallbacks
   * to try in order. Rejects with an {@link AgentRequestError} whose `dataCode` is
   * NO_HEALTHY_INSTANCE (and `counts` says why) when none is eligible.
   */
  pick(params: PickParams): Promise<PickResultMessage> {
    return this.request<PickResultMessage>(Method.Pick, { ...params });
  }

  /**
   * Reports how a request sent to an instance went; resolves once stored. Group commit on the
   * client's side: reports made while one message is in flight (or in the same tick) go out
   * together in the next `agent.report_outcomes` message (at most 500), so a caller that
   * routes thousands of requests a second sends a few messages, not one per request. If the
   * server refuses a whole message as bad input, its reports are sent again one by one
   * (`agent.report_outcome`), so that only the bad one fails.
   */
  reportOutcome(instanceId: string, outcome: ReportOutcomeParams['outcome']): Promise<ReportOutcomeResult> {
    return new Promise<ReportOutcomeResult>((resolve, reject) => {
      this.outcomes.push({ report: { instance_id: instanceId, outcome }, resolve, reject });
      if (!this.reportingOutcomes) {
        this.reportingOutcomes = true;
        // after the current tick: reports made in it share the first message
        queueMicrotask(() => void this.sendOutcomes());
      }
    });
  }

  private async sendOutcomes(): Promise<void> {
    try {
      while (this.outcomes.length > 0) {
        const batch = this.outcomes.splice(0, MAX_OUTCOMES_PER_MESSAGE);
        try {
          const { results } = await this.request<ReportOutcomesResult>(Method.ReportOutcomes, {
            reports: batch.map((b) => b.report),
          });
          batch.forEach((b, i) => {
            const answer = results[i];
            if (answer && 'error' in answer) b.reject(new AgentRequestError(Method.ReportOutcome, answer.error));
            else if (answer) b.resolve(answer);
            else b.reject(new Error(`${Method.ReportOutcomes}: no answer for report ${i}`));
          });
        } catch (error) {
          if (error instanceof AgentRequestError && error.dataCode === 'BAD_USER_INPUT' && batch.length > 1) {
            for (const b of batch) {
              this.request<ReportOutcomeResult>(Method.ReportOutcome, { ...b.report }).then(b.resolve, b.reject);
            }
          } else {
            for (const b of batch) b.reject(error);
          }
        }
      }
    } finally {
      this.reportingOutcomes = false;
    }
  }

  /** Deregisters (when registered) and closes for good. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    this.clearTimers();
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      if (this.registeredNow) {
        await this.request<DeregisterResult>(Method.Deregister, { reason: 'client closed' }).catch((error: Error) =>
          this.warn(error),
        );
      }
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'agent closing');
      });
    } else {
      ws?.terminate();
    }
    this.failStart(new Error('the client was closed'));
    this.emit('closed');
  }

  private connect(): void {
    if (this.closing) return;
    const ws = new WebSocket(this.options.url);
    this.ws = ws;
    ws.on('open', () => void this.register());
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('error', (error) => this.warn(error));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private async register(): Promise<void> {
    const params: RegisterParams = {
      agent_id: this.options.agentId,
      ...(this.options.name !== undefined ? { name: this.options.name } : {}),
      ...(this.options.capabilities ? { capabilities: this.options.capabilities } : {}),
      ...(this.instance !== undefined ? { instance_id: this.instance } : {}),
      auth: { api_key: this.options.apiKey, ...(this.options.tenantId ? { tenant_id: this.options.tenantId } : {}) },
      ...(this.options.connectionDetails ? { connection_details: this.options.connectionDetails } : {}),
      ...(this.options.runtimeConfig ? { runtime_config: this.options.runtimeConfig } : {}),
    };
    try {
      const result = await this.request<RegisterResult>(Method.Register, params as unknown as Record<string, unknown>);
      this.instance = result.instance_id;
      this.intervalMs = result.heartbeat_interval_ms;
      this.registeredNow = true;
      this.attempt = 0;
      this.scheduleHeartbeat();
      this.emit('registered', result);
      for (const waiter of this.startWaiters.splice(0)) waiter.resolve(result);
    } catch (error) {
      const e = error as Error;
      this.warn(e);
      if (e instanceof AgentRequestError && FATAL.has(e.dataCode)) {
        this.failStart(e);
        this.closing = true;
      }
      // anything else (server error, disabled agent, timeout): drop the connection and retry
      this.ws?.terminate();
    }
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.beat(), this.intervalMs);
  }

  private async beat(): Promise<void> {
    try {
      await this.heartbeat();
    } catch (error) {
      this.warn(error as Error);
      if (error instanceof AgentRequestError && error.dataCode === 'NOT_REGISTERED') {
        this.registeredNow = false;
        await this.register();
        return;
      }
      if (!(error instanceof AgentRequestError)) {
        // no answer: the connection is gone even if the socket does not know yet
        this.ws?.terminate();
        return;
      }
    }
    if (this.registeredNow && !this.closing) this.scheduleHeartbeat();
  }

  private request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`${method}: not connected`));
    const id = `c-${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${this.options.requestTimeoutMs ?? 10_000} ms`));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ type: MessageType.Request, id, method, params }));
    });
  }

  private onMessage(text: string): void {
    let message: { type?: number; id?: string | number | null; method?: string; result?: unknown; params?: any; error?: ErrorBody };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case MessageType.Response:
      case MessageType.Error: {
        const pending = message.id !== undefined && message.id !== null ? this.pending.get(String(message.id)) : undefined;
        if (!pending) {
          if (message.error) this.warn(new AgentRequestError(message.method ?? 'message', message.error));
          return;
        }
        this.pending.delete(String(message.id));
        clearTimeout(pending.timer);
        if (message.type === MessageType.Response) pending.resolve(message.result);
        else pending.reject(new AgentRequestError(pending.method, message.error!));
        return;
      }
      case MessageType.Notification:
        if (message.method === Notification.ConfigUpdated && message.params?.configuration) {
          this.emit('config', message.params.configuration as AgentConfiguration);
        }
        return;
      case MessageType.Ping:
        this.ws?.send(JSON.stringify({ type: MessageType.Pong, ...(message.id !== undefined ? { id: message.id } : {}) }));
        return;
      default:
        return;
    }
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.registeredNow = false;
    this.clearTimers();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`${pending.method}: connection closed (${code})`));
      this.pending.delete(id);
    }
    this.emit('disconnected', { code, reason });
    if (this.closing) return;
    if (code === WsErrorCode.AuthFailed) {
      this.failStart(new Error(`the registry refused the agent's credentials (${code} ${reason})`));
      return;
    }
    const delayMs = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt += 1;
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private clearTimers(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = null;
    this.reconnectTimer = null;
  }

  private failStart(error: Error): void {
    for (const waiter of this.startWaiters.splice(0)) waiter.reject(error);
  }

  private warn(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
