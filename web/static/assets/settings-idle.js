// The automatic logoff setting of the District settings page:
// idle_timeout_minutes (PATCH /api/v1/tenant), 0 for off.
import * as api from './api.js';
import { h, announce } from './dom.js';

const MAX_MINUTES = 720; // whitecross.MaxIdleTimeoutMinutes

// idleTimeoutField returns the field, showing tenant's current value.
export function idleTimeoutField(tenant) {
  const input = h('input', { id: 'setting-idle-timeout', name: 'idle_timeout_minutes', type: 'number', min: '0',
    max: String(MAX_MINUTES), step: '1', inputmode: 'numeric', value: String(tenant.settings?.idle_timeout_minutes ?? 30),
    'aria-describedby': 'setting-idle-timeout-hint setting-idle-timeout-error' });
  const save = h('button', { type: 'submit', class: 'button', id: 'setting-idle-timeout-save' }, 'Save');
  const status = h('p', { class: 'notice', id: 'setting-idle-timeout-saved', role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: 'setting-idle-timeout-error', role: 'alert' });
  const form = h('form', { class: 'panel settings-form', novalidate: true, 'aria-labelledby': 'setting-idle-timeout-heading' },
    h('h2', { id: 'setting-idle-timeout-heading' }, 'Automatic sign-out'),
    h('div', { class: 'field' }, h('label', { for: 'setting-idle-timeout' }, 'Sign staff out after this many minutes without activity'),
      h('p', { class: 'hint', id: 'setting-idle-timeout-hint' },
        `0 to ${MAX_MINUTES}; 0 turns it off. Staff (administrators, nurses, other staff) get a one-minute warning, then the app `,
        'signs them out and clears the screen. Families are not signed out. Federal health privacy rules (HIPAA) expect it on; 30 is the default.'),
      h('div', { class: 'field-row' }, input, save)),
    status, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.hidden = true;
    error.textContent = '';
    const n = Number(input.value);
    if (input.value === '' || !Number.isInteger(n) || n < 0 || n > MAX_MINUTES) {
      error.textContent = `Enter a whole number of minutes from 0 to ${MAX_MINUTES}.`;
      input.focus();
      return;
    }
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { idle_timeout_minutes: n } });
      const m = t.settings.idle_timeout_minutes;
      input.value = String(m);
      status.textContent = m === 0 ? 'Automatic sign-out is off.' : `Staff are signed out after ${m} minute${m === 1 ? '' : 's'} without activity.`;
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      error.textContent = api.problemText(err);
    }
  });
  return form;
}
