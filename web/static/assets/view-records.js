// Students' messages (staff and guardians): the students the user may see
// (a guardian: their own children), each linking to the communication log
// of the messages about them.
import * as api from './api.js';
import { h, reflowRow, reflowTable } from './dom.js';
import { field, feedback } from './directory.js';

const COLUMNS = ['Student', 'Grade'];
const PAGE = 50;

export async function recordsView(app, container) {
  const guardian = app.user.role === 'GUARDIAN';
  const q = h('input', { id: 'records-q', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const body = h('tbody', { id: 'records-rows' });
  const more = h('button', { type: 'button', class: 'button', id: 'records-more', hidden: true }, 'Show more students');
  const problem = feedback('records');
  let cursor = null;

  const search = async ({ next = false } = {}) => {
    problem.clear();
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (next && cursor) params.set('cursor', cursor);
    try {
      const page = await api.get(`/api/v1/students?${params}`);
      if (!next) body.replaceChildren();
      body.append(...page.items.map((st) => reflowRow({ dataset: { id: st.id } }, COLUMNS, [
        h('a', { href: `/students/${encodeURIComponent(st.id)}/messages` }, `Messages about ${st.name}`), st.grade])));
      if (!next && !page.items.length) body.append(h('tr', { role: 'row' }, h('td', { role: 'cell', colspan: 2 }, 'No students found.')));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      problem.fail(err);
    }
  };
  more.addEventListener('click', () => search({ next: true }));
  const heading = guardian ? 'Messages about your children' : 'Messages about students';
  container.append(h('h1', { tabindex: '-1' }, heading),
    guardian ? null : h('form', { class: 'filters', id: 'records-filters', role: 'search', novalidate: true,
      onsubmit: (e) => { e.preventDefault(); search(); } },
    field('records-q', 'Name', q), h('button', { type: 'submit', class: 'button button-primary', id: 'records-search' }, 'Search')),
    ...problem.nodes, reflowTable({ class: 'delivery-table', id: 'records-table' }, COLUMNS, body), more);
  await search();
  return { title: heading };
}
