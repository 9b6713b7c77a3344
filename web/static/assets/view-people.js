// People (ADMIN: the whole district; SCHOOL_ADMIN: the people of their
// schools and their students' guardians): search by name or email, filter
// by role, location and status, add a person, change their role, locations
// and contact details, deactivate them (after a confirmation) and let them
// back in. The list is GET /api/v1/admin/users: deactivated people too.
import * as api from './api.js';
import { h, ROLES, announce, reflowRow, reflowTable, visuallyHidden } from './dom.js';
import { formatTime } from './time.js';
import { loadTree, inOrder, indented, names } from './locations.js';
import { personForm } from './person-form.js';
import { statusControl } from './person-status.js';

const PAGE_SIZE = 25;
const COLUMNS = ['Name', 'Email', 'Role', 'Locations', 'Status', { label: 'Actions', hidden: true }];

export async function peopleView(app, container) {
  const tree = await loadTree(app.user);
  const notice = h('p', { class: 'notice', id: 'people-notice', role: 'status', hidden: true });
  const editor = h('div', { id: 'person-editor' });
  const list = peopleList(app, tree, { edit });
  const addButton = h('button', { type: 'button', class: 'button button-primary', id: 'people-add', 'aria-expanded': 'false' }, 'Add a person');

  function say(text) {
    notice.textContent = text;
    notice.hidden = false;
    announce(text);
  }

  function close(focusTo) {
    editor.replaceChildren();
    addButton.setAttribute('aria-expanded', 'false');
    focusTo?.focus();
  }

  addButton.addEventListener('click', () => {
    const { form, focus } = personForm(app, tree, null, {
      prefix: 'person-new',
      onSaved: async (u) => {
        close(addButton);
        say(`${u.name} was added. They sign in with a code sent to ${u.email}.`);
        await list.search({ q: u.email });
      },
      onCancel: () => close(addButton),
    });
    editor.replaceChildren(h('section', { 'aria-labelledby': 'person-new-heading' },
      h('h2', { id: 'person-new-heading' }, 'Add a person'), form));
    addButton.setAttribute('aria-expanded', 'true');
    focus();
  });

  // edit opens the form of person under the list's heading.
  function edit(person, from) {
    const { form, focus } = personForm(app, tree, person, {
      prefix: 'person-edit',
      onSaved: (u) => {
        list.update(u);
        close(list.rowButton(u.id) ?? from);
        say(`${u.name}: changes saved.`);
      },
      onCancel: () => close(from),
    });
    const status = statusControl(app, person, {
      onChanged: (u) => {
        list.update(u);
        close(list.rowButton(u.id) ?? from);
        say(u.deactivated_at ? `${u.name} is deactivated: they can no longer sign in.` : `${u.name} is active again and may sign in.`);
      },
    });
    editor.replaceChildren(h('section', { 'aria-labelledby': 'person-edit-heading' },
      h('h2', { id: 'person-edit-heading' }, `Change ${person.name}`), form, status));
    focus();
  }

  container.append(h('h1', { tabindex: '-1' }, 'People'),
    h('p', { class: 'hint' }, app.user.role === 'ADMIN' ? 'Everyone in your district, deactivated people too.'
      : 'The people of your schools and the parents of their students, deactivated people too.'),
    h('div', { class: 'actions' }, addButton), notice, editor, list.node);
  await list.search({});
  return { title: 'People' };
}

