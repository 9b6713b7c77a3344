// The recipient picker: a combobox (WAI-ARIA 1.2 pattern) that searches
// the people (GET /users?q=) and groups (GET /groups) the user may message,
// and shows the chosen ones as removable chips. Keyboard: type to search,
// Down/Up to move, Enter to choose, Escape to close, Backspace in the empty
// box removes the last chip. With a source (an async function from the
// typed text to options {key, kind, id, name, detail}) it searches that
// instead: the compose page's "About student(s)" picker searches students.
import * as api from './api.js';
import * as people from './people.js';
import { h, debounce, visuallyHidden, ROLES } from './dom.js';

export function recipientPicker({ id, labelId, describedBy, groups: withGroups = true, role = '', chosenLabel = 'Chosen recipients', source = null }) {
  const chosen = new Map(); // key ('user:<id>' | 'group:<id>') -> {kind, id, name}
  const chips = h('ul', { class: 'chips', id: `${id}-chosen`, 'aria-label': chosenLabel });
  const listbox = h('ul', { id: `${id}-options`, role: 'listbox', class: 'options', 'aria-labelledby': labelId, hidden: true });
  const input = h('input', {
    id, type: 'text', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listbox.id,
    'aria-describedby': [describedBy, `${id}-status`].filter(Boolean).join(' '),
  });
  const status = h('p', { id: `${id}-status`, class: 'visually-hidden', role: 'status' });
  let options = [];
  let active = -1;
  let groups = null;

  const close = () => {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const showOptions = (found) => {
    options = found.filter((o) => !chosen.has(o.key));
    listbox.replaceChildren(...options.map((o, n) => h('li', {
      id: `${id}-option-${n}`, role: 'option', class: 'option', 'aria-selected': 'false', dataset: { key: o.key },
      onmousedown: (e) => e.preventDefault(), // keep the focus in the input
      onclick: () => choose(o),
    }, h('span', { class: 'option-name' }, o.name), ' ', h('span', { class: 'muted' }, o.detail))));
    const open = options.length > 0;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    active = -1;
    status.textContent = open ? `${options.length} suggestion${options.length === 1 ? '' : 's'}. Use the arrow keys to choose.` : (input.value.trim() ? 'Nothing found.' : '');
  };

  const search = debounce(async () => {
    const q = input.value.trim();
    if (!q) {
      close();
      return;
    }
    try {
      if (source) {
        const found = await source(q);
        if (input.value.trim() === q) showOptions(found);
        return;
      }
      groups ??= withGroups ? (await api.get('/api/v1/groups')).items : [];
      const users = await api.get(`/api/v1/users?limit=8&q=${encodeURIComponent(q)}${role ? `&role=${role}` : ''}`);
      if (input.value.trim() !== q) return; // typed on meanwhile
      people.remember(...users.items);
      const lower = q.toLowerCase();
      showOptions([
        ...users.items.map((u) => ({ key: `user:${u.id}`, kind: 'user', id: u.id, name: u.name, detail: ROLES[u.role] ?? u.role })),
        ...groups.filter((g) => g.name.toLowerCase().includes(lower))
          .map((g) => ({ key: `group:${g.id}`, kind: 'group', id: g.id, name: g.name, detail: `Group of ${g.member_ids.length}` })),
      ]);
    } catch {
      status.textContent = 'Could not search right now.';
    }
  }, 200);

  const setActive = (n) => {
    const items = listbox.querySelectorAll('[role=option]');
    if (!items.length) return;
    active = (n + items.length) % items.length;
    items.forEach((el, i) => el.setAttribute('aria-selected', String(i === active)));
    input.setAttribute('aria-activedescendant', items[active].id);
    items[active].scrollIntoView({ block: 'nearest' });
  };

  function choose(o) {
    add(o);
    input.value = '';
    close();
    status.textContent = `${o.name} added.`;
    input.focus();
    changed();
  }

  // changed tells the form the choice changed (choosing is no input event).
  const changed = () => input.dispatchEvent(new Event('change', { bubbles: true }));

  function add(o) {
    if (chosen.has(o.key)) return;
    chosen.set(o.key, o);
    const remove = h('button', { type: 'button', class: 'chip-remove', onclick: () => {
      chosen.delete(o.key);
      chip.remove();
      status.textContent = `${o.name} removed.`;
      input.focus();
      changed();
    } }, h('span', { 'aria-hidden': 'true' }, '×'), visuallyHidden(`Remove ${o.name}`));
    const chip = h('li', { class: 'chip', dataset: { key: o.key } }, o.kind === 'group' ? `${o.name} (group)` : o.name, remove);
    chips.append(chip);
  }

  input.addEventListener('input', search);
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (listbox.hidden) search();
      else setActive(active + 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive(active - 1);
    } else if (e.key === 'Enter') {
      if (!listbox.hidden && options.length) {
        e.preventDefault();
        choose(options[Math.max(active, 0)]);
      }
    } else if (e.key === 'Escape') {
      close();
    } else if (e.key === 'Backspace' && !input.value && chosen.size) {
      chips.lastElementChild?.querySelector('button')?.click();
    }
  });

  return {
    node: h('div', { class: 'picker' }, chips, input, listbox, status),
    input,
    add,
    // clear removes every chip (after the choice was used).
    clear() {
      chosen.clear();
      chips.replaceChildren();
    },
    value() {
      const v = { recipient_ids: [], group_ids: [], student_ids: [], names: [] };
      const lists = { group: v.group_ids, student: v.student_ids };
      for (const o of chosen.values()) {
        (lists[o.kind] ?? v.recipient_ids).push(o.id);
        v.names.push(o.name);
      }
      return v;
    },
  };
}
