// The sign-in form: district (tenant slug), email and password. It shows
// in place of whatever page was asked for, and that page opens after
// signing in (a link from an email lands on its message).
import * as api from './api.js';
import * as session from './session.js';
import { h } from './dom.js';

export function signInView(main, { onSignedIn, notice = '' }) {
  const error = h('div', { id: 'signin-error', class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const tenant = h('input', { id: 'signin-tenant', name: 'tenant', autocomplete: 'organization', required: true,
    value: session.lastTenant(), 'aria-describedby': 'signin-tenant-hint', spellcheck: 'false', autocapitalize: 'none' });
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');

  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    error,
    h('div', { class: 'field' }, h('label', { for: 'signin-tenant' }, 'District'),
      h('p', { id: 'signin-tenant-hint', class: 'hint' }, 'The short name of your school district, for example “demo”.'), tenant),
    h('div', { class: 'field' }, h('label', { for: 'signin-email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, 'Password'), password),
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const missing = [[tenant, 'district'], [email, 'email'], [password, 'password']].filter(([input]) => !input.value.trim());
    if (missing.length) {
      showError(`Enter your ${missing.map(([, name]) => name).join(', ')}.`);
      missing[0][0].focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const user = await session.signIn(tenant.value.trim().toLowerCase(), email.value.trim(), password.value);
      onSignedIn(user);
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 401) showError('The district, email or password is not right.');
      else if (err instanceof api.ApiError && err.status === 429) {
        const minutes = Math.max(1, Math.ceil(err.retryAfter / 60));
        showError(`Too many attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
      } else if (err instanceof api.NetworkError) showError('The server cannot be reached. Check your connection and try again.');
      else showError(err.detail || err.message);
      password.value = '';
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  function showError(text) {
    error.replaceChildren(h('p', null, text));
    error.hidden = false;
    error.focus();
  }

  main.replaceChildren(h('div', { class: 'view signin' },
    h('h1', { id: 'signin-heading', tabindex: '-1' }, 'Sign in to whitecross'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    form));
  document.title = 'Sign in · whitecross';
  (tenant.value ? email : tenant).focus();
}
