// login.js — index.html: log in (user, password, optional OTP), then go on
// to ?next= (a path on this site only), else the user's landing page: the
// dashboard for a Department user at the city, the case list for everyone
// else.

import { $ } from './dom.js';
import { t, apply, lang, setLang } from './i18n.js';
import { api, session, setCsrf, showErrors, clearErrors, ApiError } from './api.js';

const params = new URLSearchParams(location.search);

function nextUrl (me) {
  const next = params.get('next') || '';
  // only a path of this site: "/x", never "//host" or "http:"
  if (/^\/(?!\/)[^\\]*$/.test(next) && !/^\/(index\.html)?(\?|$)/.test(next)) return next;
  return me && me.role === 'department' && me.node && me.node.role === 'city' ? '/dashboard.html' : '/cases.html';
}

function note () {
  const why = params.get('why');
  const box = $('#login-note');
  box.hidden = !why;
  if (why === 'logout') box.textContent = t('logged_out');
  else if (why === 'expired') box.textContent = t('session_expired');
}

async function main () {
  apply(document);
  note();
  $('#lang-toggle').addEventListener('click', () => setLang(lang() === 'vi' ? 'en' : 'vi'));
  document.addEventListener('hl:lang', note);
  // Already logged in (a second tab): go straight on
  if (params.get('why') !== 'logout') {
    try { const me = await session({ noRedirect: true }); location.replace(nextUrl(me)); return; } catch (e) { /* log in */ }
  }
  const form = $('#login');
  document.body.dataset.loaded = '1';
  const button = $('#login-button');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = { user: form.user.value.trim(), password: form.password.value };
    if (form.otp.value.trim()) body.otp = form.otp.value.trim();
    if (!body.user || !body.password) {
      showErrors(form, new ApiError(400, { error: t('err_check_fields'), field_errors:
        [!body.user && { field: 'user', message: t('err_required') },
         !body.password && { field: 'password', message: t('err_required') }].filter(Boolean) }));
      return;
    }
    button.disabled = true;
    try {
      const r = await api.post('/api/v1/session', body, { noRedirect: true });
      setCsrf(r.csrf);
      // the session's node decides the landing page (/api/v1/me has it)
      const me = await session({ noRedirect: true }).catch(() => null);
      location.assign(nextUrl(me));
    } catch (e) {
      if (e.status === 401) e.body.error = t('login_failed');
      if (e.status === 429) e.body.error = t('login_throttled');
      showErrors(form, e);
      form.password.value = '';
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
}

main();
