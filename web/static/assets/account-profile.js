// The profile part of the Account page: a person's own name, language,
// time zone and phone, saved with PATCH /api/v1/me. Email and role are the
// district's to change and are only shown.
import * as api from './api.js';
import * as people from './people.js';
import { h, announce, inlineError } from './dom.js';
import { setTimeZone } from './time.js';

// LANGUAGES are those most spoken in US school districts; a language tag
// the person already has is offered too. Messages reach people in their
// language where the district has a template variant or translation.
const LANGUAGES = ['en', 'es', 'zh', 'vi', 'ar', 'ko', 'tl', 'ru', 'ht', 'fr', 'pt', 'so', 'hmn', 'uk'];

// ZONES are the common time zones of the United States.
const ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles',
  'America/Anchorage', 'Pacific/Honolulu', 'America/Puerto_Rico', 'Pacific/Guam'];

function languageName(tag) {
  try {
    const own = new Intl.DisplayNames([tag], { type: 'language' }).of(tag);
    const en = new Intl.DisplayNames(['en'], { type: 'language' }).of(tag);
    return own && own !== en ? `${en} (${own})` : en || tag;
  } catch {
    return tag;
  }
}

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch {
    return '';
  }
}

// options builds <option>s from [value, label] pairs, selecting current.
function options(pairs, current) {
  return pairs.map(([value, label]) => h('option', { value, selected: value === current ? true : null }, label));
}

// field wraps a control with its label, hint and inline error.
function field(id, label, control, hint) {
  const error = h('p', { class: 'error-text', id: `${id}-error`, hidden: true });
  if (hint) control.setAttribute('aria-describedby', `${id}-hint`);
  const node = h('div', { class: 'field' }, h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, control, error);
  return { input: control, node, ...inlineError(control, error) };
}

// profileForm is the form; onSaved(user) runs after a save.
export function profileForm(me, onSaved) {
  const name = field('profile-name', 'Name', h('input', { id: 'profile-name', name: 'name', autocomplete: 'name',
    required: true, maxlength: '200', value: me.name }));
  const langs = [...new Set([...LANGUAGES, me.locale].filter(Boolean))];
  const locale = field('profile-locale', 'Language', h('select', { id: 'profile-locale', name: 'locale' },
    options(langs.map((t) => [t, languageName(t)]), me.locale)),
  'Messages reach you in this language where the school provides it.');
  const own = browserZone();
  const zones = [...new Set([me.timezone, own, ...ZONES].filter(Boolean))];
  const timezone = field('profile-timezone', 'Time zone', h('select', { id: 'profile-timezone', name: 'timezone' },
    options([['', 'Same as the district'], ...zones.map((z) => [z, z === own ? `${z.replaceAll('_', ' ')} (this device)` : z.replaceAll('_', ' ')])], me.timezone)),
  'Times in the app and quiet hours follow it.');
  const phone = field('profile-phone', 'Mobile phone', h('input', { id: 'profile-phone', name: 'phone', type: 'tel',
    autocomplete: 'tel', inputmode: 'tel', maxlength: '16', value: me.phone ?? '', placeholder: '+15551234567' }),
  'With the country code, like +15551234567. Leave empty for none. Texts and calls from the school go here.');
  const done = h('p', { class: 'notice', id: 'profile-saved', role: 'status', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'profile-submit' }, 'Save profile');
  const form = h('form', { class: 'profile-form panel', 'aria-labelledby': 'profile-heading', novalidate: true },
    h('h2', { id: 'profile-heading' }, 'Your profile'),
    name.node, locale.node, timezone.node, phone.node,
    h('div', { class: 'actions' }, submit), done);
  const byField = { 'body.name': name, 'body.locale': locale, 'body.timezone': timezone, 'body.phone': phone };
  let current = me;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    done.hidden = true;
    Object.values(byField).forEach((f) => f.clear());
    const body = {};
    const values = { name: name.input.value.trim(), locale: locale.input.value, timezone: timezone.input.value,
      phone: phone.input.value.replace(/[\s().-]/g, '') };
    if (!values.name) return name.show('Enter your name.');
    if (values.phone && !/^\+[1-9]\d{6,14}$/.test(values.phone)) return phone.show('Use the country code, like +15551234567.');
    for (const [k, v] of Object.entries(values)) if (v !== (current[k] ?? '')) body[k] = v;
    if (Object.keys(body).length === 0) {
      done.textContent = 'Nothing to save.';
      done.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      current = await api.patch('/api/v1/me', body);
    } catch (err) {
      const target = byField[err.errors?.[0]?.location] ?? name;
      return target.show(api.problemText(err));
    } finally {
      submit.disabled = false;
    }
    phone.input.value = current.phone ?? '';
    timezone.input.value = zones.includes(current.timezone) ? current.timezone : timezone.input.value;
    done.textContent = 'Your profile is saved.';
    done.hidden = false;
    announce(done.textContent);
    onSaved(current);
  });
  return form;
}

// applyProfile shows a saved profile everywhere in the app. The user
// object is updated in place: the app tells sessions apart by it.
export function applyProfile(app, user) {
  Object.assign(app.user, user);
  setTimeZone(app.user.timezone);
  people.remember(app.user);
  document.getElementById('account-name').textContent = app.user.name;
}
