import type { LiveEvent } from '../api';
import type { View, ViewContext } from '../context';
import { h, replace } from '../dom';
import { type EventKind, RecentEventsDocument } from '../generated/graphql';

const KINDS: EventKind[] = ['registered', 'reconnected', 'health_changed', 'disconnected', 'stale', 'deregistered', 'purged', 'configuration_changed', 'self_preservation'];
/** Events kept on the page; older ones are in the `events` query's history. */
const MAX_ROWS = 300;

/**
 * The event feed, newest first: the latest events from the log, then the live ones (the
 * stream resumes with `since` after a drop: no gap, no duplicate). Filter by kind; pause
 * holds new events back and resume shows them.
 */
export function eventsView(context: ViewContext): View {
  const kind = h('select', { id: 'event-kind', name: 'event-kind' }, h('option', { value: '' }, 'All kinds'), ...KINDS.map((k) => h('option', { value: k }, k)));
  const pause = h('button', { type: 'button', 'aria-pressed': 'false', id: 'pause' }, 'Pause');
  const held = h('span', { class: 'held', 'aria-live': 'polite' });
  const list = h('ol', { class: 'feed', 'aria-label': 'Events, newest first' });
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'events-title' },
    h('h1', { id: 'events-title' }, 'Events'),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'event-kind' }, 'Kind'), kind), pause, held),
    list,
  );

  const events: LiveEvent[] = []; // newest first, all kinds
  const shown = new Set<string>();
  let paused = false;
  let pending: LiveEvent[] = [];

  const item = (event: LiveEvent) =>
    h(
      'li',
      { 'data-event-id': event.id, 'data-kind': event.kind },
      h('time', { datetime: event.occurredAt }, new Date(event.occurredAt).toLocaleTimeString()),
      h('span', { class: `kind ${event.kind}` }, event.kind),
      h('span', { class: 'what' }, [event.agentId, event.instanceId].filter(Boolean).join(' / ')),
      event.healthStatus ? h('span', { class: `health ${event.healthStatus}` }, event.healthStatus) : null,
      h('span', { class: 'id' }, `#${event.id}`),
    );
  const visible = (event: LiveEvent) => !kind.value || event.kind === kind.value;
  const renderAll = () => replace(list, ...events.filter(visible).slice(0, MAX_ROWS).map(item));

  /** Adds events given oldest first; ids already shown are skipped. */
  const add = (batch: LiveEvent[]) => {
    const fresh = batch.filter((event) => !shown.has(event.id));
    if (fresh.length === 0) return;
    for (const event of fresh) shown.add(event.id);
    const newestFirst = [...fresh].reverse();
    events.unshift(...newestFirst);
    for (const event of events.splice(MAX_ROWS * 4)) shown.delete(event.id);
    const nodes = newestFirst.filter(visible).map(item);
    list.prepend(...nodes);
    while (list.childElementCount > MAX_ROWS) list.lastElementChild!.remove();
  };

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) {
      add(pending);
      pending = [];
      held.textContent = '';
    }
  });
  kind.addEventListener('change', renderAll);

  let history: LiveEvent[] | null = null;
  const early: LiveEvent[] = [];
  void context.api.request(RecentEventsDocument, { first: 50 }).then(({ events: page }) => {
    history = page.nodes;
    add([...history].reverse());
    add(early);
  }, (error) => context.fail(error));

  const off = context.onEvent((event) => {
    if (history === null) early.push(event);
    else if (paused) {
      pending.push(event);
      held.textContent = `${pending.length} new event${pending.length === 1 ? '' : 's'} held`;
    } else add([event]);
  });
  return { element, destroy: off };
}
