// The demo's capture outbox (GET /api/v1/dev/outbox): what would have gone
// out by email, SMS, voice and push. Everything is shown as text; an
// email's HTML part is not rendered.
import * as api from './api.js';
import { h, safeURL, CHANNELS } from './dom.js';
import { formatTime } from './time.js';

export async function devOutboxView(app, container) {
  const list = h('ol', { class: 'outbox-list plain-list', id: 'outbox-list', 'aria-labelledby': 'outbox-heading' });
  const empty = h('p', { class: 'muted', hidden: true }, 'Nothing has been sent by email, SMS, voice or push yet.');
  const status = h('p', { class: 'visually-hidden', role: 'status' });
  const channel = h('select', { id: 'outbox-channel', name: 'channel' },
    h('option', { value: '' }, 'Any'),
    Object.entries(CHANNELS).filter(([c]) => c !== 'IN_APP').map(([c, label]) => h('option', { value: c.toLowerCase() }, label)));
  const refresh = h('button', { type: 'button', class: 'button', id: 'outbox-refresh' }, 'Refresh');

  container.append(
    h('h1', { id: 'outbox-heading', tabindex: '-1' }, 'Outbox (demo)'),
    h('p', { class: 'hint' }, 'This demo server sends nothing for real: email, text messages, calls and push notifications are captured here instead.'),
    h('div', { class: 'filters' }, h('div', { class: 'field field-inline' }, h('label', { for: 'outbox-channel' }, 'Channel'), channel), refresh),
    status, list, empty);

  const load = async () => {
    const q = new URLSearchParams({ limit: '100' });
    if (channel.value) q.set('channel', channel.value);
    const page = await api.get(`/api/v1/dev/outbox?${q}`);
    list.replaceChildren(...page.items.map(item));
    empty.hidden = page.items.length > 0;
    status.textContent = `${page.items.length} captured send${page.items.length === 1 ? '' : 's'}.`;
  };
  channel.addEventListener('change', () => load().catch(() => {}));
  refresh.addEventListener('click', () => load().catch(() => { status.textContent = 'Could not load the outbox.'; }));
  await load();
  return { title: 'Outbox (demo)', reload: load };
}

function item(o) {
  const link = safeURL(o.link ?? '');
  return h('li', { class: 'outbox-item panel', dataset: { channel: o.channel } },
    h('p', { class: 'outbox-line' },
      h('span', { class: `badge badge-channel` }, CHANNELS[o.channel] ?? o.channel), ' to ',
      h('span', { class: 'outbox-to' }, o.to), ' · ', formatTime(o.captured_at)),
    o.subject ? h('p', { class: 'outbox-subject' }, o.subject) : null,
    o.text ? h('p', { class: 'outbox-text pre-wrap' }, o.text) : null,
    link ? h('p', null, h('a', { href: link }, 'Open the linked message')) : null);
}
