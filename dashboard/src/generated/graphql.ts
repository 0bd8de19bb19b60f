/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
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

/** Every filter given must match. */
export type RegistrationFilter = {
  agentId?: string | null | undefined;
  healthStatus?: HealthStatus | null | undefined;
  instanceId?: string | null | undefined;
  /** Instance ids containing this text (case-insensitive), 1 to 256 characters. */
  instanceIdContains?: string | null | undefined;
  registrationStatus?: RegistrationStatus | null | undefined;
};

/** An order of registrations; cursors are only valid with the order they were returned for. */
export type RegistrationOrder = {
  direction?: SortDirection;
  field: RegistrationSortField;
};

/** What registrations can be ordered by; ties are broken by instanceId. healthStatus orders healthy, degraded, unhealthy, disconnected, unknown. */
export type RegistrationSortField =
  | 'agentId'
  | 'healthStatus'
  | 'instanceId'
  | 'lastHealthCheck'
  | 'registeredAt';

/** active: heartbeating; stale: no heartbeat within the stale timeout; deregistered: gone. */
export type RegistrationStatus =
  | 'active'
  | 'deregistered'
  | 'stale';

/** operator: the platform (tenants, manifests, any tenant by naming it); admin: one tenant (configurations, keys, instances); agent: register, heartbeat, deregister; viewer: read. */
export type Role =
  | 'admin'
  | 'agent'
  | 'operator'
  | 'viewer';

export type SortDirection =
  | 'asc'
  | 'desc';

export type UpdateConfigurationInput = {
  /** Default true. */
  enabled?: boolean | null | undefined;
  /** The version you read; CONFLICT when the configuration changed since. */
  expectedVersion: number;
  /** Flap damping: identical heartbeat health reports in a row before a change applies. 1 to 20. Default 1 (at once). */
  healthChangeThreshold?: number | null | undefined;
  id: string;
  /** Greater than 0. Default 4096. */
  maxTokens?: number | null | undefined;
  /** Greater than 0. Default 10. */
  maxWorkload?: number | null | undefined;
  /** 1 to 200 characters. Default "default". */
  modelId?: string | null | undefined;
  /** 1 to 200 characters. Default: the manifest name. */
  name?: string | null | undefined;
  /** Free-form; replaces the stored object. Up to MAX_JSON_BYTES. */
  settings?: Record<string, unknown> | null | undefined;
  /** Up to MAX_STRING_LENGTH characters. Default "". */
  systemPrompt?: string | null | undefined;
  /** 0 to 2. Default 0.7. */
  temperature?: number | null | undefined;
  /** Operators only: the tenant to act on. */
  tenantId?: string | null | undefined;
};

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { keyName: string, role: Role, tenant: { id: string, name: string } | null } };

export type OverviewQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type OverviewQuery = { agentSummaries: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ agentId: string, agentType: string, enabled: boolean, activeCount: number, staleCount: number, ejectedCount: number, lastSeenAt: string | null, byHealth: { healthy: number, degraded: number, unhealthy: number, disconnected: number, unknown: number }, scaling: { utilisation: number, targetUtilisation: number, desiredInstances: number } | null }> }, registryMetrics: { active: number, stale: number, selfPreservationHeld: boolean } };

export type AgentIdsQueryVariables = Exact<{ [key: string]: never; }>;


export type AgentIdsQuery = { agentSummaries: { nodes: Array<{ agentId: string }> } };

export type InstancesQueryVariables = Exact<{
  filter?: RegistrationFilter | null | undefined;
  orderBy?: RegistrationOrder | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type InstancesQuery = { registrations: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, instanceId: string, name: string | null, agentId: string, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, currentWorkload: number, lastHealthCheck: string, registeredAt: string, reconnectCount: number }> } };

export type InstanceQueryVariables = Exact<{
  instanceId: string;
}>;


export type InstanceQuery = { registration: { id: string, instanceId: string, name: string | null, agentId: string, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, currentWorkload: number, lastHealthCheck: string, registeredAt: string, reconnectCount: number } | null };

export type InstanceRowFragment = { id: string, instanceId: string, name: string | null, agentId: string, registrationStatus: RegistrationStatus, healthStatus: HealthStatus, currentWorkload: number, lastHealthCheck: string, registeredAt: string, reconnectCount: number };

export type RecentEventsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: EventHistoryFilter | null | undefined;
}>;


