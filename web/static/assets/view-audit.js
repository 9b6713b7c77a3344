// Audit log (district admins only): who did what, when and from where,
// newest first, with filters, the CSV of what the filters select, and a
// check that no event was edited, removed or reordered since it was
// written. District IT answers "who read this student's messages?" here
// instead of in SQL.
import * as api from './api.js';
import { h, reflowRow, reflowTable } from './dom.js';
import { formatTime } from './time.js';

const PAGE_SIZE = 50;
const COLUMNS = ['#', 'When', 'Who', 'Action', 'Target', 'Outcome', 'From', 'Details'];

export async function auditView(app, container) {
  const field = (id, label, props = {}) => h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, ...props }));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('audit-actor', 'Person (user id)', { maxlength: 64, autocomplete: 'off' }),
    field('audit-action', 'Action', { maxlength: 100, list: 'audit-actions', autocomplete: 'off' }),
    field('audit-target', 'Target (id)', { maxlength: 200, autocomplete: 'off' }),
    field('audit-since', 'From', { type: 'date' }),
    field('audit-until', 'To (inclusive)', { type: 'date' }),
    h('datalist', { id: 'audit-actions' }, ['message.read', 'message.sent', 'auth.login.succeeded', 'auth.login.failed',
      'user.created', 'user.updated', 'user.deactivated'].map((a) => h('option', { value: a }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', id: 'audit-apply' }, 'Show')));
  const csv = h('a', { class: 'button', id: 'audit-csv', href: '/api/v1/admin/audit.csv', download: 'audit.csv' }, 'Download CSV');
  const verify = h('button', { type: 'button', class: 'button', id: 'audit-verify' }, 'Verify chain');
  const verdict = h('p', { class: 'notice', role: 'status', id: 'audit-verdict' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'audit-error', hidden: true });
  const body = h('tbody', { id: 'audit-list' });
  const empty = h('p', { class: 'empty muted', hidden: true, id: 'audit-empty' }, 'No events match.');
  const more = h('button', { type: 'button', class: 'button', id: 'audit-more', hidden: true }, 'Load more');
  let cursor = null;

  // query is the filters as the API's query string (dates are local days).
  const query = () => {
    const q = new URLSearchParams();
    const v = (id) => filters.elements[id].value.trim();
    if (v('audit-actor')) q.set('actor_id', v('audit-actor'));
    if (v('audit-action')) q.set('action', v('audit-action'));
    if (v('audit-target')) q.set('target_id', v('audit-target'));
    if (v('audit-since')) q.set('since', new Date(`${v('audit-since')}T00:00:00`).toISOString());
    if (v('audit-until')) {
      const end = new Date(`${v('audit-until')}T00:00:00`);
      end.setDate(end.getDate() + 1);
      q.set('until', end.toISOString());
    }
    return q;
  };

  async function load(append) {
    const q = query();
    csv.href = `/api/v1/admin/audit.csv?${q}`;
    q.set('limit', String(PAGE_SIZE));
    if (append && cursor) q.set('cursor', cursor);
    const page = await api.get(`/api/v1/admin/audit?${q}`);
    const rows = page.items.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = body.childElementCount > 0;
  }

  const run = async (fn) => {
    error.hidden = true;
    try {
      await fn();
    } catch (err) {
      error.textContent = err.detail || err.message;
      error.hidden = false;
    }
  };
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    run(() => load(false));
  });
  more.addEventListener('click', () => run(() => load(true)));
  verify.addEventListener('click', () => run(async () => {
    verify.disabled = true;
    verdict.textContent = 'Checking every event…';
    try {
      const v = await api.get('/api/v1/admin/audit/verify');
      verdict.className = v.ok ? 'notice audit-ok' : 'notice audit-broken';
      verdict.textContent = v.ok
        ? `The chain is intact: ${v.events} ${v.events === 1 ? 'event' : 'events'} checked.`
        : `The chain is broken at event ${v.broken_at}: an event was edited, removed or reordered. Tell your security officer.`;
    } finally {
      verify.disabled = false;
    }
  }));

  container.append(h('h1', { id: 'audit-heading', tabindex: '-1' }, 'Audit log'),
    h('p', { class: 'muted' }, 'Every sign-in, change and read of message content in the district, newest first.'),
    filters, h('div', { class: 'actions' }, csv, verify), verdict, error,
    h('div', { class: 'table-scroll' }, reflowTable({ class: 'delivery-table audit-table', 'aria-labelledby': 'audit-heading' }, COLUMNS, body)),
    empty, more);
  await load(false);
  return { title: 'Audit log', reload: () => load(false) };
}

// row is one event; a read of several messages lists them in its details.
function row(e) {
  const details = Object.entries(e.detail ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ');
  const target = [e.target_type, e.target_id].filter(Boolean).join(' ');
  return reflowRow({ dataset: { id: String(e.id) } }, COLUMNS, [String(e.id), formatTime(e.at), e.actor_id || 'system',
    e.action, target, e.outcome, e.ip, h('span', { class: 'audit-detail' }, details)]);
}
