import { ApiError, type LiveEvent } from '../api';
import { HEALTHS, type View, type ViewContext } from '../context';
import { ago, h, replace, throttle } from '../dom';
import {
  AgentIdsDocument,
  ForceDeregisterDocument,
  type HealthStatus,
  type InstanceRowFragment,
  InstancesDocument,
  type InstancesQuery,
  type InstancesQueryVariables,
  type RegistrationSortField,
  type RegistrationStatus,
  type SortDirection,
} from '../generated/graphql';
import { confirmDialog } from './confirm';

const STATUSES: RegistrationStatus[] = ['active', 'stale', 'deregistered'];
const SORTS: Array<{ value: string; label: string; field: RegistrationSortField; direction: SortDirection }> = [
  { value: 'instanceId-asc', label: 'Instance id (A–Z)', field: 'instanceId', direction: 'asc' },
  { value: 'instanceId-desc', label: 'Instance id (Z–A)', field: 'instanceId', direction: 'desc' },
  { value: 'lastHealthCheck-desc', label: 'Last heartbeat (newest)', field: 'lastHealthCheck', direction: 'desc' },
  { value: 'lastHealthCheck-asc', label: 'Last heartbeat (oldest)', field: 'lastHealthCheck', direction: 'asc' },
  { value: 'registeredAt-desc', label: 'Registered (newest)', field: 'registeredAt', direction: 'desc' },
  { value: 'healthStatus-asc', label: 'Health', field: 'healthStatus', direction: 'asc' },
  { value: 'agentId-asc', label: 'Agent', field: 'agentId', direction: 'asc' },
];
const PAGE_SIZES = [25, 50, 100];

/** At most one write to the table per this many milliseconds (a frame each). */
const FLUSH_MS = 250;

/** Event kinds that change an instance row. */
const INSTANCE_KINDS = new Set(['registered', 'reconnected', 'health_changed', 'disconnected', 'stale', 'deregistered', 'purged']);

/**
 * A cell's value box: one line, its size fixed by the cell (CSS `contain: size layout`), so
 * a new value is laid out inside the box alone and never makes the browser lay out the table.
 */
const value = (child: Node, className = '') => h('div', { class: `v ${className}` }, child);

/** The elements of one table row that change, and the values it shows. */
interface RowView {
  tr: HTMLTableRowElement;
  data: InstanceRowFragment | null;
  name: HTMLTableCellElement;
  agent: HTMLTableCellElement;
  status: HTMLSpanElement;
  health: HTMLSpanElement;
  workload: HTMLDivElement;
  lastHealthCheck: HTMLTimeElement;
  registeredAt: HTMLTimeElement;
  actions: HTMLTableCellElement | null;
}

