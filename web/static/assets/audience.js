// The audience of a broadcast: everyone the sender may reach, or people
// chosen by school, role and grade. As the sender edits it, a preview
// (POST /api/v1/audiences/preview) says how many people it holds and how
// many each channel can reach, so nobody sends to "grade 3" by mistake
// when they meant one school.
import * as api from './api.js';
import { h, debounce, ROLES } from './dom.js';

const PREVIEW_WAIT_MS = 250;
const REACH_LABELS = { EMAIL: 'email', SMS: 'text message', VOICE: 'voice call', PUSH: 'push' };

// schoolsFor returns the locations the user may send to, parents first:
// every location for an ADMIN, their own and those below them for staff.
export async function schoolsFor(user) {
  const all = (await api.get('/api/v1/locations')).items ?? [];
  if (user.role === 'ADMIN') return all;
  const mine = new Set(user.location_ids ?? []);
  for (let grew = true; grew;) {
    grew = false;
    for (const l of all) if (l.parent_id && mine.has(l.parent_id) && !mine.has(l.id)) { mine.add(l.id); grew = true; }
  }
  return all.filter((l) => mine.has(l.id));
}

// audienceEditor returns { node, value(), preview(), set(audience) }. onPreview
// runs with each preview answer (or an error) as it arrives.
export function audienceEditor({ id, schools, onPreview = () => {}, everyoneLabel = 'Everyone you can reach' }) {
  const option = (value, label, checked) => h('div', { class: 'field-check' },
    h('input', { type: 'radio', name: `${id}-scope`, id: `${id}-scope-${value}`, value, checked }),
    h('label', { for: `${id}-scope-${value}` }, label));
  const check = (group, value, label) => h('div', { class: 'field-check' },
    h('input', { type: 'checkbox', name: `${id}-${group}`, id: `${id}-${group}-${value.toLowerCase()}`, value }),
    h('label', { for: `${id}-${group}-${value.toLowerCase()}` }, label));
  const grades = h('input', { id: `${id}-grades`, autocomplete: 'off', 'aria-describedby': `${id}-grades-hint` });
  const summary = h('p', { id: `${id}-preview`, class: 'audience-preview', 'aria-live': 'polite' }, '');
  const choose = h('div', { id: `${id}-choose`, class: 'audience-choose', hidden: true },
    h('fieldset', { class: 'field' }, h('legend', null, 'Schools'),
      schools.map((l) => check('location', l.id, l.name))),
    h('fieldset', { class: 'field' }, h('legend', null, 'Who'),
      Object.entries(ROLES).map(([value, label]) => check('role', value, label))),
    h('div', { class: 'field' }, h('label', { for: `${id}-grades` }, 'Grades (parents and guardians of students in them)'),
      h('p', { id: `${id}-grades-hint`, class: 'hint' }, 'Separate grades with commas, for example: K, 1, 2. Leave empty for every grade.'),
      grades));
  const node = h('fieldset', { class: 'field audience', id }, h('legend', null, 'Audience'),
    h('div', { class: 'inline-options', role: 'radiogroup', 'aria-label': 'Audience' },
      option('everyone', everyoneLabel, true), option('choose', 'Choose schools, roles or grades', false)),
    choose, summary);

  let last = null;
  const value = () => {
    if (node.querySelector(`[name=${id}-scope]:checked`).value === 'everyone') return { everyone: true };
    const picked = (group) => [...node.querySelectorAll(`[name=${id}-${group}]:checked`)].map((c) => c.value);
    const aud = {};
    const locations = picked('location');
    const roles = picked('role');
    const gradeList = grades.value.split(',').map((g) => g.trim()).filter(Boolean);
    if (locations.length) aud.location_ids = locations;
    if (roles.length) aud.roles = roles;
    if (gradeList.length) aud.grades = gradeList;
    return Object.keys(aud).length ? aud : null;
  };
  const refresh = debounce(async () => {
    const aud = value();
    if (!aud) {
      last = null;
      summary.textContent = 'Choose at least one school, role or grade.';
      onPreview(null);
      return;
    }
    summary.textContent = 'Counting…';
    try {
      last = await api.post('/api/v1/audiences/preview', aud);
      summary.textContent = previewText(last);
      onPreview(last);
    } catch (err) {
      last = null;
      summary.textContent = api.problemText(err);
      onPreview(null, err);
    }
  }, PREVIEW_WAIT_MS);
  node.addEventListener('change', (e) => {
    if (e.target.name === `${id}-scope`) choose.hidden = e.target.value === 'everyone';
    refresh();
  });
  grades.addEventListener('input', refresh);
  refresh();
  return {
    node, value, refresh,
    preview: () => last,
    // set chooses some schools (a SCHOOL_ADMIN's alert starts at their school).
    set(aud) {
      node.querySelector(`#${id}-scope-${aud.everyone ? 'everyone' : 'choose'}`).checked = true;
      choose.hidden = !!aud.everyone;
      for (const c of node.querySelectorAll(`[name=${id}-location]`)) c.checked = (aud.location_ids ?? []).includes(c.value);
      for (const c of node.querySelectorAll(`[name=${id}-role]`)) c.checked = (aud.roles ?? []).includes(c.value);
      refresh();
    },
  };
}

// previewText says a preview in words: "312 people (300 parents or
// guardians, 12 nurses and staff). Reachable by email 290, text message 250, …".
export function previewText(p) {
  if (!p.count) return 'Nobody matches this audience now.';
  const roles = Object.entries(p.by_role).map(([r, n]) => `${n} ${ROLES[r] ?? r}`).join(', ');
  const reach = Object.entries(REACH_LABELS).map(([c, label]) => `${label} ${p.reachable[c] ?? 0}`).join(', ');
  return `${p.count} ${p.count === 1 ? 'person' : 'people'} (${roles}). Reachable by ${reach}.`;
}
