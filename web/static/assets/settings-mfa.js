// The two-step sign-in setting of the District settings page:
// mfa_required_roles (PATCH /api/v1/tenant). A role checked here must sign
// in with a code from an authenticator app; its people without one can
// only set it up until they do.
import * as api from './api.js';
import { h, announce, ROLES } from './dom.js';

// mfaRolesField returns the field, showing tenant's current roles.
export function mfaRolesField(tenant) {
  const current = new Set(tenant.settings?.mfa_required_roles ?? []);
  const boxes = Object.entries(ROLES).map(([role, label]) => {
    const input = h('input', { type: 'checkbox', id: `setting-mfa-${role}`, name: 'mfa_required_roles', value: role });
    input.checked = current.has(role);
    return { input, node: h('div', { class: 'field field-check' }, input, ' ', h('label', { for: input.id }, label)) };
  });
  const save = h('button', { type: 'submit', class: 'button', id: 'setting-mfa-save' }, 'Save');
  const status = h('p', { class: 'notice', id: 'setting-mfa-saved', role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: 'setting-mfa-error', role: 'alert' });
  const form = h('form', { class: 'panel settings-form', novalidate: true, 'aria-labelledby': 'setting-mfa-heading' },
    h('h2', { id: 'setting-mfa-heading' }, 'Two-step sign-in'),
    h('fieldset', { 'aria-describedby': 'setting-mfa-hint' },
      h('legend', null, 'Require two-step sign-in of'),
      h('p', { class: 'hint', id: 'setting-mfa-hint' },
        'People with these roles must sign in with a code from an authenticator app as well. Until they set it up, ',
        'they can only do that. Staff who read health records should have it.'),
      ...boxes.map((b) => b.node)),
    h('div', { class: 'actions' }, save), status, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.hidden = true;
    error.textContent = '';
    const roles = boxes.filter((b) => b.input.checked).map((b) => b.input.value);
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { mfa_required_roles: roles } });
      const saved = t.settings.mfa_required_roles ?? [];
      boxes.forEach((b) => { b.input.checked = saved.includes(b.input.value); });
      status.textContent = saved.length ? `Two-step sign-in is required of: ${saved.map((r) => ROLES[r] ?? r).join(', ')}.`
        : 'Two-step sign-in is not required of anyone.';
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      error.textContent = api.problemText(err);
    }
  });
  return form;
}
