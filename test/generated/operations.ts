/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** closed: picked normally; open: ejected, never picked; half_open: the ejection ended, picked for one probe at a time. */
export type CircuitState =
  | 'closed'
  | 'half_open'
  | 'open';

export type CreateApiKeyInput = {
  /** 1 to 200 characters, e.g. "ci-runner". */
  name: string;
  /** Admins create admin, agent and viewer keys; operators any. */
  role: Role;
  /** Operators only: the tenant of the key (none for an operator key). */
  tenantId?: string | number | null | undefined;
};

export type CreateConfigurationInput = {
  /** The agent type; its manifest must exist (NOT_FOUND otherwise). */
  agentId: string;
  /** Default true. */
  enabled?: boolean | null | undefined;
  /** Flap damping: identical heartbeat health reports in a row before a change applies. 1 to 20. Default 1 (at once). */
  healthChangeThreshold?: number | null | undefined;
  /** Greater than 0. Default 4096. */
  maxTokens?: number | null | undefined;
  /** Greater than 0. Default 10. */
  maxWorkload?: number | null | undefined;
  /** 1 to 200 characters. Default "default". */
  modelId?: string | null | undefined;
  /** 1 to 200 characters. Default: the manifest name. */
  name?: string | null | undefined;
  /** Free-form; replaces the stored object. Up to MAX_JSON_BYTES. */
  settings?: unknown;
  /** Up to MAX_STRING_LENGTH characters. Default "". */
  systemPrompt?: string | null | undefined;
  /** 0 to 2. Default 0.7. */
  temperature?: number | null | undefined;
  /** Operators only: the tenant to act on. */
  tenantId?: string | number | null | undefined;
};

export type CreateManifestInput = {
  /** 1 to 64 lowercase letters, digits, ".", "_" or "-". */
  agentId: string;
  /** 1 to 64 characters, e.g. "ide", "slack", "k8s-monitor". */
  agentType: string;
  /** At most 100, each 1 to 100 characters. */
  capabilities?: Array<string> | null | undefined;
  description?: string | null | undefined;
  /** 1 to 200 characters. */
  name: string;
  /** Default "0.0.0". 1 to 64 characters. */
  version?: string | null | undefined;
};

export type CreateTenantInput = {
  /** 1 to 200 characters. */
  name: string;
};

/** Every filter given must match. */
export type EventHistoryFilter = {
  agentId?: string | null | undefined;
  instanceId?: string | null | undefined;
  /** Any of these kinds. */
  kinds?: Array<EventKind> | null | undefined;
};

/** registered, reconnected, health_changed, disconnected, stale, deregistered, purged (an instance), configuration_changed (a configuration), self_preservation (the stale sweep held back for a tenant), scaling_recommended (the desired instance count of a configuration changed), ejected, restored (circuit breaking of an instance). */
export type EventKind =
  | 'configuration_changed'
  | 'deregistered'
  | 'disconnected'
  | 'ejected'
  | 'health_changed'
  | 'purged'
  | 'reconnected'
  | 'registered'
  | 'restored'
  | 'scaling_recommended'
  | 'self_preservation'
  | 'stale';

/** Reported by the instance (healthy, degraded, unhealthy) or set by the registry (disconnected, unknown). */
export type HealthStatus =
  | 'degraded'
  | 'disconnected'
  | 'healthy'
  | 'unhealthy'
  | 'unknown';

/** ok: nothing but the time changed (also when a reported health is held back by flap damping); changed: health or workload changed; revived: a stale instance is active again. */
export type HeartbeatOutcome =
  | 'changed'
  | 'ok'
  | 'revived';

/** How a request sent to an instance went. */
export type InstanceOutcome =
  | 'failure'
  | 'success'
  | 'timeout';

/** recorded: counted; ejected: this report ejected the instance; restored: this success closed its half-open circuit; held: the failure threshold was reached but the agent already has its share of instances ejected. */
export type OutcomeResult =
  | 'ejected'
  | 'held'
  | 'recorded'
  | 'restored';

export type RegisterAgentInstanceInput = {
  /** The agent type; its manifest and your configuration are created if missing. */
  agentId: string;
  /** At most 100, each 1 to 100 characters. */
  capabilities?: Array<string> | null | undefined;
  connectionDetails?: unknown;
  /** Your id for this instance (1 to 256 characters); registering it again is a reconnection. */
  instanceId: string;
  name?: string | null | undefined;
  runtimeConfig?: unknown;
};

