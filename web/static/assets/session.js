// The signed-in user, sign-in and sign-out, kept in step across tabs with a
// BroadcastChannel: signing out in one tab signs out every tab.
import * as api from './api.js';

const channel = 'BroadcastChannel' in globalThis ? new BroadcastChannel('wc-session') : null;
const listeners = new Set();

// onChange registers fn(type, data) for 'signed-in' and 'signed-out' from
// other tabs; a sign-out's data may carry the notice to show (notice).
export function onChange(fn) {
  listeners.add(fn);
}

if (channel) channel.onmessage = (e) => { for (const fn of listeners) fn(e.data?.type, e.data); };

// current returns the signed-in user, renewing the session if needed, or
// null when nobody is signed in.
export async function current() {
  try {
    return await api.get('/api/v1/me');
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) return null;
    throw err;
  }
}

// signIn signs in and returns the user; the API sets the session cookies.
// A user with two-step sign-in gets { mfaToken } instead: no session yet.
export async function signIn(tenant, email, password) {
  const res = await api.request('POST', '/api/v1/auth/login', { body: { tenant, email, password }, renew: false });
  if (res.mfa_required) return { mfaToken: res.mfa_token };
  localStorage.setItem('wc.tenant', tenant);
  channel?.postMessage({ type: 'signed-in' });
  return res.user;
}

// signInWithCode signs in with a code sent by email or text message; it
// answers as signIn.
export async function signInWithCode(tenant, contact, code) {
  const res = await api.request('POST', '/api/v1/auth/code/verify', { body: { tenant, contact, code }, renew: false });
  if (res.mfa_required) return { mfaToken: res.mfa_token };
  localStorage.setItem('wc.tenant', tenant);
  channel?.postMessage({ type: 'signed-in' });
  return res.user;
}

// signInWithMFA is the second step of a sign-in that answered { mfaToken }:
// a code of the authenticator app or a recovery code. It answers as signIn.
export async function signInWithMFA(tenant, mfaToken, code) {
  const res = await api.request('POST', '/api/v1/auth/mfa', { body: { mfa_token: mfaToken, code }, renew: false });
  localStorage.setItem('wc.tenant', tenant);
  channel?.postMessage({ type: 'signed-in' });
  return res.user;
}

// signOut ends the session here and in every other tab, and forgets what
// this browser kept for the user (unsent messages, event position). The
// other tabs show notice when given (why they were signed out).
export async function signOut(user, notice) {
  try {
    await api.request('POST', '/api/v1/auth/logout', { renew: false });
  } catch {
    // Offline or already signed out: the cookies are cleared below anyway
    // when the server answers next; forget local state regardless.
  }
  forget(user);
  channel?.postMessage({ type: 'signed-out', notice });
}

// forget removes what this browser stored for the user: a shared computer
// must not keep someone's unsent messages after they sign out.
export function forget(user) {
  if (!user) return;
  localStorage.removeItem(`wc.pending.${user.id}`);
  sessionStorage.removeItem(`wc.seq.${user.id}`);
}

// lastTenant is the district slug used last on this browser.
export function lastTenant() {
  return localStorage.getItem('wc.tenant') || '';
}
