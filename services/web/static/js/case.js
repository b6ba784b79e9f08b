// case.js — case.html?id=CASE: everything `hotline show` shows (the report,
// the reporter as far as this role may see, the deadlines, the history as a
// timeline), and the next steps.
//
// The next steps are generated: one button per entry of the case's
// allowed_actions (what the procedure lets this user's role do now), and
// for each a form with an input per argument the action `requires` (from
// the entry, or the procedure's action line), plus the note. Nothing here
// knows an action's name: a procedure with other actions gets other buttons.
// Labels for known names are only cosmetics (i18n), unknown names show as
// themselves.

import { h, fill, $ } from './dom.js';
import { t, code, stateLabel, actionLabel, fmtTime } from './i18n.js';
import { api, showErrors, clearErrors } from './api.js';
import { start } from './shell.js';
import { procedure, stateOf, requiresOf } from './procedure.js';
import { countdown, startTicking } from './countdown.js';

const id = new URLSearchParams(location.search).get('id') || '';
const root = $('#case');
let proc = null;
let data = null;
let openForm = null;        // {key, requestId} of the action form shown

function newId () { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }

function fact (label, ...value) {
  const v = value.flat().filter((x) => x !== null && x !== undefined && x !== '');
  if (!v.length) return null;
  return [h('dt', label), h('dd', v)];
}

function reporterView (r) {
  if (!r) return t('none');
  if (r.redacted) return h('span.muted', { id: 'reporter-redacted' }, t('reporter_redacted'));
  if (r.anonymous) return h('span.muted', t('reporter_anonymous'));
  const lines = [r.name, r.phone, r.email, r.address].filter(Boolean);
  return h('span', { id: 'reporter' }, lines.map((l, i) => [i ? h('br') : null, l]));
}

// The case's evidence, each file a link to it (GET
// /api/v1/cases/{id}/evidence/{sha256}). At a ward: every file the case
// names (its report's and each attach's); another reference (a URL) shows
// as text. At the city: the files of a forwarded case that reached it
// (c.evidence_files, the city's own answer): the others are not here.
const SHA_REF = /^sha256:[0-9a-f]{64}$/;

function evidenceLink (ref, label) {
  return h('a', { href: `/api/v1/cases/${encodeURIComponent(id)}/evidence/${ref.slice(7)}`,
    target: '_blank', rel: 'noopener' }, label);
}

function evidenceList (c) {
  if (Array.isArray(c.evidence_files)) {
    if (!c.evidence_files.length) return null;
    return h('ul#evidence', c.evidence_files.map((f) =>
      h('li', evidenceLink(f.ref, `${f.ref.slice(0, 19)}… (${f.type}, ${Math.ceil(f.bytes / 1024)} KB)`))));
  }
  const r = c.report || {};
  const refs = Array.isArray(r.evidence) ? r.evidence.slice() : [];
  for (const e of Array.isArray(c.history) ? c.history : []) {
    const ref = e.args && e.args.evidence;
    if (typeof ref === 'string' && ref && !refs.includes(ref)) refs.push(ref);
  }
  if (!refs.length) return null;
  return h('ul#evidence', refs.map((ref) => h('li', SHA_REF.test(ref) ? evidenceLink(ref, ref) : ref)));
}

function details (c) {
  const r = c.report || {};
  const coords = (typeof r.latitude === 'number' && typeof r.longitude === 'number')
    ? `${r.latitude.toFixed(6)}, ${r.longitude.toFixed(6)}` : null;
  return h('section.panel', { 'aria-labelledby': 'h-report' },
    h('h2#h-report', t('sec_report')),
    h('dl.facts',
      fact(t('received'), fmtTime(r.received_ms || c.received_ms), ' ', t('via'), ' ', code('channel', r.channel || c.channel)),
      fact(t('type'), code('type', r.type || c.type)),
      fact(t('scope'), code('scope', r.scope || c.scope), ' · ', r.sudden ? t('kind_sudden') : t('kind_continuous')),
      fact(t('regime'), c.regime === 'urgent' ? h('span.badge.urgent', t('urgent_badge')) : t('regime_normal')),
      fact(t('location'), r.location || c.location),
      fact(t('coords'), coords),
      fact(t('occurred'), r.occurred_ms ? fmtTime(r.occurred_ms) : null),
      fact(t('polluter'), r.polluter, r.polluter_category ? ` (${code('polluter_category', r.polluter_category)})` : null),
      fact(t('description'), h('div.description', { id: 'description' }, r.description || '')),
      fact(t('reporter'), reporterView(r.reporter)),
      fact(t('evidence'), evidenceList(c)),
      fact(t('assignee'), c.assignee),
      fact(t('duplicate_of'), c.duplicate_of
        ? h('a', { href: `/case.html?id=${encodeURIComponent(c.duplicate_of)}` }, c.duplicate_of) : null),
      fact(t('department_case'), c.department_case ? `${c.department_case} — ${stateLabel(c.department_state, c.department_state_label || c.department_state)}` : null),
      fact(t('origin_case'), c.origin_case ? `${c.origin_case} (${t('ward')} ${c.origin_ward || ''})` : null)));
}

