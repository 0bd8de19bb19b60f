import './style.css';
import { Api, ApiError, EventStream, type LiveEvent, isAuthError } from './api';
import type { View, ViewContext } from './context';
import { h, replace } from './dom';
import { MeDocument, RecentEventsDocument } from './generated/graphql';
import { forgetKey, storeKey, storedKey } from './session';
import { configurationsView } from './views/configurations';
import { eventsView } from './views/events';
import { historyView } from './views/history';
import { instancesView } from './views/instances';
import { overviewView } from './views/overview';

const root = document.getElementById('app')!;

const TABS = [
  { id: 'overview', label: 'Overview', view: overviewView, admin: false },
  { id: 'instances', label: 'Instances', view: instancesView, admin: false },
  { id: 'health', label: 'Health over time', view: historyView, admin: false },
  { id: 'events', label: 'Events', view: eventsView, admin: false },
  { id: 'configurations', label: 'Configurations', view: configurationsView, admin: true },
] as const;

/** The sign-in form; `message` explains why it is shown again (wrong or revoked key). */
function showSignIn(message?: string): void {
  document.title = 'Sign in · Agent Registry';
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'sign-in-help',
  });
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' }, message ?? '');
  if (!message) error.hidden = true;
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Agent Registry'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'sign-in-help', class: 'help' }, 'A viewer or admin key of your tenant. It is kept in this tab only and sent only to this registry.'),
    error,
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    void signIn(key).then((problem) => {
      if (!problem) return;
      button.disabled = false;
      error.textContent = problem;
      error.hidden = false;
      input.select();
    });
  });
  replace(root, h('main', { class: 'sign-in-page' }, form));
  input.focus();
}

/** Checks the key with `me`; returns what is wrong, or null once signed in. */
async function signIn(key: string): Promise<string | null> {
  const api = new Api(key);
  try {
    const { me } = await api.request(MeDocument);
    if (me.role !== 'viewer' && me.role !== 'admin') {
      return `This is ${me.role === 'agent' ? 'an agent' : 'an operator'} key. Sign in with a viewer or admin key of a tenant.`;
    }
    storeKey(key);
    await startApp(api, key, me);
    return null;
  } catch (error) {
    if (isAuthError(error)) return 'That API key is not valid or has been revoked.';
    return error instanceof ApiError ? `Cannot sign in: ${error.message}` : 'Cannot sign in.';
  }
}

let teardown: (() => void) | null = null;

function signOut(message?: string): void {
  teardown?.();
  teardown = null;
  forgetKey();
  location.hash = '';
  showSignIn(message);
}

async function startApp(api: Api, key: string, me: ViewContext['me']): Promise<void> {
  const isAdmin = me.role === 'admin';
  const listeners = new Set<(event: LiveEvent) => void>();
  const status = h('p', { class: 'status', role: 'status' });
  const connection = h('span', { class: 'connection', 'data-state': 'connecting' }, 'connecting…');
  let current: View | null = null;
  let revoked = false;

  const context: ViewContext = {
    api,
    me,
    isAdmin,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fail(error) {
      if (isAuthError(error)) {
        revoked = true;
        signOut('Signed out: your API key is no longer valid (revoked or deleted).');
        return;
      }
      status.textContent = error instanceof Error ? error.message : String(error);
    },
  };

  // live events from the newest one in the log on: the views load their state, then follow
  let since: string | null = null;
  try {
    const { events } = await api.request(RecentEventsDocument, { first: 1 });
    since = events.nodes[0]?.id ?? null;
  } catch (error) {
    context.fail(error);
    if (revoked) return;
  }
  const stream = new EventStream({
    key,
    since,
    onEvent: (event) => {
      for (const listener of listeners) listener(event);
    },
    onState: (state) => {
      connection.dataset.state = state;
      connection.textContent = state === 'live' ? 'live' : 'reconnecting…';
    },
    onRefused: () => signOut('Signed out: your API key is no longer valid (revoked or deleted).'),
  });
  stream.start();

  const tabs = TABS.filter((tab) => isAdmin || !tab.admin);
  const nav = h('nav', { 'aria-label': 'Views' });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const render = () => {
    const id = location.hash.slice(1) || 'overview';
    const tab = tabs.find((t) => t.id === id) ?? tabs[0];
    current?.destroy();
    status.textContent = '';
    current = tab.view(context);
    replace(main, current.element);
    document.title = `${tab.label} · Agent Registry`;
    replace(
      nav,
      ...tabs.map((t) => h('a', { href: `#${t.id}`, 'aria-current': t === tab ? 'page' : null }, t.label)),
    );
  };
  window.addEventListener('hashchange', render);
  teardown = () => {
    window.removeEventListener('hashchange', render);
    stream.stop();
    current?.destroy();
    listeners.clear();
  };

  const header = h(
    'header',
    {},
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('span', { class: 'brand' }, 'Agent Registry'),
    h('span', { class: 'who', 'data-role': me.role }, `${me.tenant?.name ?? ''} · ${me.role} · ${me.keyName}`),
    connection,
    h('button', { type: 'button', class: 'sign-out', onclick: () => signOut() }, 'Sign out'),
  );
  replace(root, header, nav, status, main);
  render();
}

const key = storedKey();
if (key) {
  void signIn(key).then((problem) => {
    if (problem) signOut(problem);
  });
} else {
  showSignIn();
}
