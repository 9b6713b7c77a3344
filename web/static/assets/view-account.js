// Your account: who you are signed in as, your profile (account-profile.js)
// and changing your password. A password change needs the current password (a session left open on a shared
// computer must not be enough to take the account) and ends every other
// session; this one stays.
import * as api from './api.js';
import { h, announce, inlineError, ROLES } from './dom.js';
import { profileForm, applyProfile } from './account-profile.js';
import { mfaSection } from './account-mfa.js';

const MIN_PASSWORD = 12; // whitecross.MinPasswordLength

export async function accountView(app, container) {
  const me = app.user;
  const shownName = h('dd', { id: 'account-fact-name' }, me.name);
  container.append(
    h('h1', { id: 'account-heading', tabindex: '-1' }, 'Your account'),
    h('dl', { class: 'account-facts' },
      h('dt', null, 'Name'), shownName,
      h('dt', null, 'Email'), h('dd', null, me.email),
      h('dt', null, 'Role'), h('dd', null, ROLES[me.role] ?? me.role)),
    h('p', { class: 'hint' }, 'Your email and role are set by your district; ask its office to change them.'),
    profileForm(me, (user) => {
      applyProfile(app, user);
      shownName.textContent = user.name;
    }),
    passwordForm(),
    mfaSection());
  return { title: 'Your account' };
}

// field is a labelled password input with its hint and error paragraph.
function field(id, label, autocomplete, hint) {
  const input = h('input', { id, name: id, type: 'password', autocomplete, required: true, maxlength: '128',
    'aria-describedby': hint ? `${id}-hint` : null });
  const error = h('p', { class: 'error-text', id: `${id}-error`, hidden: true });
  const node = h('div', { class: 'field' }, h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, input, error);
  return { input, node, ...inlineError(input, error) };
}

function passwordForm() {
  const current = field('current-password', 'Current password', 'current-password');
  const next = field('new-password', 'New password', 'new-password',
    `At least ${MIN_PASSWORD} characters; not your email or name, and not easy to guess. A few unrelated words make a strong one.`);
  const again = field('new-password-again', 'New password again', 'new-password');
  const done = h('p', { class: 'notice', id: 'password-changed', role: 'status', hidden: true });
  const form = h('form', { class: 'password-form panel', 'aria-labelledby': 'password-heading', novalidate: true },
    h('h2', { id: 'password-heading' }, 'Change your password'),
    current.node, next.node, again.node,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', id: 'password-submit' }, 'Change password')),
    done);
  // Each server refusal names its field: show it there.
  const byField = { 'body.current_password': current, 'body.new_password': next };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    done.hidden = true;
    [current, next, again].forEach((f) => f.clear());
    if (!current.input.value) return current.show('Enter your current password.');
    if (next.input.value.length < MIN_PASSWORD) return next.show(`Use at least ${MIN_PASSWORD} characters.`);
    if (again.input.value !== next.input.value) return again.show('The two new passwords differ.');
    try {
      await api.put('/api/v1/me/password', { current_password: current.input.value, new_password: next.input.value });
    } catch (err) {
      const target = byField[err.errors?.[0]?.location] ?? current;
      return target.show(api.problemText(err));
    }
    form.reset();
    done.textContent = 'Your password is changed. You stay signed in here; you were signed out everywhere else.';
    done.hidden = false;
    announce(done.textContent);
  });
  return form;
}
