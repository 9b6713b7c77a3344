// One whole-number setting of the District settings page, saved on its own
// with PATCH /api/v1/tenant: the form, its bounds check before sending,
// and the sentence that says what the saved value does.
import * as api from './api.js';
import { h, announce } from './dom.js';

// numberSettingField returns the form of setting `field` (a key of the
// tenant's settings), showing tenant's current value (else fallback).
// spec: id (of the input), field, heading, label, hint (nodes), max, unit
// ("minute", "day": the error names it), fallback, and saved(n), the
// status sentence for a saved value.
export function numberSettingField(tenant, spec) {
  const { id, field, heading, label, hint, max, unit, fallback, saved } = spec;
  const input = h('input', { id, name: field, type: 'number', min: '0', max: String(max), step: '1', inputmode: 'numeric',
    value: String(tenant.settings?.[field] ?? fallback), 'aria-describedby': `${id}-hint ${id}-error` });
  const save = h('button', { type: 'submit', class: 'button', id: `${id}-save` }, 'Save');
  const status = h('p', { class: 'notice', id: `${id}-saved`, role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: `${id}-error`, role: 'alert' });
  const form = h('form', { class: 'panel settings-form', novalidate: true, 'aria-labelledby': `${id}-heading` },
    h('h2', { id: `${id}-heading` }, heading),
    h('div', { class: 'field' }, h('label', { for: id }, label),
      h('p', { class: 'hint', id: `${id}-hint` }, ...hint),
      h('div', { class: 'field-row' }, input, save)),
    status, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.hidden = true;
    error.textContent = '';
    const n = Number(input.value);
    if (input.value === '' || !Number.isInteger(n) || n < 0 || n > max) {
      error.textContent = `Enter a whole number of ${unit}s from 0 to ${max}.`;
      input.focus();
      return;
    }
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { [field]: n } });
      const v = t.settings[field] ?? fallback;
      input.value = String(v);
      status.textContent = saved(v);
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      error.textContent = api.problemText(err);
    }
  });
  return form;
}

// plural is "1 day", "2 days".
export const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'}`;