const STATUS = { met: 'dl_met_s', running: 'dl_running', breached: 'dl_breached', met_late: 'dl_met_late', stopped: 'dl_stopped' };

function deadlines (c) {
  const list = Array.isArray(c.deadlines) ? c.deadlines : [];
  return h('section.panel', { 'aria-labelledby': 'h-deadlines' },
    h('h2#h-deadlines', t('sec_deadlines')),
    list.length ? h('table.deadlines.cards#deadlines',
      h('thead', h('tr', ['dl_name', 'dl_due', 'dl_status', 'dl_met'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', list.map((d) => {
        const status = d.status || (d.met_ms ? 'met' : 'running');
        const late = d.breached || status === 'breached';
        return h('tr', { dataset: { deadline: d.name, status } },
          h('td', { 'data-label': t('dl_name') }, code('deadline', d.name)),
          h('td', { 'data-label': t('dl_due') }, fmtTime(d.due_ms)),
          h('td', { 'data-label': t('dl_status'), class: `status-${late && status !== 'running' ? 'late' : status}` },
            t(STATUS[status] || status) || status,
            late && status === 'met' ? ` (${t('dl_breached')})` : null,
            status === 'running' && d.due_ms ? [' · ', countdown(d.due_ms, { warnMs: d.warn_ms })] : null),
          h('td', { 'data-label': t('dl_met') }, d.met_ms ? fmtTime(d.met_ms) : t('none')));
      }))) : h('p.muted', t('none')));
}

function historyItem (e) {
  const actor = e.actor || '';
  const system = actor.startsWith('system:');
  const alarm = /breach/.test(e.action || '');
  const from = e.from ? stateLabel(e.from, (stateOf(proc, e.from) || {}).label) : '';
  const to = e.to ? stateLabel(e.to, (stateOf(proc, e.to) || {}).label) : '';
  const args = e.args && typeof e.args === 'object' ? Object.entries(e.args) : [];
  return h('li', { class: [system ? 'system' : '', alarm ? 'alarm' : ''].join(' ') },
    h('div.when', fmtTime(e.at_ms)),
    h('div.what', actionLabel(e.action, e.variant)),
    h('div.who', actor, from || to ? ` · ${from ? from + ' → ' : ''}${to}` : ''),
    args.length ? h('div.args', args.map(([k, v], i) => [i ? ' · ' : '', `${k}: ${v}`])) : null,
    e.note ? h('div.note', e.note) : null);
}

function timeline (c) {
  const list = Array.isArray(c.history) ? c.history : [];
  return h('section.panel', { 'aria-labelledby': 'h-history' },
    h('h2#h-history', t('sec_history')),
    h('ol.timeline#history', list.map(historyItem)));
}

// ------------------------------------------------------------- actions

const keyOf = (a) => `${a.action}${a.variant ? ':' + a.variant : ''}`;

function argLabel (name) {
  const key = `arg_${name}`;
  const label = t(key);
  return label === key ? name : label;
}

function actionForm (a) {
  const requires = requiresOf(proc, a).filter((r) => r !== 'note');
  const noteRequired = requiresOf(proc, a).includes('note');
  const fid = `act-${keyOf(a).replace(/\W/g, '-')}`;
  const form = h('form.action-form', { id: fid, novalidate: true, dataset: { action: a.action, variant: a.variant || '' } },
    h('h3', actionLabel(a.action, a.variant)),
    h('div.form-error', { role: 'alert', tabindex: '-1', hidden: true }),
    requires.map((name) => h('div.field',
      h('label.req', { for: `${fid}-${name}` }, argLabel(name)),
      h('input', { type: 'text', id: `${fid}-${name}`, name: `args.${name}`, 'data-err': name, required: true, autocomplete: 'off' }))),
    h('div.field',
      h('label', { for: `${fid}-note`, class: noteRequired ? 'req' : null }, t('note')),
      h('textarea', { id: `${fid}-note`, name: 'note', 'data-err': 'note', rows: 3, required: noteRequired })),
    h('div.buttons',
      h('button.btn', { type: 'submit' }, t('do_action')),
      h('button.btn.secondary', { type: 'button', on: { click: () => { openForm = null; drawActions(); } } }, t('cancel'))));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); act(form, a, requires, noteRequired); });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });
  return form;
}

