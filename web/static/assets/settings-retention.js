// The retention setting of the District settings page: retention_days
// (PATCH /api/v1/tenant), 0 to keep messages for ever.
import * as api from './api.js';
import { h, announce } from './dom.js';

const MAX_DAYS = 3650; // store.MaxRetentionDays

// retentionField returns the field, showing tenant's current value.
export function retentionField(tenant) {
  const input = h('input', { id: 'setting-retention', name: 'retention_days', type: 'number', min: '0',
    max: String(MAX_DAYS), step: '1', inputmode: 'numeric', value: String(tenant.settings?.retention_days ?? 0),
    'aria-describedby': 'setting-retention-hint setting-retention-error' });
  const save = h('button', { type: 'submit', class: 'button', id: 'setting-retention-save' }, 'Save');
  const status = h('p', { class: 'notice', id: 'setting-retention-saved', role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: 'setting-retention-error', role: 'alert' });
  const form = h('form', { class: 'panel settings-form', novalidate: true, 'aria-labelledby': 'setting-retention-heading' },
    h('h2', { id: 'setting-retention-heading' }, 'Message retention'),
    h('div', { class: 'field' }, h('label', { for: 'setting-retention' }, 'Delete messages after this many days'),
      h('p', { class: 'hint', id: 'setting-retention-hint' },
        `0 to ${MAX_DAYS}; 0 keeps every message. Once a day, messages older than this are deleted for good, with who received `,
        'and read them and how they were delivered, except the messages of people and students under a ',
        h('a', { href: '/legal-holds' }, 'legal hold'), '. The audit log is kept.'),
      h('div', { class: 'field-row' }, input, save)),
    status, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.hidden = true;
    error.textContent = '';
    const n = Number(input.value);
    if (input.value === '' || !Number.isInteger(n) || n < 0 || n > MAX_DAYS) {
      error.textContent = `Enter a whole number of days from 0 to ${MAX_DAYS}.`;
      input.focus();
      return;
    }
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { retention_days: n } });
      const d = t.settings.retention_days ?? 0;
      input.value = String(d);
      status.textContent = d === 0 ? 'Messages are kept.' : `Messages are deleted ${d} day${d === 1 ? '' : 's'} after they are sent.`;
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      error.textContent = api.problemText(err);
    }
  });
  return form;
}
