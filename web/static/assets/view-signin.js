// The sign-in card: district and email with a password, or a code sent by
// email or text message (how families without a password sign in), or a
// reset link for a forgotten password; /reset sets the new password from
// that link. It shows in place of whatever page was asked for, and that
// page opens after signing in (a link from an email lands on its message).
import * as api from './api.js';
import * as session from './session.js';
import { h } from './dom.js';
import { ssoButton } from './signin-sso.js';
import { mfaForm } from './signin-mfa.js';

export function signInView(main, { onSignedIn, notice = '' }) {
  if (location.pathname === '/reset') {
    resetView(main, new URLSearchParams(location.search).get('token') || '', onSignedIn);
    return;
  }
  const error = h('div', { id: 'signin-error', class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const status = h('p', { id: 'signin-status', class: 'notice', role: 'status', hidden: !notice }, notice);
  const tenant = h('input', { id: 'signin-tenant', name: 'tenant', autocomplete: 'organization', required: true,
    value: session.lastTenant(), 'aria-describedby': 'signin-tenant-hint', spellcheck: 'false', autocapitalize: 'none' });
  const district = h('div', { class: 'field' }, h('label', { for: 'signin-tenant' }, 'District'),
    h('p', { id: 'signin-tenant-hint', class: 'hint' }, 'The short name of your school district, for example “demo”.'), tenant);
  const heading = h('h1', { id: 'signin-heading', tabindex: '-1' }, 'Sign in to whitecross');
  const body = h('div', { class: 'signin-body' });
  const ctx = { error, status, tenant, district, heading, body, onSignedIn, show };

  // show switches the card to one way of signing in.
  function show(mode, arg) {
    error.hidden = true;
    const build = { password: passwordForm, contact: contactForm, code: codeForm, forgot: forgotForm, mfa: mfaForm }[mode];
    body.replaceChildren(build(ctx, arg));
    body.dataset.mode = mode;
    heading.textContent = { password: 'Sign in to whitecross', forgot: 'Reset your password', mfa: 'Two-step sign-in' }[mode] ?? 'Sign in with a code';
  }

  main.replaceChildren(h('div', { class: 'view signin' }, heading, status, error, body));
  document.title = 'Sign in · whitecross';
  // Single sign-on of a user with two-step sign-in comes back with its
  // mfa_token in the fragment (api/auth_oidc.go): ask for the code.
  const sso = new URLSearchParams(location.hash.slice(1)).get('mfa');
  if (sso) history.replaceState(null, '', location.pathname);
  show(sso ? 'mfa' : 'password', sso ?? undefined);
  (tenant.value || sso ? body.querySelector('input:not(#signin-tenant)') : tenant).focus();
}

// passwordForm signs in with email and password, and offers the other ways.
function passwordForm(ctx) {
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    ctx.district,
    h('div', { class: 'field' }, h('label', { for: 'signin-email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, 'Password'), password,
      h('p', { class: 'signin-forgot' }, h('button', { type: 'button', id: 'signin-forgot', class: 'button-link', onclick: () => ctx.show('forgot', email.value) },
        'Forgot your password?'))),
    submit,
    h('div', { class: 'signin-alt' },
      h('p', { class: 'signin-or' }, h('span', null, 'or')),
      ssoButton(ctx.tenant),
      h('button', { type: 'button', id: 'signin-use-code', class: 'button', onclick: () => ctx.show('contact', email.value) },
        'Email or text me a code'),
      h('p', { class: 'hint' }, 'No password? We send a 6-digit code to your email or mobile phone.')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!required(ctx, [[ctx.tenant, 'district'], [email, 'email'], [password, 'password']])) return;
    attempt(ctx, submit, 'Signing in…', async () => {
      signedIn(ctx, await session.signIn(slug(ctx), email.value.trim(), password.value));
    }, {
      401: 'The district, email or password is not right.',
      always: () => { password.value = ''; },
    });
  });
  return form;
}

// contactForm asks where to send a code.
function contactForm(ctx, prefill = '') {
  const contact = h('input', { id: 'code-contact', name: 'contact', autocomplete: 'username', required: true, spellcheck: 'false',
    autocapitalize: 'none', value: prefill, 'aria-describedby': 'code-contact-hint' });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Send me a code');
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    ctx.district,
    h('div', { class: 'field' }, h('label', { for: 'code-contact' }, 'Email or mobile number'),
      h('p', { id: 'code-contact-hint', class: 'hint' }, 'The one your school has for you. A mobile number starts with + and the country code, for example +15551234567.'),
      contact),
    submit,
    backLink(ctx));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!required(ctx, [[ctx.tenant, 'district'], [contact, 'email or mobile number']])) return;
    attempt(ctx, submit, 'Sending…', async () => {
      await api.request('POST', '/api/v1/auth/code', { body: { tenant: slug(ctx), contact: contact.value.trim() }, renew: false });
      ctx.show('code', contact.value.trim());
    }, { 422: 'Enter an email address, or a mobile number starting with + and the country code.' });
  });
  return form;
}

