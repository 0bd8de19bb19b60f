import { HEALTHS, type View, type ViewContext } from '../context';
import { h, replace, s, throttle } from '../dom';
import { AgentIdsDocument, HealthHistoryDocument, type HealthHistoryQuery } from '../generated/graphql';

const RANGES = [
  { value: '1h', label: 'Last hour', seconds: 3600, bucket: 60 },
  { value: '24h', label: 'Last 24 hours', seconds: 86_400, bucket: 900 },
];
const INSTANCE_KINDS = new Set(['registered', 'reconnected', 'health_changed', 'disconnected', 'stale', 'deregistered', 'purged']);
const WIDTH = 800;
const HEIGHT = 240;
const PAD = { left: 40, right: 10, top: 10, bottom: 24 };

type Points = HealthHistoryQuery['healthHistory']['points'];

/** A stacked area chart (inline SVG) of active instances by health, with a table equivalent. */
function chart(points: Points): SVGElement {
  const max = Math.max(1, ...points.map((p) => p.active));
  const x = (i: number) => PAD.left + (i * (WIDTH - PAD.left - PAD.right)) / Math.max(1, points.length - 1);
  const y = (v: number) => HEIGHT - PAD.bottom - (v * (HEIGHT - PAD.top - PAD.bottom)) / max;
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': 'Active instances by health over time' });
  const below = points.map(() => 0);
  for (const health of HEALTHS) {
    const top = points.map((p, i) => below[i] + p[health]);
    if (top.every((v, i) => v === below[i])) continue;
    const upper = top.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    const lower = below.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).reverse();
    svg.append(s('polygon', { points: [...upper, ...lower].join(' '), class: `area ${health}` }, s('title', {}, health)));
    top.forEach((v, i) => (below[i] = v));
  }
  for (const tick of [0, Math.round(max / 2), max]) {
    svg.append(s('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    svg.append(s('text', { x: PAD.left - 6, y: y(tick) + 4, class: 'tick', 'text-anchor': 'end' }, tick));
  }
  if (points.length > 0) {
    const label = (i: number) => new Date(points[i].at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    svg.append(s('text', { x: x(0), y: HEIGHT - 6, class: 'tick' }, label(0)));
    svg.append(s('text', { x: x(points.length - 1), y: HEIGHT - 6, class: 'tick', 'text-anchor': 'end' }, label(points.length - 1)));
  }
  return svg;
}

/** Health over time for the last hour or day, per agent type (or all), re-read on live events. */
export function historyView(context: ViewContext): View {
  const agent = h('select', { id: 'history-agent', name: 'history-agent' }, h('option', { value: '' }, 'All agents'));
  const range = h('select', { id: 'history-range', name: 'history-range' }, ...RANGES.map((r) => h('option', { value: r.value }, r.label)));
  const figure = h('figure', { class: 'history' });
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' }, ...HEALTHS.map((x) => h('li', {}, h('span', { class: `swatch ${x}` }), x)));
  const now = h('p', { class: 'now', 'aria-live': 'polite' });
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'history-title' },
    h('h1', { id: 'history-title' }, 'Health over time'),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'history-agent' }, 'Agent'), agent), h('div', { class: 'field' }, h('label', { for: 'history-range' }, 'Range'), range)),
    figure,
    legend,
    now,
  );
  let ticket = 0;
  const load = async () => {
    const mine = ++ticket;
    const chosen = RANGES.find((r) => r.value === range.value) ?? RANGES[0];
    try {
      const { healthHistory } = await context.api.request(HealthHistoryDocument, {
        agentId: agent.value || null,
        from: new Date(Date.now() - chosen.seconds * 1000).toISOString(),
        bucketSeconds: chosen.bucket,
      });
      if (mine !== ticket) return;
      const points = healthHistory.points;
      replace(figure, chart(points), h('figcaption', {}, `Active instances by health, ${chosen.label.toLowerCase()}, one point per ${chosen.bucket / 60} min.`));
      const last = points[points.length - 1];
      now.textContent = last ? `Now: ${last.active} active — ${HEALTHS.map((x) => `${last[x]} ${x}`).join(', ')}` : '';
    } catch (error) {
      context.fail(error);
    }
  };
  const refresh = throttle(() => void load(), 2000);
  agent.addEventListener('change', () => void load());
  range.addEventListener('change', () => void load());
  void context.api.request(AgentIdsDocument).then(({ agentSummaries }) => {
    for (const a of agentSummaries.nodes) agent.append(h('option', { value: a.agentId }, a.agentId));
  }, (error) => context.fail(error));
  void load();
  const off = context.onEvent((event) => {
    if (INSTANCE_KINDS.has(event.kind)) refresh();
  });
  return { element, destroy: off };
}
