// Students as the picker and the record pages show them: a search of the
// students the user may see (GET /students?q=: staff their schools',
// guardians their own children), and each student's name once looked up.
import * as api from './api.js';
import { h } from './dom.js';

// studentOptions finds the students whose name matches q, as picker options.
export async function studentOptions(q) {
  const page = await api.get(`/api/v1/students?limit=8&q=${encodeURIComponent(q)}`);
  return page.items.map((st) => ({ key: `student:${st.id}`, kind: 'student', id: st.id, name: st.name, detail: `Grade ${st.grade}` }));
}

// names caches the students' names by id once looked up.
const names = new Map();

// studentName is the student's name, or "a student" for one the user may
// not see (a recipient is told which students a message is about, not
// shown their records).
function studentName(id) {
  if (!names.has(id)) {
    names.set(id, api.get(`/api/v1/students/${encodeURIComponent(id)}`).then((st) => st.name).catch(() => 'a student'));
  }
  return names.get(id);
}

// studentLinks is a message's students, each a link to their communication
// log named as soon as the name is known; null for a message about nobody.
export function studentLinks(ids) {
  if (!ids?.length) return null;
  return h('span', { class: 'about-students' }, ids.map((id, n) => {
    const link = h('a', { href: `/students/${encodeURIComponent(id)}/messages`, dataset: { studentId: id } }, '…');
    studentName(id).then((name) => { link.textContent = name; });
    return [n ? ', ' : '', link];
  }));
}
