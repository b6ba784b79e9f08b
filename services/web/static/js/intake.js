// intake.js — intake.html: the duty officer takes a phone report.
//
// Keyboard first: fields in the order of a call, Enter submits from any
// field (Ctrl+Enter from the text areas). One request_id (crypto.randomUUID)
// is made per report and kept across retries, so a double click or a retry
// after a time-out makes one case; the button is disabled while the request
// is in flight. The case number is shown only after the server's 201, which
// it sends once intake has the report on disk.

import { h, fill, $ } from './dom.js';
import { t, code, codes } from './i18n.js';
import { api, showErrors, clearErrors, ApiError } from './api.js';
import { start } from './shell.js';
import { pointPicker } from './map.js';

const form = $('#intake');
const button = $('#submit');
let requestId = newId();
let inFlight = false;
let picker = null;

function newId () {
  return (crypto.randomUUID && crypto.randomUUID())
    || Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function options (select, kind, { blank, value } = {}) {
  const keep = select.value || value || '';
  fill(select,
    blank ? h('option', { value: '' }, blank) : null,
    codes(kind).map((c) => h('option', { value: c }, code(kind, c))));
  select.value = keep || (blank ? '' : codes(kind)[0]);
}

function fillSelects () {
  options($('#type'), 'type', { blank: '—' });
  options($('#channel'), 'channel', { value: 'phone' });
  options($('#scope'), 'scope', { value: 'within_ward' });
  options($('#polluter_category'), 'polluter_category', { blank: '—' });
}

// Vietnam has one offset, +07:00, all year
function occurredMs (value) {
  if (!value) return undefined;
  const ms = Date.parse(`${value.length === 16 ? value + ':00' : value}+07:00`);
  return Number.isFinite(ms) ? ms : NaN;
}

function body () {
  const f = form.elements;
  const v = (name) => f[name].value.trim();
  const b = { request_id: requestId, type: v('type'), channel: v('channel'), scope: v('scope'),
              location: v('location'), description: f.description.value.trim(),
              urgent: f.urgent.checked, sudden: f.sudden.checked };
  if (v('polluter')) b.polluter = v('polluter');
  if (v('polluter_category')) b.polluter_category = v('polluter_category');
  const occurred = occurredMs(f.occurred_ms.value);
  if (occurred !== undefined) b.occurred_ms = occurred;
  const lat = f.latitude.value, lon = f.longitude.value;
  if (lat !== '' || lon !== '') { b.latitude = Number(lat); b.longitude = Number(lon); }
  const evidence = f.evidence.value.split('\n').map((s) => s.trim()).filter(Boolean);
  if (evidence.length) b.evidence = evidence;
  if (f['reporter.anonymous'].checked) b.reporter = { anonymous: true };
  else {
    b.reporter = { anonymous: false };
    for (const k of ['name', 'phone', 'email', 'address']) if (v(`reporter.${k}`)) b.reporter[k] = v(`reporter.${k}`);
  }
  return b;
}

// What the page can tell before asking (the server checks everything again)
function localCheck (b) {
  const errs = [];
  if (!b.type) errs.push({ field: 'type', message: t('err_required') });
  if (!b.location) errs.push({ field: 'location', message: t('err_required') });
  if (!b.description) errs.push({ field: 'description', message: t('err_required') });
  if (Number.isNaN(b.occurred_ms)) errs.push({ field: 'occurred', message: t('err_required') });
  if (('latitude' in b) && (!Number.isFinite(b.latitude) || !Number.isFinite(b.longitude)
      || form.elements.latitude.value === '' || form.elements.longitude.value === '')) {
    errs.push({ field: 'latitude', message: `${t('latitude')} + ${t('longitude')}` });
  }
  return errs;
}

async function submit () {
  if (inFlight) return;
  clearErrors(form);
  const b = body();
  const errs = localCheck(b);
  if (errs.length) { showErrors(form, new ApiError(400, { error: t('err_check_fields'), field_errors: errs })); return; }
  inFlight = true;
  button.disabled = true;
  button.textContent = t('sending');
  try {
    const r = await api.post('/api/v1/cases', b, { timeout: 20000 });
    done(r.case_id);
  } catch (e) {
    if (e.status === 422) e.body.error = t('request_reused');
    showErrors(form, e);     // request_id is kept: a retry lands once
  } finally {
    inFlight = false;
    button.disabled = false;
    button.textContent = t('submit_report');
  }
}

function done (caseId) {
  const box = $('#done');
  $('#case-number').textContent = caseId;
  $('#open-case').href = `/case.html?id=${encodeURIComponent(caseId)}`;
  box.hidden = false;
  form.hidden = true;
  box.focus();
  window.scrollTo(0, 0);
}

function reset () {
  form.reset();
  fillSelects();
  clearErrors(form);
  anonymousChanged();
  if (picker) picker.clear();
  requestId = newId();
  $('#done').hidden = true;
  form.hidden = false;
  if (picker) picker.invalidate();
  $('#anonymous').focus();
}

function anonymousChanged () {
  const anon = $('#anonymous').checked;
  for (const id of ['r-name', 'r-phone', 'r-email', 'r-address']) {
    const el = $(`#${id}`);
    el.disabled = anon;
    if (anon) el.value = '';
  }
}

async function mapConfig (me) {
  let cfg = me.map || me.config || {};
  if (!me.map && !cfg.tiles && !cfg.tile_url && !me.map_tiles) {
    try { cfg = { ...cfg, ...(await api.get('/api/v1/config', null, { noRedirect: true })) }; } catch (e) { /* none */ }
  }
  const tiles = cfg.tiles || cfg.tile_url || cfg.map_tiles || me.map_tiles || null;
  const center = cfg.center || cfg.map_center || (me.node && me.node.map_center) || null;
  return { tiles, attribution: cfg.attribution || cfg.map_attribution || '',
           center: Array.isArray(center) && center.length === 2 ? center : null,
           zoom: Number.isInteger(cfg.zoom) ? cfg.zoom : null };
}

async function main () {
  const me = await start('intake');
  fillSelects();
  document.addEventListener('hl:lang', () => { fillSelects(); if (!inFlight) button.textContent = t('submit_report'); });
  $('#anonymous').addEventListener('change', anonymousChanged);
  document.body.dataset.loaded = '1';
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  form.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing) return;
    const el = ev.target;
    if (el.tagName === 'TEXTAREA' && !(ev.ctrlKey || ev.metaKey)) return;
    if (el.tagName === 'BUTTON' || el.tagName === 'A') return;
    ev.preventDefault();
    submit();
  });
  $('#new-report').addEventListener('click', reset);
  $('#clear-coords').addEventListener('click', () => {
    form.elements.latitude.value = ''; form.elements.longitude.value = '';
    if (picker) picker.clear();
  });
  const cfg = await mapConfig(me);
  if (!cfg.tiles) {
    $('#map-hint').dataset.i18n = 'map_offline';
    $('#map-hint').textContent = t('map_offline');
  }
  try {
    picker = await pointPicker($('#map'), { ...cfg, onPick: (lat, lon) => {
      form.elements.latitude.value = lat; form.elements.longitude.value = lon;
    } });
    const sync = () => picker.set(parseFloat(form.elements.latitude.value), parseFloat(form.elements.longitude.value));
    form.elements.latitude.addEventListener('change', sync);
    form.elements.longitude.addEventListener('change', sync);
  } catch (e) {
    $('#map').hidden = true;
  }
}

main();