// codeForm takes the 6 digits sent to contact.
function codeForm(ctx, contact) {
  const code = h('input', { id: 'code-input', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
    maxlength: '6', pattern: '[0-9]{6}', class: 'code-input', 'aria-describedby': 'code-hint' });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');
  const resend = h('button', { type: 'button', id: 'code-resend', class: 'button-link' }, 'Send a new code');
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    h('p', { id: 'code-sent', class: 'notice', role: 'status' },
      `If ${contact} belongs to an account, a 6-digit code is on its way. It works for 10 minutes.`),
    h('div', { class: 'field' }, h('label', { for: 'code-input' }, 'Code'),
      h('p', { id: 'code-hint', class: 'hint' }, 'Six digits. After 5 wrong tries the code stops working: ask for a new one.'), code),
    submit,
    h('p', { class: 'signin-links' }, resend, ' · ', h('button', { type: 'button', class: 'button-link', onclick: () => ctx.show('contact', contact) },
      'Use another email or number')),
    backLink(ctx));
  resend.addEventListener('click', () => attempt(ctx, resend, 'Sending…', async () => {
    await api.request('POST', '/api/v1/auth/code', { body: { tenant: slug(ctx), contact }, renew: false });
    ctx.show('code', contact);
    ctx.body.querySelector('#code-sent').textContent = `A new code is on its way to ${contact} if it belongs to an account. Earlier codes no longer work.`;
  }, {}));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!/^[0-9]{6}$/.test(code.value.trim())) {
      showError(ctx, 'Enter the 6 digits of the code.');
      code.focus();
      return;
    }
    attempt(ctx, submit, 'Signing in…', async () => {
      signedIn(ctx, await session.signInWithCode(slug(ctx), contact, code.value.trim()));
    }, {
      401: 'That code is not right, or it has expired or been used. Check it, or send a new code.',
      always: () => { code.value = ''; },
    });
  });
  setTimeout(() => code.focus());
  return form;
}

// forgotForm emails a reset link.
function forgotForm(ctx, prefill = '') {
  const email = h('input', { id: 'forgot-email', name: 'email', type: 'email', autocomplete: 'username', required: true,
    spellcheck: 'false', value: prefill.includes('@') ? prefill : '' });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Email me a reset link');
  const sent = h('p', { id: 'forgot-sent', class: 'notice', role: 'status', hidden: true });
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    h('p', null, 'We email you a link to choose a new password. It works once, for 30 minutes.'),
    ctx.district,
    h('div', { class: 'field' }, h('label', { for: 'forgot-email' }, 'Email'), email),
    sent, submit, backLink(ctx));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!required(ctx, [[ctx.tenant, 'district'], [email, 'email']])) return;
    attempt(ctx, submit, 'Sending…', async () => {
      await api.request('POST', '/api/v1/auth/password/forgot', { body: { tenant: slug(ctx), email: email.value.trim() }, renew: false });
      localStorage.setItem('wc.tenant', slug(ctx)); // the link's page signs in to it
      sent.textContent = `If ${email.value.trim()} belongs to an account, a link is on its way. Check your email.`;
      sent.hidden = false;
    }, {});
  });
  return form;
}