/** Every filter given must match. */
export type RegistrationFilter = {
  agentId?: string | null | undefined;
  healthStatus?: HealthStatus | null | undefined;
  instanceId?: string | null | undefined;
  /** Instance ids containing this text (case-insensitive), 1 to 256 characters. */
  instanceIdContains?: string | null | undefined;
  registrationStatus?: RegistrationStatus | null | undefined;
};

/** active: heartbeating; stale: no heartbeat within the stale timeout; deregistered: gone. */
export type RegistrationStatus =
  | 'active'
  | 'deregistered'
  | 'stale';

/** What an instance may report about itself. */
export type ReportedHealth =
  | 'degraded'
  | 'healthy'
  | 'unhealthy';

/** operator: the platform (tenants, manifests, any tenant by naming it); admin: one tenant (configurations, keys, instances); agent: register, heartbeat, deregister; viewer: read. */
export type Role =
  | 'admin'
  | 'agent'
  | 'operator'
  | 'viewer';

export type UpdateConfigurationInput = {
  /** Default true. */
  enabled?: boolean | null | undefined;
  /** The version you read; CONFLICT when the configuration changed since. */
  expectedVersion: number;
  /** Flap damping: identical heartbeat health reports in a row before a change applies. 1 to 20. Default 1 (at once). */
  healthChangeThreshold?: number | null | undefined;
  id: string | number;
  /** Greater than 0. Default 4096. */
  maxTokens?: number | null | undefined;
  /** Greater than 0. Default 10. */
  maxWorkload?: number | null | undefined;
  /** 1 to 200 characters. Default "default". */
  modelId?: string | null | undefined;
  /** 1 to 200 characters. Default: the manifest name. */
  name?: string | null | undefined;
  /** Free-form; replaces the stored object. Up to MAX_JSON_BYTES. */
  settings?: unknown;
  /** Up to MAX_STRING_LENGTH characters. Default "". */
  systemPrompt?: string | null | undefined;
  /** 0 to 2. Default 0.7. */
  temperature?: number | null | undefined;
  /** Operators only: the tenant to act on. */
  tenantId?: string | number | null | undefined;
};

/** Fields left out (or null) keep their value. */
export type UpdateManifestInput = {
  /** The manifest to update. */
  agentId: string;
  agentType?: string | null | undefined;
  capabilities?: Array<string> | null | undefined;
  description?: string | null | undefined;
  name?: string | null | undefined;
  version?: string | null | undefined;
};

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { keyId: string | null, keyName: string, role: Role, tenant: { id: string, name: string } | null } };

export type ActiveInstancesQueryVariables = Exact<{
  agentId: string;
  first?: number | null | undefined;
  after?: string | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type ActiveInstancesQuery = { activeInstances: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, tenantId: string, instanceId: string, agentId: string, agentType: string, configurationId: string | null, name: string | null, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, lastHealthCheck: unknown, capabilities: Array<string>, currentWorkload: number, reconnectCount: number, connectionDetails: unknown, reportedHealth: HealthStatus | null, reportedHealthStreak: number }> } };

export type RegistrationsQueryVariables = Exact<{
  filter?: RegistrationFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type RegistrationsQuery = { registrations: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, tenantId: string, instanceId: string, agentId: string, agentType: string, configurationId: string | null, name: string | null, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, lastHealthCheck: unknown, capabilities: Array<string>, currentWorkload: number, reconnectCount: number, connectionDetails: unknown, reportedHealth: HealthStatus | null, reportedHealthStreak: number }> } };

export type RegistrationQueryVariables = Exact<{
  instanceId: string;
  tenantId?: string | number | null | undefined;
}>;


export type RegistrationQuery = { registration: { id: string, tenantId: string, instanceId: string, agentId: string, agentType: string, configurationId: string | null, name: string | null, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, lastHealthCheck: unknown, capabilities: Array<string>, currentWorkload: number, reconnectCount: number, connectionDetails: unknown, reportedHealth: HealthStatus | null, reportedHealthStreak: number } | null };

export type AgentSummariesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type AgentSummariesQuery = { agentSummaries: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ agentId: string, agentType: string, configurationId: string, enabled: boolean, activeCount: number, staleCount: number, ejectedCount: number, lastSeenAt: unknown, byHealth: { healthy: number, degraded: number, unhealthy: number, disconnected: number, unknown: number }, scaling: { activeInstances: number, workload: number, capacity: number, utilisation: number, targetUtilisation: number, proposedInstances: number, desiredInstances: number, computedAt: unknown, changedAt: unknown } | null }> } };

