// cases.js — cases.html: the case list. Filters (state, type, overdue,
// period, free text) live in the URL, so back/forward and a shared link keep
// them. Overdue cases come first (the server sorts so; the page keeps that
// order within a page), their rows are red; urgent ones carry KHẨN; each
// row counts its next deadline down live.

import { h, fill, $ } from './dom.js';
import { t, code, codes, stateLabel, fmtTime } from './i18n.js';
import { api } from './api.js';
import { start } from './shell.js';
import { procedure, stateOf } from './procedure.js';
import { countdown, startTicking } from './countdown.js';

const PER_PAGE = 50;
const form = $('#filters');
let proc = null;
let last = null;

function query () {
  const p = new URLSearchParams(location.search);
  return { state: p.get('state') || '', type: p.get('type') || '', overdue: p.get('overdue') === '1',
           from: p.get('from') || '', to: p.get('to') || '', q: p.get('q') || '',
           page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
}

function fillFilters (q) {
  const states = (proc && proc.states) || [];
  fill(form.elements.state, h('option', { value: '' }, t('all')),
    states.map((s) => h('option', { value: s.name }, stateLabel(s.name, s.label))));
  fill(form.elements.type, h('option', { value: '' }, t('all')),
    codes('type').map((c) => h('option', { value: c }, code('type', c))));
  form.elements.state.value = q.state;
  form.elements.type.value = q.type;
  form.elements.overdue.checked = q.overdue;
  form.elements.from.value = q.from;
  form.elements.to.value = q.to;
  form.elements.q.value = q.q;
}

function go (q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v && !(k === 'page' && v === 1)) p.set(k, v === true ? '1' : v);
  const url = `${location.pathname}${p.toString() ? '?' + p : ''}`;
  history.pushState(null, '', url);
  load();
}

function row (c) {
  const s = stateOf(proc, c.state);
  const due = c.next_due_ms;
  const label = (k) => t(k);
  return h('tr', { class: [c.overdue ? 'overdue' : '', c.urgent ? 'urgent' : ''].join(' ') },
    h('td.case-id', { 'data-label': label('col_case') },
      h('a', { href: `/case.html?id=${encodeURIComponent(c.case_id)}` }, c.case_id), ' ',
      c.urgent ? h('span.badge.urgent', t('urgent_badge')) : null,
      c.overdue ? h('span.badge.late', t('overdue')) : null),
    h('td', { 'data-label': label('col_received') }, fmtTime(c.received_ms)),
    h('td', { 'data-label': label('col_type') }, code('type', c.type)),
    h('td', { 'data-label': label('col_location') }, c.location || ''),
    h('td', { 'data-label': label('col_state') },
      h('span', { class: `state${s && s.kind === 'final' ? ' final' : ''}` }, stateLabel(c.state, c.state_label))),
    h('td', { 'data-label': label('col_deadline') },
      due ? [c.next_deadline ? h('span.small.muted', code('deadline', c.next_deadline), ' · ') : null, countdown(due)]
          : t('none')),
    h('td', { 'data-label': label('col_assignee') }, c.assignee || t('none')));
}

function draw () {
  if (!last) return;
  const { list, q } = last;
  const cases = (list.cases || []).slice();
  // overdue first, keeping the server's order otherwise
  cases.sort((a, b) => (b.overdue === true) - (a.overdue === true));
  const results = $('#results');
  if (!cases.length) {
    fill(results, h('p.panel', t('no_cases')));
  } else {
    const cols = ['col_case', 'col_received', 'col_type', 'col_location', 'col_state', 'col_deadline', 'col_assignee'];
    fill(results, h('table.cases.cards',
      h('thead', h('tr', cols.map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', cases.map(row))));
  }
  const total = list.total ?? cases.length;
  const per = list.per_page || PER_PAGE;
  const page = list.page || q.page;
  const pages = Math.max(1, Math.ceil(total / per));
  fill($('#pager'),
    h('span.muted', t('page_of', { page, pages, total })),
    h('div.buttons',
      h('button.btn.secondary.small', { type: 'button', disabled: page <= 1, on: { click: () => go({ ...q, page: page - 1 }) } }, t('prev')),
      h('button.btn.secondary.small', { type: 'button', disabled: page >= pages, on: { click: () => go({ ...q, page: page + 1 }) } }, t('next'))));
}

async function load () {
  const q = query();
  fillFilters(q);
  const err = $('#list-error');
  err.hidden = true;
  try {
    const list = await api.get('/api/v1/cases', { state: q.state, type: q.type, overdue: q.overdue,
      from: q.from, to: q.to, q: q.q, page: q.page, per_page: PER_PAGE });
    last = { list: Array.isArray(list) ? { cases: list } : list, q };
    draw();
  } catch (e) {
    if (e.status === 401) return;
    err.replaceChildren(h('p', e.message));
    err.hidden = false;
  }
}

async function main () {
  const me = await start('cases');
  $('#new-link').hidden = me.role === 'viewer' || me.can_act === false;
  try { proc = await procedure(); } catch (e) { proc = null; }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = form.elements;
    go({ state: f.state.value, type: f.type.value, overdue: f.overdue.checked, from: f.from.value,
         to: f.to.value, q: f.q.value.trim(), page: 1 });
  });
  $('#f-reset').addEventListener('click', () => go({}));
  window.addEventListener('popstate', load);
  document.addEventListener('hl:lang', () => { fillFilters(query()); draw(); });
  startTicking();
  await load();
  document.body.dataset.loaded = '1';
  // keep the list fresh while the page stays open (new cases, states)
  setInterval(() => { if (document.visibilityState === 'visible') load(); }, 30000);
}


main();
