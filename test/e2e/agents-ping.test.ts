import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app';
import { agentsUrl, waitFor } from '../agents/support';

/** A socket on the agent path that records when the server pings it; `answer: false` never pongs. */
async function openSocket(url: string, answer: boolean): Promise<{ ws: WebSocket; pings: number[]; closed: Promise<number> }> {
  const ws = new WebSocket(url, { autoPong: answer });
  const pings: number[] = [];
  ws.on('ping', () => pings.push(performance.now()));
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, pings, closed };
}

describe('agent socket keep-alive pings (1 s interval: 4 slices of 250 ms)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { HEARTBEAT_INTERVAL_MS: '1000' } });
  });
  afterAll(() => t.dispose());

  it('pings every socket once per interval, spread over the interval, and cuts a socket that never answers', async () => {
    const answering = await Promise.all(Array.from({ length: 8 }, () => openSocket(agentsUrl(t.url), true)));
    const silent = await openSocket(agentsUrl(t.url), false);
    try {
      // cut after one unanswered interval: pinged at its slice's tick, cut at the next visit
      await waitFor(() => silent.ws.readyState === WebSocket.CLOSED, 5_000);
      expect(await silent.closed).toBe(1006);
      expect(silent.pings.length).toBeGreaterThanOrEqual(1);
      await waitFor(() => answering.every((s) => s.pings.length >= 3), 5_000);
      for (const s of answering) {
        expect(s.ws.readyState).toBe(WebSocket.OPEN);
        // once per interval, not once per tick
        const gaps = s.pings.slice(1).map((at, i) => at - s.pings[i]);
        for (const gap of gaps) expect(gap).toBeGreaterThan(700);
      }
      // 9 sockets in 4 slices: the first pings of the answering sockets come at different
      // ticks (all at once before: one write per socket in the same tick)
      const firsts = answering.map((s) => s.pings[0]);
      expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(400);
    } finally {
      answering.forEach((s) => s.ws.terminate());
      silent.ws.terminate();
    }
  });
});
