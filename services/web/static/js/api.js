// api.js — the one way the pages talk to the server (/api/v1, see services/web/API.md).
//
//   const me = await session();              // GET /api/v1/me; 401 -> the login page
//   const list = await api.get('/api/v1/cases', {state: 'verifying'});
//   await api.post(`/api/v1/cases/${id}/actions/assign`, body);
//
// Same-origin cookies only; every write carries X-CSRF-Token (from the login
// or /me). An error is thrown as ApiError, with the server's JSON ("error",
// "field", "field_errors", "allowed"); showErrors() puts each message next to
// the field it names. A 401 sends the browser back to the login page with
// ?next= so it returns here after logging in.
//
// The server's clock: pages count deadlines down against serverNow(), which
// follows the node's "now_ms" when an answer carries one, or the HTTP Date
// header, so a browser with a wrong clock still shows the right countdown.

import { h } from './dom.js';
import { t } from './i18n.js';

let csrf = null;
let skew = 0;                       // server clock - browser clock, ms
const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor (status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  get field () { return this.body.field; }
  get fieldErrors () {
    const list = Array.isArray(this.body.field_errors) ? this.body.field_errors.slice() : [];
    if (this.body.field) list.unshift({ field: this.body.field, message: this.body.error });
    return list;
  }
}

export function setCsrf (token) { csrf = token || null; }
export function serverNow () { return Date.now() + skew; }

function noteClock (res, body) {
  if (body && typeof body === 'object' && Number.isFinite(body.now_ms)) {
    skew = body.now_ms - Date.now();
    return;
  }
  const date = Date.parse(res.headers.get('Date') || '');
  if (Number.isFinite(date) && Math.abs(date - Date.now() - skew) > 5000) skew = date - Date.now();
}

export function loginUrl (reason) {
  const here = location.pathname + location.search;
  const q = new URLSearchParams();
  if (!/^\/(index\.html)?$/.test(location.pathname)) q.set('next', here);
  if (reason) q.set('why', reason);
  const s = q.toString();
  return '/index.html' + (s ? '?' + s : '');
}

// request(method, path, {query, body, noRedirect, timeout})
export async function request (method, path, opts = {}) {
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
    }
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout || TIMEOUT_MS);
  init.signal = ctl.signal;
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, { error: e.name === 'AbortError' ? t('err_timeout') : t('err_network'),
                            timeout: e.name === 'AbortError' });
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { body = await res.json(); } catch (e) { body = null; }
  } else {
    body = await res.text();
  }
  noteClock(res, body);
  if (res.status === 401 && !opts.noRedirect) {
    location.assign(loginUrl('expired'));
    throw new ApiError(401, body);
  }
  if (!res.ok) {
    if (typeof body !== 'object' || body === null) body = { error: `HTTP ${res.status}` };
    if (res.status === 403 && !body.error) body.error = t('err_forbidden');
    throw new ApiError(res.status, body);
  }
  return body;
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
  put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
};

// Who is logged in (and the CSRF token for writes)
export async function session (opts = {}) {
  const me = await request('GET', '/api/v1/me', opts);
  setCsrf(me.csrf);
  return me;
}

// ------------------------------------------------------------ errors on forms

// The form control a server field name points at: name="reporter.phone" or
// data-err="phone occurred ..." (the server names fields as in the report)
function controlFor (form, field) {
  if (!field) return null;
  const leaf = String(field).split('.').pop();
  for (const sel of [`[name="${CSS.escape(field)}"]`, `[data-err~="${CSS.escape(field)}"]`,
                     `[name="${CSS.escape(leaf)}"]`, `[data-err~="${CSS.escape(leaf)}"]`]) {
    const el = form.querySelector(sel);
    if (el) return el;
  }
  return null;
}

export function clearErrors (form) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  const box = form.querySelector('.form-error');
  if (box) { box.replaceChildren(); box.hidden = true; }
}

let errSeq = 0;
// Put each of err's messages next to its field; the rest in the form's .form-error box
export function showErrors (form, err) {
  clearErrors(form);
  const general = [];
  let first = null;
  const list = err instanceof ApiError ? err.fieldErrors : [];
  for (const fe of list) {
    const control = controlFor(form, fe.field);
    if (!control) { general.push(fe.field ? `${fe.field}: ${fe.message}` : fe.message); continue; }
    const id = `err-${++errSeq}`;
    const msg = h('p.field-error', { id, role: 'alert' }, fe.message || t('err_generic'));
    const anchor = control.closest('.field') || control;
    anchor.appendChild(msg);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', id);
    if (!first) first = control;
  }
  const message = (err instanceof ApiError && err.body.error) || (err && err.message) || String(err);
  if (!list.length || general.length) general.unshift(message);
  else if (list.length) general.unshift(t('err_check_fields'));
  const box = form.querySelector('.form-error');
  if (box) {
    box.replaceChildren(...[...new Set(general)].map((m) => h('p', m)));
    if (err instanceof ApiError && Array.isArray(err.body.allowed) && err.body.allowed.length) {
      box.appendChild(h('p', `${t('allowed_now')}: ${err.body.allowed.join(', ')}`));
    }
    box.hidden = false;
  }
  (first || box)?.focus?.();
}
