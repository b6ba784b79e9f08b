// track.js — track.html#<token>: the reporter follows their case.
//
// The token is the key (services/web/API.md, "Citizens"): it sits in the
// URL's fragment, so the browser never sends it in a request line or a
// Referer; only this page puts it into the API's path. The answer holds
// only what the reporter may see — the state, the running deadlines, the
// steps, the result note once they are informed, their own report — and
// "can": what the procedure lets the role `citizen` do now. The buttons
// (rate, "not fixed", add a photo) are drawn from "can" alone, so the
// procedure data decides, never this page.
//
// At the city (API.md, "Filing at a ward") the token opens a report the
// city filed at its ward: "pending" (no case number, the ward's name) until
// the ward's case has reached the city, then that case as the city holds
// it; rate and "not fixed" are filed at the ward the same way, and no file
// is taken there ("can" never says attach).
//
// After an action the server has the command durably at intake, and the
// case view (the archive) follows a moment later: the page reads the case
// again until the change shows. It also reads it every 30 s while visible.

import { h, fill, $ } from './dom.js';
import { code, lang, setLang, stateLabel, fmtTime } from './i18n.js';
import { api, ApiError, showErrors, clearErrors, serverNow } from './api.js';
import { countdown, startTicking } from './countdown.js';
import { pt, plain, stateHelp, applyPublic } from './public-i18n.js';
import { filePicker, postForm, commonRefusal, publicConfig } from './public-files.js';

const POLL_MS = 30000;
let token = '';
let data = null;
let files = null;
let busy = false;

