// Whether a person may sign in, on the People page: deactivate (after a
// confirmation: their sessions end at once) or let a deactivated person
// back in. Nobody deactivates themselves (the server refuses it too).
import * as api from './api.js';
import { h, announce } from './dom.js';

// statusControl is the section of person's status; onChanged(user) runs
// with the person as the server now has them.
export function statusControl(app, person, { onChanged }) {
  if (person.id === app.user.id) return null;
  const error = h('p', { class: 'error-text', role: 'alert', id: 'person-status-error', hidden: true });
  const section = h('section', { class: 'panel person-status', 'aria-labelledby': 'person-status-heading' },
    h('h3', { id: 'person-status-heading' }, 'Signing in'));
  const fail = (err) => {
    error.textContent = api.problemText(err);
    error.hidden = false;
  };
  if (person.deactivated_at) {
    const button = h('button', { type: 'button', class: 'button', id: 'person-reactivate' }, 'Reactivate');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        onChanged(await api.post(`/api/v1/users/${encodeURIComponent(person.id)}/reactivate`));
      } catch (err) {
        button.disabled = false;
        fail(err);
      }
    });
    section.append(h('p', null, `${person.name} is deactivated and cannot sign in. Reactivated, they sign in as before and can be messaged again.`),
      h('div', { class: 'actions' }, button), error);
    return section;
  }
  const button = h('button', { type: 'button', class: 'button button-danger', id: 'person-deactivate' }, 'Deactivate');
  const confirmBox = h('div', { class: 'confirm', id: 'person-deactivate-confirm', hidden: true },
    h('p', null, `${person.name} will be signed out everywhere and can no longer sign in. Their messages stay.`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'button button-danger', id: 'person-deactivate-yes', onclick: deactivate }, `Yes, deactivate ${person.name}`),
      h('button', { type: 'button', class: 'button', id: 'person-deactivate-no', onclick: () => arm(false) }, 'Keep them active')));
  function arm(on) {
    confirmBox.hidden = !on;
    button.hidden = on;
    (on ? confirmBox.querySelector('button') : button).focus();
    if (on) announce(`Confirm: deactivate ${person.name}?`);
  }
  async function deactivate() {
    const yes = confirmBox.querySelector('#person-deactivate-yes');
    yes.disabled = true;
    try {
      const path = `/api/v1/users/${encodeURIComponent(person.id)}`;
      await api.del(path);
      onChanged(await api.get(path));
    } catch (err) {
      yes.disabled = false;
      fail(err);
    }
  }
  button.addEventListener('click', () => arm(true));
  section.append(h('p', null, 'A deactivated person can no longer sign in; their messages stay, and they can be reactivated later.'),
    h('div', { class: 'actions' }, button), confirmBox, error);
  return section;
}
