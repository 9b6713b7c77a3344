// One student (ADMIN, SCHOOL_ADMIN): where they are, their grade, and their
// guardians with custody yes or no. Custody decides who hears about the
// child: a guardian without custody is a contact only, never told about the
// student and unable to reach staff through them. What the roster import
// owns (an imported student's name, grade and location, and the guardians
// it lists) is shown but not editable here: the next import would undo it.
import * as api from './api.js';
import * as people from './people.js';
import { h, append, reflowRow, reflowTable, visuallyHidden } from './dom.js';
import { formatTime } from './time.js';
import { recipientPicker } from './recipients.js';
import { loadLocations, locationName, locationSelect, field, feedback } from './directory.js';

const COLUMNS = ['Guardian', 'Custody', 'Source', { label: 'Actions', hidden: true }];

export async function studentView(app, container, id) {
  const [locations, first] = await Promise.all([loadLocations(), api.get(`/api/v1/students/${encodeURIComponent(id)}`)]);
  let st = first;
  const heading = h('h1', { tabindex: '-1', id: 'student-name' });
  const facts = h('dl', { class: 'facts', id: 'student-facts' });
  const notes = h('div', { id: 'student-notes' });
  const guardians = h('tbody', { id: 'student-guardians' });
  const editing = h('div', { id: 'student-editing' });
  const result = feedback('student');

  // show draws the student as it now is.
  const show = (next) => {
    st = next;
    heading.textContent = st.name;
    facts.replaceChildren(
      h('dt', null, 'Location'), h('dd', null, locationName(locations, st.location_id)),
      h('dt', null, 'Grade'), h('dd', null, st.grade),
      h('dt', null, 'Source'), h('dd', null, st.from_roster ? 'Roster import' : 'Added by hand'),
      h('dt', null, 'Status'), h('dd', { id: 'student-state' }, st.deactivated_at ? ['Deactivated ', formatTime(st.deactivated_at)] : 'Active'));
    notes.replaceChildren();
    append(notes, [
      st.from_roster ? h('p', { class: 'notice', id: 'student-roster-note' },
        'This student comes from the roster import. Change their name, grade, location and the guardians the roster lists in your ',
        'student information system: the next import would undo a change made here. Guardians you add here stay.') : null,
      st.deactivated_at ? h('p', { class: 'notice', id: 'student-deactivated-note' },
        'The roster no longer lists this student: nobody is reached through them, and they can no longer be changed.') : null]);
    guardians.replaceChildren(...st.guardians.map((g) => guardianRow(g)));
    if (!st.guardians.length) guardians.append(h('tr', { role: 'row' }, h('td', { role: 'cell', colspan: 4 }, 'No guardians yet.')));
  };

  const act = async (request, done) => {
    result.clear();
    try {
      show(await request());
      result.ok(done);
    } catch (err) {
      result.fail(err);
    }
  };
  const path = `/api/v1/students/${encodeURIComponent(id)}`;
  const guardianPath = (g) => `${path}/guardians/${encodeURIComponent(g.user_id)}`;

  const guardianRow = (g) => {
    const name = people.nameNode(g.user_id);
    // Each button says whose link it changes, once the name is known.
    const whose = (prefix) => {
      const span = visuallyHidden('');
      people.lookup(g.user_id).then((u) => { span.textContent = `${prefix}${u.name}`; });
      return span;
    };
    const locked = g.imported || st.deactivated_at;
    const actions = locked ? h('span', { class: 'muted' }, g.imported ? 'Changed in the roster' : '—') : [
      h('button', { type: 'button', class: 'button-link', dataset: { action: 'custody' }, onclick: () => act(
        () => api.put(guardianPath(g), { custody: !g.custody }), g.custody ? 'Custody removed.' : 'Custody given.') },
      g.custody ? 'Remove custody' : 'Give custody', whose(' for ')),
      ' ',
      h('button', { type: 'button', class: 'button-link', dataset: { action: 'remove' }, onclick: () => act(
        () => api.del(guardianPath(g)), 'Guardian removed.') },
      'Remove', whose(' '))];
    return reflowRow({ dataset: { userId: g.user_id } }, COLUMNS, [name,
      g.custody ? h('strong', null, 'Yes') : 'No — contact only', g.imported ? 'Roster' : 'Added by hand', actions]);
  };

  show(st);
  if (!st.deactivated_at) {
    editing.append(addGuardianForm(act, path), st.from_roster ? null : editForm(act, path, st, locations));
  }
  container.append(
    h('p', { class: 'back' }, h('a', { href: '/students' }, h('span', { 'aria-hidden': 'true' }, '← '), 'All students')),
    heading, notes, facts,
    h('p', { class: 'record-links' }, h('a', { href: `/students/${encodeURIComponent(id)}/messages`, id: 'student-messages-link', class: 'standalone-link' },
      'Messages about this student'),
    app.user.role === 'ADMIN' ? [' · ', h('a', { href: `/disclosures?student_id=${encodeURIComponent(id)}`, id: 'student-disclosures-link', class: 'standalone-link' },
      'Disclosures')] : null),
    h('section', { 'aria-labelledby': 'student-guardians-heading' },
      h('h2', { id: 'student-guardians-heading' }, 'Guardians'),
      h('p', { class: 'hint' }, 'A guardian with custody receives messages about the student and may write to their school. ',
        'Without custody they are a contact only: staff are warned not to tell them about the student.'),
      reflowTable({ class: 'delivery-table', id: 'student-guardians-table' }, COLUMNS, guardians)),
    ...result.nodes, editing);
  return { title: st.name };
}

