// The app shell: session start, the mailbox navigation with unread badges,
// the connection state, the outbox of unsent messages, the router and the
// realtime events that keep every view current.
import * as api from './api.js';
import * as session from './session.js';
import * as pending from './pending.js';
import * as people from './people.js';
import { Live } from './live.js';
import { noteTyping } from './typing.js';
import { h, append, announce, debounce, visuallyHidden } from './dom.js';
import { setTimeZone } from './time.js';
import { signInView } from './view-signin.js';
import { boxView, BOXES } from './view-box.js';
import { messageView } from './view-message.js';
import { composeView } from './view-compose.js';
import { devOutboxView } from './view-devoutbox.js';
import { deliveriesView } from './view-deliveries.js';
import { auditView } from './view-audit.js';
import { accountView } from './view-account.js';
import { mfaSetupPage } from './account-mfa.js';
import { alertView } from './view-alert.js';
import { approvalsView } from './view-approvals.js';
import { rosterView } from './view-roster.js';
import { settingsView } from './view-settings.js';
import { legalHoldsView } from './view-legal-holds.js';
import { peopleView } from './view-people.js';
import { locationsView } from './view-locations.js';
import { studentsView } from './view-students.js';
import { studentView } from './view-student.js';
import { studentLogView } from './view-student-log.js';
import { recordsView } from './view-records.js';
import { disclosuresView } from './view-disclosures.js';
import { groupsView } from './view-groups.js';
import { groupView } from './view-group.js';
import { pushControl, pushPrompt, disablePush } from './push.js';
import { menu } from './menu.js';
import { startIdleLock, timeoutFor } from './idle.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const connection = document.getElementById('connection');
const menuToggle = document.getElementById('menu-toggle');
const navMenu = menu(nav, menuToggle);

// app is the state every view shares.
const app = {
  user: null,
  live: null,
  view: null,
  navigate,
  refreshCounts: () => refreshCountsSoon(),
  flushPending,
};

// ADMINS send emergency alerts and approve broadcasts.
const ADMINS = ['ADMIN', 'SCHOOL_ADMIN'];

const ROUTES = [
  [/^\/(?:inbox)?$/, () => ({ name: 'box', arg: 'inbox' })],
  [/^\/(sent|scheduled|archived)$/, (m) => ({ name: 'box', arg: m[1] })],
  [/^\/messages\/([^/]+)$/, (m) => ({ name: 'message', arg: decodeURIComponent(m[1]) })],
  [/^\/compose$/, () => ({ name: 'compose' })],
  [/^\/outbox$/, () => ({ name: 'outbox' })],
  [/^\/deliveries$/, () => ({ name: 'deliveries', roles: ['ADMIN'] })],
  [/^\/audit$/, () => ({ name: 'audit', roles: ['ADMIN'] })],
  [/^\/roster$/, () => ({ name: 'roster', roles: ['ADMIN'] })],
  [/^\/alert$/, () => ({ name: 'alert', roles: ADMINS })],
  [/^\/approvals$/, () => ({ name: 'approvals', roles: ADMINS })],
  [/^\/settings$/, () => ({ name: 'settings', roles: ['ADMIN'] })],
  [/^\/legal-holds$/, () => ({ name: 'legalHolds', roles: ['ADMIN'], nav: 'legal-holds' })],
  [/^\/people$/, () => ({ name: 'people', roles: ADMINS })],
  [/^\/locations$/, () => ({ name: 'locations', roles: ADMINS })],
  [/^\/account$/, () => ({ name: 'account' })],
  [/^\/students$/, () => ({ name: 'students', roles: ADMINS })],
  [/^\/students\/([^/]+)$/, (m) => ({ name: 'student', arg: decodeURIComponent(m[1]), roles: ADMINS, nav: 'students' })],
  [/^\/students\/([^/]+)\/messages$/, (m) => ({ name: 'studentLog', arg: decodeURIComponent(m[1]),
    nav: ADMINS.includes(app.user?.role) ? 'students' : 'records' })],
  [/^\/records$/, () => ({ name: 'records' })],
  [/^\/disclosures$/, () => ({ name: 'disclosures', roles: ['ADMIN'] })],
  [/^\/groups$/, () => ({ name: 'groups', roles: ADMINS })],
  [/^\/groups\/([^/]+)$/, (m) => ({ name: 'group', arg: decodeURIComponent(m[1]), roles: ADMINS, nav: 'groups' })],
];

