// public.js — report-public.html: a citizen reports pollution, no login.
//
// The fields are the officers' report, flat, sent as multipart/form-data to
// POST /api/v1/public/reports (services/web/API.md, "Citizens"), with the
// files in parts named "evidence". The page checks what it can before
// sending (a type, a description, a place, a way to reply or "anonymous",
// the number and size of files) but the server decides: every refusal it
// sends is shown in plain words next to the field it names.
//
// One request_id is made per report and kept across retries, so a double
// tap or a retry after a lost answer files one case. The case number and
// the tracking link are shown only after the server's 201, which it sends
// once intake has the report on disk.
//
// The map and the file limits come from GET /api/v1/public/config (no
// session: the same map the officers' /api/v1/me carries), see mapConfig
// below.
//
// At the city the config lists its wards ("wards"): the form offers the
// wards (or "from the pin": the server finds the ward whose area holds it)
// and files the report, with its files, at the ward (API.md, "Filing at a
// ward"). The answer then has no case number yet, only the ward and the
// tracking link. "files": false (no node says so today) hides the files.
// A ward with "ready": false does not take reports from the city yet (it
// is being upgraded; the submit would answer 503): it is listed disabled,
// its name followed by a short note.

import { h, fill, $ } from './dom.js';
import { code, codes, lang, setLang } from './i18n.js';
import { ApiError, showErrors, clearErrors } from './api.js';
import { pointPicker } from './map.js';
import { pt, plain, applyPublic } from './public-i18n.js';
import { filePicker, postForm, commonRefusal, publicConfig } from './public-files.js';

const form = $('#report');
const button = $('#submit');
let requestId = newId();
let inFlight = false;
let picker = null;
let pin = null;                      // {lat, lon}
let files = null;                    // the evidence (public-files.js)
let wards = null;                    // at the city: [{code, name, ready}]

