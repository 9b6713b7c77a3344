// The "Sign in with <provider>" button of the sign-in card, shown only
// when the district typed in signs in with its identity provider (GET
// /api/v1/auth/oidc). It is a plain link: the server sends the browser to
// the provider and back into the app.
import * as api from './api.js';
import { h } from './dom.js';

// ssoButton returns the (hidden) button, kept in step with the district
// field tenant while it is on the page.
export function ssoButton(tenant) {
  const link = h('a', { id: 'signin-sso', class: 'button', hidden: true, href: '#' });
  let asked = '';
  async function update() {
    const slug = tenant.value.trim().toLowerCase();
    if (slug === asked) return;
    asked = slug;
    let res = { enabled: false };
    if (slug) {
      try {
        res = await api.request('GET', `/api/v1/auth/oidc?tenant=${encodeURIComponent(slug)}`, { renew: false });
      } catch {
        res = { enabled: false }; // offline: the other ways still show
      }
    }
    if (slug !== asked) return; // the field changed meanwhile
    link.hidden = !res.enabled;
    link.textContent = res.enabled ? `Sign in with ${res.provider}` : '';
    link.href = `/api/v1/auth/oidc/start?tenant=${encodeURIComponent(slug)}`;
    link.dataset.tenant = slug; // which district the button is for (tests wait on it)
  }
  let timer;
  const onInput = () => {
    if (!link.isConnected && asked) {
      tenant.removeEventListener('input', onInput);
      tenant.removeEventListener('change', onInput);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  };
  tenant.addEventListener('input', onInput);
  tenant.addEventListener('change', onInput);
  link.addEventListener('click', () => localStorage.setItem('wc.tenant', tenant.value.trim().toLowerCase()));
  update();
  return link;
}
