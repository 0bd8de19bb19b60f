import { Client } from 'pg';
import { percentile } from './stats';

const CREATE = `mutation Create($input: CreateConfigurationInput!) { createConfiguration(input: $input) { id version } }`;
const UPDATE = `mutation Update($input: UpdateConfigurationInput!) { updateConfiguration(input: $input) { id version } }`;

export interface AdminLoadResult {
  creates: number;
  updates: number;
  errors: number;
  perSecond: number;
  createP50: number;
  createP99: number;
  updateP50: number;
  updateP99: number;
}

/** `count` manifests `<prefix>-<n>`, written straight to the database (operators' work, not measured). */
export async function seedManifests(url: string, prefix: string, count: number): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ agent_id: string }>(
      `insert into mcp.agent_manifests (agent_id, agent_type, name)
       select $1 || '-' || g, 'bench', 'bench agent ' || g from generate_series(1, $2) g
       returning agent_id`,
      [prefix, count],
    );
    return rows.map((r) => r.agent_id);
  } finally {
    await client.end();
  }
}

/**
 * Tenant admins editing configurations: `workers` closed loops over GraphQL, each creating
 * a configuration for the next free manifest and then updating it `updatesEach` times with
 * the version it read (optimistic concurrency, no conflicts expected: one writer per row).
 * Bounded by `seconds` and by the number of manifests; one create and update first, not measured.
 */
export async function adminClosedLoop(
  url: string,
  adminKey: string,
  agentIds: string[],
  options: { workers: number; seconds: number; updatesEach: number },
): Promise<AdminLoadResult> {
  const createLatencies: number[] = [];
  const updateLatencies: number[] = [];
  let errors = 0;
  let next = 0;
  const send = async (query: string, input: Record<string, unknown>) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ query, variables: { input } }),
    });
    const body = (await res.json()) as { data?: Record<string, { id: string; version: number }>; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
    return Object.values(body.data)[0];
  };
  // warm-up, not measured: the first configuration's create and updates (lazy loading and
  // first-use compilation in the service)
  const warm = await send(CREATE, { agentId: agentIds[next++], maxTokens: 1000 });
  await send(UPDATE, { id: warm.id, expectedVersion: warm.version, maxTokens: 1001, enabled: true });
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && next < agentIds.length) {
      const agentId = agentIds[next++];
      try {
        let t = performance.now();
        let row = await send(CREATE, { agentId, maxTokens: 1000 });
        createLatencies.push(performance.now() - t);
        for (let i = 0; i < options.updatesEach && performance.now() < deadline; i++) {
          t = performance.now();
          row = await send(UPDATE, { id: row.id, expectedVersion: row.version, maxTokens: 1001 + i, enabled: i % 2 === 0 });
          updateLatencies.push(performance.now() - t);
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return {
    creates: createLatencies.length,
    updates: updateLatencies.length,
    errors,
    perSecond: (createLatencies.length + updateLatencies.length) / elapsed,
    createP50: percentile(createLatencies, 50),
    createP99: percentile(createLatencies, 99),
    updateP50: percentile(updateLatencies, 50),
    updateP99: percentile(updateLatencies, 99),
  };
}
