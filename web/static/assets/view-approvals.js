// Broadcasts waiting for the caller's approval: those larger than the
// district's approval threshold, sent by someone the caller supervises.
// Approving lets one go as if just sent; rejecting cancels it.
import * as api from './api.js';
import { h, announce, badges, visuallyHidden } from './dom.js';
import { formatTime } from './time.js';

export async function approvalsView(app, container) {
  const list = h('ul', { class: 'plain-list message-list', id: 'approvals-list' });
  const empty = h('p', { class: 'muted', id: 'approvals-empty', hidden: true }, 'Nothing waits for your approval.');
  container.append(h('h1', { tabindex: '-1' }, 'Waiting for approval'),
    h('p', { class: 'hint' }, 'Broadcasts to more people than your district’s approval threshold wait here until an administrator approves or rejects them. Open one to read it first.'),
    list, empty);

  const load = async () => {
    const page = await api.get('/api/v1/messages?box=approvals&limit=100');
    list.replaceChildren(...page.items.map(item));
    empty.hidden = page.items.length > 0;
  };
  const decide = async (m, verb, row) => {
    if (verb === 'reject' && !confirm(`Reject “${m.subject}”? It will not be sent.`)) return;
    try {
      await api.post(`/api/v1/messages/${m.id}/${verb}`);
      announce(verb === 'approve' ? `Approved: ${m.subject}` : `Rejected: ${m.subject}`);
      row.remove();
      empty.hidden = list.childElementCount > 0;
      app.refreshCounts();
    } catch (err) {
      row.querySelector('.approval-error').textContent = api.problemText(err);
    }
  };
  const item = (m) => {
    const row = h('li', { class: 'panel approval', dataset: { id: m.id } },
      h('p', null, h('a', { href: `/messages/${m.id}`, class: 'message-subject' }, m.subject), ' ', badges(m)),
      h('p', { class: 'muted' }, `From ${m.sender.name} · `, formatTime(m.created_at), m.scheduled_at ? ` · to send ${formatTime(m.scheduled_at)}` : ''),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'button button-primary', onclick: () => decide(m, 'approve', row) }, 'Approve', visuallyHidden(` ${m.subject}`)),
        h('button', { type: 'button', class: 'button', onclick: () => decide(m, 'reject', row) }, 'Reject', visuallyHidden(` ${m.subject}`))),
      h('p', { class: 'error-text approval-error', role: 'alert' }));
    return row;
  };
  await load();
  return { title: 'Waiting for approval', reload: load };
}