// resetView sets a new password with the token of a reset link.
function resetView(main, token, onSignedIn) {
  const error = h('div', { id: 'signin-error', class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const password = h('input', { id: 'reset-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
    'aria-describedby': 'reset-hint' });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Set my password');
  const heading = h('h1', { id: 'signin-heading', tabindex: '-1' }, 'Choose a new password');
  const ctx = { error };
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    h('div', { class: 'field' }, h('label', { for: 'reset-password' }, 'New password'),
      h('p', { id: 'reset-hint', class: 'hint' }, 'At least 12 characters, not your email or name, not easy to guess. A few unrelated words work well.'),
      password),
    submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!required(ctx, [[password, 'new password']])) return;
    attempt(ctx, submit, 'Saving…', async () => {
      await api.request('POST', '/api/v1/auth/password/reset', { body: { token, password: password.value }, renew: false });
      history.replaceState(null, '', '/');
      signInView(main, { onSignedIn, notice: 'Your new password is set and you were signed out everywhere. Sign in with it now.' });
    }, {
      401: 'This link is invalid, used or expired. Go back to sign in and ask for a new one.',
      422: (err) => err.errors[0]?.message || err.detail,
    });
  });
  main.replaceChildren(h('div', { class: 'view signin' }, heading, error, form,
    h('p', { class: 'signin-links' }, h('a', { href: '/', class: 'standalone-link', onclick: (e) => { e.preventDefault(); history.replaceState(null, '', '/'); location.reload(); } }, 'Back to sign in'))));
  document.title = 'New password · whitecross';
  password.focus();
}

// signedIn starts the app, or asks for the second step when the user has
// two-step sign-in (the answer is then { mfaToken }).
function signedIn(ctx, res) {
  if (res?.mfaToken) ctx.show('mfa', res.mfaToken);
  else ctx.onSignedIn(res);
}

export function backLink(ctx) {
  return h('p', { class: 'signin-links' }, h('button', { type: 'button', class: 'button-link', id: 'signin-back', onclick: () => ctx.show('password') },
    'Sign in with a password instead'));
}

export function slug(ctx) {
  return ctx.tenant.value.trim().toLowerCase();
}

// required shows which fields are empty and focuses the first.
function required(ctx, fields) {
  const missing = fields.filter(([input]) => !input.value.trim());
  if (!missing.length) return true;
  showError(ctx, `Enter your ${missing.map(([, name]) => name).join(', ')}.`);
  missing[0][0].focus();
  return false;
}

// attempt runs fn with button busy, showing a failure by its status:
// messages[status] is text or a function of the error.
export async function attempt(ctx, button, busy, fn, messages) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busy;
  try {
    await fn();
  } catch (err) {
    messages.always?.();
    const m = err instanceof api.ApiError ? messages[err.status] : undefined;
    if (m) showError(ctx, typeof m === 'function' ? m(err) : m);
    else if (err instanceof api.ApiError && err.status === 429) {
      const minutes = Math.max(1, Math.ceil(err.retryAfter / 60));
      showError(ctx, `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
    } else if (err instanceof api.NetworkError) showError(ctx, 'The server cannot be reached. Check your connection and try again.');
    else showError(ctx, err.detail || err.message);
  } finally {
    if (button.isConnected) {
      button.disabled = false;
      button.textContent = label;
    }
  }
}

export function showError(ctx, text) {
  ctx.error.replaceChildren(h('p', null, text));
  ctx.error.hidden = false;
  ctx.error.focus();
}
