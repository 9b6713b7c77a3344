// The district's tree of locations, for the administrators' pages: who may
// manage which location is the server's rule (a SCHOOL_ADMIN their own
// locations and everything below them); the pages mirror it to offer only
// what the server would accept.
import * as api from './api.js';

export const KINDS = { DISTRICT: 'District', SCHOOL: 'School', CAMPUS: 'Campus' };

// loadTree fetches every location of the district (parents first) and
// returns the tree: byId, the children of each id ('' for the roots), each
// location's depth, and the ids the user administers.
export async function loadTree(user) {
  const { items } = await api.get('/api/v1/locations');
  return makeTree(items, user);
}

export function makeTree(items, user) {
  const byId = new Map(items.map((l) => [l.id, l]));
  const children = new Map();
  for (const l of items) {
    const parent = l.parent_id && byId.has(l.parent_id) ? l.parent_id : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(l);
  }
  const depth = new Map();
  const walk = (id, d) => {
    for (const l of children.get(id) ?? []) {
      depth.set(l.id, d);
      walk(l.id, d + 1);
    }
  };
  walk('', 0);
  const tree = { byId, children, depth, items };
  tree.scope = scopeOf(tree, user);
  return tree;
}

// scopeOf is the set of location ids the user administers: all for an
// ADMIN, their own locations and those below them for a SCHOOL_ADMIN.
function scopeOf(tree, user) {
  if (user.role === 'ADMIN') return new Set(tree.items.map((l) => l.id));
  const scope = new Set();
  if (user.role !== 'SCHOOL_ADMIN') return scope;
  const add = (id) => {
    if (scope.has(id)) return;
    scope.add(id);
    for (const c of tree.children.get(id) ?? []) add(c.id);
  };
  for (const id of user.location_ids ?? []) if (tree.byId.has(id)) add(id);
  return scope;
}

// inOrder lists the locations depth first (each under its parent), those
// in only when given.
export function inOrder(tree, only = null) {
  const out = [];
  const walk = (id) => {
    for (const l of tree.children.get(id) ?? []) {
      if (!only || only.has(l.id)) out.push(l);
      walk(l.id);
    }
  };
  walk('');
  return out;
}

// indented is a location's name indented by its depth, for the options of a
// select (which cannot nest more than one level).
export function indented(tree, l) {
  return '\u00a0\u00a0'.repeat(tree.depth.get(l.id) ?? 0) + l.name;
}

// names lists the names of location ids, in the tree's order.
export function names(tree, ids) {
  return (ids ?? []).map((id) => tree.byId.get(id)?.name).filter(Boolean).join(', ');
}
