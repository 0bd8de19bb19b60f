import {
  AgentIdsDocument,
  ConfigurationsDocument,
  HealthHistoryDocument,
  InstancesDocument,
  MeDocument,
  OverviewDocument,
  RecentEventsDocument,
} from '../../dashboard/src/generated/graphql';
import { type Harness, type TenantKeys, createHarness } from './harness';

/**
 * The dashboard's own documents, as the page sends them, with the largest page sizes it
 * asks for: each must pass the API's operation rules (GRAPHQL_MAX_COMPLEXITY 2,000 by
 * default), or the page fails for every user.
 */
describe("the dashboard's GraphQL documents", () => {
  let h: Harness;
  let t: TenantKeys;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.dispose());

  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['Me', MeDocument.toString(), {}],
    ['Overview, a page of 50', OverviewDocument.toString(), { first: 50 }],
    ['AgentIds', AgentIdsDocument.toString(), {}],
    ['Instances, a page of 100', InstancesDocument.toString(), { first: 100 }],
    ['RecentEvents, 50', RecentEventsDocument.toString(), { first: 50 }],
    ['HealthHistory', HealthHistoryDocument.toString(), {}],
    ['Configurations', ConfigurationsDocument.toString(), {}],
  ];

  it.each(cases)('%s passes the operation rules as an admin', async (_name, document, variables) => {
    const result = await h.run(t.admin, document, variables);

    expect(result.errors).toBeUndefined();
  });
});
