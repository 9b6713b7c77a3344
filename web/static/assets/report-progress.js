// The progress of a message as its sender follows it, at any size: how
// many people have it, have read it, and how each external channel is
// doing (a channel that failed for someone reached another way is shown
// apart from real failures), the people not reached yet with why, and the
// whole delivery record as a CSV. Live events only ask for a fresh count,
// once per burst.
import * as api from './api.js';
import { h, debounce, reflowRow, reflowTable, CHANNELS, ROLES } from './dom.js';

const REFRESH_MS = 500;
// While a broadcast is still being expanded (SENDING), its counts are
// asked for again at this pace: the audience fills inboxes in batches that
// send the sender no event.
const SENDING_POLL_MS = 2000;
const COLUMNS = ['Channel', 'Waiting', 'Sent', 'Delivered', 'Failed', 'Reached another way'];

// onReport, when given, is told of every report read (the acknowledgement
// panel takes its counts from it while a broadcast is being expanded).
export function progressSection(m, { onReport } = {}) {
  const summary = h('p', { id: 'progress-summary', class: 'receipt-summary', 'aria-live': 'polite' }, 'Counting…');
  const tbody = h('tbody');
  const table = reflowTable({ class: 'delivery-table', id: 'progress-table' }, COLUMNS, tbody,
    h('caption', { class: 'visually-hidden' }, 'Deliveries by channel'));
  const list = h('ul', { id: 'unreached-list', class: 'plain-list receipt-list', hidden: true });
  const more = h('button', { type: 'button', class: 'button-link', id: 'unreached-more', hidden: true }, 'Show more');
  const toggle = h('button', { type: 'button', class: 'button-link', id: 'unreached-toggle', 'aria-expanded': 'false', 'aria-controls': 'unreached-list' },
    'Show who has not been reached');
  const node = h('section', { class: 'panel progress', 'aria-labelledby': 'progress-heading' },
    h('h2', { id: 'progress-heading' }, 'Progress'), summary, h('div', { class: 'table-scroll' }, table),
    toggle, list, more,
    h('p', null, h('a', { href: `/api/v1/messages/${m.id}/delivery.csv`, download: '', id: 'delivery-csv', class: 'standalone-link' },
      'Download every delivery (CSV)')));

  let poll = null;
  let disposed = false;
  const load = async () => {
    clearTimeout(poll);
    try {
      const r = await api.get(`/api/v1/messages/${m.id}/report`);
      show(r);
      onReport?.(r);
      if (r.status === 'SENDING' && !disposed) poll = setTimeout(load, SENDING_POLL_MS);
    } catch {
      summary.textContent = 'Progress is not available right now.';
    }
  };
  const show = (r) => {
    summary.textContent = `Sent to ${r.recipient_count} · In the app ${r.in_app} · Read ${r.read} · Not reached yet ${r.not_reached}` +
      (m.ack_requested ? ` · Acknowledged ${r.acked}` : '');
    tbody.replaceChildren(...Object.entries(r.channels).map(([c, p]) => reflowRow({ dataset: { channel: c } }, COLUMNS,
      [CHANNELS[c] ?? c, p.pending, p.sent, p.delivered, p.failed, p.fell_back].map(String))));
    table.hidden = Object.keys(r.channels).length === 0;
  };
  let cursor = null;
  const loadUnreached = async (reset) => {
    if (reset) cursor = null;
    const page = await api.get(`/api/v1/messages/${m.id}/unreached?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const items = page.items.map((u) => h('li', null, h('span', { class: 'person' }, u.name), ` (${ROLES[u.role] ?? u.role}) — `,
      h('span', { class: 'muted' }, u.reason)));
    if (reset) list.replaceChildren(...items);
    else list.append(...items);
    if (reset && !items.length) list.append(h('li', { class: 'muted' }, 'Everyone has been reached.'));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  toggle.addEventListener('click', async () => {
    const open = list.hidden;
    list.hidden = !open;
    more.hidden = !open || !cursor;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide who has not been reached' : 'Show who has not been reached';
    if (open) await loadUnreached(true);
  });
  more.addEventListener('click', () => loadUnreached(false));
  const refresh = debounce(() => {
    load();
    if (!list.hidden) loadUnreached(true);
  }, REFRESH_MS);
  load();
  return { node, refresh, dispose() { disposed = true; clearTimeout(poll); } };
}
