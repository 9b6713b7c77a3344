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

// studentLinks is a message's students as links to their communication
// logs, or null for a message about nobody.
export function studentLinks(ids, names = new Map()) {
  if (!ids?.length) return null;
  return h('p', { class: 'about-students' }, 'About: ', ids.map((id, n) => [n ? ', ' : '',
    h('a', { href: `/students/${encodeURIComponent(id)}/messages`, dataset: { studentId: id } }, names.get(id) ?? 'a student')]));
}
