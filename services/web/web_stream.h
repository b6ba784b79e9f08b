/*  web_stream — the city's live page: the Clone stream turned into
 *  Server-Sent Events (GET /api/v1/stream, API.md "The live stream").
 *
 *  One thread follows the city's monitor and snapshot endpoints through
 *  hl_clone (every event once, in the city log's order, already redacted)
 *  and keeps the newest events in a bounded ring, each formatted once as an
 *  SSE frame:
 *
 *      id: 1234                        the city's log sequence
 *      event: case                     (directory: a ward's focal points)
 *      data: {"seq", "ward", "case_id", "action", "variant", "from_state",
 *             "to_state", "at_ms", ["type", "urgent", "lat", "lon"]}
 *
 *  A whitelist of fields: no reporter, no note, no description, no actor,
 *  whatever the event holds.
 *
 *  Each dashboard is one connection with a cursor into the ring, nothing
 *  copied per client beyond one bounded chunk. It starts with a "retry:"
 *  line, then:
 *    - with Last-Event-ID (or ?last_event_id=) N still in the ring: every
 *      event after N, in order;
 *    - with none, or N older than the ring ("behind"), or N beyond the
 *      city's head ("ahead": a restored city): first an `event: snapshot`
 *      whose data is {"seq", "reason", "floor", "events": [the newest
 *      web/stream_recent events]} and whose id is the newest seq; then
 *      what follows.
 *  Connections are parked with MHD_suspend_connection while there is
 *  nothing to send, and resumed by the thread when events arrive or every
 *  web/stream_keepalive_s (a ": keep-alive" comment line): no polling.
 *
 *  A dashboard that does not read fills its bounded buffer (one chunk of
 *  web/stream_buffer / 2 bytes here, and a socket send buffer of the same
 *  size); its cursor then stops, and when the ring moves past it, its
 *  socket having taken nothing for 2 s, the connection is dropped (the
 *  browser's EventSource reconnects and gets a snapshot). One the ring
 *  passes while it reads (the HTTP threads run at a lower priority at the
 *  city, web/stream_nice, and fall behind a burst when ingest needs the
 *  CPU) gets the "behind" snapshot in its stream instead. Nothing in the
 *  thread ever waits for a client: ingest at the city never sees one.
 *
 *  Config section web (defaults in brackets):
 *      stream_ring             events kept for resuming and for dashboards
 *                              the HTTP threads fall behind in a burst [65536]
 *      stream_recent           events in a snapshot [50]
 *      stream_buffer           bytes a dashboard may hold unsent [65536]
 *      stream_keepalive_s      keep-alive comment interval [15]
 *      stream_nice             added to the HTTP threads' nice [19]
 *  Endpoints: monitor and snapshot (the city's base+8 and base+9).
 *  Metrics: hotline_web_stream_clients, hotline_web_stream_last_seq,
 *  hotline_web_stream_events_total, hotline_web_stream_snapshots_total,
 *  hotline_web_stream_dropped_total.
 *
 *  Rules for callers:
 *  - One per process, made by main at the city before the HTTP server
 *    (web_stream_default () finds it; NULL at a ward, where the route is
 *    a 404).
 *  - Requires the server's daemon to run with MHD_ALLOW_SUSPEND_RESUME.
 *  - Shut down in three steps: web_stream_stop (every dashboard's response
 *    ends, the thread stops), then web_server_destroy (MHD frees each
 *    client through its response), then web_stream_destroy.
 */
#ifndef WEB_STREAM_H_INCLUDED
#define WEB_STREAM_H_INCLUDED
#include "web_request.h"

typedef struct _web_stream_t web_stream_t;

//  Read the config and start following the city. NULL on a config error
//  (printed).
web_stream_t *web_stream_new (hl_service_t *service);
void web_stream_stop (web_stream_t *self);
void web_stream_destroy (web_stream_t **self_p);
//  The process's stream, or NULL
web_stream_t *web_stream_default (void);
//  GET /api/v1/stream: answer with the event stream (request->response),
//  or a 400 for a bad Last-Event-ID, a 404 when self is NULL
void web_stream_handle (web_stream_t *self, web_request_t *request);
//  The newest city seq received (0 before any): what a cached figure saw
uint64_t web_stream_last (web_stream_t *self);

void web_stream_test (bool verbose);
#endif
