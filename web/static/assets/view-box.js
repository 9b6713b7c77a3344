// A mailbox (inbox, sent, scheduled, archived): filters, the list with
// "load more", and live updates (new messages, read receipts, typing).
import * as api from './api.js';
import * as people from './people.js';
import { showTypingLine, onTyping } from './typing.js';
import { h, badges, debounce, isAlert, visuallyHidden, CATEGORIES, PRIORITIES, SENSITIVE_MARKER } from './dom.js';
import { formatTime } from './time.js';

export const BOXES = [['inbox', 'Inbox'], ['sent', 'Sent'], ['scheduled', 'Scheduled'], ['archived', 'Archived']];
export const PAGE_SIZE = 25;
// A burst of receipt.read events (a group message being read) is waited out
// and costs one request per message.
const RECEIPT_BURST_MS = 300;

export async function boxView(app, container, box) {
  const title = BOXES.find(([b]) => b === box)[1];
  const params = new URLSearchParams(location.search);
  const filters = {
    category: CATEGORIES[params.get('category')?.toUpperCase()] ? params.get('category').toUpperCase() : '',
    priority: PRIORITIES[params.get('priority')?.toUpperCase()] ? params.get('priority').toUpperCase() : '',
    unread: params.get('unread') === 'true' && (box === 'inbox' || box === 'archived'),
  };
  const list = h('ul', { class: 'message-list', id: 'message-list', 'aria-labelledby': 'box-heading' });
  const empty = h('p', { class: 'empty muted', hidden: true }, 'No messages here.');
  const status = h('p', { class: 'visually-hidden', role: 'status', id: 'list-status' });
  const more = h('button', { type: 'button', class: 'button', id: 'load-more', hidden: true }, 'Load more');
  let cursor = null;
  const shown = new Map(); // id -> li

  container.append(
    h('h1', { id: 'box-heading', tabindex: '-1' }, title),
    filterForm(box, filters, async (next) => {
      // Filtering stays on the page (focus stays on the filter); the URL
      // keeps the filters for reloads and links.
      Object.assign(filters, next);
      history.replaceState(null, '', `/${box}${query(filters)}`);
      try {
        await load(false);
        status.textContent = `${shown.size} message${shown.size === 1 ? '' : 's'} shown.`;
      } catch {
        status.textContent = 'Could not load the messages.';
      }
    }),
    status, list, empty, more);

  async function load(append) {
    const q = new URLSearchParams({ box, limit: String(PAGE_SIZE) });
    if (filters.category) q.set('category', filters.category.toLowerCase());
    if (filters.priority) q.set('priority', filters.priority.toLowerCase());
    if (filters.unread) q.set('unread', 'true');
    if (append && cursor) q.set('cursor', cursor);
    const page = await api.get(`/api/v1/messages?${q}`);
    if (!append) {
      list.replaceChildren();
      shown.clear();
    }
    const added = [];
    for (const m of page.items) {
      if (shown.has(m.id)) continue;
      const li = item(app, box, m);
      shown.set(m.id, li);
      list.append(li);
      added.push(li);
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = shown.size > 0;
    return added;
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const added = await load(true);
      status.textContent = `${added.length} more message${added.length === 1 ? '' : 's'} loaded.`;
      // Keyboard users continue from the first new message.
      added[0]?.querySelector('a')?.focus();
    } catch (err) {
      status.textContent = 'Could not load more messages.';
    } finally {
      more.disabled = false;
    }
  });

  await load(false);
  if (box === 'inbox' && !performance.getEntriesByName('wc-inbox-ready').length) performance.mark('wc-inbox-ready');

  const showTyping = (threadId) => {
    for (const li of list.querySelectorAll(`li[data-thread-id="${CSS.escape(threadId)}"]`)) showTypingLine(li.querySelector('.typing-line'), threadId);
  };
  const stopTyping = onTyping(showTyping);
  // refreshReceipt re-fetches a sent message's "Read by" line, once per burst.
  const receiptRefreshes = new Map(); // message id -> debounced re-fetch
  const refreshReceipt = (id) => {
    if (!receiptRefreshes.has(id)) {
      receiptRefreshes.set(id, debounce(() => api.get(`/api/v1/messages/${id}`).then((m) => {
        shown.get(m.id)?.querySelector('.receipt')?.replaceChildren(receiptText(m));
      }).catch(() => {}), RECEIPT_BURST_MS));
    }
    receiptRefreshes.get(id)();
  };

  return {
    title,
    dispose: stopTyping,
    reload: () => load(false),
    retryWhenOnline: false,
    live(type, data) {
      if (type === 'message.created') {
        const m = data;
        if (shown.has(m.id) || !belongs(app, box, m, filters)) return;
        const li = item(app, box, m);
        li.classList.add('is-new');
        shown.set(m.id, li);
        list.prepend(li);
        empty.hidden = true;
      } else if (type === 'receipt.read' && box === 'sent' && shown.has(data.message_id)) {
        refreshReceipt(data.message_id);
      }
    },
  };
}

