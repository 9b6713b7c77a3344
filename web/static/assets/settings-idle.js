// The automatic logoff setting of the District settings page:
// idle_timeout_minutes (PATCH /api/v1/tenant), 0 for off.
import { numberSettingField, plural } from './settings-number.js';

const MAX_MINUTES = 720; // whitecross.MaxIdleTimeoutMinutes

// idleTimeoutField returns the field, showing tenant's current value.
export function idleTimeoutField(tenant) {
  return numberSettingField(tenant, {
    id: 'setting-idle-timeout', field: 'idle_timeout_minutes', heading: 'Automatic sign-out',
    label: 'Sign staff out after this many minutes without activity', max: MAX_MINUTES, unit: 'minute', fallback: 30,
    hint: [`0 to ${MAX_MINUTES}; 0 turns it off. Staff (administrators, nurses, other staff) get a one-minute warning, then the app `,
      'signs them out and clears the screen. Families are not signed out. Federal health privacy rules (HIPAA) expect it on; 30 is the default.'],
    saved: (m) => (m === 0 ? 'Automatic sign-out is off.' : `Staff are signed out after ${plural(m, 'minute')} without activity.`),
  });
}
