// The single sign-on setting of the District settings page: oidc (PATCH
// /api/v1/tenant). The client secret is write-only: the page only says
// whether one is stored, and an empty secret field keeps it.
import * as api from './api.js';
import { h, announce } from './dom.js';

// ssoField returns the form, showing tenant's current setting.
export function ssoField(tenant) {
  const cur = tenant.settings?.oidc;
  const input = (id, name, attrs = {}) => h('input', { id, name, spellcheck: 'false', autocapitalize: 'none', ...attrs });
  const issuer = input('setting-sso-issuer', 'issuer', { type: 'url', value: cur?.issuer ?? '', placeholder: 'https://accounts.google.com' });
  const clientID = input('setting-sso-client-id', 'client_id', { value: cur?.client_id ?? '' });
  const secret = input('setting-sso-secret', 'client_secret', { type: 'password', autocomplete: 'new-password', 'aria-describedby': 'setting-sso-secret-hint' });
  const domains = input('setting-sso-domains', 'allowed_domains', { value: (cur?.allowed_domains ?? []).join(', '), 'aria-describedby': 'setting-sso-domains-hint' });
  const secretHint = h('p', { class: 'hint', id: 'setting-sso-secret-hint' });
  const showSecretHint = (set) => { secretHint.textContent = set ? 'A secret is stored. Leave this empty to keep it.' : 'From your identity provider. It is stored encrypted and never shown again.'; };
  showSecretHint(cur?.client_secret_set);
  const status = h('p', { class: 'notice', id: 'setting-sso-saved', role: 'status', hidden: true });
  const error = h('p', { class: 'error-text', id: 'setting-sso-error', role: 'alert' });
  const field = (id, label, el, ...hint) => h('div', { class: 'field' }, h('label', { for: id }, label), ...hint, el);
  const form = h('form', { class: 'panel settings-form', novalidate: true, 'aria-labelledby': 'setting-sso-heading' },
    h('h2', { id: 'setting-sso-heading' }, 'Single sign-on'),
    h('p', { class: 'hint' }, 'Staff and families sign in with your district’s Google Workspace or Microsoft Entra account. ',
      `Register whitecross with your provider with the redirect URI ${location.origin}/api/v1/auth/oidc/callback. Empty the issuer to turn it off.`),
    field('setting-sso-issuer', 'Issuer URL', issuer),
    field('setting-sso-client-id', 'Client ID', clientID),
    field('setting-sso-secret', 'Client secret', secret, secretHint),
    field('setting-sso-domains', 'Allowed email domains', domains,
      h('p', { class: 'hint', id: 'setting-sso-domains-hint' }, 'Separated by commas, for example springfield.k12.example. Empty: any email your provider has verified.')),
    h('button', { type: 'submit', class: 'button', id: 'setting-sso-save' }, 'Save single sign-on'),
    status, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.hidden = true;
    error.textContent = '';
    const oidc = { issuer: issuer.value.trim(), client_id: clientID.value.trim(),
      allowed_domains: domains.value.split(',').map((d) => d.trim()).filter(Boolean) };
    if (secret.value) oidc.client_secret = secret.value;
    try {
      const t = await api.patch('/api/v1/tenant', { settings: { oidc } });
      secret.value = '';
      const o = t.settings.oidc;
      showSecretHint(o?.client_secret_set);
      status.textContent = o ? 'Single sign-on is on.' : 'Single sign-on is off.';
      status.hidden = false;
      announce(status.textContent);
    } catch (err) {
      error.textContent = api.problemText(err);
    }
  });
  return form;
}