function select(id: string, label: string, options: Array<[string, string]>, value: string): [HTMLLabelElement, HTMLSelectElement] {
  const element = h('select', { id, name: id }, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return [h('label', { for: id }, label), element];
}

/**
 * The instances table: filters (agent, health, status), instance-id search, sorting and
 * cursor paging on the registrations query; rows follow the live events (the changed
 * row is highlighted) and the page is re-read after events that may move rows in or out.
 */
export function instancesView(context: ViewContext): View {
  const [agentLabel, agentSelect] = select('filter-agent', 'Agent', [['', 'All agents']], '');
  const [healthLabel, healthSelect] = select('filter-health', 'Health', [['', 'Any health'], ...HEALTHS.map((x): [string, string] => [x, x])], '');
  const [statusLabel, statusSelect] = select('filter-status', 'Status', [['', 'Any status'], ...STATUSES.map((x): [string, string] => [x, x])], 'active');
  const [sortLabel, sortSelect] = select('sort', 'Sort by', SORTS.map((x): [string, string] => [x.value, x.label]), SORTS[0].value);
  const [sizeLabel, sizeSelect] = select('page-size', 'Rows per page', PAGE_SIZES.map((x): [string, string] => [String(x), String(x)]), '50');
  const search = h('input', { id: 'search', name: 'search', type: 'search', placeholder: 'part of an instance id', autocomplete: 'off', maxlength: 256 });
  const searchLabel = h('label', { for: 'search' }, 'Instance id');
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const range = h('span', { class: 'range', 'aria-live': 'polite' });
  const body = h('tbody');
  const headers = ['Instance', 'Name', 'Agent', 'Status', 'Health', 'Workload', 'Last heartbeat', 'Registered'];
  if (context.isAdmin) headers.push('Actions');
  const table = h(
    'table',
    { class: 'instances', 'aria-describedby': 'instances-range' },
    h('caption', {}, 'Instances'),
    h('colgroup', {}, ...['instance', 'name', 'agent', 'status', 'health', 'workload', 'when', 'when', ...(context.isAdmin ? ['actions'] : [])].map((c) => h('col', { class: c }))),
    h('thead', {}, h('tr', {}, ...headers.map((text) => h('th', { scope: 'col' }, text)))),
    body,
  );
  range.id = 'instances-range';
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'instances-title' },
    h('h1', { id: 'instances-title' }, 'Instances'),
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
      ...[[agentLabel, agentSelect], [healthLabel, healthSelect], [statusLabel, statusSelect], [searchLabel, search], [sortLabel, sortSelect], [sizeLabel, sizeSelect]].map(
        ([label, control]) => h('div', { class: 'field' }, label, control),
      ),
    ),
    h('div', { class: 'scroll' }, table),
    h('div', { class: 'pager' }, prev, range, next),
  );

  const rows = new Map<string, RowView>();
  let cursors: Array<string | null> = [null]; // the `after` of each page visited
  let endCursor: string | null = null;
  let loading = 0;

  const variables = (): InstancesQueryVariables => {
    const sort = SORTS.find((x) => x.value === sortSelect.value) ?? SORTS[0];
    return {
      first: Number(sizeSelect.value),
      after: cursors[cursors.length - 1],
      filter: {
        agentId: agentSelect.value || null,
        healthStatus: (healthSelect.value || null) as HealthStatus | null,
        registrationStatus: (statusSelect.value || null) as RegistrationStatus | null,
        instanceIdContains: search.value.trim() || null,
      },
      orderBy: { field: sort.field, direction: sort.direction },
    };
  };

  /** A row's elements, made once; later changes patch only the values that differ. */
  const createRow = (row: InstanceRowFragment): RowView => {
    const view: RowView = {
      tr: h('tr'),
      data: null,
      name: h('td', { class: 'clip' }),
      agent: h('td', { class: 'clip' }),
      status: h('span'),
      health: h('span'),
      workload: value(document.createTextNode('')),
      lastHealthCheck: h('time'),
      registeredAt: h('time'),
      actions: context.isAdmin ? h('td') : null,
    };
    view.tr.append(
      h('th', { scope: 'row', class: 'clip' }, h('code', {}, row.instanceId)),
      view.name,
      view.agent,
      h('td', {}, value(view.status)),
      h('td', {}, value(view.health)),
      h('td', {}, view.workload),
      h('td', {}, value(view.lastHealthCheck, 'clip')),
      h('td', { class: 'clip' }, view.registeredAt),
      ...(view.actions ? [view.actions] : []),
    );
    view.tr.dataset.instance = row.instanceId;
    patchRow(view, row);
    return view;
  };

  /**
   * Writes what changed since the row was last shown; says whether anything did. The
   * "… ago" texts are written with their timestamp (as the row was read), not as time passes.
   */
  const patchRow = (view: RowView, row: InstanceRowFragment): boolean => {
    const old = view.data;
    view.data = row;
    if (
      old &&
      old.name === row.name &&
      old.agentId === row.agentId &&
      old.registrationStatus === row.registrationStatus &&
      old.healthStatus === row.healthStatus &&
      old.currentWorkload === row.currentWorkload &&
      old.lastHealthCheck === row.lastHealthCheck &&
      old.registeredAt === row.registeredAt
    ) {
      return false;
    }
    const text = (element: HTMLElement, content: string) => {
      if (element.textContent !== content) element.textContent = content;
    };
    text(view.name, row.name ?? '');
    text(view.agent, row.agentId);
    if (old?.registrationStatus !== row.registrationStatus) {
      view.status.className = `reg-status ${row.registrationStatus}`;
      view.tr.dataset.status = row.registrationStatus;
      text(view.status, row.registrationStatus);
      if (view.actions) {
        view.actions.replaceChildren(
          row.registrationStatus === 'deregistered'
            ? ''
            : h('button', { type: 'button', class: 'danger small', 'data-action': 'force-deregister', 'aria-label': `Force-deregister ${row.instanceId}`, onclick: () => void forceDeregister(row.instanceId) }, 'Force deregister'),
        );
      }
    }
    if (old?.healthStatus !== row.healthStatus) {
      view.health.className = `health ${row.healthStatus}`;
      view.tr.dataset.health = row.healthStatus;
      text(view.health, row.healthStatus);
    }
    text(view.workload, String(row.currentWorkload));
    if (old?.lastHealthCheck !== row.lastHealthCheck) {
      view.lastHealthCheck.dateTime = row.lastHealthCheck;
      text(view.lastHealthCheck, ago(row.lastHealthCheck));
    }
    if (old?.registeredAt !== row.registeredAt) {
      view.registeredAt.dateTime = row.registeredAt;
      text(view.registeredAt, ago(row.registeredAt));
    }
    return true;
  };

  // a changed row is highlighted for 1.5 s: a class set now and taken off in a later frame
  // (an animation would repaint the table every frame while rows keep changing)
  const highlighted = new Map<HTMLTableRowElement, number>();
  let unhighlightTimer: ReturnType<typeof setTimeout> | undefined;
  const flash = (tr: HTMLTableRowElement) => {
    tr.classList.add('changed');
    highlighted.set(tr, Date.now() + 1500);
    unhighlightTimer ??= setTimeout(() => {
      unhighlightTimer = undefined;
      schedule();
    }, 500);
  };
  const unhighlight = () => {
    const now = Date.now();
    for (const [tr, until] of highlighted) {
      if (until > now) continue;
      tr.classList.remove('changed');
      highlighted.delete(tr);
    }
    if (highlighted.size > 0) {
      unhighlightTimer ??= setTimeout(() => {
        unhighlightTimer = undefined;
        schedule();
      }, 500);
    }
  };

  const showPage = (registrations: InstancesQuery['registrations']) => {
    const seen = new Set<string>();
    const initial = rows.size === 0; // the first page shown: nothing is new yet
    const trs = registrations.nodes.map((row) => {
      seen.add(row.instanceId);
      const existing = rows.get(row.instanceId);
      if (existing) {
        if (patchRow(existing, row)) flash(existing.tr);
        return existing.tr;
      }
      const view = createRow(row);
      if (!initial) flash(view.tr); // new since the page was first shown
      rows.set(row.instanceId, view);
      return view.tr;
    });
    for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
    if (trs.length === 0) replace(body, h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, 'No instance matches.')));
    else if (trs.length !== body.children.length || trs.some((tr, i) => body.children[i] !== tr)) body.replaceChildren(...trs);
    endCursor = registrations.pageInfo.endCursor;
    // written only when they change: any write outside the table lays the document out again
    if (next.disabled !== !registrations.pageInfo.hasNextPage) next.disabled = !registrations.pageInfo.hasNextPage;
    if (prev.disabled !== cursors.length <= 1) prev.disabled = cursors.length <= 1;
    const first = (cursors.length - 1) * Number(sizeSelect.value);
    const text = registrations.totalCount === 0 ? '0 instances' : `${first + 1}–${first + registrations.nodes.length} of ${registrations.totalCount}`;
    if (range.textContent !== text) range.textContent = text;
  };

  const load = async () => {
    const ticket = ++loading;
    try {
      const { registrations } = await context.api.request(InstancesDocument, variables());
      if (ticket !== loading) return; // a newer request answers
      pendingPage = registrations;
      schedule();
    } catch (error) {
      context.fail(error);
    }
  };
  const refresh = throttle(() => void load(), 400);
  const restart = () => {
    cursors = [null];
    pendingPage = null;
    rows.clear();
    void load();
  };

  // Every change to the table is written in one animation frame, at most four times a
  // second: the page just read, the live events queued since the last frame and the
  // highlights that ended. A burst costs one style, layout and paint of the table, not one
  // per event, per answer or per timer.
  let pendingPage: InstancesQuery['registrations'] | null = null;
  let queued = new Map<string, LiveEvent>();
  let frame = 0;
  let gate: ReturnType<typeof setTimeout> | undefined;
  let lastFlush = 0;
  const schedule = () => {
    if (frame || gate) return;
    const wait = lastFlush + FLUSH_MS - Date.now();
    if (wait <= 0) frame = requestAnimationFrame(flush);
    else {
      gate = setTimeout(() => {
        gate = undefined;
        frame = requestAnimationFrame(flush);
      }, wait);
    }
  };
  const flush = () => {
    frame = 0;
    lastFlush = Date.now();
    if (pendingPage) {
      showPage(pendingPage);
      pendingPage = null;
    }
    const events = queued;
    queued = new Map();
    for (const event of events.values()) {
      const row = rows.get(event.instanceId!);
      if (row?.data && event.healthStatus && event.registrationStatus) {
        // show the change at once; the re-read settles order and membership
        if (patchRow(row, { ...row.data, healthStatus: event.healthStatus, registrationStatus: event.registrationStatus })) flash(row.tr);
      }
    }
    unhighlight();
  };
  const apply = (event: LiveEvent) => {
    if (!event.instanceId || !INSTANCE_KINDS.has(event.kind)) return;
    queued.set(event.instanceId, event);
    schedule();
    refresh();
  };

  const forceDeregister = async (instanceId: string) => {
    const ok = await confirmDialog('Force-deregister this instance?', `Instance ${instanceId} will be marked deregistered; the agent has to register again.`, 'Force deregister');
    if (!ok) return;
    try {
      await context.api.request(ForceDeregisterDocument, { instanceId });
      refresh();
    } catch (error) {
      context.fail(error instanceof ApiError && error.code === 'NOT_FOUND' ? new Error(`Instance ${instanceId} is gone already.`) : error);
    }
  };

  prev.addEventListener('click', () => {
    cursors.pop();
    void load();
  });
  next.addEventListener('click', () => {
    cursors.push(endCursor);
    void load();
  });
  for (const control of [agentSelect, healthSelect, statusSelect, sortSelect, sizeSelect]) control.addEventListener('change', restart);
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(restart, 250);
  });

  void context.api.request(AgentIdsDocument).then(({ agentSummaries }) => {
    for (const agent of agentSummaries.nodes) agentSelect.append(h('option', { value: agent.agentId }, agent.agentId));
  }, (error) => context.fail(error));
  void load();
  const off = context.onEvent(apply);
  return {
    element,
    destroy() {
      off();
      cancelAnimationFrame(frame);
      clearTimeout(gate);
      clearTimeout(unhighlightTimer);
      clearTimeout(searchTimer);
    },
  };
}
