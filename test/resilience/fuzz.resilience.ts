import WebSocket from 'ws';
import { closeAgents, counts, startAgents } from './support/load';
import { httpCase, type Keys, Rng, wsFrame } from './support/fuzz';
import { createScenarioDatabase, type ScenarioDatabase, seedTenant, type Tenant, withClient } from './support/postgres';
import { assertRunning, graphql, rssBytes, saveOutput, type Service, startService } from './support/service';
import { recordSummary } from './support/summary';

const SEED = Number(process.env.RESILIENCE_FUZZ_SEED) || 20261125;
const HTTP_CASES = Number(process.env.RESILIENCE_FUZZ_HTTP) || 3000;
const WS_FRAMES = Number(process.env.RESILIENCE_FUZZ_WS) || 3000;
const WS_SOCKETS = 8;
const MAX_FRAME_BYTES = 65_536;
/** RSS may grow this much from after the warm-up to the end (a coarse bound, not a timing). */
const RSS_TOLERANCE_BYTES = 64 * 1024 * 1024;

/** Row count and md5 of every table (api_keys.last_used_at excluded: using a key stamps it). */
async function snapshot(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const tables = ['tenants', 'api_keys', 'agent_manifests', 'agent_configurations', 'agent_registrations', 'registration_events', 'sweep_holds'];
    const out: Record<string, string> = {};
    for (const table of tables) {
      const { rows } = await c.query<{ n: string; sum: string }>(
        `select count(*)::text as n, md5(coalesce(string_agg((to_jsonb(t) - 'last_used_at')::text, '|' order by (to_jsonb(t) - 'last_used_at')::text), '')) as sum
         from mcp.${table} t`,
      );
      out[table] = `${rows[0].n} rows, md5 ${rows[0].sum}`;
    }
    return out;
  });
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

