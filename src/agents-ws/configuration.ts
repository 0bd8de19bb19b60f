import type { Queryable } from '../db/client';
import type { AgentConfiguration } from './protocol';

/** The configuration an instance runs with, scoped to its tenant; null when it no longer exists. */
export async function loadAgentConfiguration(
  db: Queryable,
  tenantId: string,
  configurationId: string,
): Promise<AgentConfiguration | null> {
  const [row] = await db.query<Omit<AgentConfiguration, 'updated_at'> & { updated_at: Date | string }>(
    `select c.id, m.agent_id, c.name, c.model_id, c.temperature, c.max_tokens, c.system_prompt,
            c.max_workload, c.enabled, c.settings, c.version, c.updated_at
     from mcp.agent_configurations c join mcp.agent_manifests m on m.id = c.manifest_id
     where c.id = $1 and c.tenant_id = $2`,
    [configurationId, tenantId],
  );
  if (!row) return null;
  return {
    ...row,
    temperature: Number(row.temperature),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
