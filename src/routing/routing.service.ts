import type { Clock } from '../clock';
import type { Queryable } from '../db/client';
import { AppError, ErrorCode, badInput, notFound } from '../errors';
import { checkAgentId, checkCapabilities, checkInteger, checkString } from '../validation';
import type { OutcomeWriter } from './outcome-writer';
import type { RoutingMetrics } from './routing-metrics';
import {
  type CircuitRow,
  type CircuitState,
  type InstanceOutcome,
  type OutcomeResult,
  type PickOutcome,
  circuitsOf,
  pickInstance,
} from './routing-sql';

export interface PickInstanceRequest {
  agentId: unknown;
  affinityKey?: unknown;
  exclude?: unknown;
  capabilities?: unknown;
  fallbacks?: unknown;
}

export interface RoutingOptions {
  /** ε of the affinity load bound. */
  affinityEpsilon: number;
  /** A half-open probe without an outcome expires after this long. */
  probeTimeoutMs: number;
  /** The base ejection time: also the step of the ejection count's decay while closed. */
  baseEjectionMs: number;
}

export interface RoutingDeps {
  db: Queryable;
  outcomes: OutcomeWriter;
  metrics: RoutingMetrics;
  options: RoutingOptions;
  clock?: Clock;
}

/** A picked instance with its fallbacks (a PickOutcome whose chosen instance exists). */
export type Picked = PickOutcome & { chosen: NonNullable<PickOutcome['chosen']> };

export interface OutcomeAck {
  registrationId: string;
  result: Exclude<OutcomeResult, 'not_found' | 'invalid'>;
  circuit: CircuitState;
}

/** The circuit of one registration as readers see it. */
export interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  ejectionCount: number;
  ejectedAt: Date | null;
  ejectedUntil: Date | null;
  probeInFlight: boolean;
}

const OUTCOMES: readonly InstanceOutcome[] = ['success', 'failure', 'timeout'];
/** Most reports in one `agent.report_outcomes` message. */
export const MAX_REPORTS_PER_CALL = 500;
const MAX_FALLBACKS = 10;
const DEFAULT_FALLBACKS = 3;

/**
 * Routing, whatever the transport (GraphQL, the agent WebSocket): which instance should
 * take a request (mcp.pick_instance, one round trip), and circuit breaking from the
 * outcomes callers report (group commit through the {@link OutcomeWriter}). Validates
 * input; `tenantId` is always the caller's, checked by the transport.
 */
export class RoutingService {
  private readonly loaders = new WeakMap<object, CircuitLoader>();

  constructor(private readonly deps: RoutingDeps) {}

  /** The instance to send a request to, and fallbacks; NO_HEALTHY_INSTANCE (with counts) when none is eligible. */
  async pick(tenantId: string, request: PickInstanceRequest): Promise<Picked> {
    const agentId = checkAgentId(request.agentId);
    const affinityKey =
      request.affinityKey === undefined || request.affinityKey === null
        ? null
        : checkText(request.affinityKey, 'affinityKey');
    const exclude = checkInstanceIds(request.exclude, 'exclude');
    const capabilities = checkCapabilities(request.capabilities) ?? [];
    const fallbacks =
      request.fallbacks === undefined || request.fallbacks === null
        ? DEFAULT_FALLBACKS
        : checkInteger(request.fallbacks, 'fallbacks', 0, MAX_FALLBACKS);

    const end = this.deps.metrics.pickDuration.startTimer();
    const outcome = await pickInstance(this.deps.db, {
      tenantId,
      agentId,
      affinityKey,
      exclude,
      capabilities,
      fallbacks,
      epsilon: this.deps.options.affinityEpsilon,
      probeTimeoutMs: this.deps.options.probeTimeoutMs,
      now: this.deps.clock?.now(),
    });
    end();
    if (!outcome.chosen) {
      this.deps.metrics.picks.inc({ result: 'none' });
      throw new AppError(
        ErrorCode.NO_HEALTHY_INSTANCE,
        `no instance of ${agentId} can take a request now (${describe(outcome.counts)})`,
        { counts: outcome.counts },
      );
    }
    this.deps.metrics.picks.inc({ result: 'picked' });
    return outcome as Picked;
  }

