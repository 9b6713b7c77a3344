// Two-step sign-in on the Account page (and the set-up page a district
// that requires it shows instead of the inbox): set up an authenticator
// app with its QR code (drawn by the server), otpauth link or secret, confirm with a code, keep the 10
// recovery codes (shown once, with copy and print), or turn it off with a
// code. The secret never leaves this page: it is not stored in the browser.
import * as api from './api.js';
import { h, announce } from './dom.js';

// mfaSection returns the section; onEnabled runs once it is turned on.
export function mfaSection({ onEnabled } = {}) {
  const body = h('div', { id: 'mfa-body' });
  const section = h('section', { class: 'panel mfa-panel', 'aria-labelledby': 'mfa-heading' },
    h('h2', { id: 'mfa-heading' }, 'Two-step sign-in'), body);
  const show = (node) => body.replaceChildren(node);
  const ctx = { show, onEnabled };
  api.get('/api/v1/me').then((me) => show(me.mfa_enabled ? onState(ctx) : offState(ctx)),
    (err) => show(h('p', { class: 'error-text', role: 'alert' }, api.problemText(err))));
  return section;
}

// offState offers to set it up.
function offState(ctx) {
  const start = h('button', { type: 'button', class: 'button button-primary', id: 'mfa-start' }, 'Set up two-step sign-in');
  const error = h('p', { class: 'error-text', role: 'alert' });
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      ctx.show(setupState(ctx, await api.post('/api/v1/me/mfa/totp')));
    } catch (err) {
      error.textContent = api.problemText(err);
      start.disabled = false;
    }
  });
  return h('div', { id: 'mfa-off' },
    h('p', null, 'Two-step sign-in is off. With it on, signing in also needs a 6-digit code from an authenticator app on your phone ',
      '(such as Google Authenticator, Microsoft Authenticator or 1Password), so a stolen password alone does not open your account.'),
    start, error);
}

// codeField is a labelled input for a 6-digit code (or a recovery code).
function codeField(id, label, hint) {
  const input = h('input', { id, name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
    maxlength: '32', class: 'code-input', 'aria-describedby': `${id}-hint ${id}-error` });
  const error = h('p', { class: 'error-text', id: `${id}-error`, role: 'alert' });
  return { input, error, node: h('div', { class: 'field' }, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-hint` }, hint), input, error) };
}

// setupState shows the secret and asks for a first code.
function setupState(ctx, setup) {
  const code = codeField('mfa-code', 'Code from the app', 'The 6 digits the app shows now for whitecross.');
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'mfa-confirm' }, 'Turn on');
  const form = h('form', { id: 'mfa-setup', novalidate: true },
    h('ol', { class: 'mfa-steps' },
      h('li', null, 'On your phone, open your authenticator app, add an account and scan this code:',
        h('p', null, h('img', { src: `/api/v1/me/mfa/totp/qr.png?t=${Date.now()}`, id: 'mfa-qr', class: 'mfa-qr', width: '200', height: '200',
          alt: 'QR code for your authenticator app; the key below holds the same.' }))),
      h('li', null, 'No camera? Choose to enter a key and type this one (spaces do not matter). On this phone you can instead ',
        h('a', { href: setup.otpauth_url, id: 'mfa-otpauth' }, 'open the set-up link'), '.',
        h('p', null, h('code', { id: 'mfa-secret', class: 'mfa-secret' }, setup.secret.replace(/(.{4})/g, '$1 ').trim()))),
      h('li', null, 'Enter the code the app then shows.')),
    code.node, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    code.error.textContent = '';
    if (!/^[0-9]{6}$/.test(code.input.value.trim())) {
      code.error.textContent = 'Enter the 6 digits the app shows.';
      code.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await api.post('/api/v1/me/mfa/totp/confirm', { code: code.input.value.trim() });
      ctx.show(recoveryState(ctx, res.recovery_codes));
      announce('Two-step sign-in is on. Keep your recovery codes.');
    } catch (err) {
      code.error.textContent = api.problemText(err);
      code.input.value = '';
      code.input.focus();
      submit.disabled = false;
    }
  });
  setTimeout(() => code.input.focus());
  return form;
}

// recoveryState shows the recovery codes once, with copy and print.
function recoveryState(ctx, codes) {
  const text = codes.join('\n');
  const copied = h('p', { class: 'notice', role: 'status', hidden: true, id: 'mfa-copied' });
  const copy = h('button', { type: 'button', class: 'button', id: 'mfa-copy' }, 'Copy codes');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = 'The codes are copied.';
    } catch {
      copied.textContent = 'This browser did not allow copying: select the codes and copy them.';
    }
    copied.hidden = false;
  });
  const print = h('button', { type: 'button', class: 'button', id: 'mfa-print' }, 'Print codes');
  print.addEventListener('click', () => window.print());
  const done = h('button', { type: 'button', class: 'button button-primary', id: 'mfa-done' }, 'I have kept them');
  done.addEventListener('click', () => {
    if (ctx.onEnabled) ctx.onEnabled();
    else ctx.show(onState(ctx));
  });
  return h('div', { id: 'mfa-recovery' },
    h('p', { class: 'notice' }, 'Two-step sign-in is on.'),
    h('p', null, 'If you lose your phone, each of these codes signs you in once instead of a code from the app. ',
      'Keep them somewhere safe, away from your computer: they are shown only now.'),
    h('ul', { id: 'mfa-recovery-codes', class: 'mfa-codes' }, ...codes.map((c) => h('li', null, h('code', null, c)))),
    h('div', { class: 'actions' }, copy, print, done), copied);
}

// onState offers to turn it off with a code.
function onState(ctx) {
  const code = codeField('mfa-off-code', 'Code from the app, or a recovery code', 'Needed to turn it off, so an open session alone cannot.');
  const submit = h('button', { type: 'submit', class: 'button', id: 'mfa-disable' }, 'Turn off two-step sign-in');
  const form = h('form', { id: 'mfa-on', novalidate: true },
    h('p', { id: 'mfa-status' }, 'Two-step sign-in is on: signing in needs a code from your authenticator app.'),
    code.node, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    code.error.textContent = '';
    if (!code.input.value.trim()) {
      code.error.textContent = 'Enter a code.';
      code.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.request('DELETE', '/api/v1/me/mfa/totp', { body: { code: code.input.value.trim() } });
      ctx.show(offState(ctx));
      announce('Two-step sign-in is off.');
    } catch (err) {
      code.error.textContent = api.problemText(err);
      submit.disabled = false;
    }
  });
  return form;
}

// mfaSetupPage replaces the app for a session that may only set up
// two-step sign-in (the district requires it of the user's role); once it
// is on, onEnabled starts the app.
export function mfaSetupPage(main, { onEnabled, onSignOut }) {
  const signOut = h('button', { type: 'button', class: 'button-link', id: 'mfa-signout', onclick: onSignOut }, 'Sign out');
  main.replaceChildren(h('div', { class: 'view mfa-required' },
    h('h1', { id: 'mfa-required-heading', tabindex: '-1' }, 'Set up two-step sign-in'),
    h('p', null, 'Your district requires two-step sign-in for your role. Set it up to continue.'),
    mfaSection({ onEnabled }),
    h('p', { class: 'signin-links' }, signOut)));
  main.dataset.view = 'mfa-setup';
  main.dataset.state = 'ready';
  document.title = 'Set up two-step sign-in · whitecross';
}