export type RecentEventsQuery = { events: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, kind: EventKind, agentId: string | null, instanceId: string | null, healthStatus: HealthStatus | null, registrationStatus: RegistrationStatus | null, occurredAt: string, payload: Record<string, unknown> }> } };

export type LiveEventsSubscriptionVariables = Exact<{
  since?: string | null | undefined;
}>;


export type LiveEventsSubscription = { registrationEvents: { id: string, kind: EventKind, agentId: string | null, instanceId: string | null, healthStatus: HealthStatus | null, registrationStatus: RegistrationStatus | null, occurredAt: string, payload: Record<string, unknown> } };

export type EventRowFragment = { id: string, kind: EventKind, agentId: string | null, instanceId: string | null, healthStatus: HealthStatus | null, registrationStatus: RegistrationStatus | null, occurredAt: string, payload: Record<string, unknown> };

export type ConfigurationsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConfigurationsQuery = { configurations: { nodes: Array<{ id: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, maxWorkload: number, systemPrompt: string, enabled: boolean, version: number, updatedAt: string }> } };

export type ConfigurationByIdQueryVariables = Exact<{
  id: string;
}>;


export type ConfigurationByIdQuery = { configuration: { id: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, maxWorkload: number, systemPrompt: string, enabled: boolean, version: number, updatedAt: string } | null };

export type ConfigurationFieldsFragment = { id: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, maxWorkload: number, systemPrompt: string, enabled: boolean, version: number, updatedAt: string };

export type UpdateConfigurationMutationVariables = Exact<{
  input: UpdateConfigurationInput;
}>;


export type UpdateConfigurationMutation = { updateConfiguration: { id: string, agentId: string, name: string, modelId: string, temperature: number, maxTokens: number, maxWorkload: number, systemPrompt: string, enabled: boolean, version: number, updatedAt: string } };

export type ForceDeregisterMutationVariables = Exact<{
  instanceId: string;
}>;


export type ForceDeregisterMutation = { forceDeregisterInstance: { instanceId: string, wasActive: boolean } };

export type HealthHistoryQueryVariables = Exact<{
  agentId?: string | null | undefined;
  from?: string | null | undefined;
  to?: string | null | undefined;
  bucketSeconds?: number | null | undefined;
}>;


