// The realtime connection (GET /api/v1/ws, protocol in API.md). It
// reconnects with backoff, shows its state, and never loses an event: the
// seq of the last durable event this tab handled is kept in sessionStorage
// (per tab, so two tabs never skip each other's events; it survives a
// reload), and after a reconnect `resume` replays what was missed (or the
// server answers `resync` and the app reloads from the REST API).
import * as api from './api.js';

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;
const CLOSE_TOKEN_EXPIRED = 4001; // refresh the session, reconnect, resume
const CLOSE_SESSION_REVOKED = 4002; // signed out elsewhere: sign in again

// Live is one user's connection. Listeners: on(type, fn) for frame types
// ('message.created', 'typing', …), 'state' for connection state changes
// ('connecting', 'open', 'reconnecting', 'offline') and 'hello'.
export class Live {
  constructor(userId) {
    this.userId = userId;
    this.seqKey = `wc.seq.${userId}`;
    this.listeners = new Map();
    this.lastSeq = 0; // highest durable seq handled (set by onHello), kept in sessionStorage
    this.attempt = 0;
    this.state = 'connecting';
    this.stopped = false;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => { this.setState('offline'); this.ws?.close(); };
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, data, frame) {
    for (const fn of this.listeners.get(type) ?? []) {
      try {
        fn(data, frame);
      } catch (err) {
        console.error('live listener failed', type, err);
      }
    }
  }

  start() {
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.ws?.close(1000, 'signed out');
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  // send writes one frame when connected; it returns false otherwise
  // (typing and read are best effort; read also goes over REST).
  send(type, data = {}) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type, data }));
    return true;
  }

  connect() {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    const url = new URL('/api/v1/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Presence of only the people the app shows (people.js watchIds),
    // named in presence.watch frames: not of everyone the user may message.
    url.searchParams.set('presence', 'watch');
    let opened = false;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this.setState('open');
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.heartbeat(), PING_EVERY_MS);
    };
    ws.onmessage = (e) => {
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.stopped) return;
      this.afterClose(e.code, opened);
    };
  }

  // afterClose renews the session when the server may have refused or ended
  // it (token expiry, or a handshake that never opened), then reconnects.
  async afterClose(code, opened) {
    this.setState(navigator.onLine ? 'reconnecting' : 'offline');
    if (code === CLOSE_TOKEN_EXPIRED || code === CLOSE_SESSION_REVOKED || !opened) {
      try {
        // A request renews an expired session on 401, from one tab only;
        // a session that cannot be renewed signs the app out.
        await api.get('/api/v1/me');
      } catch {
        // Offline or server down: back off and try again.
      }
    }
    if (code === CLOSE_TOKEN_EXPIRED) {
      this.connect();
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }

  // heartbeat pings the server and drops a connection that went silent, so
  // a dead network shows as "reconnecting" instead of a frozen app.
  heartbeat() {
    if (Date.now() - this.lastFrameAt > PING_EVERY_MS + PONG_WITHIN_MS) {
      this.ws?.close(4000, 'no answer');
      return;
    }
    this.send('ping');
  }

  // handle dispatches one frame. A durable frame whose seq is not higher
  // than the highest handled is a duplicate and dropped (docs/realtime.md).
  handle(frame) {
    const { type, seq, data = {} } = frame;
    if (type === 'hello') {
      this.onHello(data);
      return;
    }
    if (type === 'resync') {
      // The server continues from its latest seq, which may be lower than
      // ours (a restored database): whatever follows is new.
      this.lastSeq = 0;
    }
    if (typeof seq === 'number') {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
      sessionStorage.setItem(this.seqKey, String(seq));
    }
    this.emit(type, data, frame);
  }

  // onHello answers at once with resume: the server holds live events
  // until the client's first frame, then replays everything after after_seq
  // in order, so nothing is missed or repeated. A browser that has no
  // position (or is ahead of the server, after a restore) starts from now
  // and reloads its lists.
  onHello(data) {
    const v = sessionStorage.getItem(this.seqKey);
    const stored = v === null ? null : Number(v);
    const last = Number(data.last_seq) || 0;
    const fresh = stored === null || stored > last;
    const after = fresh ? last : stored;
    this.lastSeq = after;
    sessionStorage.setItem(this.seqKey, String(after));
    this.send('resume', { after_seq: after });
    this.emit('hello', { ...data, reload: fresh && stored !== null });
  }
}
