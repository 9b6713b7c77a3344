// What the sender sees of a message they sent: acknowledgements, when it
// asks for them ("Acknowledged by 2 of 5", who has and who has not), read
// receipts ("Read by 3 of 5", names on demand) and the delivery status of
// every recipient and channel, all kept current by live events.
import * as api from './api.js';
import { escalationText } from './ack.js';
import { h, debounce, reflowRow, reflowTable, CHANNELS } from './dom.js';
import { formatTime } from './time.js';

const SHOW_ROWS = 200;
// A burst of receipt.read events (a group message being read) is waited out
// and costs one request.
const RECEIPT_BURST_MS = 300;

// receiptsSection shows "Read by N of M" and, when asked, who has read it.
// refresh() reloads after receipt.read events, once per burst; names()
// resolves the recipients' names by id (for the delivery table).
export function receiptsSection(m) {
  const summary = h('p', { id: 'receipt-summary', class: 'receipt-summary' }, readBy(m.read_count ?? 0, m.recipient_count));
  const list = h('ul', { id: 'receipt-list', class: 'receipt-list plain-list', hidden: true });
  const toggle = h('button', { type: 'button', class: 'button-link', id: 'receipt-toggle', 'aria-expanded': 'false', 'aria-controls': 'receipt-list' },
    'Show who has read it');
  let loaded = null;

  const load = async () => {
    loaded = api.get(`/api/v1/messages/${m.id}/receipts`);
    const r = await loaded;
    summary.textContent = readBy(r.read_count, r.recipient_count);
    if (!list.hidden) showList(r);
    return r;
  };
  const showList = (r) => {
    list.replaceChildren(...r.items.map((item) => h('li', { class: item.read_at ? 'is-read' : 'is-unread' },
      h('span', { class: 'person' }, item.name), ' — ',
      item.read_at ? h('span', null, 'read ', formatTime(item.read_at)) : h('span', { class: 'muted' }, 'not read yet'))));
  };
  toggle.addEventListener('click', async () => {
    const open = list.hidden;
    list.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide who has read it' : 'Show who has read it';
    if (open) showList(await (loaded ?? load()));
  });

  const node = h('section', { class: 'panel receipts', 'aria-labelledby': 'receipts-heading' },
    h('h2', { id: 'receipts-heading' }, 'Read receipts'),
    // The summary is a live region: "Read by 1 of 1" is announced when it changes.
    h('div', { 'aria-live': 'polite' }, summary), toggle, list);

  return {
    node,
    refresh: debounce(() => load().catch(() => {}), RECEIPT_BURST_MS),
    names: async () => {
      const r = await (loaded ?? load());
      return new Map(r.items.map((item) => [item.user_id, item.name]));
    },
  };
}

function readBy(n, total) {
  return `Read by ${n} of ${total}`;
}

const ACK_PAGE = 50;
// A burst of ack.received events (a broadcast being acknowledged) is
// waited out and costs one request.
const ACK_BURST_MS = 300;

// acksSection shows "Acknowledged by N of M" and how many have not, and on
// demand who has and who has not. update(data) applies an ack.received
// event at once, then the counts (and the lists, when shown) are read
// again from the server once per burst.
export function acksSection(m) {
  let counts = { ...(m.ack_summary ?? { requested: m.recipient_count, acked: 0 }) };
  const seen = new Set();
  const summary = h('p', { id: 'ack-summary', class: 'ack-summary' });
  const pendingLine = h('p', { id: 'ack-pending-count', class: 'muted' });
  const toggle = h('button', { type: 'button', class: 'button-link', id: 'ack-toggle', 'aria-expanded': 'false', 'aria-controls': 'ack-lists' },
    'Show who has acknowledged');
  const pending = ackList('pending', 'Not acknowledged yet');
  const acked = ackList('acked', 'Acknowledged');
  const lists = h('div', { id: 'ack-lists', class: 'ack-lists', hidden: true }, pending.node, acked.node);
  const esc = escalationText(m.escalation);

  const render = () => {
    summary.textContent = `Acknowledged by ${counts.acked} of ${counts.requested}`;
    const left = Math.max(counts.requested - counts.acked, 0);
    // A broadcast counts its recipients once its audience is resolved.
    pendingLine.textContent = !counts.requested ? 'Counting the recipients…' : left ? `${left} not yet` : 'Everyone has acknowledged.';
  };
  render();

  // Each list pages through GET /acks?status=…; load(true) adds the next page.
  function ackList(status, title) {
    const ul = h('ul', { class: 'plain-list ack-list', id: `ack-list-${status}` });
    const more = h('button', { type: 'button', class: 'button-link', hidden: true }, 'Show more');
    let cursor = null;
    const load = async (append) => {
      const q = new URLSearchParams({ status, limit: String(ACK_PAGE) });
      if (append && cursor) q.set('cursor', cursor);
      const page = await api.get(`/api/v1/messages/${m.id}/acks?${q}`);
      if (!append) ul.replaceChildren();
      ul.append(...page.items.map((a) => h('li', { class: a.acked_at ? 'is-acked' : 'is-pending', dataset: { userId: a.user_id } },
        h('span', { class: 'person' }, a.name), a.acked_at ? [' — ', formatTime(a.acked_at)] : null)));
      if (!ul.childElementCount) ul.append(h('li', { class: 'muted' }, status === 'acked' ? 'Nobody yet.' : 'Nobody.'));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      counts = page.ack_summary;
      render();
    };
    more.addEventListener('click', () => load(true).catch(() => {}));
    return { node: h('section', { 'aria-label': title }, h('h3', null, title), ul, more), load };
  }

  const reload = () => Promise.all([pending.load(false), acked.load(false)]);
  toggle.addEventListener('click', async () => {
    const open = lists.hidden;
    lists.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide who has acknowledged' : 'Show who has acknowledged';
    if (open) await reload().catch(() => {});
  });
  // One request per burst: the counts come with any page of the listing.
  const refresh = debounce(() => (lists.hidden ? acked.load(false) : reload()).catch(() => {}), ACK_BURST_MS);

  const node = h('section', { class: 'panel acks', id: 'acks', 'aria-labelledby': 'acks-heading' },
    h('h2', { id: 'acks-heading' }, 'Acknowledgements'),
    h('div', { 'aria-live': 'polite' }, summary), pendingLine,
    esc ? h('p', { class: 'hint', id: 'ack-escalation-info' }, esc) : null,
    toggle, lists);
  return {
    node,
    // setCounts takes the counts of a fresher read (the progress report,
    // which follows a broadcast while its audience is being resolved).
    setCounts(c) {
      counts = { ...c };
      render();
    },
    update(data) {
      if (!data?.user_id || seen.has(data.user_id)) return;
      seen.add(data.user_id);
      counts = { ...counts, acked: Math.min(counts.acked + 1, counts.requested) };
      render();
      refresh();
    },
  };
}

