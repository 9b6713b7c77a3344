// Roster import (district admins): the district's people from its student
// information system, as a .zip of OneRoster 1.1 CSV files. A dry run is
// the default: it shows what the import would change, and the same file
// is then imported with one click. The import runs on the server; the page
// follows it until it is done.
import * as api from './api.js';
import { h, append, announce, reflowRow, reflowTable } from './dom.js';
import { formatTime } from './time.js';

const POLL_MS = 1000;
const COUNT_COLUMNS = ['Records', 'Created', 'Updated', 'Deactivated'];
const ERROR_COLUMNS = ['File', 'Line', 'Problem'];

export async function rosterView(app, container) {
  const file = h('input', { type: 'file', id: 'roster-file', accept: '.zip,application/zip', required: true, 'aria-describedby': 'roster-file-hint' });
  const dry = h('input', { type: 'checkbox', id: 'roster-dry-run', checked: true });
  const start = h('button', { type: 'submit', class: 'button button-primary', id: 'roster-start' }, 'Check the file');
  const error = h('p', { class: 'error-text', role: 'alert', id: 'roster-error', hidden: true });
  const result = h('section', { id: 'roster-result', 'aria-live': 'polite', hidden: true });
  const form = h('form', { class: 'panel roster-form', id: 'roster-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'roster-file' }, 'OneRoster file (.zip)'), file,
      h('p', { class: 'hint', id: 'roster-file-hint' },
        'Export it from your student information system: manifest.csv, orgs.csv and users.csv (OneRoster 1.1), at most 64 MB.')),
    h('div', { class: 'field-check' }, dry, h('label', { for: 'roster-dry-run' }, 'Dry run: show what would change, change nothing')),
    h('div', { class: 'actions' }, start), error);
  container.append(h('h1', { tabindex: '-1' }, 'Roster import'),
    h('p', { class: 'hint' }, 'People are matched by their sourcedId: importing the same file again changes nothing, and a full import ',
      'deactivates the imported people it no longer lists. People you added by hand are never changed.'),
    form, result);

  const label = () => { start.textContent = dry.checked ? 'Check the file' : 'Import'; };
  dry.addEventListener('change', label);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!file.files.length) {
      showError(error, 'Choose the .zip file first.');
      file.focus();
      return;
    }
    start.disabled = true;
    try {
      const imp = await upload(file.files[0], dry.checked);
      show(result, await follow(imp, result), dry, label);
    } catch (err) {
      showError(error, api.problemText(err));
    } finally {
      start.disabled = false;
    }
  });
  return { title: 'Roster import' };
}

// upload starts an import of f.
function upload(f, dryRun) {
  const body = new FormData();
  body.append('file', f);
  return api.post(`/api/v1/admin/roster?dry_run=${dryRun}`, body);
}

// follow polls an import until it is done, showing that it runs.
async function follow(imp, result) {
  result.hidden = false;
  result.replaceChildren(h('p', { class: 'muted', id: 'roster-running' }, 'Importing… this page follows it; you may leave and come back.'));
  while (imp.status === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    imp = await api.get(`/api/v1/admin/roster/${imp.id}`);
  }
  return imp;
}

// show writes an import's report; after a clean dry run it offers the
// real import of the same file.
function show(result, imp, dry, label) {
  const c = imp.counts;
  const what = imp.dry_run ? 'Dry run: nothing was changed. The import would make these changes.' : 'Imported.';
  const counts = h('tbody');
  const rows = [['Locations', c.locations.created, c.locations.updated, '—'],
    ['People', c.users.created, c.users.updated, c.users.deactivated],
    ['Students', c.students.created, c.students.updated, c.students.deactivated]];
  counts.append(...rows.map((r) => reflowRow({}, COUNT_COLUMNS, r.map(String))));
  result.replaceChildren();
  append(result, [
    h('h2', { id: 'roster-result-heading' }, imp.status === 'FAILED' ? 'The import stopped' : what),
    imp.failure ? h('p', { class: 'error-text', id: 'roster-failure' }, imp.failure) : null,
    h('p', { class: 'muted' }, 'Started ', formatTime(imp.created_at), '.'),
    reflowTable({ class: 'delivery-table', id: 'roster-counts' }, COUNT_COLUMNS, counts),
    skipped(imp)]);
  announce(imp.status === 'FAILED' ? 'The roster import stopped.' : `${imp.dry_run ? 'Dry run' : 'Import'} done.`);
  if (imp.dry_run && imp.status === 'DONE') {
    dry.checked = false;
    label();
    result.append(h('p', { class: 'hint', id: 'roster-next' }, 'If these changes are right, import the same file: “Dry run” is now off.'));
  }
}

// skipped lists the rows the import left out, with file and line.
function skipped(imp) {
  if (!imp.error_count) return h('p', { id: 'roster-no-errors' }, 'Every row was read.');
  const body = h('tbody');
  body.append(...imp.errors.map((e) => reflowRow({}, ERROR_COLUMNS, [e.file, String(e.line), e.message])));
  const more = imp.error_count - imp.errors.length;
  return h('section', { 'aria-labelledby': 'roster-errors-heading' },
    h('h3', { id: 'roster-errors-heading' }, `${imp.error_count} ${imp.error_count === 1 ? 'row was' : 'rows were'} skipped`),
    h('p', { class: 'hint' }, 'Fix them in your student information system and import again.'),
    reflowTable({ class: 'delivery-table', id: 'roster-errors' }, ERROR_COLUMNS, body),
    more > 0 ? h('p', { class: 'muted' }, `… and ${more} more.`) : null);
}

function showError(el, text) {
  el.textContent = text;
  el.hidden = false;
}
