// The form of one person on the People page: adding someone (POST
// /api/v1/users) or changing their role, locations and contact details
// (PATCH /api/v1/users/{id}). It offers what the server accepts from the
// signed-in administrator: a SCHOOL_ADMIN grants no ADMIN role, does not
// turn a parent into staff or back, and places people only at their own
// locations (the server refuses anything else too).
import * as api from './api.js';
import { h, ROLES, markInvalid, markValid } from './dom.js';
import { inOrder, KINDS } from './locations.js';

// rolesFor lists the roles the admin may give person (null: a new person).
export function rolesFor(admin, person) {
  if (admin.role === 'ADMIN') return Object.keys(ROLES);
  if (!person) return ['SCHOOL_ADMIN', 'NURSE', 'STAFF', 'GUARDIAN'];
  return person.role === 'GUARDIAN' ? ['GUARDIAN'] : ['SCHOOL_ADMIN', 'NURSE', 'STAFF'];
}

// personForm builds the form; onSaved(user) runs after the server took it.
// prefix keeps the ids of the add and edit forms apart.
export function personForm(app, tree, person, { prefix, onSaved, onCancel }) {
  const id = (name) => `${prefix}-${name}`;
  const input = (name, props = {}) => h('input', { id: id(name), name, ...props });
  const email = person ? null : input('email', { type: 'email', required: true, autocomplete: 'off', maxlength: '254' });
  const name = input('name', { required: true, maxlength: '200', autocomplete: 'off', value: person?.name ?? '' });
  const role = h('select', { id: id('role'), name: 'role' },
    rolesFor(app.user, person).map((r) => h('option', { value: r, selected: r === (person?.role ?? 'STAFF') }, ROLES[r])));
  const phone = input('phone', { type: 'tel', maxlength: '16', autocomplete: 'off', value: person?.phone ?? '', 'aria-describedby': id('phone-hint') });
  const locale = input('locale', { maxlength: '35', value: person?.locale ?? '', 'aria-describedby': id('locale-hint') });
  const timezone = input('timezone', { maxlength: '64', value: person?.timezone ?? '', 'aria-describedby': id('timezone-hint') });
  const places = locationBoxes(tree, person, id);
  const error = h('p', { class: 'error-text', role: 'alert', id: id('error'), hidden: true });
  const save = h('button', { type: 'submit', class: 'button button-primary', id: id('save') }, person ? 'Save changes' : 'Add person');
  const fields = { email, name, role, phone, locale, timezone, location_ids: places.first };

  const form = h('form', { class: 'panel person-form', id: id('form'), novalidate: true },
    person ? h('p', null, h('strong', null, 'Email: '), person.email, h('span', { class: 'muted' }, ' (cannot change)')) : field('Email', email),
    field('Name', name),
    field('Role', role),
    places.fieldset,
    h('div', { class: 'field-row' },
      field('Phone', phone, h('p', { class: 'hint', id: id('phone-hint') }, 'With country code, e.g. +15551234567; empty for none.')),
      field('Language', locale, h('p', { class: 'hint', id: id('locale-hint') }, 'e.g. en-US or es; empty for the district’s.')),
      field('Time zone', timezone, h('p', { class: 'hint', id: id('timezone-hint') }, 'e.g. America/Chicago; empty for the district’s.'))),
    person ? null : h('p', { class: 'notice', id: id('no-password') },
      'There is no password to choose: the person signs in with a code sent to their email or phone, ',
      'or your district’s IT team sets a first password with the whitecross command line.'),
    error,
    h('div', { class: 'actions' }, save,
      h('button', { type: 'button', class: 'button', id: id('cancel'), onclick: onCancel }, 'Cancel')));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    for (const el of Object.values(fields)) if (el) markValid(el, error.id);
    const body = {
      name: name.value, role: role.value, phone: phone.value.trim(), location_ids: places.value(),
      locale: locale.value.trim(), timezone: timezone.value.trim(),
    };
    if (!person) {
      body.email = email.value.trim();
      if (!body.locale) delete body.locale;
      if (!body.timezone) delete body.timezone;
    }
    save.disabled = true;
    try {
      const saved = person ? await api.patch(`/api/v1/users/${encodeURIComponent(person.id)}`, body) : await api.post('/api/v1/users', body);
      onSaved(saved);
    } catch (err) {
      error.textContent = api.problemText(err);
      error.hidden = false;
      const bad = Object.keys(api.fieldErrors(err)).map((f) => fields[f]).filter(Boolean);
      for (const el of bad) markInvalid(el, error.id);
      (bad[0] ?? error).focus?.();
    } finally {
      save.disabled = false;
    }
  });
  return { form, focus: () => (email ?? name).focus() };
}

function field(label, control, hint = null) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint);
}

// locationBoxes is a checkbox per location the admin may place people at;
// a location of the person's outside the admin's scope is shown ticked and
// cannot be changed (the server keeps it).
function locationBoxes(tree, person, id) {
  const had = new Set(person?.location_ids ?? []);
  const shown = inOrder(tree).filter((l) => tree.scope.has(l.id) || had.has(l.id));
  const boxes = shown.map((l) => {
    const box = h('input', { type: 'checkbox', id: id(`loc-${l.id}`), value: l.id, checked: had.has(l.id), disabled: !tree.scope.has(l.id) });
    return h('div', { class: `field-check depth-${Math.min(tree.depth.get(l.id) ?? 0, 3)}` }, box,
      h('label', { for: box.id }, l.name, h('span', { class: 'muted' }, ` · ${KINDS[l.kind] ?? l.kind}`)));
  });
  const fieldset = h('fieldset', { class: 'field location-boxes', id: id('locations'), 'aria-describedby': id('locations-hint') },
    h('legend', null, 'Locations'),
    h('p', { class: 'hint', id: id('locations-hint') }, 'Staff need at least one. A parent may have none: their children’s schools place them.'),
    boxes);
  return {
    fieldset,
    first: fieldset,
    value: () => [...fieldset.querySelectorAll('input[type=checkbox]:checked')].map((b) => b.value),
  };
}
