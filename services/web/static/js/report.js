// report.js — report.html: the ward's report to the Department for a period
// (at the city, r.role 'city': the Department's report to the city People's
// Committee, issued and signed by the Department), laid out like the seed
// report (ward-report-an-bien.vi.txt): the national
// header, "Kính gửi", the letter it answers, 1. the focal-points table,
// 2. the figures, then the prose 2.1 practice, 2.2 difficulties, 2.3
// proposals, and the closing and signature. The prose and the letter are
// edited here and saved per period (PUT /api/v1/report/text); on paper
// (print CSS, A4) the text areas give way to their text, so the figures and
// the prose print as one document. The CSV is the server's.

import { h, fill, $ } from './dom.js';
import { t, code, fmtDate, isoDate } from './i18n.js';
import { api, showErrors, clearErrors, serverNow } from './api.js';
import { start } from './shell.js';

const FIGURES = ['received', 'verified', 'accurate', 'resolved', 'informed', 'forwarded',
                 'verified_on_time', 'verified_late', 'open'];
const PROSE = ['practice', 'difficulties', 'proposals'];
const period = $('#period');
const doc = $('#doc');
const textForm = $('#text-form');
let me = null;
let rep = null;
let prose = { letter: '', practice: '', difficulties: '', proposals: '' };
let chart = null;

const canEdit = () => me && ['officer', 'leader', 'department', 'admin'].includes(me.role);

function range () {
  const p = new URLSearchParams(location.search);
  const today = isoDate(serverNow());
  return { from: p.get('from') || `${today.slice(0, 4)}-01-01`, to: p.get('to') || today };
}

function csvHref (r) {
  return `/api/v1/report?${new URLSearchParams({ from: r.from, to: r.to, format: 'csv' })}`;
}

// A text section: a text area on screen, its text on paper
function proseBlock (key, title) {
  const id = `text-${key}`;
  return h('section', { class: 'prose-section' },
    title ? h('h3', h('label', { for: id }, title)) : null,
    h('textarea', { id, name: key, rows: key === 'letter' ? 2 : 6, readonly: !canEdit() || null,
      on: { input: (ev) => { prose[key] = ev.target.value; mirror(key); } } }),
    h('div.prose.print-only', { id: `print-${key}` }));
}
function mirror (key) {
  const el = $(`#print-${key}`);
  if (el) el.textContent = prose[key] || '';
}

function focalTable (r) {
  const rows = Array.isArray(r.focal_points) ? r.focal_points : [];
  return h('div.table-scroll', h('table#focal',
    h('thead',
      h('tr', h('th', { rowspan: 2 }, t('no_stt')), h('th', { rowspan: 2 }, t('fp_unit')),
        h('th', { colspan: 2 }, t('fp_receiving')), h('th', { colspan: 2 }, t('fp_handling')),
        h('th', { rowspan: 2 }, t('fp_note'))),
      h('tr', h('th', t('fp_phone')), h('th', t('fp_email')), h('th', t('fp_phone')), h('th', t('fp_email')))),
    h('tbody', rows.map((f, i) => h('tr',
      h('td', i + 1), h('td.l', f.unit || f.ward_name || ''), h('td', f.receiving_phone || ''),
      h('td', f.receiving_email || ''), h('td', f.handling_phone || ''), h('td', f.handling_email || ''),
      h('td.l', f.note || '')))))) ;
}

function figuresTable (r) {
  const byWard = r.by === 'ward';
  const rows = Array.isArray(r.rows) ? r.rows : [];
  const totals = r.totals || {};
  const label = (row) => (byWard ? (row.label || row.ward_name || row.ward) : (code('type', row.type) || row.label));
  return h('div.table-scroll', h('table#figures',
    h('thead', h('tr', h('th.l', t(byWard ? 'by_ward' : 'by_type')), FIGURES.map((f) => h('th', t(`fig_${f}`))))),
    h('tbody',
      rows.map((row) => h('tr', h('td.l', label(row)), FIGURES.map((f) => h('td', row[f] ?? 0)))),
      h('tr.total', h('td.l', t('total')), FIGURES.map((f) => h('td', { dataset: { figure: f } }, totals[f] ?? 0))))));
}

function footnote (r) {
  // open_rule is the rule's data (done_states, …), footnote its sentence
  const text = r.footnote || (Array.isArray(r.notes) ? r.notes.join('\n') : r.notes);
  return text ? h('p.footnote', { id: 'open-rule' }, text) : null;
}

