import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Authenticator, bearerToken } from '../auth/api-keys';
import type { Queryable } from '../db/client';
import type { EventFeed, RegistryEvent } from '../events/types';
import type { Logger } from '../logger';
import type { AgentLifecycleService } from '../registrations/agent-lifecycle.service';
import type { RoutingService } from '../routing/routing.service';
import { AgentConnection, type ConnectionContext, mayActAsAgent } from './agent-connection';
import { loadAgentConfiguration } from './configuration';
import { CloseCode, MessageType, Notification } from './protocol';

/** Pings go out in slices, one slice per this many ms (see {@link AgentSocketServer.start}). */
const PING_TICK_MS = 250;
/** At most this many slices (a 15 s interval: 60 slices, 33 pings a tick with 2,000 agents). */
const MAX_PING_SLICES = 60;

export interface AgentSocketServerOptions {
  auth: Authenticator;
  lifecycle: AgentLifecycleService;
  /** Serves agent.pick and agent.report_outcome when given. */
  routing?: RoutingService;
  events: EventFeed;
  db: Queryable;
  logger: Logger;
  /** Largest frame accepted; a bigger one closes the socket with 1009. Default 64 KiB. */
  maxFrameBytes?: number;
  /** Sustained messages per second per connection. Default 20. */
  rateLimitPerSec?: number;
  /** Burst above the sustained rate. Default 40. */
  rateBurst?: number;
  /** Protocol-level ping interval; a socket that misses a whole interval is dropped. Default 15 s. */
  pingIntervalMs?: number;
  /** How long shutdown waits for requests in flight, then for sockets to close, before cutting them. Default 2 s. */
  closeTimeoutMs?: number;
}

/**
 * The agent WebSocket endpoint (`/agents`). Shares the HTTP server through `noServer`:
 * the app hands it the upgrade requests of its path. An upgrade with an `Authorization`
 * header is authenticated first and refused with HTTP 401 when the key is not an agent or
 * admin key of a tenant; without the header the agent authenticates in `agent.register`.
 * Pushes `config.updated` to the connected instances of a changed configuration, fed by
 * the event log (so a change made through any process reaches every process's sockets).
 * It listens to the log only while some socket is bound to a configuration: the log is
 * then not read for it when no agent is connected.
 */
export class AgentSocketServer {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<AgentConnection>();
  private readonly byConfiguration = new Map<string, Set<AgentConnection>>();
  private readonly boundTo = new Map<AgentConnection, string>();
  /** The connections, cut into slices pinged one after the other over the interval (see {@link start}). */
  private readonly pingSlices: Set<AgentConnection>[];
  private pingTick = 0;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly ctx: ConnectionContext;
  private pingTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closing = false;

