import { getIntrospectionQuery, parse } from 'graphql';
import { buildAppSchema } from '../../src/app';
import { OperationRules } from '../../src/graphql/operation-rules';

describe('OperationRules: the cost, computed once per document and page size', () => {
  const rules = new OperationRules(buildAppSchema(), { maxDepth: 10, maxComplexity: 2000, anonymousMaxComplexity: 50, introspection: true });

  it('a page size from a variable changes the cost', () => {
    const document = parse(`query ($first: Int, $agentId: String!) { activeInstances(agentId: $agentId, first: $first) { nodes { id instanceId } } }`);
    const ten = rules.costOf(document, undefined, { first: 10, agentId: 'a' });
    const fifty = rules.costOf(document, undefined, { first: 50, agentId: 'a' });
    // 1 for the list field, its children (nodes, id, instanceId) once per requested row
    expect(ten?.complexity).toBe(1 + 3 * 10);
    expect(fifty?.complexity).toBe(1 + 3 * 50);
    // asked again: the same figure (from the per-document memo), whatever the other arguments
    expect(rules.costOf(document, undefined, { first: 10, agentId: 'a' })).toBe(ten);
    expect(rules.costOf(document, undefined, { first: 10, agentId: 'b' })).toEqual(ten);
    expect(rules.costOf(document, undefined, { first: 50, agentId: 'c' })).toEqual(fifty);
  });

  it('a page size inside an input or a fragment counts too', () => {
    const document = parse(`query Q($n: Int) { ...F } fragment F on Query { registrations(first: $n) { nodes { id } } }`);
    expect(rules.costOf(document, 'Q', { n: 5 })?.complexity).toBe(1 + 2 * 5);
    expect(rules.costOf(document, 'Q', { n: 7 })?.complexity).toBe(1 + 2 * 7);
  });

  it('variables of fields without a cost of their own are not part of the memo key', () => {
    const document = parse(`mutation ($input: RegisterAgentInstanceInput!) { registerAgentInstance(input: $input) { isNew } }`);
    const first = rules.costOf(document, undefined, { input: { agentId: 'a', instanceId: '1' } });
    expect(rules.costOf(document, undefined, { input: { agentId: 'b', instanceId: '2' } })).toBe(first);
  });

  it('variables that do not fit the operation have no cost (execution reports them)', () => {
    const document = parse(`query ($first: Int) { registrations(first: $first) { nodes { id } } }`);
    expect(rules.costOf(document, undefined, { first: 'many' })).toBeUndefined();
  });

  it('one standard full introspection query is exactly the introspection budget', () => {
    const full = parse(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }));
    expect(rules.introspectionBudget).toBeGreaterThan(1000);
    expect(rules.costOf(full, undefined, {})?.introspection).toBe(rules.introspectionBudget);
    expect(rules.checkCost(full, undefined, {}, true)).toBeUndefined();
    expect(rules.checkCost(full, undefined, {}, false)?.extensions.code).toBe('UNAUTHENTICATED');
  });
});
