// One message and its thread. A recipient reads (which marks it read),
// replies, archives or marks it unread; the sender sees read receipts and
// the delivery status of every recipient and channel, live, and can
// reschedule or cancel a scheduled message. Typing indicators show who is
// writing in the thread.
import * as api from './api.js';
import * as pending from './pending.js';
import * as people from './people.js';
import { TypingSender, showTypingLine, onTyping } from './typing.js';
import { h, announce, badges, bodyWithheld, inlineError, setServerHTML, safeURL, uuid, visuallyHidden, isAlert, CATEGORIES, PRIORITIES, CHANNELS, ROLES, SENSITIVE_MARKER } from './dom.js';
import { formatTime, timeText, toZoneInput, fromZoneInput, zoneName } from './time.js';
import { receiptsSection, deliverySection, acksSection } from './view-message-report.js';
import { progressSection } from './report-progress.js';
import { ackPanel } from './ack.js';
import { studentLinks } from './students.js';

export async function messageView(app, container, id) {
  const me = app.user.id;
  const [message, thread] = await Promise.all([
    api.get(`/api/v1/messages/${encodeURIComponent(id)}`),
    api.get(`/api/v1/messages/${encodeURIComponent(id)}/thread`).catch(() => ({ items: [] })),
  ]);
  let m = message;
  const isSender = m.sender.id === me;
  const isRecipient = !isSender && m.recipient_ids.includes(me);
  const items = new Map(); // thread messages by id
  for (const t of thread.items) items.set(t.id, t);
  // The detail is the reference: the thread withholds a sensitive body.
  items.set(m.id, m);

  const threadList = h('ol', { class: 'thread', 'aria-labelledby': 'thread-heading' });
  const typingLine = h('p', { class: 'typing-line', id: 'thread-typing', 'aria-live': 'polite', hidden: true });
  const notice = h('p', { class: 'notice', role: 'status', id: 'message-notice', hidden: true });
  const back = backLink(m, isSender);

  const header = h('header', { class: `message-header${isAlert(m) ? ' is-alert' : ''}${m.category === 'EMERGENCY' ? ' is-emergency' : ''}` },
    h('h1', { tabindex: '-1', id: 'message-subject' }, m.subject),
    badges(m),
    h('dl', { class: 'meta' },
      meta('From', h('span', null, m.sender.name, ` (${ROLES[m.sender.role] ?? m.sender.role}) `, people.presenceNode(m.sender.id))),
      isSender || !isRecipient ? meta('To', m.recipient_count === 1 && m.recipient_ids.length === 1
        ? people.nameNode(m.recipient_ids[0]) : `${m.recipient_count} recipients`) : null,
      m.status === 'SCHEDULED' ? meta('Sends', h('span', { id: 'scheduled-at' }, formatTime(m.scheduled_at, 'long')))
        : m.status === 'CANCELED' ? meta('Was to send', formatTime(m.scheduled_at, 'long')) : meta('Sent', formatTime(m.sent_at ?? m.created_at, 'long')),
      m.student_ids.length ? meta('About', studentLinks(m.student_ids)) : null,
      meta('Category', CATEGORIES[m.category] ?? m.category),
      meta('Priority', PRIORITIES[m.priority] ?? m.priority),
      isSender ? meta('Channels', m.channels.map((c) => CHANNELS[c] ?? c).join(', ')) : null,
      m.status === 'CANCELED' ? meta('Status', 'Canceled: never sent') : null,
      m.status === 'PENDING_APPROVAL' ? meta('Status', 'Waiting for an administrator’s approval: not sent yet') : null));

  container.append(back, h('article', { class: 'message', 'aria-labelledby': 'message-subject' },
    header, notice,
    isRecipient && m.ack_requested ? ackPanel(m, () => app.refreshCounts()) : null,
    isRecipient ? recipientActions(app, m, say) : null,
    isSender && m.status === 'SCHEDULED' ? scheduleActions(app, m, say) : null,
    h('section', { class: 'thread-section', 'aria-labelledby': 'thread-heading' },
      h('h2', { id: 'thread-heading' }, 'Conversation'), threadList, typingLine)));

  const renderThread = () => {
    const sorted = [...items.values()].sort((a, b) => (a.sent_at ?? a.created_at).localeCompare(b.sent_at ?? b.created_at));
    threadList.replaceChildren(...sorted.map((t) => threadItem(t, t.id === m.id)));
  };
  renderThread();

  let receipts;
  let delivery;
  let progress;
  let acks;
  if (isSender && !['SCHEDULED', 'CANCELED', 'PENDING_APPROVAL'].includes(m.status)) {
    // Everyone's progress in counts; the per-person delivery table only
    // for messages small enough to list.
    progress = progressSection(m, { onReport: (r) => acks?.setCounts({ requested: r.recipient_count, acked: r.acked }) });
    receipts = receiptsSection(m);
    acks = m.ack_requested ? acksSection(m) : null;
    container.querySelector('article').append(...[progress.node, acks?.node, receipts.node].filter(Boolean));
    if (!m.audience && m.recipient_count <= BROADCAST_SIZE) {
      delivery = deliverySection(m, receipts);
      container.querySelector('article').append(delivery.node);
    }
  }

  let typingSender;
  const canReply = (isRecipient && m.status !== 'CANCELED') || (isSender && m.recipient_count === 1 && m.status === 'SENT');
  if (canReply) {
    typingSender = new TypingSender(app.live, m.thread_id);
    container.querySelector('article').append(replyForm(app, m, typingSender, (reply) => {
      items.set(reply.id, reply);
      renderThread();
    }));
  }

  const showTyping = (threadId) => {
    if (threadId === m.thread_id) showTypingLine(typingLine, threadId);
  };
  const stopTyping = onTyping(showTyping);
  showTyping(m.thread_id);

  markThreadRead(app, items);

  function say(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  return {
    title: m.subject,
    dispose() {
      stopTyping();
      typingSender?.stop();
      progress?.dispose();
    },
    reload: () => app.navigate(location.pathname, { replace: true }),
    live(type, data) {
      if (type === 'message.created' && data.thread_id === m.thread_id && !items.has(data.id)) {
        // A frame is the REST Message (body_html included; a sensitive
        // body withheld as in the thread), so it is shown as it came.
        items.set(data.id, data);
        renderThread();
        markThreadRead(app, items);
      } else if (type === 'receipt.read' && data.message_id === m.id) {
        receipts?.refresh();
        progress?.refresh();
      } else if (type === 'delivery.updated' && data.message_id === m.id) {
        delivery?.update(data.delivery);
        progress?.refresh();
      } else if (type === 'ack.received' && data.message_id === m.id) {
        acks?.update(data);
        progress?.refresh();
      }
    },
  };
}

// BROADCAST_SIZE is the most recipients whose deliveries are listed one by
// one; past it the progress counts and the CSV say it all.
const BROADCAST_SIZE = 100;

function meta(term, value) {
  return [h('dt', null, term), h('dd', null, value)];
}

function backLink(m, isSender) {
  const box = isSender ? (['SCHEDULED', 'CANCELED', 'PENDING_APPROVAL'].includes(m.status) ? 'scheduled' : 'sent') : m.archived_at ? 'archived' : 'inbox';
  const label = { inbox: 'Inbox', sent: 'Sent', scheduled: 'Scheduled', archived: 'Archived' }[box];
  return h('p', { class: 'back' }, h('a', { href: `/${box}` }, h('span', { 'aria-hidden': 'true' }, '← '), `Back to ${label}`));
}

function threadItem(t, current) {
  const body = h('div', { class: 'message-body' });
  // Another sensitive message of the thread is read by opening it (the
  // audited detail), never shown from the thread list.
  if (bodyWithheld(t)) body.append(h('a', { href: `/messages/${t.id}`, class: 'withheld' }, SENSITIVE_MARKER));
  else setServerHTML(body, t.body_html);
  const attachments = t.attachments.length
    ? h('ul', { class: 'attachments', 'aria-label': 'Attachments' }, t.attachments.map((a) => {
      const href = safeURL(a.url);
      return h('li', null, href ? h('a', { href, rel: 'noreferrer', target: '_blank' }, a.name, visuallyHidden(' (opens in a new tab)')) : a.name);
    }))
    : null;
  return h('li', null, h('article', {
    class: `thread-message${current ? ' is-current' : ''}${isAlert(t) ? ' is-alert' : ''}`,
    dataset: { id: t.id }, 'aria-label': `${t.sender.name}, ${timeText(t.sent_at ?? t.created_at, 'zoned')}`,
  },
  h('header', { class: 'thread-message-header' },
    h('span', { class: 'author' }, t.sender.name), ' ', people.presenceNode(t.sender.id), ' ',
    formatTime(t.sent_at ?? t.created_at)),
  body, attachments));
}

// markThreadRead marks read what the user received in the thread, has not
// read and sees: opening a message is reading it (a withheld sensitive one is
// read when opened).
function markThreadRead(app, items) {
  const unread = [...items.values()].filter((t) => t.sender.id !== app.user.id && t.recipient_ids.includes(app.user.id) && !t.read_at && !bodyWithheld(t));
  if (!unread.length) return;
  Promise.all(unread.map((t) => api.put(`/api/v1/messages/${t.id}/read`).then(() => { t.read_at = new Date().toISOString(); })))
    .catch(() => {})
    .finally(() => app.refreshCounts());
}

function recipientActions(app, m, say) {
  let read = true; // opening it marked it read
  let archived = Boolean(m.archived_at);
  const readButton = h('button', { type: 'button', class: 'button', id: 'toggle-read' }, 'Mark as unread');
  const archiveButton = h('button', { type: 'button', class: 'button', id: 'toggle-archive' }, archived ? 'Move to inbox' : 'Archive');
  readButton.addEventListener('click', async () => {
    try {
      await (read ? api.del : api.put)(`/api/v1/messages/${m.id}/read`);
      read = !read;
      readButton.textContent = read ? 'Mark as unread' : 'Mark as read';
      say(read ? 'Marked as read.' : 'Marked as unread.');
      app.refreshCounts();
    } catch (err) {
      say(`Could not change it: ${err.detail || err.message}`);
    }
  });
  archiveButton.addEventListener('click', async () => {
    try {
      await (archived ? api.del : api.put)(`/api/v1/messages/${m.id}/archive`);
      archived = !archived;
      archiveButton.textContent = archived ? 'Move to inbox' : 'Archive';
      say(archived ? 'Archived. It is in the Archived box now.' : 'Moved back to the inbox.');
      app.refreshCounts();
    } catch (err) {
      say(`Could not change it: ${err.detail || err.message}`);
    }
  });
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Message actions' }, readButton, archiveButton);
}

function scheduleActions(app, m, say) {
  const input = h('input', { type: 'datetime-local', id: 'reschedule-at', value: toZoneInput(m.scheduled_at), required: true });
  const error = h('p', { class: 'error-text', id: 'reschedule-error', hidden: true });
  const form = h('form', { class: 'reschedule', 'aria-label': 'Reschedule' },
    h('div', { class: 'field' }, h('label', { for: 'reschedule-at' }, `Send at (${zoneName()})`), input, error),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button' }, 'Reschedule'),
      h('button', { type: 'button', class: 'button button-danger', id: 'cancel-scheduled' }, 'Cancel sending')));
  const { show: showError, clear } = inlineError(input, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const when = fromZoneInput(input.value);
    if (!when) {
      showError('Choose a date and time.');
      return;
    }
    try {
      const updated = await api.patch(`/api/v1/messages/${m.id}`, { scheduled_at: when.toISOString() });
      document.getElementById('scheduled-at')?.replaceChildren(formatTime(updated.scheduled_at, 'long'));
      say('Rescheduled.');
    } catch (err) {
      showError(api.problemText(err));
    }
  });
  const cancelButton = form.querySelector('#cancel-scheduled');
  const confirm = cancelConfirmation(async () => {
    try {
      await api.del(`/api/v1/messages/${m.id}`);
      announce('Scheduled message canceled. It stays in Scheduled, marked canceled.');
      app.refreshCounts();
      app.navigate('/scheduled');
    } catch (err) {
      confirm.hide();
      showError(api.problemText(err));
    }
  }, () => cancelButton.focus());
  cancelButton.setAttribute('aria-controls', 'cancel-confirm');
  cancelButton.addEventListener('click', () => confirm.show());
  form.append(confirm.node);
  return form;
}