const path = (what) => `/api/v1/public/track/${encodeURIComponent(token)}${what ? '/' + what : ''}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function problem (message) {
  $('#loading').hidden = true;
  $('#problem').textContent = message;
  $('#problem').hidden = !message;
}

async function fetchCase () {
  return api.get(path(), null, { noRedirect: true, timeout: 20000 });
}

async function load () {
  if (!token) { problem(pt('track_no_token')); $('#case').hidden = true; return; }
  try {
    data = await fetchCase();
    problem('');
    draw();
  } catch (e) {
    if (e.status === 404) { data = null; $('#case').hidden = true; problem(pt('track_not_found')); }
    else problem(e.status === 0 ? e.message : pt('p_err_server'));
  }
}

// Read the case again until pred(answer) holds (the archive follows intake
// by a moment), then draw; at most ~10 s, then draw what there is
async function refreshUntil (pred) {
  for (let i = 0, wait = 200; i < 25; i++, wait = Math.min(wait * 1.5, 1000)) {
    try {
      const answer = await fetchCase();
      data = answer;
      if (pred(answer)) break;
    } catch (e) { /* the next try */ }
    await sleep(wait);
  }
  draw();
}

// ------------------------------------------------------------ drawing

function draw () {
  if (!data) return;
  $('#loading').hidden = true;
  $('#case').hidden = false;
  // At the city, a report on its way to the ward has no number yet
  const pending = !!data.pending;
  $('#case-id').textContent = data.case_id || pt('track_no_number');
  $('#received').textContent = `${pt('track_received')} ${fmtTime(data.received_ms)}`
    + (data.ward_name ? ` · ${data.ward_name}` : '');
  const state = $('#state');
  // ... or the ward refused it: final, said with the ward's reason
  const refused = data.refused || null;
  const ward = data.ward_name || data.ward || '';
  state.textContent = refused ? pt('track_refused', { ward })
    : pending ? pt('track_pending', { ward }) : stateLabel(data.state, data.state_label);
  state.dataset.state = pending ? 'pending' : data.state;
  $('#state-help').textContent = refused ? pt('track_refused_help', { reason: refused.reason || '' })
    : pending ? pt('track_pending_help') : stateHelp(data.state);

  $('#result').hidden = !data.result_note;
  $('#result-note').textContent = data.result_note || '';

  const deadlines = Array.isArray(data.deadlines) ? data.deadlines.slice().sort((a, b) => a.due_ms - b.due_ms) : [];
  fill($('#deadlines'), deadlines.length
    ? deadlines.map((d) => h('li', { dataset: { deadline: d.name } },
        h('span.dl-name', code('deadline', d.name)),
        h('span', pt('track_due', { when: fmtTime(d.due_ms) }), ' · ', countdown(d.due_ms))))
    : h('li.muted', pt('track_no_deadline')));

  $('#type').textContent = data.type ? code('type', data.type) : '';
  $('#location').textContent = data.location || '';
  $('#description').textContent = data.description || '';
  const n = Array.isArray(data.evidence) ? data.evidence.length : 0;
  $('#files-count').textContent = pt('track_files_n', { n });
  $('#files-count').dataset.count = n;

  fill($('#history'), (data.history || []).map((s) => h('li',
    h('span.when', fmtTime(s.at_ms)), h('span', { dataset: { state: s.state || '' } },
                                         stateLabel(s.state, s.state_label)))));

  drawActions();
  $('#updated').textContent = pt('track_updated', { when: fmtTime(serverNow()) });
  document.body.dataset.loaded = '1';
}

function drawActions () {
  const can = data.can || {};
  const rated = data.rating === 'satisfied' || data.rating === 'unsatisfied';
  $('#rate-box').hidden = !(can.rate || rated);
  $('#rate-buttons').hidden = !can.rate || rated;
  const rating = $('#rating');
  rating.className = rated ? `rated ${data.rating}` : '';
  rating.textContent = rated
    ? pt('track_rated', { r: pt(data.rating === 'satisfied' ? 'track_satisfied' : 'track_unsatisfied') }) : '';
  $('#reopen-box').hidden = !can.reopen;
  if (!can.reopen) toggleReopen(false);
  $('#attach-box').hidden = !can.attach;
}

// ------------------------------------------------------------ actions

// A refusal of an action in plain words; 409: the case moved on
function actionError (e) {
  if (!(e instanceof ApiError)) return new ApiError(0, { error: String(e) });
  if (e.status === 409) return new ApiError(409, { error: pt('track_not_now') });
  const common = commonRefusal(e.status, e.body || {}, null);
  if (common) return common;
  if (e.body && e.body.field === 'note') return new ApiError(400, { error: pt('track_note_required'), field: 'note' });
  return new ApiError(e.status, { error: plain(e.message), field: e.body && e.body.field });
}

async function rate (satisfied) {
  if (busy) return;
  busy = true;
  const rating = $('#rating');
  for (const b of $('#rate-buttons').querySelectorAll('button')) b.disabled = true;
  try {
    await api.post(path('rate'), { satisfied }, { noRedirect: true });
    rating.className = 'rated';
    rating.textContent = pt('track_rated_thanks');
    await refreshUntil((d) => !!d.rating);
  } catch (e) {
    const err = actionError(e);
    rating.className = 'field-error';
    rating.textContent = err.message;
    if (e.status === 409) await load();
  } finally {
    busy = false;
    for (const b of $('#rate-buttons').querySelectorAll('button')) b.disabled = false;
  }
}

function toggleReopen (open) {
  $('#reopen-form').hidden = !open;
  $('#reopen-open').hidden = open;
  $('#reopen-open').setAttribute('aria-expanded', String(open));
  if (open) $('#reopen-note').focus();
}

async function reopen () {
  const form = $('#reopen-form');
  if (busy) return;
  clearErrors(form);
  const note = $('#reopen-note').value.trim();
  if (!note) {
    showErrors(form, new ApiError(400, { error: pt('track_note_required'), field: 'note' }));
    return;
  }
  busy = true;
  $('#reopen-send').disabled = true;
  const before = data.state;
  try {
    await api.post(path('reopen'), { note }, { noRedirect: true });
    $('#reopen-note').value = '';
    toggleReopen(false);
    $('#state-help').textContent = pt('track_reopened');
    await refreshUntil((d) => d.state !== before);
  } catch (e) {
    showErrors(form, actionError(e));
    if (e.status === 409) await load();
  } finally {
    busy = false;
    $('#reopen-send').disabled = false;
  }
}

async function attach () {
  const form = $('#attach-form');
  if (busy) return;
  clearErrors(form);
  $('#attach-done').hidden = true;
  const chosen = files.files;
  if (!chosen.length) {
    showErrors(form, new ApiError(400, { error: pt('track_no_files'), field: 'evidence' }));
    return;
  }
  const fd = new FormData();
  files.append(fd);
  const note = $('#attach-note').value.trim();
  if (note) fd.append('note', note);
  busy = true;
  $('#attach-send').disabled = true;
  $('#attach-send').textContent = pt('p_sending');
  const before = Array.isArray(data.evidence) ? data.evidence.length : 0;
  try {
    const { status, body, retryAfter } = await postForm(path('evidence'), fd);
    if (status !== 200) {
      throw commonRefusal(status, body, retryAfter)
        || actionError(new ApiError(status, body));
    }
    const sent = Array.isArray(body.evidence) ? body.evidence.length : chosen.length;
    files.clear();
    $('#attach-note').value = '';
    $('#attach-done').textContent = pt('track_added', { n: sent });
    $('#attach-done').hidden = false;
    await refreshUntil((d) => (d.evidence || []).length > before);
  } catch (e) {
    showErrors(form, e instanceof ApiError ? e : actionError(e));
    if (e.status === 409) await load();
  } finally {
    busy = false;
    $('#attach-send').disabled = false;
    $('#attach-send').textContent = pt('track_add_send');
  }
}

// ------------------------------------------------------------ start

function readToken () {
  // The fragment only; "#" alone, or anything but the token's characters,
  // is no link at all
  const raw = location.hash.replace(/^#/, '');
  token = /^[A-Za-z0-9_-]{16,128}$/.test(raw) ? raw : '';
}

function redraw () {
  applyPublic(document);
  if (files) files.draw();
  draw();
}

function main () {
  applyPublic(document);
  $('#lang-toggle').addEventListener('click', () => setLang(lang() === 'vi' ? 'en' : 'vi'));
  document.addEventListener('hl:lang', redraw);
  files = filePicker({ inputs: [$('#t-camera'), $('#t-files')], list: $('#t-file-list'),
                       hint: $('#t-files-hint'), form: $('#attach-form') });
  $('#rate-yes').addEventListener('click', () => rate(true));
  $('#rate-no').addEventListener('click', () => rate(false));
  $('#reopen-open').addEventListener('click', () => toggleReopen(true));
  $('#reopen-cancel').addEventListener('click', () => toggleReopen(false));
  $('#reopen-form').addEventListener('submit', (ev) => { ev.preventDefault(); reopen(); });
  $('#attach-form').addEventListener('submit', (ev) => { ev.preventDefault(); attach(); });
  $('#refresh').addEventListener('click', () => { if (!busy) load(); });
  window.addEventListener('hashchange', () => { readToken(); load(); });
  setInterval(() => { if (!busy && token && document.visibilityState === 'visible') load(); }, POLL_MS);
  startTicking();
  // The node's file limits for the picker's early checks (the server decides)
  publicConfig().then(() => files.draw());
  readToken();
  load().finally(() => { document.body.dataset.loaded = '1'; });
}

main();