function draw () {
  if (!rep) return;
  const r = rep;
  const q = range();
  const city = r.city || '';
  const dept = r.role === 'city';
  const place = r.ward_name || (dept ? t('dept_name', { city }) : r.ward) || '';
  const unit = dept ? place
    : t('committee_prose', { place: place.charAt(0).toLowerCase() + place.slice(1) });
  fill(doc,
    h('div.doc-head',
      dept ? h('div', city ? h('div.org', t('dept_parent', { city })) : null, h('div.org', place))
        : h('div', h('div.org', t('committee')), h('div.org', place)),
      h('div', h('div.nation', t('nation')), h('div.motto', t('motto')))),
    h('div.doc-title', h('strong', t('report_heading')), h('strong', t('report_subject')),
      h('span', t('period_text', { from: fmtDate(Date.parse(q.from + 'T00:00:00+07:00')), to: fmtDate(Date.parse(q.to + 'T00:00:00+07:00')) }))),
    h('p.to', dept ? t('dept_report_to', { city }) : t('report_to')),
    h('label.no-print.hint', { for: 'text-letter' }, t('letter')),
    proseBlock('letter', null),
    h('h3', t('focal_title')),
    focalTable(r),
    h('h3', t('section2_title')),
    h('p', h('em', t('figures_title'))),
    figuresTable(r),
    footnote(r),
    proseBlock('practice', t('practice')),
    proseBlock('difficulties', t('difficulties')),
    proseBlock('proposals', t('proposals')),
    h('p.indent', dept ? t('dept_closing', { unit, city }) : t('closing', { unit })),
    h('div.sign',
      h('div.recipients', h('strong', t('recipients')), '\n', t(dept ? 'dept_recipients_list' : 'recipients_list')),
      dept ? h('div.signer', h('div', t('dept_signature')), h('div', t('dept_signer')))
        : h('div.signer', t('signature'))),
    h('div.buttons.no-print',
      canEdit() ? h('button.btn', { type: 'submit', id: 'save-text' }, t('save_text')) : h('p.muted', t('text_readonly'))));
  for (const key of ['letter', ...PROSE]) {
    const el = $(`#text-${key}`);
    if (el) el.value = prose[key] || '';
    mirror(key);
  }
  drawChart(r);
}

async function drawChart (r) {
  const box = $('#chart-box');
  try {
    const { Chart, registerables } = await import('/vendor/chart.js/chart.esm.js');
    Chart.register(...registerables);
    const totals = r.totals || {};
    if (chart) chart.destroy();
    box.hidden = false;
    chart = new Chart($('#chart'), {
      type: 'bar',
      data: { labels: FIGURES.map((f) => t(`fig_${f}`)),
              datasets: [{ label: t('total'), data: FIGURES.map((f) => totals[f] || 0), backgroundColor: '#137a63' }] },
      options: { animation: false, aspectRatio: 4, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  } catch (e) {
    box.hidden = true;      // no Chart.js: the table says it all
  }
}

async function load () {
  const q = range();
  period.elements.from.value = q.from;
  period.elements.to.value = q.to;
  $('#csv').href = csvHref(q);
  clearErrors(period);
  try {
    const [r, text] = await Promise.all([
      api.get('/api/v1/report', q),
      api.get('/api/v1/report/text', q).catch(() => ({})),
    ]);
    rep = r;
    prose = { letter: '', practice: '', difficulties: '', proposals: '', ...(text || {}) };
    draw();
  } catch (e) {
    if (e.status === 401) return;
    showErrors(period, e);
  }
}

async function save () {
  clearErrors(textForm);
  const q = range();
  const button = $('#save-text');
  if (button) button.disabled = true;
  try {
    const body = { letter: prose.letter || '', practice: prose.practice || '',
                   difficulties: prose.difficulties || '', proposals: prose.proposals || '' };
    await api.put(`/api/v1/report/text?${new URLSearchParams(q)}`, body);
    const box = textForm.querySelector('.form-error');
    box.hidden = true;
    const ok = h('p.notice.no-print', { role: 'status' }, t('saved'));
    doc.appendChild(ok);
    setTimeout(() => ok.remove(), 3000);
  } catch (e) {
    showErrors(textForm, e);
  } finally {
    if (button) button.disabled = false;
  }
}

async function main () {
  me = await start('report');
  period.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const from = period.elements.from.value, to = period.elements.to.value;
    history.pushState(null, '', `${location.pathname}?${new URLSearchParams({ from, to })}`);
    load();
  });
  textForm.addEventListener('submit', (ev) => { ev.preventDefault(); if (canEdit()) save(); });
  $('#print').addEventListener('click', () => window.print());
  window.addEventListener('popstate', load);
  document.addEventListener('hl:lang', draw);
  await load();
  document.body.dataset.loaded = '1';
}

main();
