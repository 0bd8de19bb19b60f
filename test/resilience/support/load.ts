import { AgentClient, AgentRequestError, type AgentClientOptions } from '../../../src/client';
import { withClient } from './postgres';
import { graphql, REGISTER_MUTATION } from './service';

/** An AgentClient with what happened to it: registrations and disconnects, timestamped. */
export interface TrackedAgent {
  client: AgentClient;
  index: number;
  /** Date.now() of every `registered` event. */
  registeredAt: number[];
  /** Date.now() of every `disconnected` event. */
  disconnectedAt: number[];
  /** Close code of every `disconnected` event. */
  disconnectCodes: number[];
  /** Delays of every `reconnecting` event. */
  reconnectDelays: number[];
  /** When each reconnect attempt was scheduled to start (event time + delay). */
  attemptAt: number[];
  /** Date.now() of every acknowledged heartbeat. */
  heartbeatAt: number[];
  /** Errors the client reported (failed requests, socket errors). */
  errors: string[];
}

/**
 * Starts `count` AgentClients (the project's client), agent `i` on `urls[i % urls.length]`,
 * `batch` at a time; resolves when all are registered.
 */
export async function startAgents(
  urls: string[],
  count: number,
  options: Omit<AgentClientOptions, 'url'>,
  batch = 50,
): Promise<TrackedAgent[]> {
  const agents: TrackedAgent[] = [];
  for (let from = 0; from < count; from += batch) {
    const started: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + batch); i++) {
      const client = new AgentClient({ ...options, url: `${urls[i % urls.length]}/agents` });
      const agent: TrackedAgent = {
        client,
        index: i,
        registeredAt: [],
        disconnectedAt: [],
        disconnectCodes: [],
        reconnectDelays: [],
        attemptAt: [],
        heartbeatAt: [],
        errors: [],
      };
      client.on('heartbeat', () => agent.heartbeatAt.push(Date.now()));
      client.on('error', (error) => agent.errors.push(codeOf(error)));
      client.on('registered', () => agent.registeredAt.push(Date.now()));
      client.on('disconnected', ({ code }) => {
        agent.disconnectedAt.push(Date.now());
        agent.disconnectCodes.push(code);
      });
      client.on('reconnecting', ({ delayMs }) => {
        agent.reconnectDelays.push(delayMs);
        agent.attemptAt.push(Date.now() + delayMs);
      });
      agents.push(agent);
      started.push(client.start());
    }
    await Promise.all(started);
  }
  return agents;
}

/** Closes every client: deregisters the registered ones. */
export async function closeAgents(agents: TrackedAgent[]): Promise<void> {
  await Promise.all(agents.map((a) => a.client.close().catch(() => undefined)));
}

function codeOf(error: unknown): string {
  if (error instanceof AgentRequestError) return error.dataCode;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const message = (error as Error).message ?? String(error);
  if (/no answer/.test(message)) return 'TIMEOUT';
  if (/not connected|connection closed/.test(message)) return 'NOT_CONNECTED';
  return 'OTHER';
}

/**
 * Every agent sends a heartbeat every `everyMs` with workload = a per-agent sequence
 * number, so that each acknowledged heartbeat leaves a `health_changed` event carrying its
 * number: an acknowledged heartbeat that was not stored cannot hide.
 */
