// Shared parts of the admin pages for students and groups: the district's
// locations as names and as a choice, and the form helpers they share.
import * as api from './api.js';
import { h, announce } from './dom.js';

// loadLocations returns the district's locations, parents first, each with
// its depth in the tree.
export async function loadLocations() {
  const { items } = await api.get('/api/v1/locations');
  const depth = new Map();
  for (const l of items) depth.set(l.id, l.parent_id ? (depth.get(l.parent_id) ?? 0) + 1 : 0);
  return items.map((l) => ({ ...l, depth: depth.get(l.id) }));
}

// locationName is the name of the location with id ("Unknown location"
// for one the list does not hold).
export function locationName(locations, id) {
  return locations.find((l) => l.id === id)?.name ?? 'Unknown location';
}

// locationSelect is a <select> of the locations, indented by depth; first
// is the text of an empty first choice (none when null).
export function locationSelect(props, locations, first = null) {
  return h('select', props,
    first === null ? null : h('option', { value: '' }, first),
    locations.map((l) => h('option', { value: l.id }, `${'— '.repeat(l.depth)}${l.name}`)));
}

// field is a labelled form control with an optional hint.
export function field(id, label, control, hint = '') {
  if (hint) control.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

// feedback is a pair of paragraphs, a status and an error, for a form:
// ok(text) announces a success, fail(err) shows what the server said.
export function feedback(id) {
  const status = h('p', { class: 'notice', id: `${id}-status`, role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: `${id}-error`, role: 'alert', hidden: true });
  return {
    nodes: [status, error],
    clear() {
      status.hidden = true;
      error.hidden = true;
    },
    ok(text) {
      error.hidden = true;
      status.textContent = text;
      status.hidden = false;
      announce(text);
    },
    fail(err) {
      status.hidden = true;
      error.textContent = api.problemText(err);
      error.hidden = false;
    },
  };
}