describe(`bad input at volume: ${HTTP_CASES} malformed GraphQL requests and ${WS_FRAMES} malformed agent frames (seed ${SEED})`, () => {
  let database: ScenarioDatabase;
  let service: Service;
  let tenant: Tenant;

  beforeAll(async () => {
    database = await createScenarioDatabase();
    service = await startService({
      DATABASE_URL: database.url,
      WS_RATE_LIMIT_PER_SEC: '500',
      WS_RATE_BURST: '1000',
      WS_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
    });
    tenant = await seedTenant(database.url);
    // data worth protecting: agents that registered, heartbeated and left, and a configuration
    const agents = await startAgents([service.wsUrl], 20, { apiKey: tenant.agentKey, agentId: 'fuzz-target' });
    agents.forEach((a) => a.client.report('degraded', 2));
    await Promise.all(agents.map((a) => a.client.heartbeat()));
    await closeAgents(agents);
  });
  afterAll(async () => {
    await service?.stop();
    saveOutput(service, 'fuzz');
    await database?.drop();
  });

  it('never crashes, answers no 5xx and no internal error, changes no data, and keeps its memory flat', async () => {
    const rng = new Rng(SEED);
    const keys: Keys = { agent: tenant.agentKey, admin: tenant.adminKey, viewer: tenant.viewerKey };
    const before = await snapshot(database.url);

    const statuses = new Map<string, number>();
    const graphqlCodes = new Map<string, number>();
    const internal: string[] = [];
    const fiveHundreds: string[] = [];
    const runHttp = async (count: number) => {
      // generated one at a time (the same sequence for a seed): building thousands of bodies
      // up front would block this process past the server's keep-alive timeout
      let left = count;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          let previous = 'none';
          while (left > 0) {
            left -= 1;
            const c = httpCase(rng, keys);
            const startedAt = Date.now();
            let status = 0;
            let text = '';
            try {
              const res = await fetch(`${service.url}${c.path}`, { method: c.method, headers: c.headers, body: c.body, signal: AbortSignal.timeout(20_000) });
              status = res.status;
              text = await res.text();
            } catch (error) {
              // an oversized body may be refused before it is fully sent
              const cause = (error as { cause?: { code?: string; message?: string } }).cause;
              text = `${(error as Error).message}: ${cause?.code ?? ''} ${cause?.message ?? ''}`;
            }
            bump(statuses, `${status}`);
            if (status >= 500 || status === 0) fiveHundreds.push(`${c.kind} (after ${previous}, ${Date.now() - startedAt} ms): ${status} ${text.slice(0, 200)}`);
            previous = `${c.kind} ${status}`;
            try {
              const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
              for (const e of body.errors ?? []) {
                const code = e.extensions?.code ?? 'none';
                bump(graphqlCodes, code);
                if (code === 'INTERNAL_SERVER_ERROR') internal.push(`${c.kind}: ${c.body?.subarray(0, 300).toString()}`);
              }
            } catch {
              // not JSON (e.g. an HTML 400 page): the status says enough
            }
          }
        }),
      );
    };

    const replyCodes = new Map<string, number>();
    const closeCodes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const serverErrors: string[] = [];
    const runWs = async (count: number) => {
      let left = count;
      await Promise.all(
        Array.from({ length: WS_SOCKETS }, async () => {
          let socket: WebSocket | undefined;
          let closed: Promise<number> | undefined;
          let sync = 0;
          const open = async () => {
            const ws = new WebSocket(`${service.wsUrl}/agents`, { headers: { authorization: `Bearer ${tenant.agentKey}` }, maxPayload: 1 << 24 });
            ws.on('error', () => undefined);
            ws.on('message', (data) => {
              try {
                const frame = JSON.parse(data.toString());
                if (frame.type === 3) {
                  bump(replyCodes, `${frame.error?.code}:${frame.error?.data?.code}`);
                  if (frame.error?.code === 4003) serverErrors.push(JSON.stringify(frame).slice(0, 300));
                } else {
                  bump(replyCodes, `type ${frame.type}`);
                }
              } catch {
                bump(replyCodes, 'unreadable reply');
              }
            });
            closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
            await new Promise<void>((resolve, reject) => {
              ws.once('open', () => resolve());
              ws.once('error', (error) => {
                try {
                  assertRunning(service);
                  reject(error);
                } catch (exited) {
                  reject(exited);
                }
              });
            });
            socket = ws;
          };
          const roundTrip = async () => {
            // a ping answered means every frame before it was handled (requests are handled in order)
            const id = `sync-${sync++}`;
            const ws = socket!;
            const answered = new Promise<boolean>((resolve) => {
              const onMessage = (data: WebSocket.RawData) => {
                if (data.toString().includes(`"${id}"`)) {
                  ws.off('message', onMessage);
                  resolve(true);
                }
              };
              ws.on('message', onMessage);
              void closed!.then(() => resolve(false));
              setTimeout(() => resolve(false), 15_000).unref();
            });
            ws.send(JSON.stringify({ type: 4, id }));
            return answered;
          };
          await open();
          let sinceSync = 0;
          while (left > 0) {
            left -= 1;
            const frame = wsFrame(rng, MAX_FRAME_BYTES);
            bump(kinds, frame.kind);
            if (socket!.readyState !== WebSocket.OPEN) {
              bump(closeCodes, String(await closed));
              await open();
            }
            socket!.send(frame.data, { binary: frame.binary });
            const size = typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length;
            // after a frame that may close the socket, wait for the answer so that no frame is sent into a closing socket
            if (++sinceSync >= 25 || size > MAX_FRAME_BYTES || frame.kind === 'invalid UTF-8 text frame') {
              sinceSync = 0;
              if (!(await roundTrip()) && socket!.readyState === WebSocket.OPEN) throw new Error('the server stopped answering pings');
            }
          }
          if (socket!.readyState === WebSocket.OPEN) {
            await roundTrip();
            socket!.close();
          }
          bump(closeCodes, String(await closed));
        }),
      );
    };

    // warm-up: a quarter of each; then the rest in three parts, RSS after each
    await runHttp(Math.floor(HTTP_CASES / 4));
    await runWs(Math.floor(WS_FRAMES / 4));
    assertRunning(service);
    const rss = [rssBytes(service.pid)];
    for (let part = 0; part < 3; part++) {
      await runHttp(Math.floor((HTTP_CASES - Math.floor(HTTP_CASES / 4)) / 3));
      await runWs(Math.floor((WS_FRAMES - Math.floor(WS_FRAMES / 4)) / 3));
      assertRunning(service);
      rss.push(rssBytes(service.pid));
    }
    const [rssWarm, rssEnd] = [rss[0], rss.at(-1)!];

    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(fiveHundreds).toEqual([]);
    expect(internal).toEqual([]);
    expect(serverErrors).toEqual([]);
    // the only ways the server closes a fuzzing socket: bad UTF-8, too big, normal close (ours)
    expect([...closeCodes.keys()].filter((code) => !['1000', '1007', '1009', '1005'].includes(code))).toEqual([]);
    expect(await snapshot(database.url)).toEqual(before);
    expect(rssEnd - rssWarm).toBeLessThan(RSS_TOLERANCE_BYTES);
    // and it still serves
    const me = await graphql(service.url, tenant.viewerKey, '{ me { keyName role } }');
    expect(me.body?.data?.me?.role).toBe('viewer');

    recordSummary(`4. bad input at volume (seed ${SEED}; RESILIENCE_FUZZ_SEED replays it)`, {
      'HTTP requests': HTTP_CASES,
      'HTTP statuses': counts(statuses),
      'GraphQL error codes': counts(graphqlCodes),
      'agent frames': WS_FRAMES,
      'agent frame kinds': counts(kinds),
      'agent error replies (code:data.code) and other replies': counts(replyCodes),
      'agent socket closes (code)': counts(closeCodes),
      '5xx / INTERNAL_SERVER_ERROR / 4003': `${fiveHundreds.length} / ${internal.length} / ${serverErrors.length}`,
      'tables before = after': Object.entries(before).map(([t, v]) => `${t}: ${v}`).join('\n'),
      'RSS after warm-up → after each third (MB)': `${rss.map((b) => (b / 1048576).toFixed(1)).join(' → ')} (tolerance +${RSS_TOLERANCE_BYTES / 1048576} MB)`,
    });
  });
});
