import type { GraphQLFormattedError } from 'graphql';
import { type App, createApp } from '../../src/app';
import type { Principal, Role } from '../../src/auth/api-keys';
import type { Clock } from '../../src/clock';
import { testConfig } from '../helpers/app';
import { type TestDatabase, createTestDatabase } from '../helpers/database';
import { createTenant } from '../helpers/factories';

export interface Result<T = Record<string, any>> {
  data?: T | null;
  errors?: readonly GraphQLFormattedError[];
}

export interface Harness {
  app: App;
  database: TestDatabase;
  /**
   * Runs an operation as `principal` (null: anonymous) as /graphql would: through the direct
   * path when it takes the request (GRAPHQL_DIRECT_EXECUTION, on by default), otherwise
   * through Apollo's executeOperation.
   */
  run<T = Record<string, any>>(principal: Principal | null, query: string, variables?: Record<string, unknown>): Promise<Result<T>>;
  /** A tenant with an admin, agent and viewer principal of its own. */
  tenant(name?: string): Promise<TenantKeys>;
  operator: Principal;
  dispose(): Promise<void>;
}

export interface TenantKeys {
  id: string;
  admin: Principal;
  agent: Principal;
  viewer: Principal;
}

/** The first error's code, or undefined. */
export const codeOf = (result: Result): unknown => result.errors?.[0]?.extensions?.code;

/**
 * An app that does not listen, on a database of its own; operations run in-process.
 * `options.clock`: a test clock (default: the database's clock stamps every change).
 */
export async function createHarness(env: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const app = await createApp(testConfig(env), { db: database.db, clock: options.clock });
  const principal = async (tenantId: string | null, role: Role): Promise<Principal> => {
    const { apiKey } = await app.services.apiKeys.insert(tenantId, `${role} key`, role);
    return { keyId: apiKey.id, keyName: apiKey.name, role, tenantId };
  };
  const operator = await principal(null, 'operator');
  return {
    app,
    database,
    operator,
    async run(p, query, variables) {
      const prepared = app.direct?.prepare({ query, variables }, undefined);
      const answer = prepared && (await app.direct!.run(prepared, app.contextFor(p)));
      if (answer) return JSON.parse(answer.body) as Result<any>;
      const response = await app.graphql.executeOperation({ query, variables }, { contextValue: app.contextFor(p) });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return response.body.singleResult as Result<any>;
    },
    async tenant(name) {
      const id = await createTenant(database.db, name ? { name } : {});
      return { id, admin: await principal(id, 'admin'), agent: await principal(id, 'agent'), viewer: await principal(id, 'viewer') };
    },
    async dispose() {
      await app.stop();
      await database.dispose();
    },
  };
}