// belongs says whether a live message goes into this box as filtered.
function belongs(app, box, m, filters) {
  const mine = m.sender.id === app.user.id;
  if (filters.category && m.category !== filters.category) return false;
  if (filters.priority && m.priority !== filters.priority) return false;
  if (box === 'inbox') return !mine && !m.archived_at;
  const waiting = ['SCHEDULED', 'CANCELED', 'PENDING_APPROVAL'].includes(m.status);
  if (box === 'sent') return mine && !waiting;
  if (box === 'scheduled') return mine && waiting;
  return false;
}

function query(filters) {
  const q = new URLSearchParams();
  if (filters.category) q.set('category', filters.category.toLowerCase());
  if (filters.priority) q.set('priority', filters.priority.toLowerCase());
  if (filters.unread) q.set('unread', 'true');
  const s = q.toString();
  return s ? `?${s}` : '';
}

function filterForm(box, filters, apply) {
  const select = (id, label, options, value) => h('div', { class: 'field field-inline' },
    h('label', { for: id }, label),
    h('select', { id, name: id.replace('filter-', '') },
      h('option', { value: '' }, 'Any'),
      Object.entries(options).map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
  const form = h('form', { class: 'filters', 'aria-label': 'Filter messages', role: 'search' },
    select('filter-category', 'Category', CATEGORIES, filters.category),
    select('filter-priority', 'Priority', PRIORITIES, filters.priority),
    box === 'inbox' || box === 'archived'
      ? h('div', { class: 'field field-check' },
        h('input', { type: 'checkbox', id: 'filter-unread', name: 'unread', checked: filters.unread }),
        h('label', { for: 'filter-unread' }, 'Unread only'))
      : null);
  form.addEventListener('change', () => apply({
    category: form.elements.category.value,
    priority: form.elements.priority.value,
    unread: form.elements.unread?.checked ?? false,
  }));
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

// item is one message in a list: a single link holding who, what, when and
// the markers, so the whole row is one stop for keyboard users.
function item(app, box, m) {
  people.remember(m.sender);
  const unread = (box === 'inbox' || box === 'archived') && !m.read_at;
  const classes = ['message-item'];
  if (unread) classes.push('is-unread');
  if (isAlert(m)) classes.push('is-alert');
  if (m.category === 'EMERGENCY') classes.push('is-emergency');
  if (m.sensitive) classes.push('is-sensitive');
  const who = box === 'inbox' || box === 'archived'
    ? h('span', { class: 'message-who' }, m.sender.name, ' ', people.presenceNode(m.sender.id))
    : h('span', { class: 'message-who' }, visuallyHidden('To '), recipientsNode(m));
  const when = box === 'scheduled' && m.scheduled_at
    ? h('span', { class: 'message-when' }, m.status === 'CANCELED' ? 'Was to send ' : 'Sends ', formatTime(m.scheduled_at, 'zoned'))
    : h('span', { class: 'message-when' }, formatTime(m.sent_at ?? m.created_at));
  const li = h('li', { class: classes.join(' '), dataset: { id: m.id, threadId: m.thread_id } },
    h('a', { href: `/messages/${m.id}`, class: 'message-link' },
      h('span', { class: 'message-line' }, unread ? h('span', { class: 'unread-dot', 'aria-hidden': 'true' }) : null,
        unread ? visuallyHidden('Unread: ') : null, who, when),
      h('span', { class: 'message-subject' }, m.subject),
      h('span', { class: 'message-line' }, badges(m), h('span', { class: 'message-category' }, CATEGORIES[m.category] ?? m.category)),
      // A sensitive message's text is not in lists (the server withholds
      // it; opening the message is the audited read).
      m.sensitive
        ? h('span', { class: 'message-snippet is-withheld' }, SENSITIVE_MARKER)
        : h('span', { class: 'message-snippet' }, snippet(m.body)),
      box === 'sent' ? h('span', { class: 'receipt' }, receiptText(m)) : null),
    h('p', { class: 'typing-line', hidden: true, 'aria-live': 'polite' }));
  showTypingLine(li.querySelector('.typing-line'), m.thread_id);
  return li;
}

function recipientsNode(m) {
  if (m.recipient_count === 1 && m.recipient_ids.length === 1) return people.nameNode(m.recipient_ids[0]);
  return h('span', null, `${m.recipient_count} recipients`);
}

// receiptText is "Read by 3 of 5".
export function receiptText(m) {
  if (m.read_count === undefined || m.read_count === null) return '';
  return `Read by ${m.read_count} of ${m.recipient_count}`;
}

function snippet(body) {
  const text = body.replace(/[*_`#>[\]()]/g, '').replace(/\s+/g, ' ').trim();
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}
