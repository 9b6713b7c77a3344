// DOM helpers. Every element is built with createElement and text nodes:
// user content never passes through an HTML parser. The one exception is
// setServerHTML, for the body_html the server has already sanitized; the
// page's Content-Security-Policy (Trusted Types) makes any other HTML sink
// throw.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'indeterminate', 'multiple']);

// h builds an element: h('a', {href: '/x', class: 'y', onclick: fn}, 'text', child).
// Strings become text nodes; null, undefined and false children are skipped;
// arrays are flattened. on* props add event listeners (never attributes).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

// append adds children (strings as text) to el.
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// The one Trusted Types policy of the app: it accepts only what the server
// rendered and sanitized (Markdown with raw HTML dropped, or escaped text).
const bodyPolicy = globalThis.trustedTypes?.createPolicy('wc-body-html', { createHTML: (html) => html });

// setServerHTML puts a message's server-sanitized body_html into el.
export function setServerHTML(el, html) {
  el.innerHTML = bodyPolicy ? bodyPolicy.createHTML(html) : html;
}

// safeURL returns the URL when it is http(s) or mailto, else null, so a
// javascript: link can never be made from user data.
export function safeURL(value) {
  try {
    const url = new URL(value, location.href);
    return ['https:', 'http:', 'mailto:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

// visuallyHidden is text for screen readers only.
export function visuallyHidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

// describedBy adds (on) or removes one id of el's aria-describedby, keeping
// the others.
export function describedBy(el, id, on) {
  const ids = (el.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== id);
  if (on) ids.push(id);
  if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
  else el.removeAttribute('aria-describedby');
}

// markInvalid marks a field invalid and describes it by its error (the
// element of errorId); markValid undoes it.
export function markInvalid(input, errorId) {
  input.setAttribute('aria-invalid', 'true');
  describedBy(input, errorId, true);
}

export function markValid(input, errorId) {
  input.removeAttribute('aria-invalid');
  describedBy(input, errorId, false);
}

// inlineError ties an error paragraph (with an id) to its field:
// show(text) says what is wrong and moves the focus to the field; the
// error goes as soon as the field is edited, or with clear().
export function inlineError(input, error) {
  const clear = () => {
    error.hidden = true;
    markValid(input, error.id);
  };
  input.addEventListener('input', clear);
  return {
    show(text) {
      error.textContent = text;
      error.hidden = false;
      markInvalid(input, error.id);
      input.focus();
    },
    clear,
  };
}

// reflowTable is a data table that reflows on phones into one block per
// row (app.css .reflow), each cell shown under its column's name. The
// explicit roles keep it a table for screen readers when the stylesheet
// changes how its parts display. columns are names, or {label, hidden}
// for a column whose name only screen readers need.
export function reflowTable(props, columns, tbody, caption = null) {
  tbody.setAttribute('role', 'rowgroup');
  return h('table', { ...props, class: `${props.class ?? ''} reflow`.trim(), role: 'table' },
    caption,
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, columns.map((c) => h('th', { scope: 'col', role: 'columnheader' },
      c.hidden ? visuallyHidden(c.label) : c.label ?? c)))),
    tbody);
}

// reflowRow is a row of a reflowTable: one cell per column, in order, its
// content in one box beside the column's name on phones.
export function reflowRow(props, columns, cells) {
  return h('tr', { ...props, role: 'row' }, cells.map((cell, i) => h('td', {
    role: 'cell', 'data-label': columns[i].hidden ? null : columns[i].label ?? columns[i],
  }, h('span', { class: 'cell' }, cell))));
}

const announcer = () => document.getElementById('announcer');

// announce tells screen readers something happened (the polite live region).
export function announce(text) {
  const region = announcer();
  if (!region) return;
  region.append(h('p', null, text));
  while (region.childElementCount > 3) region.firstElementChild.remove();
}

export const CATEGORIES = {
  EMERGENCY: 'Emergency', HEALTH_UPDATE: 'Health update', MEDICATION: 'Medication',
  IMMUNIZATION: 'Immunization', INCIDENT: 'Incident', APPOINTMENT: 'Appointment',
  REMINDER: 'Reminder', GENERAL: 'General',
};
export const PRIORITIES = { LOW: 'Low', MEDIUM: 'Medium', HIGH: 'High', URGENT: 'Urgent' };
// HEALTH_CATEGORIES are sensitive by default (the server's
// whitecross.Category.Health).
export const HEALTH_CATEGORIES = ['MEDICATION', 'HEALTH_UPDATE', 'IMMUNIZATION', 'INCIDENT'];
export const CHANNELS = { IN_APP: 'In the app', EMAIL: 'Email', SMS: 'Text message (SMS)', PUSH: 'Push notification', VOICE: 'Voice call' };
export const ROLES = { ADMIN: 'District admin', SCHOOL_ADMIN: 'School admin', NURSE: 'Nurse', STAFF: 'Staff', GUARDIAN: 'Parent or guardian' };

// isAlert says whether a message must stand out: emergencies and urgent ones.
export function isAlert(m) {
  return m.category === 'EMERGENCY' || m.priority === 'URGENT';
}

// SENSITIVE_MARKER stands in for the text of a sensitive message wherever
// the server withheld it.
export const SENSITIVE_MARKER = 'Sensitive — open to read';

// bodyWithheld says whether the server left out m's body: a sensitive
// message in a list, a thread or a live frame carries its subject only, and
// its text comes with GET /messages/{id}, whose every read is audited (a
// body is never empty otherwise).
export function bodyWithheld(m) {
  return m.sensitive && !m.body;
}

// badges are the markers of a message: emergency and urgent in red with an
// icon and a word (never colour alone), high priority, sensitive.
export function badges(m) {
  const list = h('span', { class: 'badges' });
  if (m.category === 'EMERGENCY') list.append(badge('emergency', 'alert', 'Emergency'));
  if (m.priority === 'URGENT') list.append(badge('urgent', 'alert', 'Urgent'));
  else if (m.priority === 'HIGH') list.append(badge('high', 'alert', 'High priority'));
  if (m.sensitive) list.append(badge('sensitive', 'lock', 'Sensitive'));
  // A recipient's own request to acknowledge (the sender sees ack_summary instead).
  if (m.ack_requested && !m.acked_at && !m.ack_summary && m.status === 'SENT') list.append(h('span', { class: 'badge badge-ack' }, 'Please acknowledge'));
  if (m.status === 'CANCELED') list.append(h('span', { class: 'badge badge-canceled' }, 'Canceled'));
  if (m.status === 'PENDING_APPROVAL') list.append(h('span', { class: 'badge badge-waiting' }, 'Waiting for approval'));
  return list;
}

function badge(kind, iconName, text) {
  return h('span', { class: `badge badge-${kind}` }, icon(iconName), text);
}

// Icon paths (24x24, even-odd fill): a warning triangle and a padlock.
const ICONS = {
  alert: 'M12 2 1 21h22L12 2Zm-1 7h2v6h-2V9Zm0 8h2v2h-2v-2Z',
  lock: 'M7 10V7a5 5 0 0 1 10 0v3h2v12H5V10h2Zm2 0h6V7a3 3 0 0 0-6 0v3Z',
};

// icon is a decorative inline SVG (hidden from screen readers: the text
// next to it says the same).
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('fill-rule', 'evenodd');
  svg.append(path);
  return svg;
}

// uuid returns a random UUID (v4) for Idempotency-Key.
export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// debounce runs fn once calls stop for ms.
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
