// Students (ADMIN across the district, SCHOOL_ADMIN at their schools): find
// a student by name, school and grade, a page at a time (a district has tens
// of thousands), and add one. Deactivated students are listed as such, not
// hidden; those from the roster import say so.
import * as api from './api.js';
import { h, reflowRow, reflowTable, announce } from './dom.js';
import { loadLocations, locationName, locationSelect, field, feedback } from './directory.js';

const COLUMNS = ['Name', 'Location', 'Grade', 'Status'];
const PAGE = 50;

export async function studentsView(app, container) {
  const locations = await loadLocations();
  const q = h('input', { id: 'students-q', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const loc = locationSelect({ id: 'students-location' }, locations, 'Every location');
  const grade = h('input', { id: 'students-grade', type: 'text', autocomplete: 'off', size: 4 });
  const withDeactivated = h('input', { id: 'students-deactivated', type: 'checkbox', checked: true });
  const body = h('tbody', { id: 'students-rows' });
  const count = h('p', { id: 'students-count', role: 'status' });
  const more = h('button', { type: 'button', class: 'button', id: 'students-more', hidden: true }, 'Show more students');
  const problem = feedback('students-search');
  let cursor = null;
  let shown = 0;

  const search = async ({ next = false } = {}) => {
    problem.clear();
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (loc.value) params.set('location_id', loc.value);
    if (grade.value.trim()) params.set('grade', grade.value.trim());
    if (withDeactivated.checked) params.set('include_deactivated', 'true');
    if (next && cursor) params.set('cursor', cursor);
    try {
      const page = await api.get(`/api/v1/students?${params}`);
      if (!next) {
        body.replaceChildren();
        shown = 0;
      }
      body.append(...page.items.map((st) => studentRow(st, locations)));
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      count.textContent = shown === 0 ? 'No students found.' : `${shown} student${shown === 1 ? '' : 's'} shown${cursor ? '; more below' : ''}.`;
    } catch (err) {
      problem.fail(err);
    }
  };
  more.addEventListener('click', () => search({ next: true }));
  const filters = h('form', { class: 'filters', id: 'students-filters', role: 'search', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); search(); } },
  field('students-q', 'Name', q), field('students-location', 'Location', loc), field('students-grade', 'Grade', grade),
  h('div', { class: 'field-check' }, withDeactivated, h('label', { for: 'students-deactivated' }, 'Include deactivated students')),
  h('button', { type: 'submit', class: 'button button-primary', id: 'students-search' }, 'Search'));
  loc.addEventListener('change', () => search());
  withDeactivated.addEventListener('change', () => search());

  container.append(h('h1', { tabindex: '-1' }, 'Students'),
    h('p', { class: 'hint' }, 'Students from the roster import are changed in your student information system; the next import updates them here.'),
    filters, ...problem.nodes, count,
    reflowTable({ class: 'delivery-table', id: 'students-table' }, COLUMNS, body), more,
    addStudentForm(app, locations));
  await search();
  return { title: 'Students' };
}

// studentRow is a student in the list, linking to their page.
function studentRow(st, locations) {
  const status = [st.deactivated_at ? h('span', { class: 'badge badge-canceled' }, 'Deactivated') : 'Active',
    st.from_roster ? [' ', h('span', { class: 'badge badge-channel' }, 'Roster')] : null];
  return reflowRow({ dataset: { id: st.id } }, COLUMNS, [
    h('a', { href: `/students/${encodeURIComponent(st.id)}` }, st.name),
    locationName(locations, st.location_id), st.grade, status]);
}

// addStudentForm creates a student by hand, then opens their page to add
// guardians.
function addStudentForm(app, locations) {
  const name = h('input', { id: 'student-new-name', type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const loc = locationSelect({ id: 'student-new-location', required: true }, locations, 'Choose a location');
  const grade = h('input', { id: 'student-new-grade', type: 'text', required: true, maxlength: 16, autocomplete: 'off' });
  const result = feedback('student-new');
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'student-new-submit' }, 'Add the student');
  return h('section', { class: 'panel admin-form', 'aria-labelledby': 'student-new-heading' },
    h('h2', { id: 'student-new-heading' }, 'Add a student'),
    h('form', { id: 'student-new-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const st = await api.post('/api/v1/students', { name: name.value, location_id: loc.value, grade: grade.value });
        announce(`${st.name} added.`);
        app.navigate(`/students/${encodeURIComponent(st.id)}`);
      } catch (err) {
        result.fail(err);
      } finally {
        submit.disabled = false;
      }
    } },
    field('student-new-name', 'Name', name), field('student-new-location', 'Location', loc),
    field('student-new-grade', 'Grade', grade, 'K, 1, 2 … 12, or as your district writes it.'),
    h('div', { class: 'actions' }, submit), ...result.nodes));
}
