// Web Push on this device: a switch in the navigation that registers the
// service worker (/sw.js), subscribes with the server's VAPID key
// (GET /api/v1/push/key) and gives the subscription to the server (POST
// /api/v1/push/subscriptions). Hidden when the browser cannot do push or
// the server has no push configured (404 for the key).
import * as api from './api.js';
import { h } from './dom.js';

const storageKey = (userId) => `wc.push.${userId}`;

// The page's Trusted Types policy lets exactly one script URL through: the
// service worker's.
const workerURL = globalThis.trustedTypes?.createPolicy('wc-worker-url', {
  createScriptURL: (url) => {
    if (url !== '/sw.js') throw new TypeError(`not the service worker: ${url}`);
    return url;
  },
});

// registerWorker registers the service worker (scope: the whole app).
export function registerWorker() {
  return navigator.serviceWorker.register(workerURL ? workerURL.createScriptURL('/sw.js') : '/sw.js');
}

// browserCanPush says whether this browser can receive Web Push at all.
const browserCanPush = () => 'serviceWorker' in navigator && 'PushManager' in globalThis && 'Notification' in globalThis;

// pushControl returns {panel, toggle}, or null when push is not possible
// here: the switch in the navigation, and what it does when clicked.
export async function pushControl(user) {
  if (!browserCanPush()) return null;
  let key;
  try {
    key = (await api.get('/api/v1/push/key')).public_key;
  } catch {
    return null; // not configured on this server
  }
  if (!key) return null;

  const status = h('p', { id: 'push-status', class: 'muted', role: 'status' });
  const button = h('button', { type: 'button', class: 'button', id: 'push-toggle' });
  const panel = h('section', { class: 'panel push-panel', 'aria-labelledby': 'push-heading' },
    h('h2', { id: 'push-heading' }, 'Notifications'), status, button);

  const show = () => {
    const on = Boolean(localStorage.getItem(storageKey(user.id))) && Notification.permission === 'granted';
    if (Notification.permission === 'denied') {
      status.textContent = 'Blocked in this browser’s settings.';
      button.hidden = true;
      return;
    }
    status.textContent = on ? 'On for this device.' : 'Off for this device.';
    button.textContent = on ? 'Turn off' : 'Turn on';
    button.hidden = false;
  };

  // toggle runs in the click's own task up to the permission request,
  // which browsers grant only in answer to a click.
  const toggle = async () => {
    button.disabled = true;
    try {
      if (localStorage.getItem(storageKey(user.id))) await turnOff(user);
      else await turnOn(user, key);
    } catch (err) {
      status.textContent = `Could not change notifications: ${err.detail || err.message}`;
      button.disabled = false;
      return;
    }
    button.disabled = false;
    show();
  };
  button.addEventListener('click', toggle);
  show();
  return { panel, toggle };
}

const promptedKey = (userId) => `wc.push.prompted.${userId}`;

// pushPrompt is the invitation to turn notifications on, above the page,
// or null: only while this browser has not been asked, on one visit only
// (never again on this browser), gone with "Not now"; the switch in the
// navigation stays for later. It is made at once, before the server says
// whether it has push, so it never moves the page under a reader's finger;
// connect(toggle) then enables it, or removes it when push is not possible
// (toggle null).
export function pushPrompt(user) {
  if (!browserCanPush() || Notification.permission !== 'default' || localStorage.getItem(storageKey(user.id)) || localStorage.getItem(promptedKey(user.id))) return null;
  let toggle = null;
  const on = h('button', { type: 'button', class: 'button button-primary', id: 'push-prompt-on', disabled: true, onclick: () => { toggle(); close(); } }, 'Turn on');
  const node = h('section', { class: 'push-prompt', id: 'push-prompt', 'aria-labelledby': 'push-prompt-text' },
    h('p', { id: 'push-prompt-text' }, 'Get a notification on this device when a message arrives? You can change this later under Notifications.'),
    h('div', { class: 'actions' }, on, h('button', { type: 'button', class: 'button', id: 'push-prompt-dismiss', onclick: () => close() }, 'Not now')));
  const close = () => {
    node.remove();
    document.getElementById('main').focus();
  };
  const connect = (t) => {
    if (!t) {
      node.remove();
      return;
    }
    toggle = t;
    on.disabled = false;
    localStorage.setItem(promptedKey(user.id), new Date().toISOString());
  };
  return { node, connect };
}

async function turnOn(user, key) {
  if (await Notification.requestPermission() !== 'granted') return;
  const registration = await registerWorker();
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64URLBytes(key) });
  const saved = await api.post('/api/v1/push/subscriptions', subscription.toJSON());
  localStorage.setItem(storageKey(user.id), saved.id);
}

// disablePush turns push off for the user on this device, if it was on:
// after signing out, a shared computer must not show their notifications.
export async function disablePush(user) {
  if (!user || !localStorage.getItem(storageKey(user.id))) return;
  try {
    await turnOff(user);
  } catch {
    localStorage.removeItem(storageKey(user.id));
  }
}

async function turnOff(user) {
  const id = localStorage.getItem(storageKey(user.id));
  const registration = await navigator.serviceWorker.getRegistration('/');
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe();
  try {
    await api.del(`/api/v1/push/subscriptions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof api.ApiError && err.status === 404)) throw err;
  }
  localStorage.removeItem(storageKey(user.id));
}

function base64URLBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