  constructor(private readonly options: AgentSocketServerOptions) {
    const slices = Math.max(1, Math.min(MAX_PING_SLICES, Math.floor((options.pingIntervalMs ?? 15_000) / PING_TICK_MS)));
    this.pingSlices = Array.from({ length: slices }, () => new Set());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes ?? 65_536,
      clientTracking: false,
      perMessageDeflate: false,
    });
    this.ctx = {
      auth: options.auth,
      lifecycle: options.lifecycle,
      routing: options.routing,
      db: options.db,
      logger: options.logger,
      rateLimitPerSec: options.rateLimitPerSec ?? 20,
      rateBurst: options.rateBurst ?? 40,
      bind: (connection) => this.bind(connection),
      unbind: (connection) => this.unbind(connection),
      closing: () => this.closing,
      track: (work) => this.track(work),
    };
  }

  /** Open agent sockets. */
  get size(): number {
    return this.connections.size;
  }

  /** True while the connection with this id is open. */
  has(connectionId: string): boolean {
    for (const connection of this.connections) if (connection.id === connectionId) return true;
    return false;
  }

  /** Waits for the writes that outlived their sockets (disconnects) and the pushes in flight. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Starts pinging sockets; configuration changes are listened to once a socket is bound.
   * Every socket is visited once per ping interval, but not all at once: the sockets are
   * cut into slices (one per {@link PING_TICK_MS}) and each tick pings one slice. A ping is
   * a socket write, and on these machines a write costs ~50 µs: pinging 2,000 agents in one
   * go held the event loop for 110 ms every interval (a CPU profile of the bench's picks
   * beside the fleet), which every request in flight waited out.
   */
  start(): void {
    this.closing = false;
    const interval = this.options.pingIntervalMs ?? 15_000;
    this.pingTimer = setInterval(() => this.pingSlice(), interval / this.pingSlices.length);
    this.pingTimer.unref();
  }

  /** Takes over an HTTP upgrade request for the agent path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const header = request.headers.authorization;
    if (header === undefined) return this.accept(request, socket, head, null);
    const key = bearerToken(header);
    if (key === undefined) return refuseUpgrade(socket, 401, 'Unauthorized');
    const onError = () => socket.destroy();
    socket.on('error', onError);
    this.options.auth.authenticate(key).then(
      (principal) => {
        socket.off('error', onError);
        if (!mayActAsAgent(principal)) return refuseUpgrade(socket, 401, 'Unauthorized');
        this.accept(request, socket, head, key);
      },
      (error: unknown) => {
        socket.off('error', onError);
        this.options.logger.error({ err: error }, 'could not authenticate an agent upgrade');
        refuseUpgrade(socket, 503, 'Service Unavailable');
      },
    );
  }

  /**
   * Stops accepting, closes every socket with `code` (1001 going away by default) and waits
   * for the requests in flight and the disconnect writes. Instances are not marked
   * disconnected by a server shutdown: their agents reconnect elsewhere, and the stale
   * sweep (after its restart grace) catches those that do not.
   */
  async close(code: number = CloseCode.GoingAway): Promise<void> {
    this.closing = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    const connections = [...this.connections];
    // answer what is in flight first (new frames are refused meanwhile), then say goodbye
    await withTimeout(Promise.all(connections.map((connection) => connection.idle())), this.options.closeTimeoutMs ?? 2_000);
    await Promise.all(
      connections.map(
        (connection) =>
          new Promise<void>((resolve) => {
            const { socket } = connection;
            if (socket.readyState === socket.CLOSED) return resolve();
            const timer = setTimeout(() => socket.terminate(), this.options.closeTimeoutMs ?? 2_000);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.close(code, 'server shutting down');
          }),
      ),
    );
    await withTimeout(this.settled(), this.options.closeTimeoutMs ?? 2_000);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(request: IncomingMessage, socket: Duplex, head: Buffer, key: string | null): void {
    this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      if (this.closing) {
        ws.close(CloseCode.GoingAway, 'server shutting down');
        return;
      }
      const connection = new AgentConnection(ws, request, key, this.ctx);
      this.connections.add(connection);
      const slice = this.pingSlices.reduce((smallest, candidate) => (candidate.size < smallest.size ? candidate : smallest));
      slice.add(connection);
      ws.once('close', () => {
        this.connections.delete(connection);
        slice.delete(connection);
      });
    });
  }

  private bind(connection: AgentConnection): void {
    this.unbind(connection);
    if (!connection.configurationId) return;
    let set = this.byConfiguration.get(connection.configurationId);
    if (!set) this.byConfiguration.set(connection.configurationId, (set = new Set()));
    set.add(connection);
    this.boundTo.set(connection, connection.configurationId);
    if (!this.unsubscribe && !this.closing) this.unsubscribe = this.options.events.subscribe((events) => this.onEvents(events));
  }

  private unbind(connection: AgentConnection): void {
    const configurationId = this.boundTo.get(connection);
    if (configurationId === undefined) return;
    this.boundTo.delete(connection);
    const set = this.byConfiguration.get(configurationId);
    if (set?.delete(connection) && set.size === 0) this.byConfiguration.delete(configurationId);
    if (this.byConfiguration.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = null;
    }
  }

  private track(work: Promise<unknown>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Visits the next slice: a socket silent since its last visit (no pong, no frame) is cut, the others pinged. */
  private pingSlice(): void {
    const slice = this.pingSlices[this.pingTick++ % this.pingSlices.length];
    for (const connection of slice) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  /** Sends config.updated to the sockets of each changed configuration, in its tenant. */
  private onEvents(events: readonly RegistryEvent[]): void {
    const changed = new Map<string, string>();
    for (const event of events) {
      if (event.kind !== 'configuration_changed' || !event.configurationId) continue;
      // a configuration created by a registration was sent in its response
      if (event.payload.operation === 'insert') continue;
      if (this.byConfiguration.has(event.configurationId)) changed.set(event.configurationId, event.tenantId);
    }
    for (const [configurationId, tenantId] of changed) {
      this.track(this.pushConfiguration(configurationId, tenantId));
    }
  }

  private async pushConfiguration(configurationId: string, tenantId: string): Promise<void> {
    try {
      const configuration = await loadAgentConfiguration(this.options.db, tenantId, configurationId);
      // a deleted configuration deregisters its instances: their next heartbeat says so
      if (!configuration) return;
      for (const connection of this.byConfiguration.get(configurationId) ?? []) {
        // each version once: the register response or an earlier push may have carried it
        if (connection.tenantId !== tenantId || connection.configurationVersion >= configuration.version) continue;
        connection.configurationVersion = configuration.version;
        connection.send({ type: MessageType.Notification, method: Notification.ConfigUpdated, params: { configuration } });
      }
    } catch (error) {
      this.options.logger.warn({ err: error, configurationId }, 'could not push a configuration change');
    }
  }
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}
