// Times in the user's time zone: their profile's `timezone`, else the
// browser's. Every time the app shows and every time a person types (send
// later, reschedule) is read in that one zone, and the app names it, so
// "09:00" in a field and "9:00 AM" beside it always mean the same moment,
// whatever zone the device itself is set to.
import { h } from './dom.js';

const browserZone = () => new Intl.DateTimeFormat().resolvedOptions().timeZone;
let zone = browserZone();
// Formatters by style, built once per zone: constructing an
// Intl.DateTimeFormat is costly and a delivery table formats many times.
const formatters = new Map();

const STYLES = {
  short: { dateStyle: 'medium', timeStyle: 'short' },
  // zoned is short with the zone's abbreviation ("CST", "GMT+9").
  zoned: { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' },
  long: { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' },
  // parts is the wall clock, for datetime-local fields and offsets.
  parts: { hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' },
  name: { timeZoneName: 'longGeneric' },
};

function formatter(style) {
  if (!formatters.has(style)) {
    formatters.set(style, new Intl.DateTimeFormat(style === 'parts' ? 'en-US' : undefined, { ...STYLES[style], timeZone: zone }));
  }
  return formatters.get(style);
}

// setTimeZone sets the zone of every time shown and typed: tz when it is a
// zone the browser knows, else the browser's own.
export function setTimeZone(tz) {
  formatters.clear();
  try {
    zone = tz ? new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone : browserZone();
  } catch {
    zone = browserZone();
  }
}

// zoneName names the zone for people: "Central Time (America/Chicago)".
export function zoneName() {
  const generic = formatter('name').formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value;
  return generic && generic !== zone ? `${generic} (${zone})` : zone;
}

// formatTime renders an RFC 3339 time for people, in a <time> element whose
// title carries the full date and zone.
export function formatTime(iso, style = 'short') {
  if (!iso) return null;
  return h('time', { datetime: iso, title: timeText(iso, 'long') }, timeText(iso, style));
}

// timeText is formatTime as plain text (for labels of other elements).
export function timeText(iso, style = 'short') {
  return formatter(style).format(new Date(iso));
}

// wallClock is the moment's date and time on the zone's clocks, as numbers.
function wallClock(date) {
  const p = {};
  for (const { type, value } of formatter('parts').formatToParts(date)) p[type] = Number(value);
  return p;
}

// offsetAt is how far the zone's clocks are ahead of UTC at the moment, in ms.
function offsetAt(ms) {
  const p = wallClock(new Date(ms));
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

// toZoneInput formats an RFC 3339 time for a datetime-local field, in the zone.
export function toZoneInput(iso) {
  if (!iso) return '';
  const p = wallClock(new Date(iso));
  const pad = (n) => String(n).padStart(2, '0');
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

// fromZoneInput reads a datetime-local value as a time in the zone and
// returns the Date, or null when the value is not a date and time. The
// offset is taken at the guessed moment and checked once more, so a value
// beside a daylight-saving change still lands on the right side of it.
export function fromZoneInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value ?? '');
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (Number.isNaN(wall)) return null;
  let at = wall - offsetAt(wall);
  const second = wall - offsetAt(at);
  if (second !== at) at = second;
  return new Date(at);
}
