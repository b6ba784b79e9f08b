// public-files.js — the evidence a citizen picks (photos, audio, video),
// for the report form and the tracking page.
//
//   const picker = filePicker({inputs: [camera, chooser], list, hint, form});
//   picker.files        // the File objects, in order
//   picker.append(fd)   // each as a part "evidence" of a FormData
//   picker.clear();  picker.draw();   // draw again after a language change
//
// A file input replaces its selection each time it is used, so the files
// are kept here and each input only adds: a reporter can take a photo,
// then another, then add a recording. Each file shows with a thumbnail
// (a blob: URL, allowed by the CSP's img-src) and a button to drop it.
//
// The checks use the node's own limits (web/evidence_max_files,
// web/evidence_max_bytes, from GET /api/v1/public/config: publicConfig()
// below; the server's defaults, 5 and 10 MB, until it answers) only to
// save a wasted upload: the server still decides, and its refusal is
// shown next to the files. The type is not checked here: the server reads
// the content's magic bytes, never the name or the browser's guess.

import { h, fill } from './dom.js';
import { api, ApiError, showErrors, clearErrors } from './api.js';
import { t } from './i18n.js';
import { pt, plain } from './public-i18n.js';

export const LIMITS = { maxFiles: 5, maxBytes: 10 * 1024 * 1024 };
const MAX_NAME = 80;                 // characters of a filename sent (the server allows 255 bytes)
const mb = () => Math.max(1, Math.round(LIMITS.maxBytes / 1024 / 1024));

let configAsked = null;

// GET /api/v1/public/config, once per page: {map: {tiles, attribution,
// center, zoom}, evidence_max_files, evidence_max_bytes}; LIMITS follows
// it. A node that does not answer leaves the defaults (and a null map:
// map.js's default centre over the coordinate grid), so the form still works
export function publicConfig () {
  if (!configAsked) {
    configAsked = api.get('/api/v1/public/config', null, { noRedirect: true, timeout: 10000 })
      .then((cfg) => {
        if (Number.isInteger(cfg.evidence_max_files) && cfg.evidence_max_files > 0) LIMITS.maxFiles = cfg.evidence_max_files;
        if (Number.isInteger(cfg.evidence_max_bytes) && cfg.evidence_max_bytes > 0) LIMITS.maxBytes = cfg.evidence_max_bytes;
        return cfg;
      })
      .catch(() => ({ map: null }));
  }
  return configAsked;
}

function fmtSize (bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}

// A name the server will take: it refuses '/', '\', '..' and control
// characters (it never uses the name: files are kept by their content)
export function safeName (name) {
  let s = String(name || '').replace(/[\u0000-\u001f\u007f/\\]/g, '_').replace(/\.{2,}/g, '.');
  if (s.length > MAX_NAME) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    s = s.slice(0, MAX_NAME - ext.length) + ext;
  }
  return s || 'tep';
}

export function filePicker ({ inputs, list, hint, form }) {
  let items = [];                    // [{file, url}]

  function draw () {
    hint.textContent = pt('p_files_hint', { count: LIMITS.maxFiles, mb: mb() });
    fill(list, items.map((f, i) => h('li.file-item',
      f.url ? h('img.thumb', { src: f.url, alt: '' })
            : h('span.thumb.kind', { 'aria-hidden': 'true' }, (f.file.type.split('/')[0] || '?').slice(0, 5)),
      h('span.file-meta', h('span.file-name', f.file.name), h('span.file-size', fmtSize(f.file.size))),
      h('button.btn.secondary.small', { type: 'button', 'aria-label': pt('p_remove_file', { name: f.file.name }),
                                        on: { click: () => remove(i) } }, pt('p_remove')))));
    const full = items.length >= LIMITS.maxFiles;
    for (const input of inputs) input.disabled = full;
  }

  function add (chosen) {
    const problems = [];
    for (const file of chosen) {
      if (items.length >= LIMITS.maxFiles) { problems.push(pt('p_too_many', { count: LIMITS.maxFiles })); break; }
      if (file.size === 0) { problems.push(pt('p_empty_file', { name: file.name })); continue; }
      if (file.size > LIMITS.maxBytes) { problems.push(pt('p_too_big', { name: file.name, mb: mb() })); continue; }
      items.push({ file, url: /^image\//.test(file.type) ? URL.createObjectURL(file) : null });
    }
    draw();
    clearErrors(form);
    if (problems.length) {
      showErrors(form, new ApiError(400, { error: pt('p_err_check'),
        field_errors: problems.map((message) => ({ field: 'evidence', message })) }));
    }
  }

  function remove (i) {
    const [gone] = items.splice(i, 1);
    if (gone && gone.url) URL.revokeObjectURL(gone.url);
    draw();
  }

  function clear () {
    for (const f of items) if (f.url) URL.revokeObjectURL(f.url);
    items = [];
    draw();
  }

  for (const input of inputs) {
    input.addEventListener('change', () => { add(Array.from(input.files || [])); input.value = ''; });
  }
  draw();
  return {
    get files () { return items.map((f) => f.file); },
    append (fd) { for (const f of items) fd.append('evidence', f.file, safeName(f.file.name)); },
    clear,
    draw,
  };
}

// POST a FormData (no time-out: a phone on a slow network may need minutes
// for a video). -> {status, body, retryAfter}; a network failure throws an
// ApiError with status 0
export async function postForm (url, fd) {
  let res;
  try {
    res = await fetch(url, { method: 'POST', body: fd, headers: { Accept: 'application/json' },
                             credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { error: t('err_network') });
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  return { status: res.status, body: body || {}, retryAfter: res.headers.get('Retry-After') };
}

// The refusals every public request can meet, in plain words: too many
// (429), the node busy (5xx), a file refused (413, 415, or "evidence");
// null for the rest (the page words them by field)
export function commonRefusal (status, body, retryAfter) {
  const mk = (field, message) => new ApiError(status, { error: message, field });
  if (status === 429) {
    return mk(null, pt('p_err_busy', { min: Math.max(1, Math.ceil((Number(retryAfter) || 3600) / 60)) }));
  }
  if (status === 0 || status >= 500) return mk(null, pt('p_err_server'));
  if (status === 413 || status === 415 || body.field === 'evidence') return mk('evidence', plain(body.error));
  return null;
}
