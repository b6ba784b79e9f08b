// users.js — users.html (role admin): list the accounts, add one, set a new
// password, disable or enable; and the node's dead letters. The roles
// offered are the procedure's human roles plus viewer and admin.

import { h, fill, $ } from './dom.js';
import { t, code, fmtTime } from './i18n.js';
import { api, showErrors, clearErrors } from './api.js';
import { start } from './shell.js';
import { procedure } from './procedure.js';

const form = $('#add-user');
let roles = ['officer', 'division', 'leader', 'department', 'viewer', 'admin'];
let users = [];
let resetFor = null;

function password () {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function note (...parts) {
  const box = $('#user-note');
  fill(box, ...parts);
  box.hidden = false;
}

function resetRow (u) {
  const f = h('form.buttons', { novalidate: true },
    h('div.form-error', { role: 'alert', tabindex: '-1', hidden: true }),
    h('label', { for: 'reset-pw' }, t('new_password')),
    h('input', { type: 'text', id: 'reset-pw', name: 'password', value: password(), autocomplete: 'new-password' }),
    h('button.btn.small', { type: 'submit' }, t('reset_password')),
    h('button.btn.secondary.small', { type: 'button', on: { click: () => { resetFor = null; draw(); } } }, t('cancel')));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const pw = f.elements.password.value;
    try {
      await api.post(`/api/v1/users/${encodeURIComponent(u.name)}/password`, { password: pw });
      resetFor = null;
      note(t('password_set', { name: u.name }), ' ', h('span.secret', pw), ' ', t('password_show_once'));
      await load();
    } catch (e) { showErrors(f, e); }
  });
  return h('tr', h('td', { colspan: 7 }, f));
}

function draw () {
  const cols = ['user', 'role', 'dl_status', 'totp', 'created', 'last_login', ''];
  fill($('#users'), h('table.cards.users',
    h('thead', h('tr', cols.map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
    h('tbody', users.map((u) => [
      h('tr', { dataset: { user: u.name } },
        h('td', { 'data-label': t('user') }, h('strong', u.name)),
        h('td', { 'data-label': t('role') }, code('role', u.role) || u.role),
        h('td', { 'data-label': t('dl_status') }, u.disabled ? h('span.badge.late', t('disabled')) : t('active')),
        h('td', { 'data-label': t('totp') }, u.totp ? t('yes') : t('no')),
        h('td', { 'data-label': t('created') }, fmtTime(u.created_ms) || t('none')),
        h('td', { 'data-label': t('last_login') }, fmtTime(u.last_login_ms) || t('none')),
        h('td', h('div.buttons',
          h('button.btn.secondary.small', { type: 'button', on: { click: () => { resetFor = u.name; draw(); $('#reset-pw')?.focus(); } } }, t('reset_password')),
          h('button.btn.small', { type: 'button', class: u.disabled ? null : 'danger',
            on: { click: () => disable(u, !u.disabled) } }, u.disabled ? t('enable') : t('disable'))))),
      resetFor === u.name ? resetRow(u) : null,
    ]))));
  fill(form.elements.role, roles.map((r) => h('option', { value: r }, code('role', r) || r)));
}

async function disable (u, disabled) {
  try {
    await api.post(`/api/v1/users/${encodeURIComponent(u.name)}/disable`, { disabled });
    await load();
  } catch (e) { note(e.message); }
}

async function load () {
  const list = await api.get('/api/v1/users');
  users = Array.isArray(list) ? list : (list.users || []);
  draw();
}

async function deadletters () {
  const box = $('#deadletters');
  try {
    const r = await api.get('/api/v1/deadletters');
    const list = Array.isArray(r) ? r : (r.deadletters || r.messages || []);
    if (!list.length) { fill(box, h('p.muted', t('no_deadletters'))); return; }
    const keys = Object.keys(list[0]).slice(0, 7);
    fill(box, h('div.table-scroll', h('table',
      h('thead', h('tr', keys.map((k) => h('th', k)))),
      h('tbody', list.map((d) => h('tr', keys.map((k) => h('td',
        /_ms$/.test(k) ? fmtTime(d[k]) : (typeof d[k] === 'object' ? JSON.stringify(d[k]) : String(d[k] ?? ''))))))))));
  } catch (e) {
    fill(box, h('p.muted', e.message));
  }
}

async function main () {
  const me = await start('users');
  if (!(me.is_admin || me.role === 'admin')) { $('#not-admin').hidden = false; document.body.dataset.loaded = '1'; return; }
  $('#admin').hidden = false;
  try {
    const proc = await procedure();
    const human = (proc.roles || []).map((r) => r.name).filter((r) => r !== 'system');
    if (human.length) roles = [...human, 'viewer', 'admin'];
  } catch (e) { /* the default list */ }
  document.addEventListener('hl:lang', draw);
  $('#gen').addEventListener('click', () => { form.elements.password.value = password(); });
  form.elements.password.value = password();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim(), role: form.elements.role.value,
                   password: form.elements.password.value };
    try {
      await api.post('/api/v1/users', body);
      note(t('user_added', { name: body.name }), ' ', t('password'), ': ', h('span.secret', body.password), ' ',
        t('password_show_once'));
      form.reset();
      form.elements.password.value = password();
      await load();
    } catch (e) { showErrors(form, e); }
  });
  await load();
  document.body.dataset.loaded = '1';
  deadletters();
}

main();
