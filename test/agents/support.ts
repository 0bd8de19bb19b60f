import net from 'node:net';
import WebSocket from 'ws';
import type { Queryable } from '../../src/db/client';

export type Frame = Record<string, any>;

/** A raw protocol client for tests: send frames, await the replies and the close. */
export class RawAgent {
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  private seq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.received.push(frame);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${code})`));
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('error', () => undefined);
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<RawAgent> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawAgent(ws)));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error('upgrade refused'), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or coming) that matches, within `timeoutMs`. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame in time')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Sends a request and resolves with its response or error frame. */
  request(method: string, params: Record<string, unknown> = {}): Promise<Frame> {
    const id = `t-${++this.seq}`;
    this.send({ type: 0, id, method, params });
    return this.next((f) => f.id === id && (f.type === 1 || f.type === 3));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** The agent WebSocket URL of a test app. */
export function agentsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/agents`;
}

export { waitFor } from '../helpers/wait';

export interface RegistrationRow {
  instance_id: string;
  registration_status: string;
  health_status: string;
  last_health_check: Date;
  current_workload: number;
  reconnect_count: number;
  connection_details: Record<string, unknown>;
  configuration_id: string;
}

export async function registration(db: Queryable, tenantId: string, instanceId: string): Promise<RegistrationRow | undefined> {
  const [row] = await db.query<RegistrationRow>(
    `select instance_id, registration_status, health_status, last_health_check, current_workload, reconnect_count,
            connection_details, configuration_id
     from mcp.agent_registrations where tenant_id = $1 and instance_id = $2`,
    [tenantId, instanceId],
  );
  return row;
}

/** Row counts that a bad message must leave unchanged. */
export async function snapshot(db: Queryable): Promise<Record<string, number>> {
  const [row] = await db.query<Record<string, number>>(
    `select (select count(*)::integer from mcp.agent_registrations) as registrations,
            (select count(*)::integer from mcp.registration_events) as events,
            (select count(*)::integer from mcp.agent_manifests) as manifests,
            (select count(*)::integer from mcp.agent_configurations) as configurations,
            (select coalesce(max(extract(epoch from updated_at)), 0)::double precision from mcp.agent_registrations) as last_update`,
  );
  return row;
}

/**
 * A TCP proxy in front of a test app, to cut agent connections (`cut`), refuse new ones
 * (`down`) and accept them again on the same port (`up`).
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Destroys every proxied connection (the agents see an abrupt close). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
