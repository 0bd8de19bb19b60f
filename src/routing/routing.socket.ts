import { toErrorBody } from '../agents-ws/errors';
import type { ErrorBody } from '../agents-ws/protocol';
import { notFound } from '../errors';
import type { PickedRow } from './routing-sql';
import type { RoutingService } from './routing.service';

/**
 * The agent WebSocket's routing methods (`agent.pick`, `agent.report_outcome`), so that an
 * agent can delegate work to a peer and say how it went: snake_case params and results
 * around the same {@link RoutingService} GraphQL uses.
 */

/** Params of `agent.pick`. */
export interface PickParams {
  agent_id: string;
  affinity_key?: string;
  exclude?: string[];
  capabilities?: string[];
  /** 0 to 10, default 3. */
  fallbacks?: number;
}

export interface PickedInstanceResult {
  registration_id: string;
  instance_id: string;
  health_status: string;
  current_workload: number;
  max_workload: number;
  connection_details: Record<string, unknown>;
}

/** Result of `agent.pick`; NO_HEALTHY_INSTANCE (4008, `data.counts`) when none is eligible. */
export interface PickResultMessage {
  instance: PickedInstanceResult;
  fallbacks: PickedInstanceResult[];
  /** The instance is half-open and this request is its probe: report the outcome. */
  probe: boolean;
  affinity_capacity: number | null;
  counts: Record<string, number>;
}

/** Params of `agent.report_outcome`: the instance the request went to (any of the tenant's). */
export interface ReportOutcomeParams {
  instance_id: string;
  outcome: 'success' | 'failure' | 'timeout';
}

export interface ReportOutcomeResult {
  registration_id: string;
  instance_id: string;
  result: 'recorded' | 'ejected' | 'restored' | 'held';
  circuit: 'closed' | 'open' | 'half_open';
}

const snake = (row: PickedRow): PickedInstanceResult => ({
  registration_id: row.registrationId,
  instance_id: row.instanceId,
  health_status: row.healthStatus,
  current_workload: row.currentWorkload,
  max_workload: row.maxWorkload,
  connection_details: row.connectionDetails,
});

/** `agent.pick` for an authenticated tenant. */
export async function pickOverSocket(
  routing: RoutingService,
  tenantId: string,
  params: Record<string, unknown>,
): Promise<PickResultMessage> {
  const picked = await routing.pick(tenantId, {
    agentId: params.agent_id,
    affinityKey: params.affinity_key,
    exclude: params.exclude,
    capabilities: params.capabilities,
    fallbacks: params.fallbacks,
  });
  return {
    instance: snake(picked.chosen),
    fallbacks: picked.fallbacks.map(snake),
    probe: picked.probe,
    affinity_capacity: picked.capacity,
    counts: { ...picked.counts },
  };
}

/** `agent.report_outcome` for an authenticated tenant; acknowledged after commit. */
export async function reportOutcomeOverSocket(
  routing: RoutingService,
  tenantId: string,
  params: Record<string, unknown>,
): Promise<ReportOutcomeResult> {
  const ack = await routing.reportOutcome(tenantId, params.instance_id, params.outcome);
  return {
    registration_id: ack.registrationId,
    instance_id: params.instance_id as string,
    result: ack.result,
    circuit: ack.circuit,
  };
}

/** Params of `agent.report_outcomes`: several reports in one message (at most 500). */
export interface ReportOutcomesParams {
  reports: ReportOutcomeParams[];
}

/** One answer of `agent.report_outcomes`, in the order of the reports. */
export type ReportOutcomesItem = ReportOutcomeResult | { instance_id: string; error: ErrorBody };

export interface ReportOutcomesResult {
  results: ReportOutcomesItem[];
}

/**
 * `agent.report_outcomes` for an authenticated tenant: a caller that routes many requests
 * sends the outcomes it collected while its previous message was in flight (as the
 * TypeScript client does), one message and one acknowledgement for all of them. A bad report
 * refuses the whole message (nothing stored); an unknown instance is a NOT_FOUND item.
 */
export async function reportOutcomesOverSocket(
  routing: RoutingService,
  tenantId: string,
  params: Record<string, unknown>,
): Promise<ReportOutcomesResult> {
  const answers = await routing.reportOutcomes(tenantId, params.reports);
  return {
    results: answers.map(({ instanceId, ack }) =>
      ack === null
        ? { instance_id: instanceId, error: toErrorBody(notFound(`active instance ${instanceId}`)).body }
        : { registration_id: ack.registrationId, instance_id: instanceId, result: ack.result, circuit: ack.circuit },
    ),
  };
}