// addGuardianForm links guardians (people of role GUARDIAN) to the student.
function addGuardianForm(act, path) {
  const picker = recipientPicker({ id: 'guardian-new', labelId: 'guardian-new-label', describedBy: 'guardian-new-hint',
    groups: false, role: 'GUARDIAN', chosenLabel: 'Chosen guardians' });
  const custody = h('input', { id: 'guardian-new-custody', type: 'checkbox' });
  return h('section', { class: 'panel admin-form', 'aria-labelledby': 'guardian-new-heading' },
    h('h2', { id: 'guardian-new-heading' }, 'Add a guardian'),
    h('form', { id: 'guardian-new-form', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      const ids = picker.value().recipient_ids;
      act(async () => {
        let st;
        for (const userID of ids) st = await api.put(`${path}/guardians/${encodeURIComponent(userID)}`, { custody: custody.checked });
        if (!st) throw new Error('Choose a guardian first.');
        picker.clear();
        return st;
      }, ids.length === 1 ? 'Guardian added.' : 'Guardians added.');
    } },
    h('div', { class: 'field' }, h('label', { id: 'guardian-new-label', for: 'guardian-new' }, 'Guardian'), picker.node,
      h('p', { class: 'hint', id: 'guardian-new-hint' }, 'Type a name; parents and guardians you may reach are found.')),
    h('div', { class: 'field-check' }, custody, h('label', { for: 'guardian-new-custody' }, 'Has custody')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', id: 'guardian-new-submit' }, 'Add'))));
}

// editForm changes a student's name, grade and location.
function editForm(act, path, st, locations) {
  const name = h('input', { id: 'student-edit-name', type: 'text', maxlength: 200, value: st.name });
  const grade = h('input', { id: 'student-edit-grade', type: 'text', maxlength: 16, value: st.grade });
  const loc = locationSelect({ id: 'student-edit-location' }, locations);
  loc.value = st.location_id;
  return h('section', { class: 'panel admin-form', 'aria-labelledby': 'student-edit-heading' },
    h('h2', { id: 'student-edit-heading' }, 'Change name, grade or location'),
    h('form', { id: 'student-edit-form', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      act(() => api.patch(path, { name: name.value, grade: grade.value, location_id: loc.value }), 'Saved.');
    } },
    field('student-edit-name', 'Name', name), field('student-edit-grade', 'Grade', grade), field('student-edit-location', 'Location', loc),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button', id: 'student-edit-submit' }, 'Save'))));
}
