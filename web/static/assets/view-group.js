// One group (ADMIN, SCHOOL_ADMIN): rename it, add and remove members, or
// delete it. People added must be people the admin may message; members
// already in the group may stay. Messages already sent keep their
// recipients whatever happens to the group.
import * as api from './api.js';
import * as people from './people.js';
import { h, visuallyHidden } from './dom.js';
import { recipientPicker } from './recipients.js';
import { field, feedback } from './directory.js';

export async function groupView(app, container, id) {
  const path = `/api/v1/groups/${encodeURIComponent(id)}`;
  let g = await api.get(path);
  const heading = h('h1', { tabindex: '-1', id: 'group-name' });
  const members = h('ul', { class: 'plain-list member-list', id: 'group-members' });
  const count = h('p', { id: 'group-count' });
  const result = feedback('group');

  const show = (next) => {
    g = next;
    heading.textContent = g.name;
    count.textContent = `${g.member_ids.length} member${g.member_ids.length === 1 ? '' : 's'}.`;
    members.replaceChildren(...g.member_ids.map((uid) => {
      const hidden = visuallyHidden('');
      people.lookup(uid).then((u) => { hidden.textContent = ` ${u.name}`; });
      return h('li', { dataset: { userId: uid } }, people.nameNode(uid), ' ',
        g.member_ids.length > 1 ? h('button', { type: 'button', class: 'button-link', onclick: () => change(
          { member_ids: g.member_ids.filter((m) => m !== uid) }, 'Member removed.') }, 'Remove', hidden) : null);
    }));
  };
  const change = async (body, done) => {
    result.clear();
    try {
      show(await api.patch(path, body));
      document.title = `${g.name} · whitecross`;
      result.ok(done);
    } catch (err) {
      result.fail(err);
    }
  };

  const name = h('input', { id: 'group-rename', type: 'text', maxlength: 200, value: g.name });
  const picker = recipientPicker({ id: 'group-add', labelId: 'group-add-label', describedBy: 'group-add-hint', groups: false, chosenLabel: 'People to add' });
  show(g);
  container.append(
    h('p', { class: 'back' }, h('a', { href: '/groups' }, h('span', { 'aria-hidden': 'true' }, '← '), 'All groups')),
    heading, ...result.nodes,
    h('section', { 'aria-labelledby': 'group-members-heading' }, h('h2', { id: 'group-members-heading' }, 'Members'), count, members),
    h('section', { class: 'panel admin-form', 'aria-labelledby': 'group-add-heading' },
      h('h2', { id: 'group-add-heading' }, 'Add members'),
      h('form', { id: 'group-add-form', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        const added = picker.value().recipient_ids;
        await change({ member_ids: [...new Set([...g.member_ids, ...added])] }, added.length === 1 ? 'Member added.' : 'Members added.');
        picker.clear();
      } },
      h('div', { class: 'field' }, h('label', { id: 'group-add-label', for: 'group-add' }, 'People'), picker.node,
        h('p', { class: 'hint', id: 'group-add-hint' }, 'Type a name; the people you may message are found.')),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button', id: 'group-add-submit' }, 'Add')))),
    h('section', { class: 'panel admin-form', 'aria-labelledby': 'group-rename-heading' },
      h('h2', { id: 'group-rename-heading' }, 'Rename'),
      h('form', { id: 'group-rename-form', novalidate: true, onsubmit: (e) => {
        e.preventDefault();
        change({ name: name.value }, 'Group renamed.');
      } },
      field('group-rename', 'Name', name),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button', id: 'group-rename-submit' }, 'Rename')))),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button button-danger', id: 'group-delete', onclick: async () => {
      if (!confirm(`Delete the group “${g.name}”? Messages already sent to it are kept.`)) return;
      try {
        await api.del(path);
        app.navigate('/groups');
      } catch (err) {
        result.fail(err);
      }
    } }, 'Delete the group')));
  return { title: g.name };
}