export class HeartbeatLoad {
  /** Per agent: every acknowledged sequence number. */
  readonly acked: number[][];
  readonly failures = new Map<string, number>();
  /** Send time (Date.now()) of the latest-sent acknowledged heartbeat. */
  lastAckSentAt = 0;
  ackCount = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(agents: TrackedAgent[], everyMs: number, untilMs: number) {
    this.acked = agents.map(() => []);
    const deadline = Date.now() + untilMs;
    this.loops = agents.map(async (agent, i) => {
      let seq = 0;
      await new Promise((resolve) => setTimeout(resolve, Math.floor((i / agents.length) * everyMs)));
      while (this.running && Date.now() < deadline) {
        const next = Date.now() + everyMs;
        seq += 1;
        agent.client.report('healthy', seq);
        const sentAt = Date.now();
        try {
          await agent.client.heartbeat();
          this.acked[i].push(seq);
          this.ackCount += 1;
          this.lastAckSentAt = Math.max(this.lastAckSentAt, sentAt);
        } catch (error) {
          const code = codeOf(error);
          this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  failureCount(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }
}

/** `workers` loops registering new instances over GraphQL (HTTP), each instance id once. */
export class RegistrationLoad {
  readonly acked: string[] = [];
  readonly failures = new Map<string, number>();
  lastAckSentAt = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(urls: string[], key: string, agentId: string, workers: number, untilMs: number, prefix = 'gql') {
    let next = 0;
    const deadline = Date.now() + untilMs;
    this.loops = Array.from({ length: workers }, async (_, w) => {
      while (this.running && Date.now() < deadline) {
        const instanceId = `${prefix}-${next++}`;
        const sentAt = Date.now();
        const reply = await graphql(urls[w % urls.length], key, REGISTER_MUTATION, { input: { agentId, instanceId } });
        if (reply.status === 200 && reply.body?.data?.registerAgentInstance) {
          this.acked.push(instanceId);
          this.lastAckSentAt = Math.max(this.lastAckSentAt, sentAt);
        } else {
          const code = `${reply.status}:${reply.body?.errors?.[0]?.extensions?.code ?? 'none'}`;
          this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/**
 * What of the acknowledged work is missing from the database: heartbeats without their
 * `health_changed` event (or with a stored workload below the last acknowledged one),
 * registrations without their row.
 */
export async function missingAcknowledged(
  dbUrl: string,
  tenantId: string,
  agents: TrackedAgent[],
  heartbeats: HeartbeatLoad,
  registrations: RegistrationLoad | undefined,
): Promise<{ missingHeartbeats: string[]; missingRegistrations: string[]; checkedHeartbeats: number }> {
  return withClient(dbUrl, async (c) => {
    const { rows: events } = await c.query<{ instance_id: string; w: number }>(
      `select instance_id, (payload->>'current_workload')::integer as w from mcp.registration_events
       where tenant_id = $1 and kind = 'health_changed'`,
      [tenantId],
    );
    const stored = new Set(events.map((e) => `${e.instance_id}#${e.w}`));
    const { rows: regs } = await c.query<{ instance_id: string; current_workload: number }>(
      `select instance_id, current_workload from mcp.agent_registrations where tenant_id = $1`,
      [tenantId],
    );
    const workload = new Map(regs.map((r) => [r.instance_id, r.current_workload]));
    const missingHeartbeats: string[] = [];
    let checkedHeartbeats = 0;
    agents.forEach((agent, i) => {
      const id = agent.client.instanceId!;
      for (const seq of heartbeats.acked[i]) {
        checkedHeartbeats++;
        if (!stored.has(`${id}#${seq}`)) missingHeartbeats.push(`${id}#${seq}`);
      }
      const last = heartbeats.acked[i].at(-1);
      if (last !== undefined && (workload.get(id) ?? -1) < last) missingHeartbeats.push(`${id} workload ${workload.get(id)} < ${last}`);
    });
    const missingRegistrations = (registrations?.acked ?? []).filter((id) => !workload.has(id));
    return { missingHeartbeats, missingRegistrations, checkedHeartbeats };
  });
}

/**
 * The verdict of a database-fault scenario, after the loads stopped: every acknowledged
 * heartbeat and registration is stored, and every failure was a retryable UNAVAILABLE
 * (a database fault is never masked as an internal error).
 */
export async function expectNothingLostNothingMasked(
  dbUrl: string,
  tenantId: string,
  agents: TrackedAgent[],
  heartbeats: HeartbeatLoad,
  registrations: RegistrationLoad,
): Promise<void> {
  const { missingHeartbeats, missingRegistrations, checkedHeartbeats } = await missingAcknowledged(
    dbUrl,
    tenantId,
    agents,
    heartbeats,
    registrations,
  );
  expect(missingHeartbeats).toEqual([]);
  expect(missingRegistrations).toEqual([]);
  expect(checkedHeartbeats).toBe(heartbeats.ackCount);
  expect([...heartbeats.failures.keys()].filter((code) => code !== 'UNAVAILABLE')).toEqual([]);
  expect([...registrations.failures.keys()].filter((code) => code !== '200:UNAVAILABLE')).toEqual([]);
}

/** `{a: 1, b: 2}` of a Map, for messages and the summary. */
export function counts(map: Map<string, number>): string {
  return map.size === 0 ? 'none' : [...map.entries()].map(([k, v]) => `${k}=${v}`).join(', ');
}