async function act (form, a, requires, noteRequired) {
  clearErrors(form);
  const note = form.elements.note.value.trim();
  const args = {};
  const missing = [];
  for (const name of requires) {
    const v = form.elements[`args.${name}`].value.trim();
    if (!v) missing.push({ field: name, message: t('err_required') });
    args[name] = v;
  }
  if (noteRequired && !note) missing.push({ field: 'note', message: t('err_required') });
  if (missing.length) {
    const { ApiError } = await import('./api.js');
    showErrors(form, new ApiError(400, { error: t('err_check_fields'), field_errors: missing }));
    return;
  }
  const button = form.querySelector('button[type=submit]');
  if (button.disabled) return;
  button.disabled = true;
  const body = { request_id: openForm.requestId, args };
  if (a.variant) body.variant = a.variant;
  if (note) body.note = note;
  try {
    const seen = historyLength();
    await api.post(`/api/v1/cases/${encodeURIComponent(id)}/actions/${encodeURIComponent(a.action)}`, body);
    openForm = null;
    toast(t('action_done', { action: actionLabel(a.action, a.variant) }));
    await loadUntilMoved(seen);
  } catch (e) {
    showErrors(form, e);
    button.disabled = false;
    if (e.status === 409) load(true);     // the case moved on: show what is allowed now
  }
}

function toast (message) {
  const el = h('div.toast', { role: 'status' }, message);
  document.body.appendChild(el);
  setTimeout(() => el.remove(), 4000);
}

function drawActions () {
  const box = $('#actions');
  if (!box || !data) return;
  const allowed = Array.isArray(data.allowed_actions) ? data.allowed_actions : [];
  if (!allowed.length) { fill(box, h('h2', t('sec_actions')), h('p.muted', t('actions_none'))); return; }
  const buttons = h('div.action-buttons', allowed.map((a) => h('button.btn', {
    type: 'button', class: openForm && openForm.key === keyOf(a) ? 'secondary' : null,
    dataset: { action: a.action, variant: a.variant || '' }, 'aria-expanded': String(!!openForm && openForm.key === keyOf(a)),
    on: { click: () => {
      openForm = openForm && openForm.key === keyOf(a) ? null : { key: keyOf(a), requestId: newId() };
      drawActions();
      const f = box.querySelector('form');
      if (f) (f.querySelector('input, textarea') || f).focus();
    } } }, actionLabel(a.action, a.variant))));
  const current = openForm && allowed.find((a) => keyOf(a) === openForm.key);
  fill(box, h('h2', t('sec_actions')), buttons, current ? actionForm(current) : null);
}

function draw () {
  if (!data) return;
  const c = data;
  const s = stateOf(proc, c.state);
  document.title = `${c.case_id} — ${t('app_short')}`;
  fill(root,
    h('div.page-head.case-head',
      h('div',
        h('h1', `${t('case_title')} ${c.case_id}`),
        h('div.flags',
          h('span', { class: `state${s && s.kind === 'final' ? ' final' : ''}`, id: 'state', dataset: { state: c.state } },
            stateLabel(c.state, c.state_label)),
          c.urgent ? h('span.badge.urgent', t('urgent_badge')) : null,
          c.overdue ? h('span.badge.late', t('overdue')) : null,
          h('span.muted.small', `${t('ward')} ${c.ward || ''}`))),
      h('button.btn.secondary.small.no-print', { type: 'button', on: { click: () => window.print() } }, t('print'))),
    h('div.case-layout',
      h('div', details(c), timeline(c)),
      h('div', h('section.panel.no-print#actions', { 'aria-labelledby': 'h-actions' }), deadlines(c))));
  drawActions();
}

function historyLength () {
  return data && Array.isArray(data.history) ? data.history.length : 0;
}

// Intake acknowledges an action once it is durable; the archive, which
// answers the case, applies it a moment later. Ask again until the case's
// history has the new event (or give up after ~6 s and show what there is).
async function loadUntilMoved (seen) {
  for (let i = 0; i < 24; i++) {
    await load(true);
    if (historyLength() > seen) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function load (quiet) {
  try {
    data = await api.get(`/api/v1/cases/${encodeURIComponent(id)}`);
    draw();
  } catch (e) {
    if (e.status === 401 || quiet) return;
    fill(root, h('p.alert', e.status === 404 ? t('case_not_found') : e.message));
  }
}

async function main () {
  await start('cases');
  try { proc = await procedure(); } catch (e) { proc = null; }
  document.addEventListener('hl:lang', draw);
  startTicking();
  if (!id) { fill(root, h('p.alert', t('case_not_found'))); return; }
  await load();
  document.body.dataset.loaded = '1';
}

main();
