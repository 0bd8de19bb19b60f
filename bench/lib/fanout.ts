import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { percentile } from './stats';

export interface FanoutResult {
  subscribers: number;
  delivered: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * `count` graphql-ws subscribers of registration events; returns a handle that records the
 * latency of every delivery (receive time minus the event's occurredAt).
 */
export async function subscribeMany(
  wsUrl: string,
  apiKey: string,
  count: number,
  query: string,
): Promise<{ clients: Client[]; latencies: number[]; delivered: () => number; ready: Promise<void>; close(): Promise<void> }> {
  const latencies: number[] = [];
  let delivered = 0;
  const clients: Client[] = [];
  const readies: Promise<void>[] = [];
  const disposers: (() => void)[] = [];
  for (let i = 0; i < count; i++) {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      lazy: false,
      retryAttempts: 0,
    });
    clients.push(client);
    readies.push(new Promise<void>((resolve) => client.on('connected', () => resolve())));
    disposers.push(
      client.subscribe<{ registrationEvents: { occurredAt: string } }>(
        { query },
        {
          next: (result) => {
            const at = result.data?.registrationEvents?.occurredAt;
            if (!at) return;
            delivered++;
            latencies.push(Date.now() - new Date(at).getTime());
          },
          error: () => undefined,
          complete: () => undefined,
        },
      ),
    );
  }
  return {
    clients,
    latencies,
    delivered: () => delivered,
    ready: Promise.all(readies).then(() => undefined),
    async close() {
      disposers.forEach((d) => d());
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

/** Baseline: a raw `ws` server broadcasting `frames` frames/s of `frame` to `count` clients. */
export async function rawBroadcast(count: number, frame: string, framesPerSec: number, seconds: number): Promise<FanoutResult> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const latencies: number[] = [];
  let delivered = 0;
  const clients = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.on('message', (data) => {
          const sentAt = Number(JSON.parse(data.toString()).sentAt);
          delivered++;
          latencies.push(Date.now() - sentAt);
        });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }),
    ),
  );
  const total = Math.floor(framesPerSec * seconds);
  const started = performance.now();
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * framesPerSec));
    for (; sent < due; sent++) {
      const payload = frame.replace('"sentAt":0', `"sentAt":${Date.now()}`);
      for (const client of wss.clients) client.send(payload);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const deadline = Date.now() + 10_000;
  while (delivered < total * count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const elapsed = (performance.now() - started) / 1000;
  clients.forEach((c) => c.terminate());
  wss.close();
  server.close();
  return { subscribers: count, delivered, perSecond: delivered / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