// cancelConfirmation asks before a scheduled message is canceled (it cannot
// be undone): yes runs onConfirm; no hides the question and runs onKeep.
function cancelConfirmation(onConfirm, onKeep) {
  const question = h('p', { id: 'cancel-confirm-text', tabindex: '-1' },
    'Cancel this message? It will not be sent, and this cannot be undone. It stays in Scheduled, marked canceled.');
  const yes = h('button', { type: 'button', class: 'button button-danger', id: 'cancel-confirm-yes' }, 'Yes, cancel sending');
  const no = h('button', { type: 'button', class: 'button', id: 'cancel-confirm-no' }, 'No, keep it scheduled');
  const node = h('div', { class: 'confirm', id: 'cancel-confirm', role: 'group', 'aria-labelledby': 'cancel-confirm-text', hidden: true },
    question, h('div', { class: 'actions' }, yes, no));
  const hide = () => { node.hidden = true; };
  yes.addEventListener('click', () => {
    yes.disabled = true;
    onConfirm().finally(() => { yes.disabled = false; });
  });
  no.addEventListener('click', () => {
    hide();
    onKeep();
  });
  return {
    node,
    hide,
    show() {
      node.hidden = false;
      question.focus();
    },
  };
}

// replyForm writes a reply. It goes through the outbox like every message,
// so a reply written offline is sent once the connection returns.
function replyForm(app, m, typingSender, onSent) {
  const textarea = h('textarea', { id: 'reply-body', name: 'body', rows: '4', maxlength: '20000', required: true, 'aria-describedby': 'reply-hint' });
  const status = h('p', { id: 'reply-status', role: 'status', class: 'muted' });
  const error = h('p', { id: 'reply-error', class: 'error-text', role: 'alert', hidden: true });
  const form = h('form', { class: 'reply-form', 'aria-labelledby': 'reply-label', novalidate: true },
    h('label', { for: 'reply-body', id: 'reply-label' }, m.sender.id === app.user.id ? 'Write a follow-up' : `Reply to ${m.sender.name}`),
    h('p', { id: 'reply-hint', class: 'hint' }, m.sender.id === app.user.id ? 'Goes to the recipient in this conversation.' : 'Goes to the sender only.'),
    textarea, error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', id: 'reply-send' }, 'Send reply')),
    status);
  textarea.addEventListener('input', () => typingSender.input());
  textarea.addEventListener('blur', () => typingSender.stop());
  const { show: showError, clear } = inlineError(textarea, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const body = textarea.value.trim();
    if (!body) {
      showError('Write a reply first.');
      return;
    }
    typingSender.stop();
    const key = uuid();
    pending.add(app.user.id, { key, path: `/api/v1/messages/${m.id}/replies`, body: { body, body_format: 'PLAIN' },
      subject: `Re: ${m.subject}`, created_at: new Date().toISOString() });
    textarea.value = '';
    const result = await pending.send(app.user.id, key, { keepRefused: false });
    if (result.outcome === pending.SENT) {
      status.textContent = 'Reply sent.';
      if (result.message) onSent(result.message);
    } else if (result.outcome === pending.WAITING) {
      status.textContent = 'You are offline. The reply is saved on this device and will be sent when the connection returns.';
    } else {
      textarea.value = body;
      showError(`The reply was not sent: ${api.problemText(result.error)}`);
    }
  });
  return form;
}
