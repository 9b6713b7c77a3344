// Compose a message: recipients, subject, body (plain or Markdown, with a
// preview), category, priority, channels, https attachment links, sensitive
// flag, and send now or later. Sending goes through the outbox with an
// Idempotency-Key made here, so a message written offline is sent, once,
// when the connection returns. The categories and priorities offered are
// those the user's role may send (policy.js): a guardian never sees
// EMERGENCY or URGENT, a nurse or staff member never EMERGENCY.
import * as pending from './pending.js';
import { fieldErrors } from './api.js';
import { recipientPicker } from './recipients.js';
import { studentOptions } from './students.js';
import { ackOptions } from './ack.js';
import { renderMarkdown } from './markdown.js';
import { sendRules } from './policy.js';
import { audienceEditor, schoolsFor } from './audience.js';
import { h, announce, describedBy, markInvalid, markValid, uuid, visuallyHidden, CATEGORIES, PRIORITIES, CHANNELS, HEALTH_CATEGORIES } from './dom.js';
import { fromZoneInput, zoneName } from './time.js';

const MAX_ATTACHMENTS = 10;

// only keeps the entries of labels whose value is in values.
const only = (labels, values) => Object.fromEntries(Object.entries(labels).filter(([value]) => values.includes(value)));

export async function composeView(app, container) {
  const rules = await sendRules(app.user);
  const picker = recipientPicker({ id: 'compose-to', labelId: 'compose-to-label', describedBy: 'compose-to-hint' });
  const about = recipientPicker({ id: 'compose-students', labelId: 'compose-students-label', describedBy: 'compose-students-hint',
    chosenLabel: 'Chosen students', source: studentOptions });
  const summary = h('div', { class: 'error-summary', id: 'compose-errors', role: 'alert', tabindex: '-1', hidden: true });
  const subject = h('input', { id: 'compose-subject', name: 'subject', maxlength: '200', required: true, autocomplete: 'off' });
  const body = h('textarea', { id: 'compose-body', name: 'body', rows: '10', maxlength: '20000', required: true });
  // The Markdown hint shows (and describes the text box) only for Markdown.
  const markdownHint = h('p', { id: 'compose-body-hint', class: 'hint', hidden: true }, 'Markdown: **bold**, *italic*, - lists, [links](https://…). Raw HTML is shown as text.');
  const preview = h('div', { id: 'compose-preview', class: 'preview message-body', hidden: true, 'aria-live': 'polite', tabindex: '-1' });
  const previewToggle = h('button', { type: 'button', class: 'button-link', 'aria-expanded': 'false', 'aria-controls': 'compose-preview', id: 'compose-preview-toggle' }, 'Show preview');
  const attachments = h('ul', { class: 'attachment-rows plain-list', id: 'compose-attachments' });
  const addAttachment = h('button', { type: 'button', class: 'button', id: 'compose-add-attachment' }, 'Add a link');
  const when = h('input', { type: 'datetime-local', id: 'compose-when', name: 'when', disabled: true, 'aria-describedby': 'compose-when-hint' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'compose-send' }, 'Send');
  const sensitiveLocked = h('p', { id: 'compose-sensitive-locked', class: 'hint', hidden: true },
    'Your district keeps every health message sensitive.');
  const ack = ackOptions();

  const radio = (name, value, label, checked) => {
    const inputId = `compose-${name}-${value.toLowerCase()}`;
    return h('div', { class: 'field-check' }, h('input', { type: 'radio', name, id: inputId, value, checked }), h('label', { for: inputId }, label));
  };
  const select = (id, label, options, value) => h('div', { class: 'field field-inline' },
    h('label', { for: id }, label),
    h('select', { id, name: id.replace('compose-', '') }, Object.entries(options).map(([v, t]) => h('option', { value: v, selected: v === value }, t))));

  const form = h('form', { class: 'compose', novalidate: true, 'aria-labelledby': 'compose-heading' },
    summary,
    h('div', { class: 'field', id: 'field-to' },
      h('label', { for: 'compose-to', id: 'compose-to-label' }, 'To'),
      h('p', { id: 'compose-to-hint', class: 'hint' }, 'Type a name or a group, then choose from the list.'),
      picker.node),
    rules.audience ? h('div', { class: 'field', id: 'field-audience' },
      h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', id: 'compose-use-audience', name: 'use-audience', 'aria-controls': 'compose-audience-box' }),
        h('label', { for: 'compose-use-audience' }, 'Send to an audience: everyone you reach, or by school, role and grade')),
      h('div', { id: 'compose-audience-box', hidden: true })) : null,
    h('div', { class: 'field', id: 'field-student_ids' },
      h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', id: 'compose-about', 'aria-controls': 'compose-about-box',
          onchange: (e) => { document.getElementById('compose-about-box').hidden = !e.target.checked; } }),
        h('label', { for: 'compose-about' }, 'About student(s): keep it in their communication log')),
      h('div', { id: 'compose-about-box', hidden: true },
        h('label', { for: 'compose-students', id: 'compose-students-label' }, 'About student(s)'),
        h('p', { id: 'compose-students-hint', class: 'hint' }, 'Type a student’s name, then choose from the list.'),
        about.node)),
    h('div', { class: 'field', id: 'field-subject' }, h('label', { for: 'compose-subject' }, 'Subject'), subject),
    h('fieldset', { class: 'field', id: 'field-body' },
      h('legend', null, 'Message'),
      h('div', { class: 'inline-options', role: 'radiogroup', 'aria-label': 'Format' },
        radio('format', 'PLAIN', 'Plain text', true), radio('format', 'MARKDOWN', 'Markdown', false)),
      h('label', { for: 'compose-body', class: 'visually-hidden' }, 'Message text'),
      markdownHint,
      body, previewToggle, preview),
    h('div', { class: 'field-row' },
      select('compose-category', 'Category', only(CATEGORIES, rules.categories), 'GENERAL'),
      select('compose-priority', 'Priority', only(PRIORITIES, rules.priorities), 'MEDIUM')),
    h('fieldset', { class: 'field', id: 'field-channels' },
      h('legend', null, 'Send by'),
      Object.entries(CHANNELS).map(([value, label]) => h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', name: 'channels', id: `compose-channel-${value.toLowerCase()}`, value, checked: value === 'IN_APP', disabled: value === 'IN_APP' }),
        h('label', { for: `compose-channel-${value.toLowerCase()}` }, label, value === 'IN_APP' ? ' (always)' : '')))),
    h('div', { class: 'field-check field', id: 'field-sensitive' },
      h('input', { type: 'checkbox', name: 'sensitive', id: 'compose-sensitive', 'aria-describedby': 'compose-sensitive-hint' }),
      h('label', { for: 'compose-sensitive' }, 'Sensitive (protected health information)'),
      h('p', { id: 'compose-sensitive-hint', class: 'hint' }, 'Email, text messages and calls then carry only a notice and a link, never the content.'),
      sensitiveLocked),
    ack.node,
    h('fieldset', { class: 'field', id: 'field-attachments' },
      h('legend', null, 'Attachments'),
      h('p', { class: 'hint' }, `Links to files (https), up to ${MAX_ATTACHMENTS}.`),
      attachments, addAttachment),
    h('fieldset', { class: 'field', id: 'field-scheduled_at' },
      h('legend', null, 'When'),
      h('div', { class: 'inline-options' }, radio('schedule', 'NOW', 'Send now', true), radio('schedule', 'LATER', 'Send later', false)),
      h('div', { id: 'compose-when-field', hidden: true },
        h('label', { for: 'compose-when' }, 'Send at'),
        h('p', { id: 'compose-when-hint', class: 'hint' }, `In your time zone, ${zoneName()}; at most a year ahead.`),
        when)),
    h('div', { class: 'actions' }, submit));

  container.append(h('h1', { id: 'compose-heading', tabindex: '-1' }, 'New message'), form);

  // The audience editor is built the first time it is asked for (it
  // loads the schools); who matches is counted as it changes.
  let audience = null;
  const useAudience = form.elements['use-audience'];
  useAudience?.addEventListener('change', async () => {
    const box = container.querySelector('#compose-audience-box');
    box.hidden = !useAudience.checked;
    if (useAudience.checked && !audience) {
      audience = audienceEditor({ id: 'compose-audience', schools: await schoolsFor(app.user) });
      box.append(audience.node);
    }
  });

  // A health category is sensitive by default: choosing one checks the box,
  // and while the district's sensitive_by_default is on the box is locked
  // (the server would ignore it unchecked). Back to another category, the
  // box is as the sender left it.
  const sensitive = form.elements.sensitive;
  let health = false;
  let ownChoice = false;
  const applySensitivity = () => {
    const now = HEALTH_CATEGORIES.includes(form.elements.category.value);
    if (now && !health) {
      ownChoice = sensitive.checked;
      sensitive.checked = true;
    } else if (!now && health) {
      sensitive.checked = ownChoice;
    }
    health = now;
    const locked = now && rules.sensitiveByDefault;
    sensitive.disabled = locked;
    sensitiveLocked.hidden = !locked;
    describedBy(sensitive, sensitiveLocked.id, locked);
  };
  applySensitivity();

  // Preview: a DOM rendering of the Markdown (no HTML parsing), or the
  // plain text as typed.
  const showPreview = () => {
    const markdown = form.elements.format.value === 'MARKDOWN';
    preview.replaceChildren(markdown ? renderMarkdown(body.value) : h('p', { class: 'pre-wrap' }, body.value));
  };
  previewToggle.addEventListener('click', () => {
    const open = preview.hidden;
    preview.hidden = !open;
    previewToggle.setAttribute('aria-expanded', String(open));
    previewToggle.textContent = open ? 'Hide preview' : 'Show preview';
    if (open) showPreview();
  });
  body.addEventListener('input', () => { if (!preview.hidden) showPreview(); });
  form.addEventListener('change', (e) => {
    if (e.target.name === 'category') applySensitivity();
    if (e.target.name === 'format') {
      const markdown = form.elements.format.value === 'MARKDOWN';
      markdownHint.hidden = !markdown;
      describedBy(body, markdownHint.id, markdown);
      if (!preview.hidden) showPreview();
    }
    if (e.target.name === 'schedule') {
      const later = form.elements.schedule.value === 'LATER';
      when.disabled = !later;
      container.querySelector('#compose-when-field').hidden = !later;
    }
  });

  addAttachment.addEventListener('click', () => {
    const n = attachments.childElementCount;
    if (n >= MAX_ATTACHMENTS) return;
    const row = h('li', { class: 'attachment-row' },
      h('div', { class: 'field field-inline' }, h('label', { for: `compose-attachment-url-${n}` }, 'Link'),
        h('input', { type: 'url', id: `compose-attachment-url-${n}`, name: 'attachment-url', placeholder: 'https://', inputmode: 'url' })),
      h('div', { class: 'field field-inline' }, h('label', { for: `compose-attachment-name-${n}` }, 'Name'),
        h('input', { id: `compose-attachment-name-${n}`, name: 'attachment-name' })),
      h('button', { type: 'button', class: 'button-link', onclick: () => { row.remove(); addAttachment.disabled = false; addAttachment.focus(); } },
        'Remove', visuallyHidden(` link ${n + 1}`)));
    attachments.append(row);
    addAttachment.disabled = attachments.childElementCount >= MAX_ATTACHMENTS;
    row.querySelector('input').focus();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { request, errors } = read();
    if (Object.keys(errors).length) {
      showErrors(errors);
      return;
    }
    clearErrors();
    submit.disabled = true;
    const key = uuid();
    pending.add(app.user.id, { key, path: '/api/v1/messages', body: request, subject: request.subject, created_at: new Date().toISOString() });
    const result = await pending.send(app.user.id, key, { keepRefused: false });
    submit.disabled = false;
    if (result.outcome === pending.SENT) {
      const m = result.message;
      announce({ SCHEDULED: 'Message scheduled.', PENDING_APPROVAL: 'Your broadcast waits for an administrator’s approval.' }[m.status] ?? 'Message sent.');
      app.refreshCounts();
      app.navigate(m.status === 'SCHEDULED' ? '/scheduled' : `/messages/${m.id}`);
    } else if (result.outcome === pending.WAITING) {
      announce('You are offline. The message is saved on this device and will be sent when the connection returns.');
      app.navigate('/inbox');
    } else {
      const byField = fieldErrors(result.error);
      if (!Object.keys(byField).length) byField._ = [result.error.detail || result.error.message];
      showErrors(byField, result.error.detail);
    }
  });

  // read validates what the form can check itself and builds the request.
  function read() {
    const errors = {};
    const to = picker.value();
    const aud = useAudience?.checked ? audience?.value() : null;
    if (useAudience?.checked && !aud) errors.audience = ['Choose who is in the audience.'];
    else if (!aud && !to.recipient_ids.length && !to.group_ids.length) errors.to = ['Choose at least one recipient.'];
    if (!subject.value.trim()) errors.subject = ['Write a subject.'];
    if (!body.value.trim()) errors.body = ['Write a message.'];
    const links = [...attachments.querySelectorAll('.attachment-row')].map((row) => ({
      url: row.querySelector('[name=attachment-url]').value.trim(),
      name: row.querySelector('[name=attachment-name]').value.trim(),
    })).filter((a) => a.url || a.name);
    for (const a of links) if (a.url && !a.name) a.name = a.url.split('/').filter(Boolean).pop() ?? a.url;
    const request = {
      subject: subject.value.trim(),
      body: body.value,
      body_format: form.elements.format.value,
      category: form.elements.category.value,
      priority: form.elements.priority.value,
      channels: [...form.querySelectorAll('[name=channels]:checked')].map((c) => c.value),
      sensitive: form.elements.sensitive.checked,
    };
    if (to.recipient_ids.length) request.recipient_ids = to.recipient_ids;
    if (to.group_ids.length) request.group_ids = to.group_ids;
    if (aud) request.audience = aud;
    const students = form.elements['compose-about']?.checked ? about.value().student_ids : [];
    if (students.length) request.student_ids = students;
    if (links.length) request.attachments = links;
    ack.read(request, errors);
    if (form.elements.schedule.value === 'LATER') {
      const at = fromZoneInput(when.value);
      if (!at) errors.scheduled_at = ['Choose when to send it.'];
      else if (at.getTime() <= Date.now()) errors.scheduled_at = ['Choose a time in the future.'];
      else request.scheduled_at = at.toISOString();
    }
    return { request, errors };
  }

  const FIELD_LABELS = { to: 'To', recipient_ids: 'To', group_ids: 'To', student_ids: 'About', audience: 'Audience', subject: 'Subject', body: 'Message', attachments: 'Attachments',
    scheduled_at: 'When', channels: 'Send by', category: 'Category', priority: 'Priority', escalation: 'Acknowledgement',
    ack_requested: 'Acknowledgement', _: 'Message' };
  const FIELD_TARGET = { to: 'compose-to', recipient_ids: 'compose-to', group_ids: 'compose-to', student_ids: 'compose-students', audience: 'compose-use-audience', subject: 'compose-subject', body: 'compose-body',
    attachments: 'compose-attachments', scheduled_at: 'compose-when', channels: 'compose-channel-email', category: 'compose-category', priority: 'compose-priority',
    escalation: 'compose-escalation-after', ack_requested: 'compose-ack' };
  const FIELD_BOX = { recipient_ids: 'to', group_ids: 'to', ack_requested: 'escalation' };

  // shown maps each field whose error is on the page to its box.
  const shown = new Map();

  // showErrors lists the problems at the top (links to the fields) and
  // beside each field, each message once, then moves the focus to the list.
  // The heading repeats the server's detail only when it adds to the list.
  function showErrors(byField, detail) {
    clearErrors();
    const list = h('ul');
    const said = new Set();
    for (const [field, all] of Object.entries(byField)) {
      const messages = [...new Set(all)];
      messages.forEach((text) => said.add(text));
      list.append(...messages.map((text) => h('li', { dataset: { field } }, summaryEntry(field, text))));
      showFieldError(field, messages);
    }
    const heading = detail && detail !== 'Validation failed.' && !said.has(detail) ? detail : 'Please fix these problems';
    summary.replaceChildren(h('h2', null, heading), list);
    summary.hidden = false;
    summary.focus();
  }

  function summaryEntry(field, text) {
    const target = FIELD_TARGET[field];
    const label = `${FIELD_LABELS[field] ?? field}: ${text}`;
    if (!target) return label;
    return h('a', { href: `#${target}`, onclick: (e) => { e.preventDefault(); document.getElementById(target)?.focus(); } }, label);
  }

  // showFieldError puts the messages beside the field and marks its input.
  function showFieldError(field, messages) {
    const box = document.getElementById(`field-${FIELD_BOX[field] ?? field}`);
    if (!box) return;
    const errorId = `error-${field}`;
    shown.set(field, box);
    box.classList.add('has-error');
    box.append(h('p', { class: 'error-text field-error', id: errorId }, messages.join(' ')));
    const input = document.getElementById(FIELD_TARGET[field]);
    if (input && !input.matches('ul')) markInvalid(input, errorId);
  }

  // clearField takes one field's error off the page, and the summary with
  // its last entry.
  function clearField(field) {
    const box = shown.get(field);
    shown.delete(field);
    document.getElementById(`error-${field}`)?.remove();
    for (const li of summary.querySelectorAll('li')) if (li.dataset.field === field) li.remove();
    const input = document.getElementById(FIELD_TARGET[field]);
    if (input) markValid(input, `error-${field}`);
    if (![...shown.values()].includes(box)) box.classList.remove('has-error');
    if (!summary.querySelector('li')) summary.hidden = true;
  }

  function clearErrors() {
    summary.hidden = true;
    summary.replaceChildren();
    for (const field of [...shown.keys()]) clearField(field);
  }

  // An error goes as soon as its field is right: the form's own checks run
  // again as the field changes, and a refusal only the server can judge
  // (an http link, a time too far ahead) goes once the field is edited.
  const recheck = (e) => {
    if (!shown.size) return;
    const { errors } = read();
    for (const [field, box] of [...shown]) if (box.contains(e.target) && !errors[field]) clearField(field);
  };
  form.addEventListener('input', recheck);
  form.addEventListener('change', recheck);

  return { title: 'New message' };
}