  /**
   * Reports how a request sent to an instance went; acknowledged after its batch committed.
   * NOT_FOUND when the tenant has no active instance of that id.
   */
  async reportOutcome(tenantId: string, instanceIdValue: unknown, outcomeValue: unknown): Promise<OutcomeAck> {
    const instanceId = checkText(instanceIdValue, 'instanceId');
    if (typeof outcomeValue !== 'string' || !OUTCOMES.includes(outcomeValue as InstanceOutcome)) {
      throw badInput(`outcome must be one of ${OUTCOMES.join(', ')}`, 'outcome');
    }
    const outcome = outcomeValue as InstanceOutcome;
    const report = await this.deps.outcomes.submit({ tenantId, instanceId, outcome });
    if (report.result === 'not_found' || report.result === 'invalid' || !report.registrationId || !report.circuit) {
      throw notFound(`active instance ${instanceId}`);
    }
    this.deps.metrics.outcomes.inc({ outcome });
    return { registrationId: report.registrationId, result: report.result, circuit: report.circuit };
  }

  /**
   * Several reports at once (`agent.report_outcomes`): all checked first (one bad report
   * refuses the whole list, and nothing is stored), then submitted together, so they share a
   * group-commit batch. One answer per report, in order: the ack, or `notFound` when the
   * tenant has no active instance of that id (the others are stored all the same).
   */
  async reportOutcomes(
    tenantId: string,
    reportsValue: unknown,
  ): Promise<Array<{ instanceId: string; ack: OutcomeAck | null }>> {
    if (!Array.isArray(reportsValue) || reportsValue.length < 1 || reportsValue.length > MAX_REPORTS_PER_CALL) {
      throw badInput(`reports must be a list of 1 to ${MAX_REPORTS_PER_CALL} reports`, 'reports');
    }
    const items = reportsValue.map((report: unknown, i) => {
      if (report === null || typeof report !== 'object' || Array.isArray(report)) {
        throw badInput(`reports[${i}] must be an object with instance_id and outcome`, `reports[${i}]`);
      }
      const { instance_id: instanceIdValue, outcome } = report as Record<string, unknown>;
      const instanceId = checkText(instanceIdValue, `reports[${i}].instance_id`);
      if (typeof outcome !== 'string' || !OUTCOMES.includes(outcome as InstanceOutcome)) {
        throw badInput(`reports[${i}].outcome must be one of ${OUTCOMES.join(', ')}`, `reports[${i}].outcome`);
      }
      return { tenantId, instanceId, outcome: outcome as InstanceOutcome };
    });
    const stored = await this.deps.outcomes.submitMany(items);
    // the counter once per outcome and message, not once per report (a message holds hundreds)
    let successes = 0;
    let failures = 0;
    let timeouts = 0;
    const answers = stored.map((report, i) => {
      const { instanceId, outcome } = items[i];
      if (report.result === 'not_found' || report.result === 'invalid' || !report.registrationId || !report.circuit) {
        return { instanceId, ack: null };
      }
      if (outcome === 'success') successes++;
      else if (outcome === 'failure') failures++;
      else timeouts++;
      return { instanceId, ack: { registrationId: report.registrationId, result: report.result, circuit: report.circuit } };
    });
    if (successes > 0) this.deps.metrics.outcomes.inc({ outcome: 'success' }, successes);
    if (failures > 0) this.deps.metrics.outcomes.inc({ outcome: 'failure' }, failures);
    if (timeouts > 0) this.deps.metrics.outcomes.inc({ outcome: 'timeout' }, timeouts);
    return answers;
  }