function newId () {
  return (crypto.randomUUID && crypto.randomUUID())
    || Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// ------------------------------------------------------------ the fields

function fillTypes () {
  const select = $('#type');
  const keep = select.value;
  fill(select, h('option', { value: '' }, pt('p_type_choose')),
    codes('type').map((c) => h('option', { value: c }, code('type', c))));
  select.value = keep;
}

function fillWards () {
  if (!wards) return;
  const select = $('#ward');
  const keep = select.value;
  fill(select, h('option', { value: '' }, pt('p_ward_auto')),
    wards.map((w) => (w.ready === false
      ? h('option', { value: w.code, disabled: true, dataset: { notReady: '1' } }, pt('p_ward_not_ready', { ward: w.name }))
      : h('option', { value: w.code }, w.name))));
  select.value = wards.some((w) => w.code === keep && w.ready !== false) ? keep : '';
}

function setPin (lat, lon, pan) {
  pin = Number.isFinite(lat) && Number.isFinite(lon) ? { lat: +lat.toFixed(6), lon: +lon.toFixed(6) } : null;
  if (picker) { if (pin) picker.set(pin.lat, pin.lon, pan); else picker.clear(); }
  drawPin();
}

function drawPin () {
  const el = $('#pin-text');
  el.textContent = pin ? pt('p_picked', { lat: pin.lat.toFixed(5), lon: pin.lon.toFixed(5) }) : pt('p_not_picked');
  el.classList.toggle('picked', !!pin);
  el.dataset.lat = pin ? pin.lat : '';
  el.dataset.lon = pin ? pin.lon : '';
  $('#clear-pin').hidden = !pin;
}

function geolocate () {
  const status = $('#geo-status');
  const btn = $('#geolocate');
  status.textContent = pt('p_geolocating');
  btn.disabled = true;
  navigator.geolocation.getCurrentPosition((pos) => {
    btn.disabled = false;
    status.textContent = '';
    setPin(pos.coords.latitude, pos.coords.longitude, true);
  }, () => {
    btn.disabled = false;
    status.textContent = pt('p_geo_denied');
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
}

function anonymousChanged () {
  const anon = $('#anonymous').checked;
  for (const id of ['r-name', 'r-phone', 'r-email']) {
    const el = $(`#${id}`);
    el.disabled = anon;
    if (anon) el.value = '';
  }
}

// ------------------------------------------------------------ checks

const v = (name) => form.elements[name].value.trim();

// What the page can tell before sending (the server checks everything again)
function localCheck () {
  const errs = [];
  if (!v('type')) errs.push({ field: 'type', message: pt('p_err_type') });
  if (!v('description')) errs.push({ field: 'description', message: pt('p_err_description') });
  if (!v('location') && !pin) errs.push({ field: 'location', message: pt('p_err_where') });
  if (wards && !v('ward') && !pin) errs.push({ field: 'ward', message: pt('p_err_ward') });
  if (!$('#anonymous').checked && !v('phone') && !v('email')) errs.push({ field: 'phone', message: pt('p_err_contact') });
  return errs;
}

// A refusal from the server, in plain words for the field it names
function friendly (status, body, retryAfter) {
  const common = commonRefusal(status, body, retryAfter);
  if (common) return common;
  const msg = body.error || '';
  const field = body.field;
  const mk = (f, m) => new ApiError(status, { error: m, field: f });
  const words = {
    type: () => pt('p_err_type'),
    description: () => (v('description') ? pt('p_err_description_bad') : pt('p_err_description')),
    location: () => (v('location') || pin ? pt('p_err_location_bad') : pt('p_err_where')),
    phone: () => (/reply|liên lạc/i.test(msg) ? pt('p_err_contact') : pt('p_err_phone')),
    email: () => pt('p_err_email'),
    name: () => pt('p_err_name'),
    latitude: () => pt('p_err_coords'),
    longitude: () => pt('p_err_coords'),
    anonymous: () => pt('p_err_anonymous'),
    ward: () => (/in no ward|không thuộc/i.test(msg) ? pt('p_err_ward_outside') : pt('p_err_ward')),
  };
  if (field && words[field]) return mk(field, words[field]());
  if (/refused/.test(msg)) return mk(null, pt('p_err_refused'));
  return mk(null, plain(msg) || pt('p_err_refused'));
}

// ------------------------------------------------------------ sending

function formData () {
  const fd = new FormData();
  fd.append('request_id', requestId);
  fd.append('type', v('type'));
  fd.append('description', form.elements.description.value.trim());
  // The case needs a place in words; a pin alone is named as one, in the
  // case's language (the officers read Vietnamese)
  const place = v('location') || `Vị trí đánh dấu trên bản đồ (${pin.lat.toFixed(6)}, ${pin.lon.toFixed(6)})`;
  fd.append('location', place);
  if (pin) { fd.append('latitude', String(pin.lat)); fd.append('longitude', String(pin.lon)); }
  if (wards && v('ward')) fd.append('ward', v('ward'));
  if ($('#anonymous').checked) fd.append('anonymous', 'true');
  else for (const k of ['name', 'phone', 'email']) if (v(k)) fd.append(k, v(k));
  fd.append('website', form.elements.website.value);     // the honeypot, as found
  files.append(fd);
  return fd;
}

async function submit () {
  if (inFlight) return;
  clearErrors(form);
  const errs = localCheck();
  if (errs.length) { showErrors(form, new ApiError(400, { error: pt('p_err_check'), field_errors: errs })); return; }
  inFlight = true;
  button.disabled = true;
  button.textContent = pt('p_sending');
  try {
    const { status, body, retryAfter } = await postForm('/api/v1/public/reports', formData());
    if (status !== 201) throw friendly(status, body, retryAfter);
    done(body.case_id, body.tracking_url, body.ward_name);
  } catch (e) {
    showErrors(form, e instanceof ApiError ? e : new ApiError(0, { error: String(e) }));
  } finally {
    inFlight = false;
    button.disabled = false;
    button.textContent = pt('p_submit');
  }
}

function done (caseId, url, wardName) {
  // At the city the ward files it: no number yet, the ward it went to
  $('#case-number').textContent = caseId || pt('p_done_pending', { ward: wardName || '' });
  const link = url ? new URL(url, location.href).href : '';
  $('#link-box').hidden = !link;
  $('#no-link').hidden = !!link;
  $('#track-link').value = link;
  $('#open-track').href = link || '#';
  $('#copy-status').textContent = '';
  form.hidden = true;
  const box = $('#done');
  box.hidden = false;
  window.scrollTo(0, 0);
  box.focus();
}

async function copyLink () {
  const input = $('#track-link');
  const status = $('#copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = pt('p_copied');
    return;
  } catch (e) { /* no clipboard API here (plain HTTP, or not allowed): select and copy */ }
  input.focus();
  input.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  status.textContent = ok ? pt('p_copied') : pt('p_copy_failed');
}

function reset () {
  form.reset();
  fillTypes();
  clearErrors(form);
  anonymousChanged();
  files.clear();
  setPin(NaN, NaN);
  requestId = newId();
  $('#done').hidden = true;
  form.hidden = false;
  if (picker) picker.invalidate();
  window.scrollTo(0, 0);
  $('#type').focus();
}

// ------------------------------------------------------------ start

// Where the map opens and over which tiles: the node's web/tile_url,
// tile_attribution, map_center and map_zoom, from the public config. A node
// that does not answer leaves the coordinate grid at map.js's default centre
async function mapConfig () {
  const map = (await publicConfig()).map || {};
  return { tiles: map.tiles || null, attribution: map.attribution || '',
           center: Array.isArray(map.center) && map.center.length === 2 ? map.center : null,
           zoom: Number.isInteger(map.zoom) ? map.zoom : null };
}

function redraw () {
  applyPublic(document);
  fillTypes();
  fillWards();
  drawPin();
  files.draw();
  if (!inFlight) button.textContent = pt('p_submit');
}

async function main () {
  files = filePicker({ inputs: [$('#camera'), $('#files')], list: $('#file-list'), hint: $('#files-hint'), form });
  redraw();
  $('#lang-toggle').addEventListener('click', () => setLang(lang() === 'vi' ? 'en' : 'vi'));
  document.addEventListener('hl:lang', redraw);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  $('#anonymous').addEventListener('change', anonymousChanged);
  $('#clear-pin').addEventListener('click', () => setPin(NaN, NaN));
  $('#copy-link').addEventListener('click', copyLink);
  $('#new-report').addEventListener('click', reset);
  // Geolocation needs a secure context (HTTPS, or this machine): elsewhere
  // the button could only fail, so it is not offered
  if (navigator.geolocation && window.isSecureContext) $('#geolocate').addEventListener('click', geolocate);
  else $('#geolocate').hidden = true;
  const cfg = await mapConfig();
  const full = await publicConfig();
  if (Array.isArray(full.wards) && full.wards.length) {
    wards = full.wards;
    fillWards();
    $('#ward-field').hidden = false;
  }
  if (full.files === false) $('#evidence-set').hidden = true;
  files.draw();                      // the node's file limits, now known
  if (!cfg.tiles) $('#map-hint').dataset.pt = 'p_map_offline';
  applyPublic(document);
  try {
    picker = await pointPicker($('#map'), { ...cfg, onPick: (lat, lon) => setPin(lat, lon, false) });
  } catch (e) {
    $('#map').hidden = true;
    $('#map-hint').hidden = true;
  }
  document.body.dataset.loaded = '1';
}

main();
