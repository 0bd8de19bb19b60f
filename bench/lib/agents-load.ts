import WebSocket from 'ws';
import { percentile } from './stats';

/**
 * A small load driver for the agent WebSocket protocol: opens `count` agent connections,
 * registers each, then sends heartbeats and measures acknowledgement latency.
 */
export interface AgentFleet {
  sockets: WebSocket[];
  instanceIds: string[];
  close(): Promise<void>;
}

interface Pending {
  sentAt: number;
  resolve: (ok: boolean) => void;
}

class AgentConnection {
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let msg: { type?: number; id?: string };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if ((msg.type === 1 || msg.type === 3) && msg.id && this.pending.has(msg.id)) {
        const p = this.pending.get(msg.id)!;
        this.pending.delete(msg.id);
        p.resolve(msg.type === 1);
      }
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.resolve(false);
      this.pending.clear();
    });
  }
  request(method: string, params: Record<string, unknown>): Promise<{ ok: boolean; ms: number }> {
    const id = String(++this.nextId);
    const sentAt = performance.now();
    return new Promise((resolve) => {
      this.pending.set(id, { sentAt, resolve: (ok) => resolve({ ok, ms: performance.now() - sentAt }) });
      this.ws.send(JSON.stringify({ type: 0, id, method, params }));
    });
  }
}

export async function connectFleet(
  wsUrl: string,
  apiKey: string,
  count: number,
  options: { agentId: string; concurrency?: number; prefix?: string },
): Promise<{ connections: AgentConnection[]; errors: number; close(): Promise<void> }> {
  const connections: AgentConnection[] = [];
  let errors = 0;
  const concurrency = options.concurrency ?? 200;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        const conn = new AgentConnection(ws);
        const r = await conn.request('agent.register', {
          agent_id: options.agentId,
          name: `bench ${i}`,
          instance_id: `${options.prefix ?? 'bench'}-${i}`,
          auth: { api_key: apiKey },
        });
        if (!r.ok) errors++;
        connections.push(conn);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return {
    connections,
    errors,
    async close() {
      await Promise.all(
        connections.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === WebSocket.CLOSED) return resolve();
              c.ws.once('close', () => resolve());
              c.ws.terminate();
            }),
        ),
      );
    },
  };
}

export interface HeartbeatRun {
  acked: number;
  failed: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * Closed loop: every connection sends its next heartbeat as soon as the previous one
 * was acknowledged, for `seconds`; measures the sustained acknowledged rate.
 */
export async function heartbeatClosedLoop(connections: AgentConnection[], seconds: number): Promise<HeartbeatRun> {
  const latencies: number[] = [];
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    connections.map(async (conn) => {
      while (performance.now() < end && conn.ws.readyState === WebSocket.OPEN) {
        const r = await conn.request('agent.heartbeat', {});
        if (r.ok) latencies.push(r.ms);
        else failed++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { acked: latencies.length, failed, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Open loop at a fixed total rate, spread over the connections round-robin. */
export async function heartbeatFixedRate(connections: AgentConnection[], ratePerSec: number, seconds: number): Promise<HeartbeatRun> {
  const latencies: number[] = [];
  let failed = 0;
  const total = Math.floor(ratePerSec * seconds);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  const tickMs = 5;
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSec));
    for (; sent < due; sent++) {
      const conn = connections[sent % connections.length];
      inflight.push(
        conn.request('agent.heartbeat', {}).then((r) => {
          if (r.ok) latencies.push(r.ms);
          else failed++;
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
    if (performance.now() - started > (seconds + 30) * 1000) break;
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  return { acked: latencies.length, failed, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