  /**
   * The circuit of a registration of `tenantId`. Calls made with the same `scope` (one
   * GraphQL operation) in the same tick are answered by one query.
   */
  circuitOf(scope: object, tenantId: string, registrationId: string): Promise<Circuit> {
    let loader = this.loaders.get(scope);
    if (!loader) {
      loader = new CircuitLoader(this.deps.db);
      this.loaders.set(scope, loader);
    }
    return loader
      .load(tenantId, registrationId)
      .then((row) => toCircuit(row, this.now(), this.deps.options));
  }

  private now(): Date {
    return this.deps.clock?.now() ?? new Date();
  }
}

/** Batches circuit reads of one operation: the ids asked for in one tick, one query per tenant. */
class CircuitLoader {
  private pending = new Map<string, Map<string, Array<(row: CircuitRow | null) => void>>>();
  private scheduled = false;
  private failures: Array<(error: unknown) => void> = [];

  constructor(private readonly db: Queryable) {}

  load(tenantId: string, registrationId: string): Promise<CircuitRow | null> {
    return new Promise((resolve, reject) => {
      let byId = this.pending.get(tenantId);
      if (!byId) this.pending.set(tenantId, (byId = new Map()));
      const waiting = byId.get(registrationId) ?? [];
      waiting.push(resolve);
      byId.set(registrationId, waiting);
      this.failures.push(reject);
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    const pending = this.pending;
    const failures = this.failures;
    this.pending = new Map();
    this.failures = [];
    this.scheduled = false;
    try {
      for (const [tenantId, byId] of pending) {
        const rows = await circuitsOf(this.db, tenantId, [...byId.keys()]);
        const found = new Map(rows.map((row) => [row.registration_id, row]));
        for (const [id, waiting] of byId) for (const resolve of waiting) resolve(found.get(id) ?? null);
      }
    } catch (error) {
      for (const reject of failures) reject(error);
    }
  }
}

/**
 * The circuit as callers see it. Its ejection count is the one the next ejection would start
 * from: the stored count less one for every base ejection time the circuit has stayed closed
 * since its last restore (mcp.report_instance_outcomes applies the same decay when it ejects).
 */
function toCircuit(row: CircuitRow | null, now: Date, options: Pick<RoutingOptions, 'probeTimeoutMs' | 'baseEjectionMs'>): Circuit {
  if (!row) {
    return { state: 'closed', consecutiveFailures: 0, ejectionCount: 0, ejectedAt: null, ejectedUntil: null, probeInFlight: false };
  }
  const state: CircuitState =
    row.ejected_until === null ? 'closed' : row.ejected_until.getTime() > now.getTime() ? 'open' : 'half_open';
  return {
    state,
    consecutiveFailures: row.consecutive_failures,
    ejectionCount:
      state === 'closed' && row.restored_at !== null
        ? Math.max(0, row.ejection_count - Math.floor((now.getTime() - row.restored_at.getTime()) / options.baseEjectionMs))
        : row.ejection_count,
    ejectedAt: row.ejected_at,
    ejectedUntil: row.ejected_until,
    probeInFlight:
      state === 'half_open' &&
      row.probe_started_at !== null &&
      row.probe_started_at.getTime() > now.getTime() - options.probeTimeoutMs,
  };
}

function checkInstanceIds(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 100) throw badInput(`${field} must be a list of at most 100 instance ids`, field);
  value.forEach((item, i) => checkText(item, `${field}[${i}]`));
  return value as string[];
}

/** An instance id or affinity key: 1 to 256 characters PostgreSQL can store (no NUL). */
const checkText = (value: unknown, field: string): string => checkString(value, field, 256, 1);

function describe(counts: PickOutcome['counts']): string {
  if (counts.instances === 0) return 'it has no instances in your tenant';
  const parts = Object.entries(counts)
    .filter(([key, value]) => value > 0 && key !== 'instances' && key !== 'eligible')
    .map(([key, value]) => `${key}: ${value}`);
  return `${counts.instances} instances; ${parts.join(', ')}`;
}
