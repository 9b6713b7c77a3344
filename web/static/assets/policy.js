// What the signed-in user may send, so that compose offers nothing the
// server would refuse. It comes from GET /api/v1/tenant: send_policy is the
// server's own table by role (the categories and priorities each role may
// send), settings.sensitive_by_default whether the district keeps every
// health message sensitive. The last answer is kept for the page's life, so
// a form opened while offline still knows; with no answer at all the form
// offers the narrowest choice (a guardian's), since a message written
// offline must not be refused once the connection returns.
import * as api from './api.js';

const NARROWEST = {
  categories: ['HEALTH_UPDATE', 'MEDICATION', 'IMMUNIZATION', 'INCIDENT', 'APPOINTMENT', 'REMINDER', 'GENERAL'],
  priorities: ['LOW', 'MEDIUM', 'HIGH'],
  sensitiveByDefault: true,
  audience: false,
};

let last = null; // { userId, rules } of the last answer

// sendRules resolves to { categories, priorities, audience, sensitiveByDefault } for
// user; it never fails.
export async function sendRules(user) {
  try {
    const tenant = await api.get('/api/v1/tenant');
    const policy = tenant.send_policy?.[user.role];
    if (policy) {
      last = {
        userId: user.id,
        rules: {
          categories: policy.categories, priorities: policy.priorities, audience: policy.audience === true,
          sensitiveByDefault: tenant.settings?.sensitive_by_default !== false,
        },
      };
    }
  } catch {
    // Offline or the server failing: the last answer, or the narrowest.
  }
  return last?.userId === user.id ? last.rules : NARROWEST;
}
