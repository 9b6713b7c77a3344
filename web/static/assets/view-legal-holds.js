// Legal holds (ADMIN): keep a person's or a student's messages past the
// district's retention while a matter (a records request, a complaint, a
// hearing) is open. The list shows active holds first; a released hold
// stays listed as the record of it.
import * as api from './api.js';
import { h, reflowRow, reflowTable } from './dom.js';
import { field, feedback } from './directory.js';
import { timeText } from './time.js';

const COLUMNS = ['Held', 'Reason', 'Placed', 'Status', { label: 'Actions', hidden: true }];
const MAX_REASON = 500; // whitecross.MaxLegalHoldReason

export async function legalHoldsView(app, container) {
  const body = h('tbody', { id: 'holds-rows' });
  const empty = h('p', { id: 'holds-empty', hidden: true }, 'No legal holds.');
  const listed = feedback('holds-list');
  const reload = async () => {
    const { items } = await api.get('/api/v1/admin/legal-holds');
    body.replaceChildren(...items.map((hold) => holdRow(hold, reload, listed)));
    empty.hidden = items.length > 0;
  };
  container.append(h('h1', { tabindex: '-1' }, 'Legal holds'),
    h('p', { class: 'hint' }, 'The daily purge deletes messages older than the retention set in District settings. ',
      'A hold on a person keeps every message they sent or received; a hold on a student keeps every message about them, ',
      'until you release it.'),
    ...listed.nodes, empty,
    reflowTable({ class: 'delivery-table', id: 'holds-table' }, COLUMNS, body),
    placeHoldForm(reload));
  await reload();
  return { title: 'Legal holds' };
}

// holdRow is one hold, with a Release button while it is active.
function holdRow(hold, reload, listed) {
  const who = [hold.name, ' ', h('span', { class: 'badge badge-channel' }, hold.student_id ? 'Student' : 'Person')];
  const status = hold.active ? 'Active' : `Released ${timeText(hold.released_at)}`;
  const release = hold.active ? h('button', { type: 'button', class: 'button', 'data-action': 'release',
    'aria-label': `Release the hold on ${hold.name}`, onclick: async (e) => {
      e.target.disabled = true;
      try {
        await api.del(`/api/v1/admin/legal-holds/${encodeURIComponent(hold.id)}`);
        listed.ok(`The hold on ${hold.name} is released.`);
        await reload();
      } catch (err) {
        e.target.disabled = false;
        listed.fail(err);
      }
    } }, 'Release') : null;
  return reflowRow({ dataset: { id: hold.id, active: String(hold.active) } }, COLUMNS,
    [who, hold.reason, timeText(hold.created_at), status, release]);
}

// placeHoldForm finds a person or a student by name and holds the one
// chosen, with a reason.
function placeHoldForm(reload) {
  const kind = h('select', { id: 'hold-kind' }, h('option', { value: 'user' }, 'A person'), h('option', { value: 'student' }, 'A student'));
  const q = h('input', { id: 'hold-q', type: 'search', autocomplete: 'off', spellcheck: 'false', maxlength: 200 });
  const find = h('button', { type: 'button', class: 'button', id: 'hold-find' }, 'Find');
  const choices = h('fieldset', { id: 'hold-choices', class: 'field', hidden: true }, h('legend', null, 'Hold the messages of'));
  const reason = h('textarea', { id: 'hold-reason', rows: 3, maxlength: MAX_REASON, required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'hold-submit' }, 'Place the hold');
  const result = feedback('hold-new');
  find.addEventListener('click', async () => {
    result.clear();
    try {
      const path = kind.value === 'user' ? '/api/v1/admin/users' : '/api/v1/students';
      const { items } = await api.get(`${path}?${new URLSearchParams({ q: q.value.trim(), limit: '10' })}`);
      choices.replaceChildren(choices.firstElementChild, ...items.map((it, i) => h('div', { class: 'field-check' },
        h('input', { type: 'radio', name: 'hold-subject', id: `hold-subject-${i}`, value: it.id, checked: i === 0 }),
        h('label', { for: `hold-subject-${i}` }, it.email ? `${it.name} (${it.email})` : it.name))));
      if (!items.length) choices.append(h('p', { id: 'hold-none' }, 'Nobody found by that name.'));
      choices.hidden = false;
    } catch (err) {
      result.fail(err);
    }
  });
  const form = h('form', { id: 'hold-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const chosen = choices.querySelector('input[name="hold-subject"]:checked');
    if (!chosen) {
      result.fail(new Error('Find the person or student first, then choose them.'));
      return;
    }
    submit.disabled = true;
    try {
      const hold = await api.post('/api/v1/admin/legal-holds', { [`${kind.value}_id`]: chosen.value, reason: reason.value });
      result.ok(`The messages of ${hold.name} are held.`);
      reason.value = '';
      await reload();
    } catch (err) {
      result.fail(err);
    } finally {
      submit.disabled = false;
    }
  } },
  field('hold-kind', 'Hold', kind),
  h('div', { class: 'field' }, h('label', { for: 'hold-q' }, 'Name'), h('div', { class: 'field-row' }, q, find)),
  choices,
  field('hold-reason', 'Reason', reason, `Why, e.g. the request or matter (up to ${MAX_REASON} characters). Administrators see it here; the audit log records only the hold.`),
  h('div', { class: 'actions' }, submit), ...result.nodes);
  return h('section', { class: 'panel admin-form', 'aria-labelledby': 'hold-new-heading' },
    h('h2', { id: 'hold-new-heading' }, 'Place a hold'), form);
}
