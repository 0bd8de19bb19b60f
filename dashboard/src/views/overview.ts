import type { View, ViewContext } from '../context';
import { ago, h, replace, throttle } from '../dom';
import { OverviewDocument, type OverviewQuery } from '../generated/graphql';
import { healthBar } from './health-bar';

type AgentRow = OverviewQuery['agentSummaries']['nodes'][number];

/** Kinds that change what the overview shows. */
const RELEVANT = new Set([
  'registered',
  'reconnected',
  'health_changed',
  'disconnected',
  'stale',
  'deregistered',
  'purged',
  'configuration_changed',
  'self_preservation',
  'ejected',
  'restored',
  'scaling_recommended',
]);

/** The columns: header text, and the label each cell carries when a narrow screen stacks a row. */
const COLUMNS = ['Agent', 'Active', 'By health', 'Ejected', 'Utilisation', 'Desired', 'Stale', 'Last seen'] as const;

/** Agent types per request: 100 with every column would exceed the API's complexity limit. */
const PAGE_SIZE = 50;
/** At most this many pages (2,500 agent types) per refresh. */
const MAX_PAGES = 50;

const percent = (ratio: number) => `${Math.round(ratio * 100)} %`;

/** Desired instances against the active ones, in words. */
function scaleHint(desired: number, active: number): string {
  if (desired > active) return `scale up +${desired - active}`;
  if (desired < active) return `scale down −${active - desired}`;
  return 'steady';
}

function row(agent: AgentRow): HTMLTableRowElement {
  const scaling = agent.scaling;
  const cell = (label: (typeof COLUMNS)[number], field: string, className: string, ...children: Array<Node | string | number | null>) =>
    h('td', { class: className, 'data-field': field, 'data-label': label }, ...children);
  return h(
    'tr',
    { 'data-agent': agent.agentId },
    h('th', { scope: 'row' }, h('span', { class: 'agent-id' }, agent.agentId), agent.enabled ? null : h('span', { class: 'tag' }, 'disabled'), h('div', { class: 'sub' }, agent.agentType)),
    cell('Active', 'active', 'num', agent.activeCount),
    cell('By health', 'health', 'bar', healthBar(agent.byHealth)),
    cell('Ejected', 'ejected', agent.ejectedCount > 0 ? 'num ejected' : 'num', agent.ejectedCount),
    scaling
      ? cell('Utilisation', 'utilisation', scaling.utilisation > scaling.targetUtilisation ? 'num over' : 'num', percent(scaling.utilisation), h('div', { class: 'sub' }, `target ${percent(scaling.targetUtilisation)}`))
      : cell('Utilisation', 'utilisation', 'num', '—', h('div', { class: 'sub' }, 'not computed yet')),
    scaling
      ? cell('Desired', 'desired', 'num', scaling.desiredInstances, h('div', { class: 'sub' }, scaleHint(scaling.desiredInstances, agent.activeCount)))
      : cell('Desired', 'desired', 'num', '—'),
    cell('Stale', 'stale', 'num', agent.staleCount),
    cell('Last seen', 'last-seen', 'when', h('time', { datetime: agent.lastSeenAt ?? '' }, ago(agent.lastSeenAt))),
  );
}

/**
 * Per agent type: active count, a bar by health, instances ejected by circuit breaking,
 * the scaling signal (utilisation, desired instances against the active ones), stale count,
 * last seen; a banner while the stale sweep holds back for the tenant (self-preservation).
 * Refreshed on live events. On a narrow screen each row stacks into a labelled card.
 */
export function overviewView(context: ViewContext): View {
  const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  const totals = h('p', { class: 'totals' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'overview', 'aria-describedby': 'overview-help' },
    h('caption', {}, 'Agent types of your tenant'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((text, i) => h('th', { scope: 'col', class: i === 0 || i === 2 || i === 7 ? null : 'num' }, text)))),
    body,
  );
  const help = h(
    'p',
    { id: 'overview-help', class: 'help' },
    'Ejected: active instances that circuit breaking keeps out of routing (open, or half-open until a probe succeeds). ' +
      'Utilisation: the workload the active instances report, over their capacity. Desired: the instance count the scaling signal recommends. ' +
      'Utilisation and desired are as the registry last computed them.',
  );
  const element = h('section', { class: 'view', 'aria-labelledby': 'overview-title' }, h('h1', { id: 'overview-title' }, 'Overview'), banner, totals, h('div', { class: 'scroll' }, table), help);

  const show = (metrics: OverviewQuery['registryMetrics'], totalCount: number, agents: AgentRow[]) => {
    banner.hidden = !metrics.selfPreservationHeld;
    banner.textContent = metrics.selfPreservationHeld
      ? 'Self-preservation: the stale sweep is holding back for this tenant — more instances stopped heartbeating than expected (a network problem?), so they are not marked stale for now.'
      : '';
    totals.textContent = `${metrics.active} active · ${metrics.stale} stale · ${totalCount} agent types`;
    if (agents.length === 0) {
      replace(body, h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'No agent has registered yet.')));
      return;
    }
    replace(body, ...agents.map(row));
  };
  // every page, then one render; an answer overtaken by a newer load is dropped
  let loading = 0;
  const load = async () => {
    const ticket = ++loading;
    try {
      const first = await context.api.request(OverviewDocument, { first: PAGE_SIZE });
      const agents = [...first.agentSummaries.nodes];
      let page = first.agentSummaries.pageInfo;
      for (let n = 1; page.hasNextPage && n < MAX_PAGES && ticket === loading; n++) {
        const next = await context.api.request(OverviewDocument, { first: PAGE_SIZE, after: page.endCursor });
        agents.push(...next.agentSummaries.nodes);
        page = next.agentSummaries.pageInfo;
      }
      if (ticket === loading) show(first.registryMetrics, first.agentSummaries.totalCount, agents);
    } catch (error) {
      context.fail(error);
    }
  };
  const refresh = throttle(() => void load(), 500);
  void load();
  const off = context.onEvent((event) => {
    if (RELEVANT.has(event.kind)) refresh();
  });
  return { element, destroy: off };
}
