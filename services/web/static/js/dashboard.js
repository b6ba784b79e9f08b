// dashboard.js — dashboard.html, the city Department's live dashboard:
// every ward at a glance, the live stream, the map, the charts,
// the Department's queue, the city-wide report.
//
// The page loads the figures once (/api/v1/wards, /charts, /map, the queue)
// and then follows the city's live stream (/api/v1/stream, dashboard-
// stream.js): each event goes to the top of the live list at once, moves
// its case on the map, and asks for the figures of its ward again (one
// request for a burst; the server answers many dashboards from one query).
// A snapshot (a first connection, or one that was away too long) reloads
// everything. While the connection is down the badge says "reconnecting";
// the stream resumes where it stopped, with no event lost.
//
// During a burst the server answers from figures a little older than the
// stream (each answer's as_of: the last event it includes). An answer older
// than the last event this page saw asks once more, debounced as the events
// are, so the page always ends showing figures that include that event.

import { h, fill, $ } from './dom.js';
import { t, actionLabel, fmtTime, isoDate } from './i18n.js';
import { api, serverNow } from './api.js';
import { start } from './shell.js';
import { procedure } from './procedure.js';
import { startTicking } from './countdown.js';
import { dt, applyDashboard, setStates, stateText } from './dashboard-i18n.js';
import { follow } from './dashboard-stream.js';
import { wardsTable } from './dashboard-wards.js';
import { casesMap } from './dashboard-map.js';
import { chartsPanel } from './dashboard-charts.js';
import { departmentQueue } from './dashboard-queue.js';

const LIVE_MAX = 80;
const form = $('#period');
const names = new Map();        // ward code -> name, from the wards' answers (and the Department's)
let wards = null;
let map = null;
let charts = null;
let queue = null;
let events = [];                // newest first
let status = 'connecting';
let lastSeq = 0;                // the last stream event seen

// ------------------------------------------------------------------ period

function period () {
  const p = new URLSearchParams(location.search);
  const today = isoDate(serverNow());
  const from = p.get('from') || isoDate(serverNow() - 29 * 86400000);
  return { from, to: p.get('to') || today };
}

function setPeriod (from, to) {
  history.pushState(null, '', `${location.pathname}?${new URLSearchParams({ from, to })}`);
  reloadAll();
}

function drawPeriod () {
  const p = period();
  form.elements.from.value = p.from;
  form.elements.to.value = p.to;
  $('#report-link').href = `/report.html?${new URLSearchParams(p)}`;
  $('#csv-link').href = `/api/v1/report?${new URLSearchParams({ ...p, format: 'csv' })}`;
}

// ------------------------------------------------------------------ live list

function describe (e) {
  if (!e.case_id) return [h('strong', names.get(e.ward) || e.ward), ' ', dt('ev_directory')];
  return [
    h('a.case-link', { href: `/case.html?id=${encodeURIComponent(e.case_id)}` }, e.case_id), ' ',
    h('span.what', actionLabel(e.action, e.variant)),
    e.to_state && e.to_state !== e.from_state
      ? [' ', h('span.arrow', '→'), ' ', h('span.state', stateText(e.to_state))] : null,
  ];
}

function liveItem (e, fresh) {
  return h('li', { class: fresh ? 'fresh' : '', dataset: { seq: e.seq, ward: e.ward || '', case: e.case_id || '' } },
    h('span.when', fmtTime(e.at_ms).slice(-5)),
    h('span.where', names.get(e.ward) || e.ward || ''),
    h('span.event', describe(e)),
    e.urgent ? h('span.badge.urgent', t('urgent_badge')) : null);
}

function drawLive (freshSeq) {
  const list = $('#live');
  if (!events.length) {
    fill(list, h('li.empty.muted', dt('stream_empty')));
    return;
  }
  fill(list, events.map((e) => liveItem(e, freshSeq !== undefined && e.seq >= freshSeq)));
}

// Figures older than the last event seen: ask again (debounced)
function stale (answer) {
  return answer && answer.as_of < lastSeq;
}

