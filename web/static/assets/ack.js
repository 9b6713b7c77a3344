// Acknowledgement (API.md, "Acknowledgement and escalation"): the panel a
// recipient answers a message that asks for it with, and the compose
// options that ask for it (with optional escalation). The sender's counts
// and lists are in view-message-report.js.
import * as api from './api.js';
import { h, announce, CHANNELS } from './dom.js';
import { formatTime } from './time.js';

// The channels escalation may use (everyone has the message in the app).
const ESCALATION_CHANNELS = ['SMS', 'VOICE', 'EMAIL', 'PUSH'];
// How a sentence names each channel.
const CHANNEL_WORDS = { SMS: 'text message', VOICE: 'phone call', EMAIL: 'email', PUSH: 'push notification' };

// channelWords names channels in a sentence: "text message and phone call".
function channelWords(channels) {
  return channels.map((c) => CHANNEL_WORDS[c] ?? c).join(' and ');
}
export const MAX_AFTER_MINUTES = 1440;
export const MAX_REPEAT = 5;

// escalationText says in words how a message escalates, or null.
export function escalationText(e) {
  if (!e) return null;
  const how = channelWords(e.channels);
  const again = e.repeat ? `, up to ${e.repeat + 1} times, every ${minutes(e.after_minutes)}` : '';
  return `Anyone who has not acknowledged after ${minutes(e.after_minutes)} is contacted again by ${how}${again}.` +
    (e.other_guardians ? ' The other custodial guardians of their students are contacted too.' : '');
}

function minutes(n) {
  return n === 1 ? '1 minute' : `${n} minutes`;
}

// ackPanel asks a recipient to acknowledge m, with one clear button; once
// they have, it says when. onAcked runs after a successful acknowledgement.
export function ackPanel(m, onAcked) {
  const status = h('p', { id: 'ack-status', class: 'ack-status', role: 'status' });
  const error = h('p', { id: 'ack-error', class: 'error-text', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'button button-primary button-large', id: 'ack-button' }, 'Acknowledge');
  const explain = h('p', { id: 'ack-explain' }, 'The sender asks you to confirm that you have read this message.');
  const escalation = m.escalation && !m.acked_at
    ? h('p', { class: 'hint', id: 'ack-escalation' }, `Until you do, you may be contacted again by ${channelWords(m.escalation.channels)}.`)
    : null;
  const node = h('section', { class: 'panel ack-panel', id: 'ack-panel', 'aria-labelledby': 'ack-heading' },
    h('h2', { id: 'ack-heading' }, 'Acknowledgement requested'), explain, escalation, button, status, error);

  const done = (at) => {
    node.classList.add('is-acked');
    button.remove();
    explain.remove();
    escalation?.remove();
    status.replaceChildren('Acknowledged at ', formatTime(at, 'long'), '.');
  };
  if (m.acked_at) done(m.acked_at);
  button.setAttribute('aria-describedby', 'ack-explain');
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      await api.put(`/api/v1/messages/${m.id}/ack`);
      m.acked_at = new Date().toISOString();
      done(m.acked_at);
      document.querySelector('.message-header .badge-ack')?.remove();
      announce('Acknowledged. The sender can see it.');
      onAcked?.();
    } catch (err) {
      button.disabled = false;
      error.textContent = `Could not acknowledge it: ${api.problemText(err)}`;
      error.hidden = false;
    }
  });
  return node;
}

