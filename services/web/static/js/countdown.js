// countdown.js — live deadline countdowns. An element made by countdown(due)
// shows "còn 3 giờ 10 phút" / "quá hạn 20 phút" and is refreshed every
// second against the server's clock (api.serverNow).

import { h } from './dom.js';
import { fmtCountdown, fmtTime } from './i18n.js';
import { serverNow } from './api.js';

const SOON_MS = 2 * 3600 * 1000;

export function countdown (dueMs, { warnMs } = {}) {
  const el = h('span.countdown', { dataset: { due: dueMs, warn: warnMs || '' }, title: fmtTime(dueMs) });
  update(el, serverNow());
  return el;
}

function update (el, now) {
  const due = Number(el.dataset.due);
  const warn = Number(el.dataset.warn);
  el.textContent = fmtCountdown(due, now);
  el.classList.toggle('late', now > due);
  el.classList.toggle('soon', now <= due && (warn ? now >= warn : due - now < SOON_MS));
}

function tick () {
  const now = serverNow();
  for (const el of document.querySelectorAll('.countdown[data-due]')) update(el, now);
}

let timer = null;
export function startTicking () {
  if (!timer) timer = setInterval(tick, 1000);
  document.addEventListener('hl:lang', tick);
}