function onEvent (e) {
  if (e.seq > lastSeq) lastSeq = e.seq;
  events.unshift(e);
  if (events.length > LIVE_MAX) events.length = LIVE_MAX;
  drawLive(e.seq);
  $('#live-last').textContent = `#${e.seq}`;
  if (e.ward) wards.touch(e.ward);
  map.event(e);
  queue.touch(e);
  scheduleCharts();
}

function onSnapshot (s) {
  const first = events.length === 0;
  events = (s.events || []).slice().reverse();
  drawLive();
  if (s.seq) $('#live-last').textContent = `#${s.seq}`;
  if (s.seq > lastSeq) lastSeq = s.seq;
  if (!first || s.reason !== 'new') {
    note(s.reason === 'new' ? dt('stream_resumed') : dt('stream_reset'));
    reloadAll();
  } else {
    wards.touch(null);      // what came between the first figures and the stream
  }
}

function onStatus (s) {
  const was = status;
  status = s;
  const badge = $('#stream-status');
  badge.dataset.state = s;
  badge.textContent = dt(s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting' : 'connecting');
  if (was === 'reconnecting' && s === 'live') {
    note(dt('stream_resumed'));
    // what changed meanwhile without an event of its own (time: overdue)
    wards.touch(null);
  }
}

function note (message) {
  const el = $('#stream-note');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(note.timer);
  note.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

// ------------------------------------------------------------------ loading

let chartsTimer = null;
function scheduleCharts () {
  if (!chartsTimer) chartsTimer = setTimeout(() => { chartsTimer = null; loadCharts(); }, 5000);
}

async function loadCharts () {
  try {
    const d = await api.get('/api/v1/charts', period());
    charts.set(d);
    if (stale(d)) scheduleCharts();
  } catch (e) { /* shown elsewhere */ }
}

async function loadMap () {
  try { map.set(await api.get('/api/v1/map', period())); } catch (e) { /* the table has the figures */ }
}

function reloadAll () {
  drawPeriod();
  wards.load();
  loadCharts();
  loadMap();
  queue.load();
}

async function main () {
  const me = await start('dashboard');
  applyDashboard(document);
  document.addEventListener('hl:lang', () => { applyDashboard(document); wards.draw(); drawLive(); onStatus(status); });
  if (!me.node || me.node.role !== 'city') {
    fill($('#main'), h('p.alert', 'Bảng điều hành chỉ có ở nút thành phố (the dashboard is the city\'s).'));
    return;
  }
  const proc = await procedure().catch(() => null);
  setStates(proc && proc.states);
  wards = wardsTable({
    table: $('#wards'), pager: $('#wards-pager'), search: $('#ward-search'), cards: $('#cards'),
    dialog: $('#ward-dialog'), period,
    onData: (d) => {
      const before = names.size;
      for (const w of d.wards || []) names.set(w.ward, w.ward_name || w.ward);
      if (d.department_ward) names.set(d.department_ward, dt('department'));
      if (names.size !== before) drawLive();
      queue.setWard(d.department_ward);
      $('#wards-updated').textContent = `${dt('updated')} ${fmtTime(d.now_ms).slice(-5)}`;
      if (stale(d)) wards.touch(null);
    },
  });
  queue = departmentQueue($('#queue'), $('#queue-pager'), me);
  map = await casesMap($('#map'), $('#map-legend'), me.map, proc);
  charts = await chartsPanel({ perDay: $('#ch-per-day'), onTime: $('#ch-on-time'), age: $('#ch-age'), note: $('#charts-note') });
  if (!(me.map && me.map.tiles)) $('#map-note').hidden = false;
  $('#ward-dialog .close').addEventListener('click', () => $('#ward-dialog').close());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setPeriod(form.elements.from.value, form.elements.to.value);
  });
  for (const b of document.querySelectorAll('[data-days]')) {
    b.addEventListener('click', () => {
      const days = Number(b.dataset.days);
      const today = isoDate(serverNow());
      const from = days ? isoDate(serverNow() - (days - 1) * 86400000) : `${today.slice(0, 4)}-01-01`;
      setPeriod(from, today);
    });
  }
  window.addEventListener('popstate', reloadAll);
  startTicking();
  drawLive();
  reloadAll();
  follow({ onEvent, onSnapshot, onStatus });
  document.body.dataset.loaded = '1';
}

main();