const VIEWS = {
  box: boxView, message: messageView, compose: composeView, outbox: devOutboxView, deliveries: deliveriesView, audit: auditView, account: accountView,
  alert: alertView, approvals: approvalsView, roster: rosterView, settings: settingsView, legalHolds: legalHoldsView,
  people: peopleView, locations: locationsView,
  students: studentsView, student: studentView, groups: groupsView, group: groupView,
  studentLog: studentLogView, records: recordsView, disclosures: disclosuresView,
};

// route picks the view of the URL. A page for some roles is "not found" to
// anyone else, as a link to it would be (the API refuses them too).
function route() {
  for (const [pattern, make] of ROUTES) {
    const m = pattern.exec(location.pathname);
    if (!m) continue;
    const r = make(m);
    return r.roles && !r.roles.includes(app.user?.role) ? { name: 'missing' } : r;
  }
  return { name: 'missing' };
}

// navigate goes to an app path without reloading the page.
function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render({ focus: true });
}

let renderToken = 0;

// render shows the view of the current URL. After an in-app navigation the
// view's heading takes the focus, so keyboard and screen reader users land
// on the new content.
async function render({ focus = false } = {}) {
  const token = ++renderToken;
  app.view?.dispose?.();
  app.view = null;
  main.dataset.state = 'loading';
  if (!app.user) {
    signInView(main, { onSignedIn: startApp, notice: app.notice });
    app.notice = '';
    main.dataset.view = 'signin';
    main.dataset.state = 'ready';
    return;
  }
  const r = route();
  markNav(r);
  navMenu.close();
  const container = h('div', { class: 'view' });
  main.replaceChildren(container);
  let view;
  try {
    view = r.name === 'missing' ? missingView(container) : await VIEWS[r.name](app, container, r.arg);
  } catch (err) {
    if (token !== renderToken) return;
    view = errorView(container, err);
  }
  if (token !== renderToken) {
    view?.dispose?.();
    return;
  }
  app.view = view;
  document.title = `${view.title} · whitecross`;
  main.dataset.view = r.name;
  main.dataset.state = 'ready';
  if (focus) (container.querySelector('h1') ?? main).focus();
}

function missingView(container) {
  container.append(h('h1', { tabindex: '-1' }, 'Page not found'), h('p', null, h('a', { href: '/inbox', class: 'standalone-link' }, 'Go to your inbox')));
  return { title: 'Page not found' };
}

function errorView(container, err) {
  const offline = err instanceof api.NetworkError;
  const notFound = err instanceof api.ApiError && err.status === 404;
  const title = notFound ? 'Not found' : 'Something went wrong';
  container.replaceChildren(
    h('h1', { tabindex: '-1' }, title),
    h('p', { role: 'alert' }, offline ? 'The server cannot be reached. Check your connection; this page reloads when it returns.'
      : notFound ? 'This message does not exist or you may not see it.' : (err.detail || err.message)),
    h('p', null, h('a', { href: '/inbox', class: 'standalone-link' }, 'Go to your inbox')),
  );
  return { title, retryWhenOnline: offline };
}

// Links inside the app navigate without reloading.
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.origin !== location.origin || a.pathname.startsWith('/api/') || a.hasAttribute('download')) return;
  if (a.getAttribute('href').startsWith('#')) return; // in-page (the skip link)
  e.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) navigate(a.pathname + a.search);
  else render({ focus: true });
});
addEventListener('popstate', () => render({ focus: true }));

