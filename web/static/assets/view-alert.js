// The emergency alert: an ADMIN or SCHOOL_ADMIN tells everyone (or some
// schools) at once, on every channel the district allows, ahead of
// everything else in the queue. Two steps: write it, then confirm with the
// preview's numbers in front of you; nothing is sent before "Send alert".
import * as api from './api.js';
import { audienceEditor, previewText, schoolsFor } from './audience.js';
import { ackOptions } from './ack.js';
import { h, announce, uuid, CHANNELS } from './dom.js';

export async function alertView(app, container) {
  const [schools, tenant] = await Promise.all([schoolsFor(app.user), api.get('/api/v1/tenant')]);
  const allowed = Object.keys(CHANNELS).filter((c) => c === 'IN_APP' || !(tenant.settings?.allowed_channels?.length) ||
    tenant.settings.allowed_channels.includes(c));
  const everyone = app.user.role === 'ADMIN' ? 'Everyone in the district' : 'Everyone at your schools';
  const audience = audienceEditor({ id: 'alert-audience', schools, everyoneLabel: everyone });
  const subject = h('input', { id: 'alert-subject', maxlength: '200', required: true, autocomplete: 'off' });
  const body = h('textarea', { id: 'alert-body', rows: '5', maxlength: '20000', required: true });
  const problems = h('div', { class: 'error-summary', id: 'alert-errors', role: 'alert', tabindex: '-1', hidden: true });
  const review = h('button', { type: 'submit', class: 'button button-primary', id: 'alert-review' }, 'Review alert');
  // An emergency asks to be acknowledged unless the sender says otherwise.
  const ack = ackOptions({ prefix: 'alert', checked: true });
  const confirmText = h('p', { id: 'alert-confirm-text' });
  const send = h('button', { type: 'button', class: 'button button-danger', id: 'alert-send' }, 'Send alert now');
  const change = h('button', { type: 'button', class: 'button', id: 'alert-change' }, 'Change');
  const confirmPanel = h('section', { class: 'panel alert-confirm', id: 'alert-confirm', hidden: true, tabindex: '-1', 'aria-labelledby': 'alert-confirm-heading' },
    h('h2', { id: 'alert-confirm-heading' }, 'Send this emergency alert?'), confirmText, h('div', { class: 'actions' }, send, change));
  const form = h('form', { class: 'compose', novalidate: true, id: 'alert-form' },
    problems, audience.node,
    h('div', { class: 'field' }, h('label', { for: 'alert-subject' }, 'Subject'), subject),
    h('div', { class: 'field' }, h('label', { for: 'alert-body' }, 'Message'), body),
    h('fieldset', { class: 'field', id: 'alert-channels' }, h('legend', null, 'Send by'),
      allowed.map((c) => h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', name: 'channels', id: `alert-channel-${c.toLowerCase()}`, value: c, checked: true, disabled: c === 'IN_APP' }),
        h('label', { for: `alert-channel-${c.toLowerCase()}` }, CHANNELS[c])))),
    ack.node,
    h('div', { class: 'actions' }, review));
  container.append(h('h1', { tabindex: '-1' }, 'Emergency alert'),
    h('p', { class: 'hint' }, 'An emergency goes to everyone in the audience at once, on every channel you keep checked, ahead of all other messages. Text messages reach numbers that texted STOP only if your district allows it.'),
    form, confirmPanel);
  if (app.user.role !== 'ADMIN' && schools.length) audience.set({ location_ids: schools.filter((l) => app.user.location_ids.includes(l.id)).map((l) => l.id) });

  const ackErrors = {};
  const request = () => {
    const r = {
      subject: subject.value.trim(), body: body.value, category: 'EMERGENCY', priority: 'URGENT',
      channels: [...form.querySelectorAll('[name=channels]:checked')].map((c) => c.value), audience: audience.value(),
    };
    delete ackErrors.escalation;
    ack.read(r, ackErrors);
    return r;
  };
  const fail = (text) => {
    problems.replaceChildren(h('p', null, text));
    problems.hidden = false;
    problems.focus();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const r = request();
    if (!r.audience) return fail('Choose who receives the alert.');
    if (!r.subject || !r.body.trim()) return fail('Write a subject and a message.');
    if (ackErrors.escalation) return fail(ackErrors.escalation.join(' '));
    const p = audience.preview();
    if (!p) return fail('The audience is still being counted, or cannot be used; see the audience above.');
    problems.hidden = true;
    const by = r.channels.map((c) => CHANNELS[c]).join(', ');
    confirmText.textContent = `EMERGENCY: “${r.subject}” to ${previewText(p)} Sent by ${by}.` +
      (r.ack_requested ? ' Recipients are asked to acknowledge it.' : '');
    form.hidden = true;
    confirmPanel.hidden = false;
    confirmPanel.focus();
  });
  change.addEventListener('click', () => {
    confirmPanel.hidden = true;
    form.hidden = false;
    subject.focus();
  });
  const key = uuid(); // one alert, even if "Send" is pressed twice
  send.addEventListener('click', async () => {
    send.disabled = true;
    try {
      const m = await api.post('/api/v1/messages', request(), { 'Idempotency-Key': key });
      announce(m.status === 'PENDING_APPROVAL' ? 'The alert waits for an administrator’s approval.' : 'Emergency alert sent.');
      app.refreshCounts();
      app.navigate(`/messages/${m.id}`);
    } catch (err) {
      send.disabled = false;
      confirmPanel.hidden = true;
      form.hidden = false;
      fail(api.problemText(err));
    }
  });
  return { title: 'Emergency alert' };
}
