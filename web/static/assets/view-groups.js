// Groups (ADMIN, SCHOOL_ADMIN): the named lists of people a message can be
// sent to at once. The list shows the groups the admin may message; a new
// group is made of people they may message, picked as in a new message.
import * as api from './api.js';
import { h, reflowRow, reflowTable, announce } from './dom.js';
import { recipientPicker } from './recipients.js';
import { field, feedback } from './directory.js';

const COLUMNS = ['Group', 'Members'];

export async function groupsView(app, container) {
  const { items } = await api.get('/api/v1/groups');
  const body = h('tbody', { id: 'groups-rows' });
  body.append(...items.map((g) => reflowRow({ dataset: { id: g.id } }, COLUMNS, [
    h('a', { href: `/groups/${encodeURIComponent(g.id)}` }, g.name), String(g.member_ids.length)])));
  container.append(h('h1', { tabindex: '-1' }, 'Groups'),
    h('p', { class: 'hint' }, 'Choose a group in “To” when you write a message to send it to every member.'),
    items.length ? reflowTable({ class: 'delivery-table', id: 'groups-table' }, COLUMNS, body)
      : h('p', { id: 'groups-empty' }, 'No groups yet.'),
    newGroupForm(app));
  return { title: 'Groups' };
}

// newGroupForm creates a group, then opens it.
function newGroupForm(app) {
  const name = h('input', { id: 'group-new-name', type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const picker = recipientPicker({ id: 'group-new-members', labelId: 'group-new-members-label', describedBy: 'group-new-members-hint',
    groups: false, chosenLabel: 'Chosen members' });
  const result = feedback('group-new');
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'group-new-submit' }, 'Create the group');
  return h('section', { class: 'panel admin-form', 'aria-labelledby': 'group-new-heading' },
    h('h2', { id: 'group-new-heading' }, 'New group'),
    h('form', { id: 'group-new-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const g = await api.post('/api/v1/groups', { name: name.value, member_ids: picker.value().recipient_ids });
        announce(`Group ${g.name} created.`);
        app.navigate(`/groups/${encodeURIComponent(g.id)}`);
      } catch (err) {
        result.fail(err);
      } finally {
        submit.disabled = false;
      }
    } },
    field('group-new-name', 'Name', name),
    h('div', { class: 'field' }, h('label', { id: 'group-new-members-label', for: 'group-new-members' }, 'Members'), picker.node,
      h('p', { class: 'hint', id: 'group-new-members-hint' }, 'Type a name; the people you may message are found.')),
    h('div', { class: 'actions' }, submit), ...result.nodes));
}