// The skip link moves the focus itself: following #main alone does not
// move the keyboard focus in every browser.
document.querySelector('.skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

// startApp runs once a user is signed in (at load, or after signing in).
// A session that may only set up two-step sign-in (the district requires
// it) gets that page instead of the app (account-mfa.js).
async function startApp(user) {
  if (user.mfa_setup_required === undefined) user = (await session.current()) ?? user;
  if (user.mfa_setup_required) {
    mfaSetupPage(main, { onEnabled: async () => startApp((await session.current()) ?? user),
      onSignOut: async () => { await session.signOut(user); location.assign('/'); } });
    return;
  }
  app.user = user;
  setTimeZone(user.timezone);
  people.remember(user);
  document.getElementById('account-name').textContent = `${user.name}`;
  document.getElementById('account').hidden = false;
  buildNav();
  app.live = new Live(user.id);
  wireLive(app.live);
  app.live.start();
  showConnection();
  refreshCountsSoon();
  probeDevOutbox();
  const prompt = pushPrompt(user);
  if (prompt) nav.before(prompt.node);
  pushControl(user).then((push) => {
    if (app.user !== user) return;
    prompt?.connect(push?.toggle);
    if (push) nav.querySelector('.online-panel').before(push.panel);
  });
  render();
  flushPending();
  watchIdle(user);
}

// watchIdle starts the automatic logoff of the district's idle timeout
// (idle.js); a guardian, or a district that turned it off, has none.
async function watchIdle(user) {
  let tenant;
  try {
    tenant = await api.get('/api/v1/tenant');
  } catch {
    tenant = null; // unknown: the default applies (the server's own timeout holds anyway)
  }
  if (app.user !== user) return;
  app.stopIdle?.();
  const timeout = timeoutFor(user, tenant?.settings);
  app.stopIdle = startIdleLock(timeout, () => idleLock(user, timeout));
}

// idleLock signs out after the idle timeout: first the screen is emptied,
// then the session ends on the server and what this browser kept for the
// user (unsent messages) is forgotten, as at a sign-out.
async function idleLock(user, timeout) {
  if (app.user !== user) return;
  const minutes = Math.round(timeout / 60_000);
  const notice = `You were signed out after ${minutes} minute${minutes === 1 ? '' : 's'} without activity, to protect the information on this screen. Sign in to continue.`;
  stopApp(notice);
  await session.signOut(user, notice);
}

// stopApp forgets the session in this tab and shows the sign-in form.
function stopApp(notice = '') {
  if (!app.user) return;
  app.stopIdle?.();
  app.stopIdle = null;
  app.live?.stop();
  app.live = null;
  app.user = null;
  app.notice = notice;
  nav.hidden = true;
  menuToggle.hidden = true;
  nav.replaceChildren();
  document.getElementById('push-prompt')?.remove();
  document.getElementById('account').hidden = true;
  connection.hidden = true;
  render();
  scrubScreen();
}

// scrubScreen removes what the signed-in screen left outside the main view:
// a computer left unattended must show nothing of it, in the page or its
// title (announcements of new messages, the name, anything a view added to
// the body).
function scrubScreen() {
  document.title = 'Sign in · whitecross';
  document.getElementById('account-name').textContent = '';
  document.getElementById('announcer').replaceChildren();
  connection.textContent = '';
  const shell = new Set([document.querySelector('.skip-link'), document.querySelector('.topbar'),
    document.querySelector('.layout'), document.getElementById('announcer')]);
  for (const node of [...document.body.children]) {
    if (!shell.has(node) && node.tagName !== 'SCRIPT') node.remove();
  }
}

api.onSessionEnded(() => stopApp('Your session has ended. Please sign in again.'));
session.onChange((type, data) => {
  if (type === 'signed-out') stopApp(data?.notice || 'You signed out in another tab.');
  if (type === 'signed-in' && !app.user) boot();
});

document.getElementById('sign-out').addEventListener('click', async () => {
  const waiting = app.user ? pending.list(app.user.id).length : 0;
  if (waiting && !confirm(`${waiting} message(s) have not been sent yet. Signing out deletes them from this device. Sign out anyway?`)) return;
  const user = app.user;
  await disablePush(user);
  await session.signOut(user);
  history.replaceState(null, '', '/');
  stopApp('You have signed out.');
});

function buildNav() {
  const admins = ADMINS.includes(app.user.role);
  // append, not replaceChildren: the entries a role lacks are null.
  nav.replaceChildren();
  append(nav, [
    h('a', { class: 'button button-primary compose-link', href: '/compose' }, h('span', { 'aria-hidden': 'true' }, '✎ '), 'New message'),
    admins ? h('a', { class: 'button button-danger alert-link', href: '/alert', id: 'nav-alert' }, 'Emergency alert') : null,
    h('ul', { class: 'boxes' },
      BOXES.map(([box, label]) => h('li', null, h('a', { href: `/${box}`, id: `nav-${box}` }, label, h('span', { class: 'count', id: `count-${box}` })))),
      h('li', { id: 'nav-outbox-item', hidden: true }, h('a', { href: '/outbox', id: 'nav-outbox' }, 'Outbox (demo)')),
      admins ? h('li', null, h('a', { href: '/approvals', id: 'nav-approvals' }, 'Waiting for approval', h('span', { class: 'count', id: 'count-approvals' }))) : null,
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/deliveries', id: 'nav-deliveries' }, 'Delivery problems')) : null,
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/audit', id: 'nav-audit' }, 'Audit log')) : null,
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/roster', id: 'nav-roster' }, 'Roster import')) : null,
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/settings', id: 'nav-settings' }, 'District settings')) : null,
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/legal-holds', id: 'nav-legal-holds' }, 'Legal holds')) : null,
      admins ? h('li', null, h('a', { href: '/people', id: 'nav-people' }, 'People')) : null,
      admins ? h('li', null, h('a', { href: '/locations', id: 'nav-locations' }, 'Locations')) : null,
      admins ? h('li', null, h('a', { href: '/students', id: 'nav-students' }, 'Students')) : null,
      admins ? null : h('li', null, h('a', { href: '/records', id: 'nav-records' },
        app.user.role === 'GUARDIAN' ? 'Your children' : 'Students’ messages')),
      app.user.role === 'ADMIN' ? h('li', null, h('a', { href: '/disclosures', id: 'nav-disclosures' }, 'Disclosures')) : null,
      admins ? h('li', null, h('a', { href: '/groups', id: 'nav-groups' }, 'Groups')) : null,
      h('li', null, h('a', { href: '/account', id: 'nav-account' }, 'Your account'))),
    h('section', { id: 'pending-panel', class: 'panel', 'aria-labelledby': 'pending-heading', hidden: true },
      h('h2', { id: 'pending-heading' }, 'Waiting to send'), h('ul', { id: 'pending-list', class: 'plain-list' })),
    h('section', { class: 'panel online-panel', 'aria-labelledby': 'online-heading' },
      h('h2', { id: 'online-heading' }, 'Online now'), h('ul', { id: 'online-list', class: 'plain-list' }),
      h('p', { id: 'online-empty', class: 'muted' }, 'Nobody else right now.')),
  ]);
  nav.hidden = false;
  menuToggle.hidden = false;
  showPending();
}

function markNav(r) {
  for (const a of nav.querySelectorAll('a[href]')) {
    const current = (r.name === 'box' && a.getAttribute('href') === `/${r.arg}`) ||
      a.id === `nav-${r.nav ?? r.name}` || (r.name === 'compose' && a.classList.contains('compose-link'));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

const refreshCountsSoon = debounce(async () => {
  if (!app.user) return;
  try {
    showCounts(await api.get('/api/v1/messages/counts'));
  } catch {
    // Offline: the badges update when the connection returns.
  }
}, 150);

function showCounts(counts) {
  for (const [box] of BOXES) {
    const c = counts[box] ?? { total: 0, unread: 0 };
    document.getElementById(`count-${box}`)?.replaceChildren(...countBadge(box === 'scheduled' ? c.total : c.unread, box === 'scheduled' ? 'scheduled' : 'unread'));
  }
  document.getElementById('count-approvals')?.replaceChildren(...countBadge(counts.approvals?.total ?? 0, 'waiting'));
  // The menu button carries the inbox's unread count, for phones.
  document.getElementById('menu-count').replaceChildren(...countBadge(counts.inbox?.unread ?? 0, 'unread'));
}

// countBadge is a count in a badge, with what it counts for screen readers.
function countBadge(n, what) {
  return n > 0 ? [h('span', { class: 'badge-count' }, String(n)), visuallyHidden(` ${what}`)] : [];
}

async function probeDevOutbox() {
  try {
    await api.get('/api/v1/dev/outbox?limit=1');
    document.getElementById('nav-outbox-item')?.removeAttribute('hidden');
  } catch {
    // 404: not a demo server; the page stays hidden.
  }
}

// showConnection shows the realtime state: nothing while connected,
// "Reconnecting…" while the connection is being restored, "Offline" with
// the number of messages waiting while the browser has no network.
function showConnection() {
  if (!app.user) return;
  const state = navigator.onLine ? app.live?.state : 'offline';
  const waiting = pending.list(app.user.id).length;
  let text = '';
  if (state === 'offline') {
    text = 'Offline. Messages you write are kept on this device and sent when the connection returns.';
    if (waiting) text += ` ${waiting} waiting.`;
  } else if (state === 'reconnecting') {
    text = 'Reconnecting… Live updates are paused.';
  }
  connection.textContent = text;
  connection.hidden = !text;
  connection.dataset.state = state ?? '';
  document.documentElement.dataset.connection = state ?? '';
}

addEventListener('online', () => { showConnection(); flushPending(); app.view?.retryWhenOnline && render(); });
addEventListener('offline', showConnection);

// showPending lists the messages waiting to send in the navigation.
function showPending() {
  const panel = document.getElementById('pending-panel');
  const ul = document.getElementById('pending-list');
  if (!panel || !app.user) return;
  const items = pending.list(app.user.id);
  panel.hidden = items.length === 0;
  ul.replaceChildren(...items.map((item) => h('li', { class: 'pending-item', dataset: { key: item.key } },
    h('span', { class: 'pending-subject' }, item.subject || '(no subject)'),
    h('span', { class: item.error ? 'pending-state error-text' : 'pending-state muted' },
      item.error ? `Not sent: ${item.error}` : 'Waiting for the connection'),
    h('button', { type: 'button', class: 'button-link', onclick: () => pending.discard(app.user.id, item.key) },
      'Discard', visuallyHidden(` ${item.subject}`)))));
  showConnection();
}

pending.onChange(showPending);

let flushing = false;
// flushPending sends whatever waits in the outbox.
async function flushPending() {
  if (!app.user || flushing || !navigator.onLine) return;
  flushing = true;
  try {
    const sent = await pending.flush(app.user.id);
    for (const m of sent) {
      announce(`Sent: ${m.subject}`);
      app.view?.live?.('message.created', m);
    }
    if (sent.length) refreshCountsSoon();
  } finally {
    flushing = false;
  }
}
setInterval(flushPending, 20_000);

function wireLive(live) {
  live.on('state', (state) => {
    showConnection();
    if (state === 'open') flushPending();
    else people.forgetOnline();
    showOnline();
  });
  live.on('hello', (data) => {
    if (data.reload) reloadEverything();
    live.send('presence.watch', { user_ids: people.watchIds() });
  });
  people.onWatchChange((ids) => live.send('presence.watch', { user_ids: ids }));
  live.on('resync', reloadEverything);
  live.on('message.created', (m) => {
    people.remember(m.sender);
    refreshCountsSoon();
    if (m.sender.id !== app.user.id) {
      const alert = m.category === 'EMERGENCY' ? 'Emergency message' : m.priority === 'URGENT' ? 'Urgent message' : 'New message';
      announce(`${alert} from ${m.sender.name}: ${m.subject}`);
    }
    app.view?.live?.('message.created', m);
  });
  live.on('receipt.read', (data) => app.view?.live?.('receipt.read', data));
  live.on('delivery.updated', (data) => app.view?.live?.('delivery.updated', data));
  live.on('ack.received', (data) => app.view?.live?.('ack.received', data));
  live.on('typing', (data) => {
    if (data.user_id !== app.user.id) noteTyping(data);
  });
  live.on('presence', (data) => {
    if (data.user_id === app.user.id) return;
    people.setOnline(data.user_id, data.status === 'online');
    people.refreshPresenceMarkers(data.user_id);
    showOnline();
  });
}

// reloadEverything refetches after a gap too old to replay.
function reloadEverything() {
  refreshCountsSoon();
  app.view?.reload ? app.view.reload() : render();
}

function showOnline() {
  const ul = document.getElementById('online-list');
  if (!ul) return;
  const ids = people.onlineIds();
  ul.replaceChildren(...ids.map((id) => h('li', null, h('span', { class: 'dot', 'aria-hidden': 'true' }), people.nameNode(id))));
  const empty = document.getElementById('online-empty');
  empty.hidden = ids.length > 0;
  const state = navigator.onLine ? app.live?.state : 'offline';
  empty.textContent = { open: 'Nobody else right now.', offline: 'Not known while offline.' }[state] ?? 'Not known until connected.';
}

// boot finds out who is signed in and starts the app or the sign-in form.
async function boot() {
  let user;
  try {
    user = await session.current();
  } catch (err) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'whitecross cannot be reached'),
      h('p', { role: 'alert' }, 'The server does not answer. Check your connection.'),
      h('button', { type: 'button', class: 'button', onclick: boot }, 'Try again'));
    main.dataset.state = 'ready';
    return;
  }
  if (user) startApp(user);
  else render();
}

boot();
