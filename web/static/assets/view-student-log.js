// A student's communication log: the messages about them, newest first,
// with their full text (GET /students/{id}/messages; each page is an
// audited read of health information). The school nurse, school admins and
// district admins see every message about the student; other staff and the
// student's guardians see those they sent or received.
import * as api from './api.js';
import { h, setServerHTML, badges, CATEGORIES } from './dom.js';
import { formatTime } from './time.js';
import { feedback } from './directory.js';

const PAGE = 25;

export async function studentLogView(app, container, id) {
  const path = `/api/v1/students/${encodeURIComponent(id)}`;
  const [st, first] = await Promise.all([api.get(path), api.get(`${path}/messages?limit=${PAGE}`)]);
  const list = h('ol', { class: 'record-list plain-list', id: 'student-log' });
  const more = h('button', { type: 'button', class: 'button', id: 'student-log-more' }, 'Show older messages');
  const count = h('p', { id: 'student-log-count', role: 'status' });
  const problem = feedback('student-log');
  let cursor = null;
  let shown = 0;

  const show = (page) => {
    list.append(...page.items.map((m) => logEntry(m)));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = shown === 0 ? 'No messages about this student that you may read.'
      : `${shown} message${shown === 1 ? '' : 's'} shown${cursor ? '; older ones below' : ''}.`;
  };
  more.addEventListener('click', async () => {
    problem.clear();
    try {
      show(await api.get(`${path}/messages?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`));
    } catch (err) {
      problem.fail(err);
    }
  });

  const admins = ['ADMIN', 'SCHOOL_ADMIN'].includes(app.user.role);
  container.append(
    admins ? h('p', { class: 'back' }, h('a', { href: `/students/${encodeURIComponent(id)}` }, h('span', { 'aria-hidden': 'true' }, '← '), st.name)) : null,
    h('h1', { tabindex: '-1', id: 'student-log-heading' }, `Messages about ${st.name}`),
    h('p', { class: 'hint' }, 'The communication log is part of the student’s record. Opening it is recorded in the audit log.'),
    app.user.role === 'ADMIN' ? h('p', null, h('a', { href: `/disclosures?student_id=${encodeURIComponent(id)}`, id: 'student-log-disclosures', class: 'standalone-link' },
      'Disclosures: who received or read these messages')) : null,
    count, list, more, ...problem.nodes);
  show(first);
  return { title: `Messages about ${st.name}` };
}

// logEntry is one message of the log with its full text.
function logEntry(m) {
  const body = h('div', { class: 'message-body' });
  setServerHTML(body, m.body_html);
  return h('li', { class: 'record-entry panel', dataset: { id: m.id } },
    h('p', { class: 'message-line' }, h('strong', null, m.sender.name), ' · ', formatTime(m.sent_at ?? m.created_at, 'long'),
      ' · ', CATEGORIES[m.category] ?? m.category, ' ', badges(m)),
    h('h2', { class: 'record-subject' }, m.subject),
    body);
}