export type HealthHistoryQuery = { healthHistory: { from: string, to: string, bucketSeconds: number, points: Array<{ at: string, healthy: number, degraded: number, unhealthy: number, disconnected: number, unknown: number, active: number }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const InstanceRowFragmentDoc = new TypedDocumentString(`
    fragment InstanceRow on Registration {
  id
  instanceId
  name
  agentId
  registrationStatus
  healthStatus
  currentWorkload
  lastHealthCheck
  registeredAt
  reconnectCount
}
    `, {"fragmentName":"InstanceRow"}) as unknown as TypedDocumentString<InstanceRowFragment, unknown>;
export const EventRowFragmentDoc = new TypedDocumentString(`
    fragment EventRow on RegistrationEvent {
  id
  kind
  agentId
  instanceId
  healthStatus
  registrationStatus
  occurredAt
  payload
}
    `, {"fragmentName":"EventRow"}) as unknown as TypedDocumentString<EventRowFragment, unknown>;
export const ConfigurationFieldsFragmentDoc = new TypedDocumentString(`
    fragment ConfigurationFields on Configuration {
  id
  agentId
  name
  modelId
  temperature
  maxTokens
  maxWorkload
  systemPrompt
  enabled
  version
  updatedAt
}
    `, {"fragmentName":"ConfigurationFields"}) as unknown as TypedDocumentString<ConfigurationFieldsFragment, unknown>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    keyName
    role
    tenant {
      id
      name
    }
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const OverviewDocument = new TypedDocumentString(`
    query Overview($first: Int!, $after: String) {
  agentSummaries(first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      agentId
      agentType
      enabled
      activeCount
      staleCount
      ejectedCount
      lastSeenAt
      byHealth {
        healthy
        degraded
        unhealthy
        disconnected
        unknown
      }
      scaling {
        utilisation
        targetUtilisation
        desiredInstances
      }
    }
  }
  registryMetrics {
    active
    stale
    selfPreservationHeld
  }
}
    `) as unknown as TypedDocumentString<OverviewQuery, OverviewQueryVariables>;
export const AgentIdsDocument = new TypedDocumentString(`
    query AgentIds {
  agentSummaries(first: 100) {
    nodes {
      agentId
    }
  }
}
    `) as unknown as TypedDocumentString<AgentIdsQuery, AgentIdsQueryVariables>;
export const InstancesDocument = new TypedDocumentString(`
    query Instances($filter: RegistrationFilter, $orderBy: RegistrationOrder, $first: Int, $after: String) {
  registrations(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      ...InstanceRow
    }
  }
}
    fragment InstanceRow on Registration {
  id
  instanceId
  name
  agentId
  registrationStatus
  healthStatus
  currentWorkload
  lastHealthCheck
  registeredAt
  reconnectCount
}`) as unknown as TypedDocumentString<InstancesQuery, InstancesQueryVariables>;
export const InstanceDocument = new TypedDocumentString(`
    query Instance($instanceId: String!) {
  registration(instanceId: $instanceId) {
    ...InstanceRow
  }
}
    fragment InstanceRow on Registration {
  id
  instanceId
  name
  agentId
  registrationStatus
  healthStatus
  currentWorkload
  lastHealthCheck
  registeredAt
  reconnectCount
}`) as unknown as TypedDocumentString<InstanceQuery, InstanceQueryVariables>;
export const RecentEventsDocument = new TypedDocumentString(`
    query RecentEvents($first: Int, $after: String, $filter: EventHistoryFilter) {
  events(first: $first, after: $after, filter: $filter) {
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      ...EventRow
    }
  }
}
    fragment EventRow on RegistrationEvent {
  id
  kind
  agentId
  instanceId
  healthStatus
  registrationStatus
  occurredAt
  payload
}`) as unknown as TypedDocumentString<RecentEventsQuery, RecentEventsQueryVariables>;
export const LiveEventsDocument = new TypedDocumentString(`
    subscription LiveEvents($since: ID) {
  registrationEvents(since: $since) {
    ...EventRow
  }
}
    fragment EventRow on RegistrationEvent {
  id
  kind
  agentId
  instanceId
  healthStatus
  registrationStatus
  occurredAt
  payload
}`) as unknown as TypedDocumentString<LiveEventsSubscription, LiveEventsSubscriptionVariables>;
export const ConfigurationsDocument = new TypedDocumentString(`
    query Configurations {
  configurations(first: 100) {
    nodes {
      ...ConfigurationFields
    }
  }
}
    fragment ConfigurationFields on Configuration {
  id
  agentId
  name
  modelId
  temperature
  maxTokens
  maxWorkload
  systemPrompt
  enabled
  version
  updatedAt
}`) as unknown as TypedDocumentString<ConfigurationsQuery, ConfigurationsQueryVariables>;
export const ConfigurationByIdDocument = new TypedDocumentString(`
    query ConfigurationById($id: ID!) {
  configuration(id: $id) {
    ...ConfigurationFields
  }
}
    fragment ConfigurationFields on Configuration {
  id
  agentId
  name
  modelId
  temperature
  maxTokens
  maxWorkload
  systemPrompt
  enabled
  version
  updatedAt
}`) as unknown as TypedDocumentString<ConfigurationByIdQuery, ConfigurationByIdQueryVariables>;
export const UpdateConfigurationDocument = new TypedDocumentString(`
    mutation UpdateConfiguration($input: UpdateConfigurationInput!) {
  updateConfiguration(input: $input) {
    ...ConfigurationFields
  }
}
    fragment ConfigurationFields on Configuration {
  id
  agentId
  name
  modelId
  temperature
  maxTokens
  maxWorkload
  systemPrompt
  enabled
  version
  updatedAt
}`) as unknown as TypedDocumentString<UpdateConfigurationMutation, UpdateConfigurationMutationVariables>;
export const ForceDeregisterDocument = new TypedDocumentString(`
    mutation ForceDeregister($instanceId: String!) {
  forceDeregisterInstance(instanceId: $instanceId) {
    instanceId
    wasActive
  }
}
    `) as unknown as TypedDocumentString<ForceDeregisterMutation, ForceDeregisterMutationVariables>;
export const HealthHistoryDocument = new TypedDocumentString(`
    query HealthHistory($agentId: String, $from: DateTimeISO, $to: DateTimeISO, $bucketSeconds: Int) {
  healthHistory(
    agentId: $agentId
    from: $from
    to: $to
    bucketSeconds: $bucketSeconds
  ) {
    from
    to
    bucketSeconds
    points {
      at
      healthy
      degraded
      unhealthy
      disconnected
      unknown
      active
    }
  }
}
    `) as unknown as TypedDocumentString<HealthHistoryQuery, HealthHistoryQueryVariables>;