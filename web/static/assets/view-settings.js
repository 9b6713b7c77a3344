// District settings (ADMIN): the district's choices that take effect for
// everyone: presence, automatic sign-out, message retention, two-step
// sign-in and single sign-on; the other settings are changed through
// PATCH /api/v1/tenant (docs/operations.md).
import * as api from './api.js';
import { h, announce } from './dom.js';
import { idleTimeoutField } from './settings-idle.js';
import { ssoField } from './settings-sso.js';
import { mfaRolesField } from './settings-mfa.js';
import { dataKeyField } from './settings-keys.js';
import { retentionField } from './settings-retention.js';

export async function settingsView(app, container) {
  const tenant = await api.get('/api/v1/tenant');
  const presence = h('input', { id: 'setting-presence', name: 'presence', type: 'checkbox', 'aria-describedby': 'setting-presence-hint' });
  presence.checked = tenant.settings?.presence !== false;
  const status = h('p', { class: 'notice', id: 'settings-saved', role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: 'settings-error', role: 'alert' });
  presence.addEventListener('change', async () => {
    status.hidden = true;
    error.textContent = '';
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { presence: presence.checked } });
      presence.checked = t.settings.presence;
      status.textContent = presence.checked ? 'People see who is online.' : 'Nobody sees who is online.';
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      presence.checked = !presence.checked;
      error.textContent = api.problemText(err);
    }
  });
  container.append(h('h1', { tabindex: '-1' }, 'District settings'),
    h('form', { class: 'panel settings-form', novalidate: true, onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field field-check' }, presence, ' ', h('label', { for: 'setting-presence' }, 'Show who is online'),
        h('p', { class: 'hint', id: 'setting-presence-hint' },
          'People see “online” beside the names of those they may message. Off, nobody in the district sees it; every server follows within a minute.')),
      status, error),
    idleTimeoutField(tenant), retentionField(tenant),
    mfaRolesField(tenant), ssoField(tenant), dataKeyField());
  return { title: 'District settings' };
}
