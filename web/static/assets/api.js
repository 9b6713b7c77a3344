// The REST client. The browser session is cookies: wc_access (HttpOnly)
// authenticates, wc_csrf is echoed in X-CSRF-Token on every state-changing
// request, and an expired access token is renewed with POST
// /api/v1/auth/refresh. A refresh token is single use and presenting a spent
// one revokes the whole session, so only ONE tab may refresh at a time: the
// refresh runs under a Web Lock shared by every tab of the origin, and a tab
// that waited for the lock first checks whether another tab already
// refreshed (the wc_csrf cookie changes with every refresh).

// ApiError is a problem answer (RFC 9457): status, detail and field errors.
export class ApiError extends Error {
  constructor(status, problem = {}, headers = new Headers()) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.detail = problem.detail || '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = Number(headers.get('Retry-After')) || 0;
  }
}

// NetworkError means the request never got an answer (offline, server down).
export class NetworkError extends Error {}

const signedOutListeners = new Set();

// onSessionEnded registers fn to run when the session cannot be renewed.
export function onSessionEnded(fn) {
  signedOutListeners.add(fn);
}

// csrfToken is the current wc_csrf cookie ("" when signed out).
export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'wc_csrf') return decodeURIComponent(rest.join('='));
  }
  return '';
}

// request sends one API request and returns the decoded JSON (null for an
// empty answer, as 204).
// A 401 renews the session once and repeats the request.
export async function request(method, path, { body, headers = {}, renew = true } = {}) {
  const csrf = csrfToken();
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body instanceof FormData) {
    init.body = body; // the browser writes multipart/form-data with its boundary
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) init.headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new NetworkError(err.message || 'network error');
  }
  if (res.status === 401 && renew) {
    if (await renewSession(csrf)) return request(method, path, { body, headers, renew: false });
    sessionEnded();
  }
  if (!res.ok) {
    let problem = {};
    try {
      problem = await res.json();
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    throw new ApiError(res.status, problem, res.headers);
  }
  if (res.status === 204) return null;
  // A 202 of a request whose outcome is not told (a sign-in code) has no body.
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => request('GET', path);
export const post = (path, body, headers) => request('POST', path, { body, headers });
export const put = (path, body) => request('PUT', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);

let renewing = null;

// renewSession refreshes the session unless another tab already did since
// csrfSeen was read. It resolves true when the session is usable.
export function renewSession(csrfSeen) {
  if (!renewing) {
    renewing = withLock('wc-session-refresh', async () => {
      const now = csrfToken();
      if (!now) return false; // signed out (here or in another tab)
      if (now !== csrfSeen) return true; // another tab refreshed meanwhile
      try {
        const res = await fetch('/api/v1/auth/refresh', {
          method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': now, Accept: 'application/json' },
        });
        return res.ok;
      } catch {
        // Offline: the session may still be fine; the caller retries later.
        throw new NetworkError('offline');
      }
    }).finally(() => { renewing = null; });
  }
  return renewing;
}

function sessionEnded() {
  for (const fn of signedOutListeners) fn();
}

// withLock runs fn while holding the named lock across every tab of the
// origin (Web Locks API); browsers without it run fn directly.
export function withLock(name, fn) {
  if (navigator.locks?.request) return navigator.locks.request(name, fn);
  return fn();
}

// fieldErrors maps a problem's errors to form fields by location
// (body.subject -> subject, body.attachments[1].url -> attachments).
export function fieldErrors(err) {
  const byField = {};
  for (const e of err.errors ?? []) {
    const field = String(e.location || '').replace(/^body\./, '').split(/[.[]/)[0] || '_';
    (byField[field] ??= []).push(e.message || 'is not valid');
  }
  return byField;
}

// GENERIC_DETAIL is the detail of a validation problem that says no more
// than its field errors do.
const GENERIC_DETAIL = 'Validation failed.';

// problemText explains a problem to people with each sentence once: the
// field messages, and the detail only when it adds to them (a domain error
// repeats its one field message as the detail).
export function problemText(err) {
  const messages = [...new Set((err.errors ?? []).map((e) => e.message).filter(Boolean))];
  const detail = err.detail || err.message;
  if (detail && !messages.includes(detail) && !(messages.length && detail === GENERIC_DETAIL)) messages.unshift(detail);
  return messages.join(' ');
}
