/*  hl_clone — the city's live aggregated stream (zguide "Clone" pattern).
 *
 *  The city archive's log is the durable source (seq 1, 2, 3 ... no gaps).
 *  The publisher serves it two ways, one hotline.Envelope per frame:
 *
 *      PUB     "monitor"   HopBatch {stream "monitor", items [one HopItem
 *                          {seq, payload = encoded Event}], head}
 *                          per update, and every second a heartbeat:
 *                          HopBatch {stream "monitor", no items, head}
 *      ROUTER  "snapshot"  HopCredit {stream "snapshot", cursor X, window N}
 *                          -> HopBatch {stream "snapshot", items seq > X
 *                          (at most N, and what fits in one frame), head};
 *                          the reply echoes the request's Envelope.msg_id.
 *                          window 0 asks for the head only.
 *
 *  Every Event leaves the publisher redacted (hl_event_redact): reporter
 *  personal data never appears on either socket. An item with an EMPTY
 *  payload is a placeholder for a log entry that could not be decoded or
 *  does not fit in a frame (logged at the publisher); it keeps the sequence
 *  contiguous and subscribers skip it.
 *
 *  The subscriber connects SUB first (the socket buffers updates), then
 *  pages through the snapshot from its cursor up to head, then delivers
 *  updates with seq == last+1 in order, skipping duplicates (seq <= last).
 *  On a gap (an update with seq > last+1, or a head > last in any update,
 *  heartbeat or snapshot page) it fetches the missing range from the
 *  snapshot endpoint. So a late joiner, a publisher restart (its seq
 *  continues from the durable log) and a dropped update (PUB drops
 *  silently at the high-water mark) all end with every event delivered
 *  once, in order. A dropped update at the tail is found by the next
 *  heartbeat.
 *
 *  The publisher finds the head of the source at start (a logarithmic
 *  probe through fetch) and re-checks it on every heartbeat, so the head it
 *  reports is the durable log's even if a publish call was missed.
 *
 *  Rules for callers:
 *  - Call hl_clone_pub_publish () only after the event is durable (after
 *    the commit): a subscriber that sees it and has a gap before it asks
 *    the snapshot endpoint, which must be able to serve it.
 *  - Publisher: same zloop rules as hl_hop (destroy after zloop_start ()
 *    returns or from a reader handler; never from inside fetch).
 *  - Subscriber: not tied to a zloop; one thread; hl_clone_sub_next blocks
 *    up to timeout_ms and returns -1 early when zsys_interrupted is set.
 *  - Test hook: HOTLINE_CLONE_DROP=N (read by hl_clone_pub_new) makes the
 *    publisher silently skip publishing seq N once (a list "N,M" works too,
 *    up to 8 seqs).
 */
#ifndef HL_CLONE_H_INCLUDED
#define HL_CLONE_H_INCLUDED

//  Same shape as hl_hop_fetch_fn: the archive's log fetch serves both.
typedef hl_hop_fetch_fn hl_clone_fetch_fn;

//  Start delivery at the head of the stream (new events only)
#define HL_CLONE_FROM_HEAD      UINT64_MAX

// ------------------------------------------------------------- publisher
typedef struct _hl_clone_pub_t hl_clone_pub_t;

//  Bind a PUB socket on pub_endpoint and a ROUTER on snapshot_endpoint,
//  registered on loop. fetch serves the durable source. NULL on error
//  (logged), e.g. an endpoint that cannot be bound.
hl_clone_pub_t *hl_clone_pub_new (zloop_t *loop, const char *pub_endpoint,
                                  const char *snapshot_endpoint,
                                  hl_clone_fetch_fn *fetch, void *arg);
void hl_clone_pub_destroy (hl_clone_pub_t **self_p);
//  Publish one durable log entry (data = encoded Event, redacted here).
//  Never blocks; a PUB drop is repaired by subscribers.
void hl_clone_pub_publish (hl_clone_pub_t *self, uint64_t seq,
                           const uint8_t *data, size_t size);
//  Newest seq known in the source
uint64_t hl_clone_pub_head (hl_clone_pub_t *self);
//  Heartbeat interval in ms (default 1000)
void hl_clone_pub_set_heartbeat (hl_clone_pub_t *self, int heartbeat_ms);
//  Resolved endpoints (tcp://host:* binds an ephemeral port)
const char *hl_clone_pub_endpoint (hl_clone_pub_t *self);
const char *hl_clone_pub_snapshot_endpoint (hl_clone_pub_t *self);

// ------------------------------------------------------------ subscriber
typedef struct _hl_clone_sub_t hl_clone_sub_t;

//  Deliver events with seq > from_seq (0 = from the start of the log;
//  HL_CLONE_FROM_HEAD = only events after the current head). NULL on error.
hl_clone_sub_t *hl_clone_sub_new (const char *pub_endpoint, const char *snapshot_endpoint,
                                  uint64_t from_seq);
void hl_clone_sub_destroy (hl_clone_sub_t **self_p);
//  Wait up to timeout_ms (< 0: forever) for the next event in order. On 0,
//  *seq is its seq and *data (malloc'd, caller frees) / *size the encoded,
//  redacted Hotline__Event. -1 on timeout or interrupt (zsys_interrupted).
int hl_clone_sub_next (hl_clone_sub_t *self, int timeout_ms, uint64_t *seq,
                       uint8_t **data, size_t *size);
//  Seq of the last event delivered (or skipped as a placeholder)
uint64_t hl_clone_sub_last (hl_clone_sub_t *self);
//  Newest seq the publisher has reported
uint64_t hl_clone_sub_head (hl_clone_sub_t *self);
//  Has the snapshot endpoint answered at least once?
bool hl_clone_sub_synced (hl_clone_sub_t *self);
//  Snapshot pages that repaired a gap once live (metrics)
uint64_t hl_clone_sub_repairs (hl_clone_sub_t *self);

void hl_clone_test (bool verbose);
#endif
