// dashboard-stream.js — the city's live stream (GET /api/v1/stream, Server-
// Sent Events) with its reconnection.
//
//   const stream = follow({ onEvent, onSnapshot, onStatus });
//
// Every event carries the city's sequence number as its id. While the
// connection is up the browser's EventSource reconnects by itself and sends
// Last-Event-ID, so the server resends exactly what was missed. If the
// EventSource gives up (the server answered with an error, e.g. while the
// city's web service restarts), a new one is opened with ?last_event_id=,
// with a growing delay: the same resume, done by hand. An event already
// seen (seq <= the last one) is ignored. onStatus gets 'connecting', 'live'
// or 'reconnecting'.

const EVENTS = ['case', 'directory'];

export function follow ({ onEvent, onSnapshot, onStatus }) {
  let source = null;
  let last = null;            // the last seq handled
  let timer = null;
  let delay = 1000;
  let opened = false;

  function status (s) { if (onStatus) onStatus(s, last); }

  function handle (ev, fn) {
    const seq = Number(ev.lastEventId);
    let data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    if (Number.isFinite(seq) && last !== null && seq <= last && ev.type !== 'snapshot') return;
    if (Number.isFinite(seq)) last = seq;
    fn(data, seq);
  }

  function open () {
    timer = null;
    const url = last === null ? '/api/v1/stream' : `/api/v1/stream?last_event_id=${last}`;
    source = new EventSource(url);
    status(opened ? 'reconnecting' : 'connecting');
    source.addEventListener('open', () => { delay = 1000; opened = true; status('live'); });
    source.addEventListener('snapshot', (ev) => handle(ev, (data) => onSnapshot && onSnapshot(data)));
    for (const name of EVENTS) source.addEventListener(name, (ev) => handle(ev, (data) => onEvent && onEvent(data)));
    source.addEventListener('error', () => {
      status('reconnecting');
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (!timer) timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      }
      // CONNECTING: the browser retries by itself, with Last-Event-ID
    });
  }

  open();
  return {
    last: () => last,
    close () { if (timer) clearTimeout(timer); if (source) source.close(); },
  };
}