const DELIVERY_COLUMNS = ['Recipient', 'Channel', 'Status', 'Updated'];
const STATUS_TEXT = { PENDING: 'Waiting', SENT: 'Sent', DELIVERED: 'Delivered', FAILED: 'Failed', BOUNCED: 'Bounced' };

// deliverySection is the per-recipient, per-channel delivery table.
// update(delivery) applies a delivery.updated event.
export function deliverySection(m, receipts) {
  const byId = new Map();
  const summary = h('p', { id: 'delivery-summary' });
  const tbody = h('tbody');
  const more = h('p', { class: 'muted', hidden: true });
  const table = reflowTable({ class: 'delivery-table', id: 'delivery-table' }, DELIVERY_COLUMNS, tbody,
    h('caption', { class: 'visually-hidden' }, 'Delivery status by recipient and channel'));
  const node = h('section', { class: 'panel delivery', 'aria-labelledby': 'delivery-heading' },
    h('h2', { id: 'delivery-heading' }, 'Delivery'), summary, h('div', { class: 'table-scroll' }, table), more);
  let names = new Map();

  const render = () => {
    const counts = { PENDING: 0, SENT: 0, DELIVERED: 0, FAILED: 0, BOUNCED: 0 };
    for (const d of byId.values()) counts[d.status] = (counts[d.status] ?? 0) + 1;
    summary.textContent = Object.entries(counts).filter(([, n]) => n).map(([s, n]) => `${STATUS_TEXT[s]}: ${n}`).join(' · ') || 'No deliveries yet.';
    const rows = [...byId.values()].sort((a, b) => (names.get(a.recipient_id) ?? '').localeCompare(names.get(b.recipient_id) ?? '') || a.channel.localeCompare(b.channel));
    tbody.replaceChildren(...rows.slice(0, SHOW_ROWS).map(row));
    more.hidden = rows.length <= SHOW_ROWS;
    more.textContent = `Showing ${SHOW_ROWS} of ${rows.length} deliveries.`;
  };
  // Many delivery.updated events arrive together (a group message going
  // out): the table is rebuilt at most once per animation frame.
  let renderQueued = false;
  const renderSoon = () => {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  };
  const row = (d) => reflowRow({ dataset: { deliveryId: d.id, status: d.status } }, DELIVERY_COLUMNS, [
    names.get(d.recipient_id) ?? 'Recipient',
    [CHANNELS[d.channel] ?? d.channel, d.attempt_kind === 'ESCALATION' ? h('span', { class: 'muted' }, ' (reminder)') : null],
    [h('span', { class: `status status-${d.status.toLowerCase()}` }, STATUS_TEXT[d.status] ?? d.status),
      d.error ? h('span', { class: 'error-text' }, ` (${d.error})`) : null],
    formatTime(d.delivered_at ?? d.bounced_at ?? d.failed_at ?? d.sent_at ?? d.queued_at)]);

  Promise.all([api.get(`/api/v1/messages/${m.id}/delivery`), receipts.names().catch(() => new Map())])
    .then(([report, n]) => {
      names = n;
      for (const d of report.items) if (!byId.has(d.id) || newer(d, byId.get(d.id))) byId.set(d.id, d);
      render();
    })
    .catch(() => { summary.textContent = 'Delivery status is not available.'; });

  return {
    node,
    update(d) {
      if (!d?.id) return;
      const old = byId.get(d.id);
      if (old && !newer(d, old)) return;
      byId.set(d.id, d);
      renderSoon();
    },
  };
}

// newer orders two versions of a delivery by how far along they are, so a
// replayed older event never undoes a newer state.
function newer(a, b) {
  const rank = { PENDING: 0, SENT: 1, DELIVERED: 2, FAILED: 2, BOUNCED: 3 };
  if (a.attempts !== b.attempts) return a.attempts > b.attempts;
  return (rank[a.status] ?? 0) >= (rank[b.status] ?? 0);
}
