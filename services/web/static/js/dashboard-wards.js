// dashboard-wards.js — the wards at a glance: a sortable, paginated table of
// GET /api/v1/wards (the server ranks, sorts and pages: 3,321 wards are one
// page of 50 here), the summary cards from its totals, and a ward's detail
// (its figures, focal points and cases, reporters withheld) in a dialog.
//
//   const wards = wardsTable({ table, pager, search, cards, dialog, period: () => ({from, to}) });
//   wards.load();  wards.touch('31002');  wards.open('31002');

import { h, fill, $ } from './dom.js';
import { code, stateLabel, fmtTime, fmtDuration } from './i18n.js';
import { api, serverNow } from './api.js';
import { dt, num, pct } from './dashboard-i18n.js';

const PER_PAGE = 50;
const SILENT_MS = 24 * 3600 * 1000;

// column key, label, the server's sort key, numeric
const COLUMNS = [
  ['rank', 'c_rank', 'rank'],
  ['ward', 'c_ward', 'ward'],
  ['received', 'c_received', 'received'],
  ['open', 'c_open', 'open'],
  ['overdue', 'c_overdue', 'overdue'],
  ['verified', 'c_verified', 'verified'],
  ['on_time', 'c_on_time', 'on_time'],
  ['forwarded', 'c_forwarded', 'forwarded'],
  ['informed', 'c_informed', 'informed'],
  ['last', 'c_last', 'last_event'],
];
// the first click on a figure sorts it largest first
const DESCENDING_FIRST = new Set(['received', 'open', 'overdue', 'verified', 'on_time', 'forwarded',
                                  'informed', 'last_event']);

export function since (ms, now) {
  if (!ms) return dt('never');
  const d = now - ms;
  if (d < 60000) return dt('just_now');
  return dt('ago', { d: fmtDuration(d) });
}

function bar (value) {
  // a meter, not a style attribute: the CSP forbids inline styles
  const el = h('meter.rate', { min: 0, max: 100, low: 60, high: 85, optimum: 100, value: value ?? 0 });
  return value === null || value === undefined ? null : el;
}