export type EventsQueryVariables = Exact<{
  filter?: EventHistoryFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type EventsQuery = { events: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, kind: EventKind, agentId: string | null, instanceId: string | null, configurationId: string | null, healthStatus: HealthStatus | null, payload: unknown, occurredAt: unknown }> } };

export type ManifestsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  agentType?: string | null | undefined;
}>;


export type ManifestsQuery = { manifests: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, agentId: string, agentType: string, name: string, description: string, capabilities: Array<string>, version: string }> } };

export type ManifestQueryVariables = Exact<{
  agentId: string;
}>;


export type ManifestQuery = { manifest: { id: string, agentId: string, agentType: string, name: string, description: string, capabilities: Array<string>, version: string } | null };

export type ConfigurationsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  agentId?: string | null | undefined;
  enabled?: boolean | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type ConfigurationsQuery = { configurations: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, tenantId: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, systemPrompt: string, maxWorkload: number, healthChangeThreshold: number, enabled: boolean, settings: unknown, version: number, updatedAt: unknown }> } };

export type ConfigurationsScalingQueryVariables = Exact<{
  first?: number | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type ConfigurationsScalingQuery = { configurations: { nodes: Array<{ id: string, agentId: string, scaling: { activeInstances: number, workload: number, capacity: number, utilisation: number, targetUtilisation: number, proposedInstances: number, desiredInstances: number, computedAt: unknown, changedAt: unknown } | null }> } };

export type ConfigurationQueryVariables = Exact<{
  id: string | number;
  tenantId?: string | number | null | undefined;
}>;


export type ConfigurationQuery = { configuration: { id: string, tenantId: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, systemPrompt: string, maxWorkload: number, healthChangeThreshold: number, enabled: boolean, settings: unknown, version: number, updatedAt: unknown } | null };

export type TenantsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type TenantsQuery = { tenants: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, name: string, createdAt: unknown }> } };

export type ApiKeysQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  includeRevoked?: boolean | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type ApiKeysQuery = { apiKeys: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, tenantId: string | null, name: string, role: Role, prefix: string, revokedAt: unknown }> } };

export type RegisterAgentInstanceMutationVariables = Exact<{
  input: RegisterAgentInstanceInput;
}>;


export type RegisterAgentInstanceMutation = { registerAgentInstance: { isNew: boolean, message: string, heartbeatIntervalMs: number, heartbeatIntervalSeconds: number, registration: { id: string, tenantId: string, instanceId: string, agentId: string, agentType: string, configurationId: string | null, name: string | null, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, lastHealthCheck: unknown, capabilities: Array<string>, currentWorkload: number, reconnectCount: number, connectionDetails: unknown, reportedHealth: HealthStatus | null, reportedHealthStreak: number } } };

export type HeartbeatMutationVariables = Exact<{
  instanceId: string;
  health?: ReportedHealth | null | undefined;
  workload?: number | null | undefined;
}>;


export type HeartbeatMutation = { heartbeat: { registrationId: string, instanceId: string, outcome: HeartbeatOutcome } };

export type DeregisterAgentInstanceMutationVariables = Exact<{
  instanceId: string;
}>;


export type DeregisterAgentInstanceMutation = { deregisterAgentInstance: { registrationId: string, instanceId: string, wasActive: boolean } };

export type ForceDeregisterInstanceMutationVariables = Exact<{
  instanceId: string;
  tenantId?: string | number | null | undefined;
}>;


export type ForceDeregisterInstanceMutation = { forceDeregisterInstance: { registrationId: string, instanceId: string, wasActive: boolean } };

export type CreateConfigurationMutationVariables = Exact<{
  input: CreateConfigurationInput;
}>;


export type CreateConfigurationMutation = { createConfiguration: { id: string, tenantId: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, systemPrompt: string, maxWorkload: number, healthChangeThreshold: number, enabled: boolean, settings: unknown, version: number, updatedAt: unknown } };

export type UpdateConfigurationMutationVariables = Exact<{
  input: UpdateConfigurationInput;
}>;


