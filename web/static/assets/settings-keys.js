// The data key line of the District settings page (GET
// /api/v1/admin/data-key): which key version encrypts the district's
// messages and secrets, and after a rotation (`whitecross keys rotate-data`,
// an operator's command) how far the background re-encryption has come.
import * as api from './api.js';
import { h } from './dom.js';
import { formatTime } from './time.js';

// dataKeyField returns the section; it fills itself in when the status
// arrives, so a slow count never holds up the page.
export function dataKeyField() {
  const line = h('p', { id: 'setting-data-key' }, 'Reading the data key…');
  const section = h('section', { class: 'panel settings-form', 'aria-labelledby': 'setting-data-key-heading' },
    h('h2', { id: 'setting-data-key-heading' }, 'Encryption at rest'),
    line,
    h('p', { class: 'hint' },
      'Messages, two-step sign-in secrets and the single sign-on secret are encrypted with the district’s data key. ',
      'The server operator replaces it with a new version; older messages are then re-encrypted in the background and stay readable meanwhile.'));
  api.get('/api/v1/admin/data-key').then((k) => {
    if (!k.version) {
      line.replaceChildren('No data key yet: it is made with the district’s first message.');
      return;
    }
    line.replaceChildren(`Data key v${k.version} since `, formatTime(k.since, 'long'),
      `, re-encryption ${k.reencrypted_percent} %` + (k.rows_left ? ` (${k.rows_left} left)` : ''));
  }).catch((err) => {
    line.replaceChildren(api.problemText(err));
  });
  return section;
}
