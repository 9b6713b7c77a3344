// Names of the people the app shows (typing, receipts, presence, sent
// lists), fetched once each and kept for the page's life, and who is online.
import * as api from './api.js';
import { h } from './dom.js';

const known = new Map(); // user id -> {id, name, role}
const pending = new Map(); // user id -> Promise of a user
const online = new Set();

// remember records users the app already has (message senders, lists).
export function remember(...users) {
  for (const u of users) {
    if (!u?.id || !u.name) continue;
    known.delete(u.id); // the latest remembered come last
    known.set(u.id, { id: u.id, name: u.name, role: u.role });
  }
  watchSoon();
}

// MAX_WATCH is realtime.MaxPresenceWatch: the most users one
// presence.watch frame may name.
const MAX_WATCH = 100;
let watchListener = null;
let watchTimer = 0;
let watched = '';

// watchIds are the users whose presence the app asks for: those with an
// "online" marker on the page, then the people it knows, the latest
// remembered first (the server tells only these, and only those the user
// may message).
export function watchIds() {
  const ids = new Set();
  for (const span of document.querySelectorAll('[data-presence-of]')) ids.add(span.dataset.presenceOf);
  for (const id of [...known.keys()].reverse()) ids.add(id);
  return [...ids].slice(0, MAX_WATCH);
}

// onWatchChange registers fn to be called with watchIds when it changes.
export function onWatchChange(fn) {
  watchListener = fn;
}

// watchSoon calls the listener once the page settles, if the list changed.
function watchSoon() {
  clearTimeout(watchTimer);
  watchTimer = setTimeout(() => {
    const ids = watchIds();
    const key = ids.join(',');
    if (key === watched || !watchListener) return;
    if (watchListener(ids) !== false) watched = key;
  }, 100);
}

// lookup resolves a user by id; someone the caller may not look up
// resolves to a placeholder rather than failing the view.
export function lookup(id) {
  if (known.has(id)) return Promise.resolve(known.get(id));
  if (!pending.has(id)) {
    pending.set(id, api.get(`/api/v1/users/${encodeURIComponent(id)}`)
      .then((u) => { remember(u); return known.get(id); })
      .catch(() => ({ id, name: 'Someone', role: '' }))
      .finally(() => pending.delete(id)));
  }
  return pending.get(id);
}

// nameNode is a span that shows the user's name as soon as it is known.
export function nameNode(id) {
  const span = h('span', { class: 'person', dataset: { userId: id } }, known.get(id)?.name ?? '…');
  if (!known.has(id)) lookup(id).then((u) => { span.textContent = u.name; });
  return span;
}

// forgetOnline forgets who is online and clears every marker: while the
// connection is down nobody can know, and the next connection's snapshot
// of presence events says it again.
export function forgetOnline() {
  online.clear();
  for (const span of document.querySelectorAll('[data-presence-of]')) showPresence(span, span.dataset.presenceOf);
}

// setOnline records a presence event.
export function setOnline(id, isOnline) {
  if (isOnline) online.add(id);
  else online.delete(id);
}

export function onlineIds() {
  return [...online];
}

// presenceNode is "online" text beside a name, updated live (by
// refreshPresenceMarkers, which finds it by data-presence-of).
export function presenceNode(id) {
  const span = h('span', { class: 'presence', dataset: { presenceOf: id } });
  showPresence(span, id);
  watchSoon();
  return span;
}

// refreshPresenceMarkers updates every presence marker on the page for id.
export function refreshPresenceMarkers(id) {
  for (const span of document.querySelectorAll(`[data-presence-of="${CSS.escape(id)}"]`)) showPresence(span, id);
}

function showPresence(span, id) {
  const on = online.has(id);
  span.hidden = !on;
  span.textContent = on ? 'online' : '';
}
