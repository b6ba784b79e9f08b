// dashboard-queue.js — the Department's queue: the cases at the city
// (GET /api/v1/cases?ward=<the city's code>, nearest deadline first), each
// with its next deadline counting down and the buttons of its
// allowed_actions (GET /api/v1/cases/{id}: what the procedure lets this
// role do now). A button opens a small form with an input per argument the
// action requires and the note; it posts
// /api/v1/cases/{id}/actions/{action} and the case's row is drawn again.
// Nothing here knows an action's name. The reporter's identity shows only
// when the server sends it (the department role, on the Department's own
// cases); the case page (case.html) has the rest.
//
//   const queue = departmentQueue(el, pager, me);
//   queue.setWard('31');  queue.load();  queue.touch(event);

import { h, fill } from './dom.js';
import { t, code, stateLabel, actionLabel, fmtTime } from './i18n.js';
import { api, showErrors, clearErrors } from './api.js';
import { procedure, requiresOf } from './procedure.js';
import { countdown } from './countdown.js';
import { dt, num } from './dashboard-i18n.js';

const PER_PAGE = 6;

function newId () { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }

export function departmentQueue (el, pager, me) {
  const state = { ward: null, page: 1, list: null, details: new Map(), open: null, loading: false, again: false };
  let proc = null;

  function reporter (c) {
    const r = c && c.report && c.report.reporter;
    if (!r || r.redacted) return null;
    if (r.anonymous) return h('span.small.muted', t('reporter_anonymous'));
    return h('span.small.reporter', [r.name, r.phone, r.email].filter(Boolean).join(' · '));
  }

  function form (c, a) {
    const requires = requiresOf(proc, a).filter((r) => r !== 'note');
    const noteRequired = requiresOf(proc, a).includes('note');
    const requestId = newId();
    const f = h('form.action-form.inline', { novalidate: true },
      h('div.form-error', { role: 'alert', tabindex: -1, hidden: true }),
      requires.map((name) => h('div.field',
        h('label', { for: `q-${c.case_id}-${name}` }, t(`arg_${name}`) === `arg_${name}` ? name : t(`arg_${name}`)),
        h('input', { type: 'text', id: `q-${c.case_id}-${name}`, name, required: true, autocomplete: 'off' }))),
      h('div.field',
        h('label', { for: `q-${c.case_id}-note` }, t('note'), noteRequired ? '' : ` (${t('optional')})`),
        h('textarea', { id: `q-${c.case_id}-note`, name: 'note', rows: 2, required: noteRequired })),
      h('div.buttons',
        h('button.btn.small', { type: 'submit' }, t('do_action')),
        h('button.btn.secondary.small', { type: 'button', on: { click: () => { state.open = null; draw(); } } }, t('cancel'))));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(f);
      const args = {};
      for (const name of requires) args[name] = f.elements[name].value.trim();
      const body = { variant: a.variant || '', note: f.elements.note.value, args, request_id: requestId };
      const button = f.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        await api.post(`/api/v1/cases/${encodeURIComponent(c.case_id)}/actions/${encodeURIComponent(a.action)}`, body);
        state.open = null;
        flash(dt('done_action', { action: actionLabel(a.action, a.variant) }));
        await refresh(c.case_id);
      } catch (e) {
        showErrors(f, e);
      } finally {
        button.disabled = false;
      }
    });
    return f;
  }

  function flash (message) {
    const toast = h('div.toast', { role: 'status' }, message);
    document.body.appendChild(toast);
    setTimeout(() => toast.remove(), 3500);
  }

  function actions (c) {
    const allowed = (c && Array.isArray(c.allowed_actions)) ? c.allowed_actions : null;
    if (!allowed) return h('span.muted.small', '…');
    if (!allowed.length) return h('span.muted.small', dt('no_actions'));
    const key = (a) => `${c.case_id}|${a.action}|${a.variant || ''}`;
    const current = allowed.find((a) => key(a) === state.open);
    return [
      h('div.action-buttons.compact', allowed.map((a) => h('button.btn.secondary.small', {
        type: 'button', 'aria-expanded': key(a) === state.open ? 'true' : 'false', dataset: { action: a.action, variant: a.variant || '' },
        on: { click: () => { state.open = key(a) === state.open ? null : key(a); draw(); } } }, actionLabel(a.action, a.variant)))),
      current ? form(c, current) : null,
    ];
  }

  function item (s) {
    const c = state.details.get(s.case_id);
    return h('li.queue-item', { class: s.overdue ? 'overdue' : '', dataset: { case: s.case_id } },
      h('div.queue-head',
        h('a.case-link', { href: `/case.html?id=${encodeURIComponent(s.case_id)}` }, s.case_id),
        s.urgent ? h('span.badge.urgent', t('urgent_badge')) : null,
        s.overdue ? h('span.badge.late', t('overdue')) : null,
        h('span.state', stateLabel(s.state, s.state_label)),
        s.next_due_ms ? h('span.due', code('deadline', s.next_deadline), ' · ', countdown(s.next_due_ms)) : null),
      h('div.queue-meta.small',
        h('span', code('type', s.type)), ' · ', h('span', s.location || ''),
        s.origin_ward ? [' · ', dt('from_ward'), ' ', s.origin_ward] : null,
        s.origin_case ? [' (', s.origin_case, ')'] : null,
        ' · ', h('span.muted', fmtTime(s.received_ms))),
      reporter(c),
      me.can_act ? h('div.queue-actions', actions(c)) : null);
  }

  function draw () {
    const list = state.list;
    if (!list) return;
    const cases = list.cases || [];
    fill(el, cases.length ? h('ol.queue', cases.map(item)) : h('p.muted', dt('queue_empty')));
    const pages = Math.max(1, Math.ceil((list.total || 0) / PER_PAGE));
    fill(pager, cases.length || state.page > 1 ? [
      h('span.muted.small', `${num(list.total || 0)} · ${state.page}/${pages}`),
      h('div.buttons',
        h('button.btn.secondary.small', { type: 'button', disabled: state.page <= 1,
          on: { click: () => { state.page -= 1; load(); } } }, '‹'),
        h('button.btn.secondary.small', { type: 'button', disabled: state.page >= pages,
          on: { click: () => { state.page += 1; load(); } } }, '›'))] : []);
  }

  async function refresh (id) {
    try {
      state.details.set(id, await api.get(`/api/v1/cases/${encodeURIComponent(id)}`));
    } catch (e) { /* the list still shows it */ }
    await load();
  }

  async function load () {
    if (!state.ward) return;
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    try {
      if (!proc) proc = await procedure().catch(() => null);
      const list = await api.get('/api/v1/cases', { ward: state.ward, page: state.page, per_page: PER_PAGE });
      state.list = list;
      // each case's allowed actions (and reporter, for the Department)
      const cases = list.cases || [];
      const details = await Promise.all(cases.map((c) =>
        api.get(`/api/v1/cases/${encodeURIComponent(c.case_id)}`).catch(() => null)));
      state.details = new Map(cases.map((c, i) => [c.case_id, details[i]]));
      draw();
    } catch (e) {
      if (e.status !== 401) fill(el, h('p.alert', e.message));
    } finally {
      state.loading = false;
    }
    if (state.again) { state.again = false; await load(); }
  }

  let timer = null;
  return {
    setWard (ward) { if (ward && ward !== state.ward) { state.ward = ward; load(); } },
    load,
    // A live event about one of the Department's cases: load again, soon
    touch (e) {
      if (!state.ward || !e || e.ward !== state.ward || state.open) return;
      if (!timer) timer = setTimeout(() => { timer = null; load(); }, 600);
    },
  };
}
