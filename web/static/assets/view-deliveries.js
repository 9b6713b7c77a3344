// Delivery problems (district admins only): the deliveries that failed or
// bounced, so an admin can see why and send them again once the cause is
// fixed, and the email addresses the pipeline no longer emails, so one can
// be lifted once the person confirms it works. Without this page both are
// reachable only through the API.
import * as api from './api.js';
import { h, announce, reflowRow, reflowTable, visuallyHidden, CHANNELS } from './dom.js';
import { formatTime } from './time.js';

const PAGE_SIZE = 50;
const MAX_RETRY = 1000; // delivery ids per POST /api/v1/admin/deliveries/retry
const STATUSES = { FAILED: 'Failed', BOUNCED: 'Bounced' };
const SUPPRESSION_COLUMNS = ['Person', 'Email address', 'Reason', 'Since', { label: 'Action', hidden: true }];
const REASONS = { bounce: 'Bounced', complaint: 'Reported as spam', unsubscribe: 'Unsubscribed', invalid: 'Not a valid address' };

export async function deliveriesView(app, container) {
  const notice = h('p', { class: 'notice deliveries-notice', role: 'status', id: 'deliveries-notice' });
  const failed = failedSection(notice);
  const suppressed = suppressedSection(notice);
  container.append(h('h1', { id: 'deliveries-heading', tabindex: '-1' }, 'Delivery problems'), notice, failed.section, suppressed.section);
  // A first load that fails (403, offline) is the app's usual error page.
  await Promise.all([failed.load(false), suppressed.load(false)]);
  return { title: 'Delivery problems', reload: () => Promise.all([failed.load(false), suppressed.load(false)]) };
}

// failedSection lists the dead letters with filters, "load more" and retry.
function failedSection(notice) {
  const select = (id, label, options) => h('div', { class: 'field' }, h('label', { for: id }, label),
    h('select', { id }, h('option', { value: '' }, 'Any'), Object.entries(options).map(([v, text]) => h('option', { value: v.toLowerCase() }, text))));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter failed deliveries' },
    select('dead-letter-status', 'Status', STATUSES),
    select('dead-letter-channel', 'Channel', Object.fromEntries(Object.entries(CHANNELS).filter(([c]) => c !== 'IN_APP'))));
  const all = h('input', { type: 'checkbox', id: 'dead-letter-all' });
  const retry = h('button', { type: 'button', class: 'button button-primary', id: 'dead-letter-retry', disabled: true }, 'Retry selected');
  const error = h('p', { class: 'error-text', role: 'alert', id: 'dead-letter-error', hidden: true });
  const list = h('ul', { class: 'dead-letter-list plain-list', id: 'dead-letter-list', 'aria-labelledby': 'dead-letter-heading' });
  const empty = h('p', { class: 'empty muted', hidden: true }, 'No failed deliveries.');
  const more = h('button', { type: 'button', class: 'button', id: 'dead-letter-more', hidden: true }, 'Load more');
  let cursor = null;

  const boxes = () => [...list.querySelectorAll('input[type=checkbox]')];
  const chosen = () => boxes().filter((b) => b.checked).map((b) => b.value);
  const showChoice = () => {
    const n = chosen().length;
    all.checked = n > 0 && n === boxes().length;
    all.indeterminate = n > 0 && n < boxes().length;
    retry.disabled = n === 0;
  };

  async function load(append) {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.elements['dead-letter-status'].value) q.set('status', filters.elements['dead-letter-status'].value);
    if (filters.elements['dead-letter-channel'].value) q.set('channel', filters.elements['dead-letter-channel'].value);
    if (append && cursor) q.set('cursor', cursor);
    const page = await api.get(`/api/v1/admin/deliveries?${q}`);
    const items = page.items.map(deadLetter);
    if (append) list.append(...items);
    else list.replaceChildren(...items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = list.childElementCount > 0;
    all.closest('.actions').hidden = list.childElementCount === 0;
    showChoice();
    return items;
  }

  const showError = (what, err) => {
    error.textContent = `${what}: ${err.detail || err.message}`;
    error.hidden = false;
  };
  // run clears the last error, then shows fn's failure under the buttons.
  const run = async (what, fn) => {
    error.hidden = true;
    try {
      await fn();
    } catch (err) {
      showError(what, err);
    }
  };

  filters.addEventListener('submit', (e) => e.preventDefault());
  filters.addEventListener('change', () => run('The list could not be loaded', async () => {
    await load(false);
    const n = list.childElementCount;
    notice.textContent = `${n} failed ${n === 1 ? 'delivery' : 'deliveries'} shown.`;
  }));
  list.addEventListener('change', showChoice);
  all.addEventListener('change', () => {
    for (const b of boxes()) b.checked = all.checked;
    showChoice();
  });
  more.addEventListener('click', () => run('More could not be loaded', async () => {
    more.disabled = true;
    try {
      (await load(true))[0]?.querySelector('input')?.focus();
    } finally {
      more.disabled = false;
    }
  }));
  retry.addEventListener('click', () => run('The list could not be loaded', async () => {
    retry.disabled = true;
    const ids = chosen();
    let requeued = 0;
    try {
      for (let i = 0; i < ids.length; i += MAX_RETRY) {
        requeued += (await api.post('/api/v1/admin/deliveries/retry', { delivery_ids: ids.slice(i, i + MAX_RETRY) })).requeued;
      }
      notice.textContent = `${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'} queued again.`;
    } catch (err) {
      showError(requeued ? `${requeued} queued again, the rest were not` : 'Nothing was queued again', err);
      showChoice();
      return;
    }
    await load(false);
  }));

  const section = h('section', { class: 'deliveries-section', 'aria-labelledby': 'dead-letter-heading' },
    h('h2', { id: 'dead-letter-heading' }, 'Failed deliveries'), filters,
    h('div', { class: 'actions' },
      h('div', { class: 'field-check' }, all, h('label', { for: 'dead-letter-all' }, 'Select all shown')), retry),
    error, list, empty, more);
  return { section, load };
}