export function wardsTable (opts) {
  const state = { sort: 'rank', page: 1, q: '', data: null, touched: new Map(), loading: null, again: false };

  function header () {
    return h('thead', h('tr', COLUMNS.map(([key, label, sortKey]) => {
      const active = state.sort.replace(/^-/, '') === sortKey;
      const desc = state.sort.startsWith('-');
      const aria = active ? (desc ? 'descending' : 'ascending') : null;
      const next = active ? (desc ? sortKey : `-${sortKey}`) : (DESCENDING_FIRST.has(sortKey) ? `-${sortKey}` : sortKey);
      return h('th', { scope: 'col', 'aria-sort': aria, class: `col-${key}` },
        h('button.sort', { type: 'button', dataset: { sort: sortKey },
          on: { click: () => { state.sort = next; state.page = 1; load(); } } },
          dt(label), h('span.arrow', { 'aria-hidden': 'true' }, active ? (desc ? '▼' : '▲') : '')));
    })));
  }

  function row (w, now) {
    const silent = !w.last_event_ms || now - w.last_event_ms > SILENT_MS;
    const touched = state.touched.get(w.ward);
    const cls = ['ward-row', w.overdue > 0 ? 'has-overdue' : '', touched && now - touched < 4000 ? 'changed' : ''];
    return h('tr', { class: cls.join(' '), dataset: { ward: w.ward }, tabindex: 0,
                     on: { click: () => open(w.ward), keydown: (ev) => { if (ev.key === 'Enter') open(w.ward); } } },
      h('td.col-rank.num', w.rank ?? '—'),
      h('td.col-ward', h('span.ward-name', w.ward_name || w.ward),
        w.ward_name && w.ward_name !== w.ward ? h('span.code.muted', w.ward) : null),
      h('td.col-received.num', { dataset: { figure: 'received' } }, num(w.received)),
      h('td.col-open.num', { dataset: { figure: 'open' } }, num(w.open)),
      h('td.col-overdue.num', { dataset: { figure: 'overdue' }, class: w.overdue > 0 ? 'late' : '' }, num(w.overdue)),
      h('td.col-verified.num', { dataset: { figure: 'verified' } }, num(w.verified)),
      h('td.col-on_time', h('span.pct', pct(w.on_time_pct)), bar(w.on_time_pct)),
      h('td.col-forwarded.num', { dataset: { figure: 'forwarded' } }, num(w.forwarded)),
      h('td.col-informed.num', pct(w.informed_pct)),
      h('td.col-last', { title: w.last_event_ms ? fmtTime(w.last_event_ms) : '' },
        silent ? h('span.badge.silent', dt('silent')) : null, ' ', since(w.last_event_ms, now)));
  }

  function draw () {
    const d = state.data;
    if (!d) return;
    const now = serverNow();
    const rows = d.wards || [];
    fill(opts.table, rows.length
      ? h('table.wards', header(), h('tbody', rows.map((w) => row(w, now))))
      : h('p.muted.pad', dt('no_wards')));
    const pages = Math.max(1, Math.ceil((d.total || 0) / PER_PAGE));
    fill(opts.pager,
      h('span.muted', dt('page_wards', { page: state.page, pages, total: num(d.total || 0) })),
      h('div.buttons',
        h('button.btn.secondary.small', { type: 'button', disabled: state.page <= 1,
          on: { click: () => { state.page -= 1; load(); } } }, '‹'),
        h('button.btn.secondary.small', { type: 'button', disabled: state.page >= pages,
          on: { click: () => { state.page += 1; load(); } } }, '›')));
    cards(d);
  }

  function card (key, value, extra, cls) {
    return h('div.card', { class: cls || '', dataset: { card: key } },
      h('span.card-value', value), h('span.card-label', dt(key)), extra ? h('span.card-extra', extra) : null);
  }

  function cards (d) {
    const t = d.totals || {};
    fill(opts.cards,
      card('s_received', num(t.received)),
      card('s_open', num(t.open)),
      card('s_overdue', num(t.overdue), null, t.overdue > 0 ? 'late' : ''),
      card('s_on_time', pct(t.on_time_pct), `${num(t.verified_on_time)} / ${num((t.verified_on_time || 0) + (t.verified_late || 0))}`),
      card('s_forwarded', num(t.forwarded)),
      card('s_informed', pct(t.informed_pct)),
      card('s_silent', num(t.silent_wards), dt('of_wards', { n: num(d.ward_count) }), t.silent_wards > 0 ? 'warn' : ''));
  }

  // One load at a time; a request made meanwhile runs once after it
  async function load () {
    if (state.loading) { state.again = true; return state.loading; }
    const p = opts.period();
    state.loading = (async () => {
      try {
        const d = await api.get('/api/v1/wards', { from: p.from, to: p.to, page: state.page,
                                                   per_page: PER_PAGE, sort: state.sort, q: state.q });
        state.data = d;
        if (opts.onData) opts.onData(d);
        draw();
      } catch (e) {
        if (e.status !== 401) fill(opts.table, h('p.alert', e.message));
      }
    })();
    await state.loading;
    state.loading = null;
    if (state.again) { state.again = false; return load(); }
    return null;
  }

  let timer = null;
  // An event at this ward: refresh the figures soon (one request for a burst)
  function touch (ward) {
    if (ward) state.touched.set(ward, serverNow());
    if (!timer) timer = setTimeout(() => { timer = null; load(); }, 800);
  }

  opts.search.addEventListener('input', () => {
    clearTimeout(opts.search._t);
    opts.search._t = setTimeout(() => { state.q = opts.search.value.trim(); state.page = 1; load(); }, 300);
  });

  // ---------------------------------------------------------------- detail

  async function open (ward) {
    const p = opts.period();
    const dlg = opts.dialog;
    const body = $('.dialog-body', dlg);
    fill(body, h('p.muted', '…'));
    fill($('.dialog-title', dlg), dt('detail_title', { ward }));
    if (!dlg.open) dlg.showModal();
    try {
      const [one, list] = await Promise.all([
        api.get(`/api/v1/wards/${encodeURIComponent(ward)}`, { from: p.from, to: p.to }),
        api.get('/api/v1/cases', { ward, from: p.from, to: p.to, per_page: 20 }),
      ]);
      const w = one.ward || {};
      fill($('.dialog-title', dlg), `${w.ward_name || ward} (${ward})`);
      const figures = [['c_received', num(w.received)], ['c_open', num(w.open)], ['c_overdue', num(w.overdue)],
                       ['c_verified', num(w.verified)], ['c_on_time', pct(w.on_time_pct)],
                       ['c_forwarded', num(w.forwarded)], ['c_informed', pct(w.informed_pct)],
                       ['c_last', since(w.last_event_ms, serverNow())]];
      const points = Array.isArray(one.focal_points) ? one.focal_points : [];
      const cases = (list && list.cases) || [];
      fill(body,
        h('dl.figures', figures.map(([k, v]) => h('div', h('dt', dt(k)), h('dd', v)))),
        h('h3', dt('focal')),
        points.length ? h('div.table-scroll', h('table.focal',
          h('thead', h('tr', h('th', 'Đơn vị / Unit'), h('th', 'Tiếp nhận / Receiving'), h('th', 'Xử lý / Handling'))),
          h('tbody', points.map((f) => h('tr',
            h('td', f.unit || '', f.note ? h('div.small.muted', f.note) : null),
            h('td', f.receiving_phone || '', h('br'), h('span.small', f.receiving_email || '')),
            h('td', f.handling_phone || '', h('br'), h('span.small', f.handling_email || ''))))))) : h('p.muted', '—'),
        h('h3', dt('ward_cases')),
        cases.length ? h('div.table-scroll', h('table.cases.compact',
          h('tbody', cases.map((c) => h('tr', { class: c.overdue ? 'overdue' : '' },
            h('td.case-id', h('a', { href: `/case.html?id=${encodeURIComponent(c.case_id)}` }, c.case_id)),
            h('td', fmtTime(c.received_ms)),
            h('td', code('type', c.type)),
            h('td', c.location || ''),
            h('td', h('span.state', stateLabel(c.state, c.state_label)))))))) : h('p.muted', '—'),
        h('p', h('a', { href: `/cases.html?${new URLSearchParams({ ward })}` }, dt('all_cases'))));
    } catch (e) {
      if (e.status !== 401) fill(body, h('p.alert', e.message));
    }
  }

  return { load, touch, open, draw, data: () => state.data };
}
