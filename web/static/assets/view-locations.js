// Locations (ADMIN: the whole district; SCHOOL_ADMIN: their own schools
// and what lies below them): the tree of district, schools and campuses,
// a location added under a parent (POST /api/v1/locations) and a location
// renamed in place (PATCH /api/v1/locations/{id}).
import * as api from './api.js';
import { h, append, announce, visuallyHidden } from './dom.js';
import { loadTree, inOrder, indented, KINDS } from './locations.js';

// The kind a new location below a parent usually has.
const CHILD_KIND = { DISTRICT: 'SCHOOL', SCHOOL: 'CAMPUS', CAMPUS: 'CAMPUS' };

export async function locationsView(app, container) {
  let tree = await loadTree(app.user);
  const notice = h('p', { class: 'notice', id: 'locations-notice', role: 'status', hidden: true });
  const treeBox = h('div', { id: 'location-tree-box' });
  const add = addForm(app, () => tree, async (l) => {
    say(`${l.name} was added.`);
    await reload();
  });

  function say(text) {
    notice.textContent = text;
    notice.hidden = false;
    announce(text);
  }

  async function reload() {
    tree = await loadTree(app.user);
    add.refresh();
    showTree();
  }

  function showTree() {
    const roots = app.user.role === 'ADMIN' ? tree.children.get('') ?? []
      : inOrder(tree, tree.scope).filter((l) => !tree.scope.has(l.parent_id));
    treeBox.replaceChildren(roots.length
      ? h('ul', { class: 'location-tree', id: 'location-tree' }, roots.map(node))
      : h('p', { class: 'empty muted' }, 'No locations yet.'));
  }

  // node is one location with its children; those in scope can be renamed
  // and have locations added below them.
  function node(l) {
    const kids = tree.children.get(l.id) ?? [];
    const rename = h('button', { type: 'button', class: 'button-link', dataset: { rename: l.id } }, 'Rename', visuallyHidden(` ${l.name}`));
    const below = h('button', { type: 'button', class: 'button-link', dataset: { addBelow: l.id } }, 'Add below', visuallyHidden(` ${l.name}`));
    const line = h('div', { class: 'location-line' },
      h('span', { class: 'location-name' }, l.name), h('span', { class: 'muted' }, KINDS[l.kind] ?? l.kind), rename, below);
    const li = h('li', { class: 'location-node', dataset: { locationId: l.id } }, line,
      kids.length ? h('ul', null, kids.map(node)) : null);
    rename.addEventListener('click', () => line.replaceWith(renameForm(l, line, rename)));
    below.addEventListener('click', () => add.below(l));
    return li;
  }

  // renameForm replaces a location's line while its new name is typed.
  function renameForm(l, line, rename) {
    const id = `rename-${l.id}`;
    const input = h('input', { id, name: 'name', required: true, maxlength: '200', value: l.name, autocomplete: 'off' });
    const error = h('p', { class: 'error-text', role: 'alert', id: `${id}-error`, hidden: true });
    const back = () => {
      form.replaceWith(line);
      rename.focus();
    };
    const form = h('form', { class: 'location-rename', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: id }, `New name of ${l.name}`), input),
      h('button', { type: 'submit', class: 'button button-primary' }, 'Save'),
      h('button', { type: 'button', class: 'button', onclick: back }, 'Cancel'), error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const saved = await api.patch(`/api/v1/locations/${encodeURIComponent(l.id)}`, { name: input.value });
        say(`${l.name} is now called ${saved.name}.`);
        await reload();
        document.querySelector(`[data-rename="${CSS.escape(l.id)}"]`)?.focus();
      } catch (err) {
        error.textContent = api.problemText(err);
        error.hidden = false;
        input.focus();
      }
    });
    queueMicrotask(() => {
      input.focus();
      input.select();
    });
    return form;
  }

  container.append(h('h1', { tabindex: '-1' }, 'Locations'),
    h('p', { class: 'hint' }, app.user.role === 'ADMIN' ? 'Your district, its schools and their campuses.'
      : 'Your schools and their campuses. The district office adds schools.'),
    notice, add.section, h('section', { 'aria-labelledby': 'location-tree-heading' },
      h('h2', { id: 'location-tree-heading' }, 'The district'), treeBox));
  showTree();
  return { title: 'Locations' };
}

// addForm is the form that adds a location under a parent the admin
// administers (an ADMIN may also add a top-level one).
function addForm(app, getTree, onAdded) {
  const name = h('input', { id: 'location-name', name: 'name', required: true, maxlength: '200', autocomplete: 'off' });
  const kind = h('select', { id: 'location-kind', name: 'kind' },
    Object.entries(KINDS).map(([value, label]) => h('option', { value, selected: value === 'SCHOOL' }, label)));
  const parent = h('select', { id: 'location-parent', name: 'parent_id' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'location-error', hidden: true });
  const field = (label, control) => h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  const form = h('form', { class: 'panel location-form', id: 'location-form', novalidate: true },
    h('div', { class: 'field-row' }, field('Name', name), field('Kind', kind), field('Under', parent)), error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', id: 'location-add' }, 'Add location')));

  function refresh() {
    const tree = getTree();
    const chosen = parent.value;
    parent.replaceChildren();
    append(parent, [app.user.role === 'ADMIN' ? h('option', { value: '' }, 'Nothing (a top-level location)') : null,
      inOrder(tree, tree.scope).map((l) => h('option', { value: l.id }, indented(tree, l)))]);
    if ([...parent.options].some((o) => o.value === chosen)) parent.value = chosen;
  }
  refresh();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    try {
      const l = await api.post('/api/v1/locations', { name: name.value, kind: kind.value, parent_id: parent.value || null });
      name.value = '';
      await onAdded(l);
    } catch (err) {
      error.textContent = api.problemText(err);
      error.hidden = false;
      name.focus();
    }
  });

  return {
    section: h('section', { 'aria-labelledby': 'location-form-heading' }, h('h2', { id: 'location-form-heading' }, 'Add a location'), form),
    refresh,
    // below chooses l as the parent and the kind that usually goes under it.
    below(l) {
      parent.value = l.id;
      kind.value = CHILD_KIND[l.kind] ?? 'CAMPUS';
      name.focus();
    },
  };
}