// peopleList is the search form and the table of its results.
function peopleList(app, tree, { edit }) {
  const q = h('input', { id: 'people-q', type: 'search', name: 'q', maxlength: '200', autocomplete: 'off' });
  const role = h('select', { id: 'people-role', name: 'role' }, h('option', { value: '' }, 'Any role'),
    Object.entries(ROLES).map(([value, label]) => h('option', { value }, label)));
  const location = h('select', { id: 'people-location', name: 'location_id' }, h('option', { value: '' }, 'Any location'),
    inOrder(tree, tree.scope).map((l) => h('option', { value: l.id }, indented(tree, l))));
  const status = h('select', { id: 'people-status', name: 'status' }, h('option', { value: '' }, 'Active and deactivated'),
    h('option', { value: 'active' }, 'Active'), h('option', { value: 'deactivated' }, 'Deactivated'));
  const filter = (label, control) => h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find people', id: 'people-search' },
    filter('Name or email', q), filter('Role', role), filter('Location', location), filter('Status', status),
    h('button', { type: 'submit', class: 'button' }, 'Search'));
  const body = h('tbody', { id: 'people-rows' });
  const table = h('div', { class: 'table-scroll' }, reflowTable({ class: 'delivery-table', id: 'people-table', 'aria-labelledby': 'people-results' }, COLUMNS, body));
  const summary = h('h2', { id: 'people-results', tabindex: '-1' }, 'People found');
  const empty = h('p', { class: 'empty muted', id: 'people-empty', hidden: true }, 'Nobody matches.');
  const error = h('p', { class: 'error-text', role: 'alert', id: 'people-error', hidden: true });
  const more = h('button', { type: 'button', class: 'button', id: 'people-more', hidden: true }, 'Load more');
  let cursor = null;
  let query = new URLSearchParams();

  async function load(append) {
    const params = new URLSearchParams(query);
    params.set('limit', String(PAGE_SIZE));
    if (append && cursor) params.set('cursor', cursor);
    error.hidden = true;
    try {
      const page = await api.get(`/api/v1/admin/users?${params}`);
      const rows = page.items.map(row);
      if (append) body.append(...rows);
      else body.replaceChildren(...rows);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = body.childElementCount > 0;
      table.hidden = body.childElementCount === 0;
      return rows;
    } catch (err) {
      error.textContent = api.problemText(err);
      error.hidden = false;
      return [];
    }
  }

  function row(u) {
    const button = h('button', { type: 'button', class: 'button', dataset: { edit: u.id } }, 'Change', visuallyHidden(` ${u.name}`));
    button.addEventListener('click', () => edit(u, button));
    const state = u.deactivated_at
      ? h('span', { class: 'status status-deactivated' }, 'Deactivated ', h('span', { class: 'muted' }, formatTime(u.deactivated_at)))
      : h('span', { class: 'status status-active' }, 'Active');
    return reflowRow({ dataset: { userId: u.id } }, COLUMNS, [
      u.name, h('span', { class: 'pre-wrap' }, u.email), ROLES[u.role] ?? u.role, names(tree, u.location_ids) || '—', state,
      u.id === app.user.id ? h('span', { class: 'muted' }, 'You') : button]);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await search({});
    announce(body.childElementCount ? `${body.childElementCount}${cursor ? ' or more' : ''} found.` : 'Nobody matches.');
  });
  for (const select of [role, location, status]) select.addEventListener('change', () => form.requestSubmit());
  more.addEventListener('click', async () => {
    more.disabled = true;
    (await load(true))[0]?.querySelector('button')?.focus();
    more.disabled = false;
  });

  // search lists the first page of the form's filters; values given
  // replace what the form says (after adding someone, their email).
  async function search(values) {
    if (values.q !== undefined) {
      q.value = values.q;
      role.value = location.value = status.value = '';
    }
    query = new URLSearchParams();
    for (const [name, el] of [['q', q], ['role', role], ['location_id', location], ['status', status]]) {
      if (el.value.trim()) query.set(name, el.value.trim());
    }
    await load(false);
  }

  return {
    node: h('section', { 'aria-labelledby': 'people-results' }, form, summary, error, table, empty, more),
    search,
    // update shows a changed person in place.
    update: (u) => body.querySelector(`tr[data-user-id="${CSS.escape(u.id)}"]`)?.replaceWith(row(u)),
    rowButton: (id) => body.querySelector(`tr[data-user-id="${CSS.escape(id)}"] button`),
  };
}