export type UpdateConfigurationMutation = { updateConfiguration: { id: string, tenantId: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, systemPrompt: string, maxWorkload: number, healthChangeThreshold: number, enabled: boolean, settings: unknown, version: number, updatedAt: unknown } };

export type DeleteConfigurationMutationVariables = Exact<{
  id: string | number;
  expectedVersion?: number | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type DeleteConfigurationMutation = { deleteConfiguration: { id: string, agentId: string } };

export type CreateApiKeyMutationVariables = Exact<{
  input: CreateApiKeyInput;
}>;


export type CreateApiKeyMutation = { createApiKey: { key: string, apiKey: { id: string, tenantId: string | null, name: string, role: Role, prefix: string, revokedAt: unknown } } };

export type RevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type RevokeApiKeyMutation = { revokeApiKey: { id: string, tenantId: string | null, name: string, role: Role, prefix: string, revokedAt: unknown } };

export type CreateTenantMutationVariables = Exact<{
  input: CreateTenantInput;
}>;


export type CreateTenantMutation = { createTenant: { id: string, name: string, createdAt: unknown } };

export type CreateManifestMutationVariables = Exact<{
  input: CreateManifestInput;
}>;


export type CreateManifestMutation = { createManifest: { id: string, agentId: string, agentType: string, name: string, description: string, capabilities: Array<string>, version: string } };

export type UpdateManifestMutationVariables = Exact<{
  input: UpdateManifestInput;
}>;


export type UpdateManifestMutation = { updateManifest: { id: string, agentId: string, agentType: string, name: string, description: string, capabilities: Array<string>, version: string } };

export type RegistrationFieldsFragment = { id: string, tenantId: string, instanceId: string, agentId: string, agentType: string, configurationId: string | null, name: string | null, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, lastHealthCheck: unknown, capabilities: Array<string>, currentWorkload: number, reconnectCount: number, connectionDetails: unknown, reportedHealth: HealthStatus | null, reportedHealthStreak: number };

export type ManifestFieldsFragment = { id: string, agentId: string, agentType: string, name: string, description: string, capabilities: Array<string>, version: string };

export type ConfigurationFieldsFragment = { id: string, tenantId: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, systemPrompt: string, maxWorkload: number, healthChangeThreshold: number, enabled: boolean, settings: unknown, version: number, updatedAt: unknown };

export type ApiKeyFieldsFragment = { id: string, tenantId: string | null, name: string, role: Role, prefix: string, revokedAt: unknown };

export type ScalingFieldsFragment = { activeInstances: number, workload: number, capacity: number, utilisation: number, targetUtilisation: number, proposedInstances: number, desiredInstances: number, computedAt: unknown, changedAt: unknown };

export type PickInstanceQueryVariables = Exact<{
  agentId: string;
  affinityKey?: string | null | undefined;
  exclude?: Array<string> | string | null | undefined;
  capabilities?: Array<string> | string | null | undefined;
  fallbacks?: number | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type PickInstanceQuery = { pickInstance: { probe: boolean, affinityCapacity: number | null, instance: { registrationId: string, instanceId: string, healthStatus: HealthStatus, currentWorkload: number, maxWorkload: number, connectionDetails: unknown }, fallbacks: Array<{ registrationId: string, instanceId: string, healthStatus: HealthStatus, currentWorkload: number, maxWorkload: number, connectionDetails: unknown }>, counts: { instances: number, active: number, excluded: number, disconnected: number, ejected: number, missingCapabilities: number, overloaded: number, eligible: number } } };

export type ReportInstanceOutcomeMutationVariables = Exact<{
  instanceId: string;
  outcome: InstanceOutcome;
  tenantId?: string | number | null | undefined;
}>;


export type ReportInstanceOutcomeMutation = { reportInstanceOutcome: { registrationId: string, instanceId: string, result: OutcomeResult, circuit: CircuitState } };

export type RegistrationCircuitsQueryVariables = Exact<{
  filter?: RegistrationFilter | null | undefined;
  first?: number | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type RegistrationCircuitsQuery = { registrations: { nodes: Array<{ instanceId: string, circuit: { state: CircuitState, consecutiveFailures: number, ejectionCount: number, ejectedAt: unknown, ejectedUntil: unknown, probeInFlight: boolean } }> } };

export type PickedInstanceFieldsFragment = { registrationId: string, instanceId: string, healthStatus: HealthStatus, currentWorkload: number, maxWorkload: number, connectionDetails: unknown };
