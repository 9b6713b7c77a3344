// The second step of signing in, for a user with two-step sign-in: after
// the password or the emailed code, the 6 digits of their authenticator
// app or one of their recovery codes, with the mfa_token of the first step
// (good for 5 minutes, kept only in this page).
import * as session from './session.js';
import { h } from './dom.js';
import { attempt, backLink, showError, slug } from './view-signin.js';

export function mfaForm(ctx, mfaToken) {
  const code = h('input', { id: 'mfa-signin-code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
    maxlength: '32', class: 'code-input', 'aria-describedby': 'mfa-signin-hint', spellcheck: 'false', autocapitalize: 'none' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'mfa-signin-submit' }, 'Sign in');
  const form = h('form', { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-heading' },
    h('div', { class: 'field' }, h('label', { for: 'mfa-signin-code' }, 'Code from your authenticator app'),
      h('p', { id: 'mfa-signin-hint', class: 'hint' },
        'The 6 digits the app shows now. Lost your phone? Enter one of your recovery codes instead.'), code),
    submit, backLink(ctx));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!code.value.trim()) {
      showError(ctx, 'Enter the code from your authenticator app, or a recovery code.');
      code.focus();
      return;
    }
    attempt(ctx, submit, 'Signing in…', async () => {
      ctx.onSignedIn(await session.signInWithMFA(slug(ctx), mfaToken, code.value.trim()));
    }, {
      401: 'That code is not right or was already used, or this sign-in took too long. Try the current code, or sign in again.',
      always: () => { code.value = ''; },
    });
  });
  setTimeout(() => code.focus());
  return form;
}
