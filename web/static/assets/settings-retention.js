// The retention setting of the District settings page: retention_days
// (PATCH /api/v1/tenant), 0 to keep messages for ever.
import { h } from './dom.js';
import { numberSettingField, plural } from './settings-number.js';

const MAX_DAYS = 3650; // store.MaxRetentionDays

// retentionField returns the field, showing tenant's current value.
export function retentionField(tenant) {
  return numberSettingField(tenant, {
    id: 'setting-retention', field: 'retention_days', heading: 'Message retention',
    label: 'Delete messages after this many days', max: MAX_DAYS, unit: 'day', fallback: 0,
    hint: [`0 to ${MAX_DAYS}; 0 keeps every message. Once a day, messages older than this are deleted for good, with who received `,
      'and read them and how they were delivered, except the messages of people and students under a ',
      h('a', { href: '/legal-holds' }, 'legal hold'), '. The audit log is kept.'],
    saved: (d) => (d === 0 ? 'Messages are kept.' : `Messages are deleted ${plural(d, 'day')} after they are sent.`),
  });
}
