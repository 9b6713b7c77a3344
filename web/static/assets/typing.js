// Typing indicators: who is typing in which thread (from `typing` events),
// and telling others while this user types a reply.
import { nameNode } from './people.js';

const SHOW_FOR_MS = 8_000; // a "started" with no "stopped" fades by itself
const RESEND_EVERY_MS = 3_000; // the server expires "started" after ~6 s
const IDLE_STOP_MS = 4_000;

const typers = new Map(); // thread id -> Map(user id -> timer)
const listeners = new Set();

// onTyping registers fn(threadId) to run when a thread's typers change.
export function onTyping(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(threadId) {
  for (const fn of listeners) fn(threadId);
}

// noteTyping records a typing event from the server.
export function noteTyping({ thread_id: threadId, user_id: userId, state }) {
  if (!threadId || !userId) return;
  const users = typers.get(threadId) ?? new Map();
  clearTimeout(users.get(userId));
  if (state === 'started') {
    users.set(userId, setTimeout(() => noteTyping({ thread_id: threadId, user_id: userId, state: 'stopped' }), SHOW_FOR_MS));
  } else {
    users.delete(userId);
  }
  if (users.size) typers.set(threadId, users);
  else typers.delete(threadId);
  changed(threadId);
}

// showTypingLine fills line with "Ana, Ben are typing…" for the thread and
// hides it while nobody types; the box rows and the open thread share it.
export function showTypingLine(line, threadId) {
  const ids = [...(typers.get(threadId)?.keys() ?? [])];
  line.hidden = ids.length === 0;
  line.replaceChildren();
  if (ids.length) line.append(...ids.flatMap((id, n) => [n ? ', ' : '', nameNode(id)]), ids.length === 1 ? ' is typing…' : ' are typing…');
}

// TypingSender tells the thread's other participants while this user types.
export class TypingSender {
  constructor(live, threadId) {
    this.live = live;
    this.threadId = threadId;
    this.sentAt = 0;
    this.active = false;
  }

  // input is called on every keystroke in the reply box.
  input() {
    const now = Date.now();
    if (!this.active || now - this.sentAt >= RESEND_EVERY_MS) {
      if (this.live?.send('typing', { thread_id: this.threadId, state: 'started' })) {
        this.active = true;
        this.sentAt = now;
      }
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), IDLE_STOP_MS);
  }

  // stop says this user stopped typing (idle, sent or left the thread).
  stop() {
    clearTimeout(this.idleTimer);
    if (!this.active) return;
    this.active = false;
    this.live?.send('typing', { thread_id: this.threadId, state: 'stopped' });
  }
}
