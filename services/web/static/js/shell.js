// shell.js — what every signed-in page shares: the header (ward, navigation,
// user, language toggle, log out), the language, and the session.
//
//   const me = await start('cases');    // the page's nav key; returns /api/v1/me

import { h, fill, $ } from './dom.js';
import { t, apply, lang, setLang, code } from './i18n.js';
import { api, session, loginUrl } from './api.js';

const NAV = [
  { key: 'intake', href: '/intake.html', label: 'nav_intake', when: (me) => me.can_act !== false && me.role !== 'viewer' },
  { key: 'dashboard', href: '/dashboard.html', label: 'nav_dashboard', when: (me) => me.node && me.node.role === 'city' },
  { key: 'cases', href: '/cases.html', label: 'nav_cases' },
  { key: 'report', href: '/report.html', label: 'nav_report' },
  { key: 'users', href: '/users.html', label: 'nav_users', when: (me) => me.is_admin || me.role === 'admin' },
];

function header (me, current) {
  const node = me.node || {};
  const place = node.ward_name || node.name || '';
  const nav = h('nav.nav', { 'aria-label': t('app_short') },
    NAV.filter((n) => !n.when || n.when(me)).map((n) =>
      h('a', { href: n.href, 'aria-current': n.key === current ? 'page' : null }, t(n.label))));
  const toggle = h('button.btn-link.lang', { type: 'button', id: 'lang-toggle', title: t('lang_toggle_title'),
    on: { click: () => setLang(lang() === 'vi' ? 'en' : 'vi') } }, t('lang_toggle'));
  const logout = h('button.btn-link', { type: 'button', id: 'logout', on: { click: doLogout } }, t('logout'));
  return [
    h('a.skip', { href: '#main' }, t('skip')),
    h('div.bar',
      h('a.brand', { href: '/cases.html' },
        h('span.brand-mark', { 'aria-hidden': 'true' }),
        h('span.brand-text', h('strong', t('app_name')), h('span.brand-place', [place, node.city].filter(Boolean).join(', ')))),
      h('div.who',
        h('span.user', { id: 'who' }, me.user, ' · ', code('role', me.role) || me.role),
        toggle, logout)),
    nav,
  ];
}

async function doLogout () {
  try { await api.del('/api/v1/session', { noRedirect: true }); } catch (e) { /* gone anyway */ }
  location.assign('/index.html?why=logout');
}

export async function start (current) {
  apply(document);
  let me;
  try {
    me = await session();
  } catch (e) {
    if (e.status !== 401) {
      const main = $('#main');
      if (main) fill(main, h('p.alert', e.message));
    }
    throw e;
  }
  const top = $('#top');
  const draw = () => { if (top) fill(top, header(me, current)); };
  draw();
  document.addEventListener('hl:lang', draw);
  document.body.classList.add('ready');
  return me;
}

export { loginUrl };