// deadLetter is one failed delivery: who, how, why, and its timeline.
function deadLetter(d) {
  const check = `retry-${d.id}`;
  const channel = CHANNELS[d.channel] ?? d.channel;
  return h('li', { class: 'dead-letter panel', dataset: { id: d.id } },
    h('div', { class: 'field-check' },
      h('input', { type: 'checkbox', id: check, value: d.id }),
      h('label', { for: check }, visuallyHidden('Retry the delivery to '), h('span', { class: 'dead-letter-who' }, d.recipient_name), ` · ${channel}`)),
    h('p', { class: 'dead-letter-line' },
      h('span', { class: `status status-${d.status.toLowerCase()}` }, STATUSES[d.status] ?? d.status),
      d.provider ? ` · via ${d.provider}` : '', ` · ${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'} · `, formatTime(d.updated_at)),
    d.error ? h('p', { class: 'dead-letter-error pre-wrap' }, d.error) : null,
    h('details', { class: 'dead-letter-timeline' },
      h('summary', null, `Timeline (${d.timeline.length} ${d.timeline.length === 1 ? 'step' : 'steps'})`),
      h('ol', null, d.timeline.map((e) => h('li', null,
        h('span', { class: `status status-${e.status.toLowerCase()}` }, e.status[0] + e.status.slice(1).toLowerCase()), ' ',
        formatTime(e.at), e.detail ? ` · ${e.detail}` : '')))),
    h('p', { class: 'dead-letter-link' }, h('a', { href: `/messages/${encodeURIComponent(d.message_id)}` },
      'Open the message', visuallyHidden(` sent to ${d.recipient_name}`))));
}

// suppressedSection lists the addresses not emailed, each with "Email
// again" behind a second, confirming click.
function suppressedSection(notice) {
  const body = h('tbody', { id: 'suppression-list' });
  const table = h('div', { class: 'table-scroll' }, reflowTable({ class: 'delivery-table', 'aria-labelledby': 'suppression-heading' }, SUPPRESSION_COLUMNS, body));
  const error = h('p', { class: 'error-text', role: 'alert', id: 'suppression-error', hidden: true });
  const empty = h('p', { class: 'empty muted', hidden: true }, 'No suppressed addresses.');
  const more = h('button', { type: 'button', class: 'button', id: 'suppression-more', hidden: true }, 'Load more');
  let cursor = null;

  const showEmpty = () => {
    empty.hidden = body.childElementCount > 0;
    table.hidden = body.childElementCount === 0;
  };

  async function load(append) {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (append && cursor) q.set('cursor', cursor);
    const page = await api.get(`/api/v1/admin/email-suppressions?${q}`);
    const rows = page.items.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    showEmpty();
    return rows;
  }

  function row(s) {
    const button = h('button', { type: 'button', class: 'button' }, 'Email again', visuallyHidden(` ${s.user_name}`));
    const cancel = h('button', { type: 'button', class: 'button-link', hidden: true }, 'Cancel', visuallyHidden(` emailing ${s.user_name} again`));
    const tr = reflowRow({ dataset: { userId: s.user_id } }, SUPPRESSION_COLUMNS, [
      s.user_name, h('span', { class: 'pre-wrap' }, s.email), REASONS[s.reason] ?? s.reason,
      formatTime(s.since), h('span', { class: 'actions actions-row' }, button, cancel)]);
    const arm = (armed) => {
      button.replaceChildren(armed ? 'Confirm' : 'Email again', visuallyHidden(armed ? `: email ${s.user_name} again` : ` ${s.user_name}`));
      button.classList.toggle('button-danger', armed);
      cancel.hidden = !armed;
    };
    cancel.addEventListener('click', () => {
      arm(false);
      button.focus();
    });
    button.addEventListener('click', async () => {
      if (cancel.hidden) {
        arm(true);
        announce(`Press Confirm to email ${s.user_name} again.`);
        return;
      }
      error.hidden = true;
      button.disabled = true;
      try {
        await api.del(`/api/v1/admin/email-suppressions/${encodeURIComponent(s.user_id)}`);
      } catch (err) {
        button.disabled = false;
        arm(false);
        error.textContent = `${s.user_name} is still not emailed: ${err.detail || err.message}`;
        error.hidden = false;
        return;
      }
      // The focus moves on to the next row's button, or to the section.
      const next = tr.nextElementSibling ?? tr.previousElementSibling;
      tr.remove();
      showEmpty();
      notice.textContent = `${s.user_name} (${s.email}) will be emailed again.`;
      (next?.querySelector('button') ?? document.getElementById('suppression-heading')).focus();
    });
    return tr;
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    error.hidden = true;
    try {
      (await load(true))[0]?.querySelector('button')?.focus();
    } catch (err) {
      error.textContent = `More could not be loaded: ${err.detail || err.message}`;
      error.hidden = false;
    } finally {
      more.disabled = false;
    }
  });

  const section = h('section', { class: 'deliveries-section', 'aria-labelledby': 'suppression-heading' },
    h('h2', { id: 'suppression-heading', tabindex: '-1' }, 'Addresses not emailed'),
    h('p', { class: 'hint' }, 'These addresses bounced or reported our email as spam. Email them again only once the person confirms the address works.'),
    error, table, empty, more);
  return { section, load };
}
