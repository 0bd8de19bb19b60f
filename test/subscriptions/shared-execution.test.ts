import { buildSchema, type ExecutionResult, parse } from 'graphql';
import { sharedExecutionSubscribe } from '../../src/subscriptions/shared-execution';

/** A feed whose every listener receives the same event objects, like the event log reader's. */
function feed() {
  const listeners = new Set<(event: object) => void>();
  return {
    listeners,
    emit: (event: object) => listeners.forEach((listener) => listener(event)),
    iterator(): AsyncIterableIterator<object> {
      const queue: object[] = [];
      let waiting: ((r: IteratorResult<object>) => void) | null = null;
      const listener = (event: object) => (waiting ? (waiting({ done: false, value: event }), (waiting = null)) : queue.push(event));
      listeners.add(listener);
      return {
        next: () => (queue.length ? Promise.resolve({ done: false, value: queue.shift()! }) : new Promise((resolve) => (waiting = resolve))),
        return: async () => {
          listeners.delete(listener);
          waiting?.({ done: true, value: undefined });
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}

describe('sharedExecutionSubscribe', () => {
  const source = feed();
  let executions = 0;
  const schema = buildSchema(`
    type Event { id: ID!, kind: String!, tenant: String! }
    type Query { ok: Boolean }
    type Subscription { events: Event! }
  `);
  const subscriptionType = schema.getSubscriptionType()!;
  subscriptionType.getFields().events.subscribe = () => source.iterator();
  subscriptionType.getFields().events.resolve = (event: { id: string; kind: string }, _args, context: { principal: { tenantId: string } }) => {
    executions++;
    return { ...event, tenant: context.principal.tenantId };
  };
  const subscribe = sharedExecutionSubscribe();
  const open = (query: string, tenantId: string) =>
    subscribe({ schema, document: parse(query), contextValue: { principal: { tenantId, role: 'viewer' } } }) as Promise<
      AsyncIterableIterator<ExecutionResult>
    >;

  it('executes each event once per distinct operation and tenant, and every subscriber gets its own shape', async () => {
    const same = await Promise.all([1, 2, 3].map(() => open('subscription { events { id kind } }', 't1')));
    const other = await open('subscription { events { id } }', 't1');
    const otherTenant = await open('subscription { events { id kind tenant } }', 't2');
    const pending = [...same, other, otherTenant].map((it) => it.next());

    source.emit({ id: '1', kind: 'registered' });
    const results = await Promise.all(pending);

    expect(results.slice(0, 3).map((r) => r.value)).toEqual(Array(3).fill({ data: { events: { id: '1', kind: 'registered' } } }));
    expect(results[3].value).toEqual({ data: { events: { id: '1' } } });
    expect(results[4].value).toEqual({ data: { events: { id: '1', kind: 'registered', tenant: 't2' } } });
    expect(executions).toBe(3);
    await Promise.all([...same, other, otherTenant].map((it) => it.return!()));
  });

  it('releases the source at once when a subscriber leaves while waiting for an event', async () => {
    const before = source.listeners.size;
    const iterator = await open('subscription { events { id } }', 't1');
    const waiting = iterator.next();
    expect(source.listeners.size).toBe(before + 1);

    await iterator.return!();

    expect(source.listeners.size).toBe(before);
    expect(await waiting).toEqual({ done: true, value: undefined });
  });
});
