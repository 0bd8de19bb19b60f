import {
  createSourceEventStream,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  print,
} from 'graphql';
import type { GraphQLContext } from '../graphql/context';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql-ws `subscribe` that executes each event once per distinct operation instead of
 * once per subscriber. graphql-js maps every source event through `execute` for every
 * subscription; with a thousand dashboards on the same query that is a thousand identical
 * executions per event, and the benchmark's fan-out collapsed under it (p99 > 2 s at
 * 20,000 deliveries/s). Here the first subscriber to take an event executes it and the
 * others reuse the result.
 *
 * Safe because the key holds everything the result depends on: the operation text, its
 * variables and operation name, and the caller's tenant and role (tenant scoping happens
 * in the source stream; the key keeps the result per tenant and role anyway). Results are
 * held in a WeakMap on the event object the feed hands to every listener, so they go
 * away with the event; events a subscription reads from the log are its own objects and
 * simply execute alone.
 */
export function sharedExecutionSubscribe(): (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const results = new WeakMap<object, Map<string, Result>>();
  const printed = new WeakMap<object, string>();
  const textOf = (document: ExecutionArgs['document']) => {
    let text = printed.get(document);
    if (text === undefined) printed.set(document, (text = print(document)));
    return text;
  };
  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterator(source)) return source as ExecutionResult;
    const principal = (args.contextValue as GraphQLContext | undefined)?.principal;
    const key = [
      textOf(args.document),
      JSON.stringify(args.variableValues ?? {}),
      args.operationName ?? '',
      principal?.tenantId ?? '',
      principal?.role ?? '',
    ].join('\u0000');
    const run = (event: unknown): Result => {
      if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
      let byKey = results.get(event);
      if (!byKey) results.set(event, (byKey = new Map()));
      let result = byKey.get(key);
      if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
      return result;
    };
    return mapIterator(source, run);
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof (value as AsyncIterator<unknown> | null)?.next === 'function';
}

/**
 * Maps an async iterator. Unlike an async generator, `return()` reaches the source at once
 * even while a `next()` is pending, so an unsubscribe releases the feed listener without
 * waiting for another event.
 */
function mapIterator(
  source: AsyncIterator<unknown>,
  map: (value: unknown) => Result,
): AsyncIterableIterator<ExecutionResult> {
  return {
    async next() {
      const step = await source.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: await map(step.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
