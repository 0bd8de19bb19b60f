import type { View, ViewContext } from '../context';
import { ago, h, replace, throttle } from '../dom';
import { OverviewDocument, type OverviewQuery } from '../generated/graphql';
import { healthBar } from './health-bar';

/** Kinds that change what the overview shows. */
const RELEVANT = new Set(['registered', 'reconnected', 'health_changed', 'disconnected', 'stale', 'deregistered', 'purged', 'configuration_changed', 'self_preservation']);

/**
 * Per agent type: active count, a bar by health, stale count, last seen; a banner while
 * the stale sweep holds back for the tenant (self-preservation). Refreshed on live events.
 */
export function overviewView(context: ViewContext): View {
  const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  const totals = h('p', { class: 'totals' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'overview' },
    h('caption', {}, 'Agent types of your tenant'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Agent'),
        h('th', { scope: 'col', class: 'num' }, 'Active'),
        h('th', { scope: 'col' }, 'By health'),
        h('th', { scope: 'col', class: 'num' }, 'Stale'),
        h('th', { scope: 'col' }, 'Last seen'),
        // routing (ejected instances, the scaling signal) adds its columns here once it lands
      ),
    ),
    body,
  );
  const element = h('section', { class: 'view', 'aria-labelledby': 'overview-title' }, h('h1', { id: 'overview-title' }, 'Overview'), banner, totals, h('div', { class: 'scroll' }, table));

  const show = (data: OverviewQuery) => {
    const metrics = data.registryMetrics;
    banner.hidden = !metrics.selfPreservationHeld;
    banner.textContent = metrics.selfPreservationHeld
      ? 'Self-preservation: the stale sweep is holding back for this tenant — more instances stopped heartbeating than expected (a network problem?), so they are not marked stale for now.'
      : '';
    totals.textContent = `${metrics.active} active · ${metrics.stale} stale · ${data.agentSummaries.totalCount} agent types`;
    if (data.agentSummaries.nodes.length === 0) {
      replace(body, h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No agent has registered yet.')));
      return;
    }
    replace(
      body,
      ...data.agentSummaries.nodes.map((agent) =>
        h(
          'tr',
          { 'data-agent': agent.agentId },
          h('th', { scope: 'row' }, h('span', { class: 'agent-id' }, agent.agentId), agent.enabled ? null : h('span', { class: 'tag' }, 'disabled'), h('div', { class: 'sub' }, agent.agentType)),
          h('td', { class: 'num', 'data-field': 'active' }, agent.activeCount),
          h('td', {}, healthBar(agent.byHealth)),
          h('td', { class: 'num', 'data-field': 'stale' }, agent.staleCount),
          h('td', { 'data-field': 'last-seen' }, h('time', { datetime: agent.lastSeenAt ?? '' }, ago(agent.lastSeenAt))),
        ),
      ),
    );
  };
  const load = () => context.api.request(OverviewDocument).then(show, (error) => context.fail(error));
  const refresh = throttle(() => void load(), 500);
  void load();
  const off = context.onEvent((event) => {
    if (RELEVANT.has(event.kind)) refresh();
  });
  return { element, destroy: off };
}
