// Disclosures (ADMIN): every time a message about a student left the
// school (an email, text, push or call that was sent) or was read, for the
// accounting a parent may ask for (FERPA 99.32, HIPAA 164.528). The page
// prints as a plain document: navigation and the form are left off paper.
import * as api from './api.js';
import * as people from './people.js';
import { h, reflowRow, reflowTable, CHANNELS } from './dom.js';
import { formatTime, timeText, fromZoneInput } from './time.js';
import { recipientPicker } from './recipients.js';
import { studentOptions } from './students.js';
import { field, feedback } from './directory.js';

const COLUMNS = ['When', 'What', 'To', 'Channel', 'Message'];
const KINDS = { DELIVERED: 'Sent to them', READ: 'Read by them' };

export async function disclosuresView(app, container) {
  const picker = recipientPicker({ id: 'disclosures-student', labelId: 'disclosures-student-label', describedBy: 'disclosures-student-hint',
    chosenLabel: 'Chosen student', source: studentOptions });
  const since = h('input', { id: 'disclosures-since', type: 'date' });
  const until = h('input', { id: 'disclosures-until', type: 'date' });
  const rows = h('tbody', { id: 'disclosures-rows' });
  const title = h('p', { id: 'disclosures-title', class: 'print-title' });
  const count = h('p', { id: 'disclosures-count', role: 'status' });
  const printButton = h('button', { type: 'button', class: 'button', id: 'disclosures-print', hidden: true, onclick: () => window.print() }, 'Print');
  const problem = feedback('disclosures');

  const preset = new URLSearchParams(location.search).get('student_id');
  if (preset) {
    try {
      const st = await api.get(`/api/v1/students/${encodeURIComponent(preset)}`);
      picker.add({ key: `student:${st.id}`, kind: 'student', id: st.id, name: st.name });
    } catch (err) {
      problem.fail(err);
    }
  }

  const load = async () => {
    problem.clear();
    const chosen = picker.value();
    const id = chosen.student_ids.at(-1);
    if (!id) {
      problem.fail(new Error('Choose a student first.'));
      return;
    }
    const params = new URLSearchParams({ student_id: id });
    if (since.value) params.set('since', dayStart(since.value).toISOString());
    if (until.value) params.set('until', dayStart(until.value, 1).toISOString());
    try {
      const list = await api.get(`/api/v1/admin/disclosures?${params}`);
      rows.replaceChildren(...list.items.map(disclosureRow));
      const range = [since.value ? `from ${since.value}` : '', until.value ? `to ${until.value}` : ''].filter(Boolean).join(' ');
      title.textContent = `Disclosures about ${chosen.names.at(-1)}${range ? ` ${range}` : ''}, as of ${timeText(new Date().toISOString(), 'long')}`;
      count.textContent = list.items.length ? `${list.items.length} disclosure${list.items.length === 1 ? '' : 's'}.` : 'No disclosures in this range.';
      printButton.hidden = false;
      history.replaceState(null, '', `/disclosures?student_id=${encodeURIComponent(id)}`);
    } catch (err) {
      problem.fail(err);
    }
  };

  const form = h('form', { class: 'filters no-print', id: 'disclosures-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); load(); } },
    h('div', { class: 'field' }, h('label', { id: 'disclosures-student-label', for: 'disclosures-student' }, 'Student'), picker.node,
      h('p', { class: 'hint', id: 'disclosures-student-hint' }, 'Type a name and choose the student.')),
    field('disclosures-since', 'From (day)', since), field('disclosures-until', 'To (day, included)', until),
    h('button', { type: 'submit', class: 'button button-primary', id: 'disclosures-show' }, 'Show disclosures'));
  container.append(h('h1', { tabindex: '-1' }, 'Disclosures'),
    h('p', { class: 'hint no-print' }, 'Every email, text message, push notification or call about the student that was sent, and every time a ',
      'message about them was read, oldest first. Reading this list is recorded in the audit log.'),
    form, ...problem.nodes, title, count,
    reflowTable({ class: 'delivery-table', id: 'disclosures-table' }, COLUMNS, rows), h('p', { class: 'no-print' }, printButton));
  if (preset) await load();
  return { title: 'Disclosures' };
}

// dayStart is the start of a yyyy-mm-dd day (plus days) in the user's time
// zone, the one every time of the app is shown in.
function dayStart(value, days = 0) {
  const [y, m, d] = value.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  return fromZoneInput(`${day}T00:00`);
}

function disclosureRow(d) {
  return reflowRow({ dataset: { messageId: d.message_id, kind: d.kind } }, COLUMNS, [
    formatTime(d.at, 'long'), KINDS[d.kind] ?? d.kind, people.nameNode(d.to_user_id), CHANNELS[d.channel] ?? d.channel,
    h('code', { title: d.message_id }, d.message_id.slice(0, 8))]);
}