// ackOptions is the option "Ask recipients to acknowledge" of a sending
// form (ids start with prefix; checked: asked by default), with optional
// escalation settings shown once asked for. read(request, errors)
// adds ack_requested and escalation to a send request, or an error under
// "escalation".
export function ackOptions({ prefix = 'compose', checked = false } = {}) {
  const ask = h('input', { type: 'checkbox', id: `${prefix}-ack`, name: 'ack_requested', checked, 'aria-describedby': `${prefix}-ack-hint` });
  const escalate = h('input', { type: 'checkbox', id: `${prefix}-escalate`, name: 'escalate', 'aria-controls': `${prefix}-escalation` });
  const after = h('input', { type: 'number', id: `${prefix}-escalation-after`, name: 'after_minutes', min: '1', max: String(MAX_AFTER_MINUTES),
    value: '10', inputmode: 'numeric', 'aria-describedby': `${prefix}-escalation-after-hint` });
  const repeat = h('select', { id: `${prefix}-escalation-repeat`, name: 'repeat' },
    Array.from({ length: MAX_REPEAT + 1 }, (_, n) => h('option', { value: String(n), selected: n === 0 },
      n === 0 ? 'Once' : `Up to ${n + 1} times`)));
  const guardians = h('input', { type: 'checkbox', id: `${prefix}-escalation-guardians`, name: 'other_guardians', 'aria-describedby': `${prefix}-escalation-guardians-hint` });
  const settings = h('div', { id: `${prefix}-escalation`, class: 'sub-options', hidden: true },
    h('div', { class: 'field field-inline' }, h('label', { for: `${prefix}-escalation-after` }, 'After (minutes)'), after),
    h('p', { id: `${prefix}-escalation-after-hint`, class: 'hint' }, `1 to ${MAX_AFTER_MINUTES} minutes after sending.`),
    h('fieldset', { class: 'field', id: `${prefix}-escalation-channels` },
      h('legend', null, 'Contact them again by'),
      ESCALATION_CHANNELS.map((c) => h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', name: 'escalation-channels', id: `${prefix}-escalation-channel-${c.toLowerCase()}`, value: c, checked: c === 'SMS' }),
        h('label', { for: `${prefix}-escalation-channel-${c.toLowerCase()}` }, CHANNELS[c])))),
    h('div', { class: 'field field-inline' }, h('label', { for: `${prefix}-escalation-repeat` }, 'How often'), repeat),
    h('div', { class: 'field-check' }, guardians,
      h('label', { for: `${prefix}-escalation-guardians` }, 'Also contact the other custodial guardians of the same students')),
    h('p', { id: `${prefix}-escalation-guardians-hint`, class: 'hint' }, 'At the first reminder, for each parent or guardian who has not acknowledged. Never a non-custodial contact.'));
  // Folded to one line until asked for: compose stays short on a phone.
  const escalateBox = h('div', { id: `${prefix}-escalate-field`, class: 'sub-options', hidden: !checked },
    h('p', { id: `${prefix}-ack-hint`, class: 'hint' }, 'Each recipient gets an "Acknowledge" button; you see who has and who has not, live.'),
    h('div', { class: 'field-check' }, escalate, h('label', { for: `${prefix}-escalate` }, 'Contact anyone who has not acknowledged again')),
    settings);
  const node = h('div', { class: 'ack-field', id: prefix === 'compose' ? 'field-escalation' : `${prefix}-ack-field` },
    h('div', { class: 'field-check' }, ask, h('label', { for: `${prefix}-ack` }, 'Ask recipients to acknowledge')),
    escalateBox);

  ask.addEventListener('change', () => {
    escalateBox.hidden = !ask.checked;
  });
  escalate.addEventListener('change', () => {
    settings.hidden = !escalate.checked;
    escalate.setAttribute('aria-expanded', String(escalate.checked));
  });
  escalate.setAttribute('aria-expanded', 'false');

  return {
    node,
    read(request, errors) {
      if (!ask.checked) return;
      request.ack_requested = true;
      if (!escalate.checked) return;
      const n = Number(after.value);
      const channels = [...settings.querySelectorAll('[name=escalation-channels]:checked')].map((c) => c.value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_AFTER_MINUTES) (errors.escalation ??= []).push(`Choose 1 to ${MAX_AFTER_MINUTES} minutes.`);
      if (!channels.length) (errors.escalation ??= []).push('Choose at least one way to contact them again.');
      request.escalation = { after_minutes: n, channels, repeat: Number(repeat.value), other_guardians: guardians.checked };
    },
  };
}
