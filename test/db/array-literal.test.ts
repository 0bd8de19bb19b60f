import { integerArrayLiteral, textArrayLiteral } from '../../src/db/array-literal';
import { heartbeatInstances, registerAgentInstance } from '../../src/db/registry-sql';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { agentId, createTenant } from '../helpers/factories';

/**
 * The batch statements' array parameters (src/db/array-literal.ts) read back by the database
 * exactly as the JS values were: quotes, backslashes, commas, braces, blanks, the word NULL,
 * empty strings and non-ASCII stay text; null and undefined become NULL.
 */
describe('array literals for batch parameters', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.dispose());

  const roundTrip = async (literal: string, type: 'text' | 'integer' | 'uuid') => {
    const [row] = await t.db.query<{ values: unknown[] }>(`select $1::${type}[] as values`, [literal]);
    return row.values;
  };

  it('text elements come back unchanged, whatever they hold', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', 'a,b', '{braces}', ' padded ', 'NULL', 'null', '', 'ünïcødé ✓', '\\"', 'tab\there'];
    expect(await roundTrip(textArrayLiteral(values), 'text')).toEqual(values);
    // the quick path (nothing to escape, no nulls) and the element-by-element one agree
    expect(await roundTrip(textArrayLiteral(['a', 'b c', 'NULL']), 'text')).toEqual(['a', 'b c', 'NULL']);
  });

  it('null and undefined are NULL; an empty list is an empty array', async () => {
    expect(await roundTrip(textArrayLiteral(['healthy', null, undefined, 'NULL']), 'text')).toEqual(['healthy', null, null, 'NULL']);
    expect(await roundTrip(textArrayLiteral([]), 'text')).toEqual([]);
    expect(await roundTrip(integerArrayLiteral([0, null, 1_000_000, undefined, -3]), 'integer')).toEqual([0, null, 1_000_000, null, -3]);
    expect(await roundTrip(integerArrayLiteral([]), 'integer')).toEqual([]);
  });

  it('uuids pass as text elements; a non-integer workload is refused before the database', async () => {
    const ids = ['7f1c3c52-8a4b-4f6e-9a43-2f0c5d3b9e11', '00000000-0000-0000-0000-000000000000'];
    expect(await roundTrip(textArrayLiteral(ids), 'uuid')).toEqual(ids);
    expect(() => integerArrayLiteral([1.5])).toThrow(TypeError);
  });

  it('a heartbeat batch finds instances whose ids need escaping, each in its place', async () => {
    const tenantId = await createTenant(t.db);
    const agent = agentId('escape');
    const ids = ['quote"d', 'back\\slash', 'comma,brace}', 'NULL'];
    for (const instanceId of ids) await registerAgentInstance(t.db, { tenantId, agentId: agent, instanceId });
    const results = await heartbeatInstances(t.db, [
      ...ids.map((instanceId, i) => ({ tenantId, instanceId, health: i % 2 ? ('degraded' as const) : undefined, workload: i + 1 })),
      { tenantId, instanceId: 'nobody', workload: undefined },
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['changed', 'changed', 'changed', 'changed', 'not_registered']);
    const rows = await t.db.query<{ instance_id: string; health_status: string; current_workload: number }>(
      'select instance_id, health_status, current_workload from mcp.agent_registrations where tenant_id = $1 order by current_workload',
      [tenantId],
    );
    expect(rows.map((r) => [r.instance_id, r.current_workload])).toEqual(ids.map((id, i) => [id, i + 1]));
    expect(rows.map((r) => r.health_status)).toEqual(['healthy', 'degraded', 'healthy', 'degraded']);
  });
});
