// The outbox of messages written in this browser and not yet accepted by
// the server. Every message goes through it: it is stored (localStorage,
// so it survives a reload or a crash) with an Idempotency-Key made when it
// was written, then sent. A send whose answer is lost is repeated with the
// same key, and the server answers the repeat with the original message, so
// each message is sent exactly once however often the connection drops.
import * as api from './api.js';

const listeners = new Set();

// onChange registers fn() to run whenever the outbox changes (any tab).
export function onChange(fn) {
  listeners.add(fn);
}

addEventListener('storage', (e) => {
  if (e.key?.startsWith('wc.pending.')) notify();
});

function notify() {
  for (const fn of listeners) fn();
}

const storageKey = (userId) => `wc.pending.${userId}`;

// list returns the user's waiting messages, oldest first.
export function list(userId) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(userId))) ?? [];
  } catch {
    return [];
  }
}

function save(userId, items) {
  if (items.length === 0) localStorage.removeItem(storageKey(userId));
  else localStorage.setItem(storageKey(userId), JSON.stringify(items));
  notify();
}

// add stores a message to send: {key, path, body, subject, created_at}.
export function add(userId, item) {
  save(userId, [...list(userId), { ...item, error: null }]);
}

// discard removes a waiting message without sending it.
export function discard(userId, key) {
  save(userId, list(userId).filter((i) => i.key !== key));
}

function update(userId, key, change) {
  save(userId, list(userId).map((i) => (i.key === key ? { ...i, ...change } : i)));
}

// Outcomes of one attempt.
export const SENT = 'sent';
export const WAITING = 'waiting'; // no answer: kept, tried again later
export const REFUSED = 'refused'; // the server said no: needs the writer

// send tries one waiting message now. It resolves {outcome, message, error}.
// A refused message is removed when the writer is still on the form
// (keepRefused false) and otherwise kept with its error to show.
export function send(userId, key, { keepRefused = true } = {}) {
  return api.withLock(`wc-pending-${userId}`, async () => {
    const item = list(userId).find((i) => i.key === key);
    if (!item) return { outcome: SENT }; // another tab sent it meanwhile
    try {
      const message = await api.post(item.path, item.body, { 'Idempotency-Key': item.key });
      discard(userId, key);
      return { outcome: SENT, message };
    } catch (err) {
      if (isTransient(err)) return { outcome: WAITING, error: err };
      if (keepRefused) update(userId, key, { error: api.problemText(err) });
      else discard(userId, key);
      return { outcome: REFUSED, error: err };
    }
  });
}

// flush sends every waiting message that has not been refused, oldest
// first, and resolves the messages sent.
export async function flush(userId) {
  const sent = [];
  for (const item of list(userId)) {
    if (item.error) continue;
    const result = await send(userId, item.key);
    if (result.outcome === SENT && result.message) sent.push(result.message);
    if (result.outcome === WAITING) break; // still offline: keep the order
  }
  return sent;
}

// isTransient says whether trying again later may succeed: no answer, a
// server error, rate limiting, or a session that could not be renewed while
// offline.
function isTransient(err) {
  if (err instanceof api.NetworkError) return true;
  return err instanceof api.ApiError && (err.status >= 500 || err.status === 429 || err.status === 401 || err.status === 408);
}
