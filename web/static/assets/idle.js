// Automatic logoff (HIPAA 164.312(a)(2)(iii)). A staff member's screen
// shows many families' health information, often on a shared school
// computer: after the district's idle_timeout_minutes without activity
// (pointer, keys, touch, scrolling, returning to the tab) the app warns for
// a minute, then signs out and shows the sign-in screen with nothing of the
// previous screen left in the page.
//
// Every tab of the browser counts as one: the time of the last activity is
// kept in localStorage, which every tab writes on activity and reads each
// second, so working in one tab keeps the others open and they all lock
// together. Only activity counts: the app's own background requests (live
// updates, token renewal, the outbox) keep nothing alive. While someone
// works without making requests (reading, scrolling), the app tells the
// server at most once a minute (GET /api/v1/me), so the server's own
// timeout, the backstop for a tab that stopped running, counts from nearly
// the same moment (docs/security.md, "Automatic logoff").
import * as api from './api.js';
import { h } from './dom.js';

export const LAST_KEY = 'wc.idle.last'; // ms since the epoch, any tab
const PING_KEY = 'wc.idle.ping';
const TICK_MS = 1000;
// Not 'scroll': the app scrolls by itself when live updates arrive.
const ACTIVITY = ['pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel'];

// read returns a number kept in localStorage, or null.
function read(key) {
  try {
    const v = Number(localStorage.getItem(key));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, String(value));
  } catch {
    // Storage refused (private mode quota): this tab keeps its own time.
  }
}

// timeoutFor is the idle timeout of the user in ms (0: none), from the
// district's settings: guardians are not timed out (whitecross.IdleTimeout).
export function timeoutFor(user, settings) {
  if (!user || user.role === 'GUARDIAN') return 0;
  const minutes = settings?.idle_timeout_minutes ?? 30;
  return Math.max(0, minutes) * 60_000;
}

// startIdleLock watches for activity and calls onLock once the user has
// been idle for timeoutMs. It returns stop(), which removes every listener,
// timer and the warning.
export function startIdleLock(timeoutMs, onLock) {
  if (!timeoutMs) return () => {};
  let local = Date.now();
  let written = 0;
  let locked = false;
  const pingEvery = Math.min(60_000, timeoutMs / 4);
  // A minute's warning; half the time for a timeout of a minute, which
  // would otherwise warn from the first second.
  const warnFor = Math.min(60_000, timeoutMs / 2);
  const warning = warningDialog(() => active());
  write(LAST_KEY, local);

  const last = () => Math.max(read(LAST_KEY) ?? 0, 0) || local;
  const remaining = () => last() + timeoutMs - Date.now();

  // active records activity, unless the time is already up: a computer
  // woken from sleep must lock at its first touch, not restart the clock.
  function active() {
    if (locked) return;
    if (remaining() <= 0) return lock();
    const now = Date.now();
    local = now;
    if (now - written >= 1000) {
      written = now;
      write(LAST_KEY, now);
    }
    warning.hide();
    if (now - (read(PING_KEY) ?? 0) >= pingEvery) {
      write(PING_KEY, now);
      api.get('/api/v1/me').catch(() => {}); // a 401 ends the session through api.js
    }
  }
  function onVisibility() {
    if (document.visibilityState === 'visible') active();
  }
  function tick() {
    const left = remaining();
    if (left <= 0) return lock();
    if (left <= warnFor) warning.show(Math.ceil(left / 1000));
    else warning.hide();
  }
  function lock() {
    if (locked) return;
    stop();
    locked = true;
    onLock();
  }
  function stop() {
    clearInterval(timer);
    for (const type of ACTIVITY) removeEventListener(type, active, { capture: true });
    document.removeEventListener('visibilitychange', onVisibility);
    warning.remove();
  }
  for (const type of ACTIVITY) addEventListener(type, active, { capture: true, passive: true });
  document.addEventListener('visibilitychange', onVisibility);
  const timer = setInterval(tick, TICK_MS);
  return stop;
}

// warningDialog is the minute's warning: a dialog with a countdown and a
// button that counts as activity.
function warningDialog(stay) {
  const seconds = h('span', { id: 'idle-seconds' }, '60');
  const button = h('button', { type: 'button', class: 'button button-primary', id: 'idle-stay', onclick: stay }, 'Stay signed in');
  const node = h('div', { id: 'idle-warning', class: 'idle-warning', role: 'alertdialog', 'aria-modal': 'false',
    'aria-labelledby': 'idle-warning-text', hidden: true },
  h('p', { id: 'idle-warning-text' }, 'You will be signed out in ', seconds, ' s for inactivity.'),
  button);
  let shown = false;
  return {
    show(n) {
      seconds.textContent = String(n);
      if (!node.isConnected) document.body.append(node);
      if (!shown) {
        shown = true;
        node.hidden = false;
        button.focus({ preventScroll: true });
      }
    },
    hide() {
      shown = false;
      node.hidden = true;
    },
    remove() { node.remove(); },
  };
}
