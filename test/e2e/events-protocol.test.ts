import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app';
import { createTenant } from '../helpers/factories';
import { createApiKey } from '../helpers/keys';
import { REGISTRATION_EVENTS, wsUrl } from '../events/subscriber';

/** A raw graphql-transport-ws socket: what it received and how it closed. */
interface RawSocket {
  ws: WebSocket;
  messages: Array<{ type: string; id?: string; payload?: unknown }>;
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  send(message: object): void;
  /** Resolves with the first message of `type`. */
  message(type: string): Promise<{ type: string; id?: string; payload?: unknown }>;
}

describe('graphql-ws protocol on /graphql', () => {
  let t: TestApp;
  let viewerKey: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { WS_CONNECTION_INIT_TIMEOUT_MS: '200' } });
    viewerKey = await createApiKey(t.database.db, await createTenant(t.database.db), 'viewer');
  });
  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });
  afterAll(() => t.dispose());

  const open = (protocol = 'graphql-transport-ws', path = '/graphql'): RawSocket => {
    const ws = new WebSocket(wsUrl(t.url).replace('/graphql', path), protocol);
    sockets.push(ws);
    const messages: RawSocket['messages'] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      waiters.splice(0).forEach((wake) => wake());
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    return {
      ws,
      messages,
      opened: new Promise((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      closed,
      send: (message) => ws.send(JSON.stringify(message)),
      // fails (instead of hanging to the test timeout) when the socket closes first
      message(type) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const found = messages.find((m) => m.type === type);
            if (found) resolve(found);
            else waiters.push(check);
          };
          check();
          void closed.then(({ code }) => reject(new Error(`closed with ${code} before a ${type} message`)));
        });
      },
    };
  };
  const subscribeMessage = (id: string) => ({ type: 'subscribe', id, payload: { query: REGISTRATION_EVENTS } });

  it('closes with 4408 when no connection_init arrives in time', async () => {
    const socket = open();
    await socket.opened;
    expect((await socket.closed).code).toBe(4408);
  });

  it('closes with 4403 for an unknown key', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { authorization: 'Bearer ar_not-a-key' } });
    expect((await socket.closed).code).toBe(4403);
  });

  it('closes with 4403 when connection_init carries no key', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init' });
    expect((await socket.closed).code).toBe(4403);
  });

  it('accepts the key as connectionParams.apiKey too', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { apiKey: viewerKey } });
    expect((await socket.message('connection_ack')).type).toBe('connection_ack');
  });

  it('closes with 4401 when a subscribe comes before the acknowledgement', async () => {
    const socket = open();
    await socket.opened;
    socket.send(subscribeMessage('1'));
    expect((await socket.closed).code).toBe(4401);
  });

  it('closes with 4409 when a subscription id is used twice', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${viewerKey}` } });
    await socket.message('connection_ack');
    socket.send(subscribeMessage('same'));
    socket.send(subscribeMessage('same'));
    expect((await socket.closed).code).toBe(4409);
  });

  it('closes with 4429 on a second connection_init', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${viewerKey}` } });
    await socket.message('connection_ack');
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${viewerKey}` } });
    expect((await socket.closed).code).toBe(4429);
  });

  it('refuses a socket without the graphql-transport-ws subprotocol', async () => {
    const socket = open('some-other-protocol');
    // ws rejects the subprotocol during the handshake, or graphql-ws closes with 4406
    const outcome = await Promise.race([
      socket.closed.then(({ code }) => code),
      socket.opened.then(
        () => socket.closed.then(({ code }) => code),
        () => 'handshake failed',
      ),
    ]);
    expect([4406, 'handshake failed', 1002]).toContain(outcome);
  });

  it('leaves upgrades of other paths alone (no graphql-ws there)', async () => {
    const socket = open('graphql-transport-ws', '/not-a-socket-path');
    await expect(socket.opened).rejects.toBeDefined();
  });
});
