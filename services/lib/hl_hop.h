/*  hl_hop — the one reliable hop. Every event that moves between processes
 *  or between nodes moves through this class:
 *
 *      intake  --(stream "intake")-->  archive        (archive pulls)
 *      archive --(stream "log")----->  routing, deadline-watcher, notification
 *      ward archive --(stream <ward code>)--> city archive   (ward connects)
 *
 *  The sender owns a durable, numbered source (an outbox or log table) and
 *  serves it through a fetch callback. The receiver applies each batch and
 *  records its cursor in ONE transaction (apply callback), then grants more
 *  credit. Protocol (one hotline.Envelope per frame):
 *
 *      receiver -> sender   HopCredit {stream, cursor, window, reset}
 *                           "applied through cursor; send seq <= cursor+window"
 *      sender -> receiver   HopBatch  {stream, items[seq,payload], head}
 *      sender -> receiver   HopHello  {stream}  when the sender is the side
 *                           that connected, and as heartbeat when idle
 *
 *  - Pipelined: the sender streams batches while credit lasts; no round trip
 *    per event. The receiver re-credits when half the window is used or it
 *    has caught up with head; each batch fits in one frame (HL_MAX_MSG_SIZE).
 *  - Gaps: a receiver that sees seq != cursor+1 drops the batch and sends a
 *    reset credit; the sender rewinds to the cursor. Duplicates (seq <=
 *    cursor) are skipped. So delivery is at least once, effect exactly once.
 *    A failed apply (-1) is retried the same way after a short delay.
 *  - First contact: a connecting receiver sends a reset credit; a bound
 *    receiver answers a sender's first HopHello with one. A sender treats
 *    the first credit from a peer as a reset, so a restarted side always
 *    resumes from the receiver's durable cursor.
 *  - Heartbeats when idle (heartbeat_ms): a receiver repeats its credit; a
 *    connecting sender repeats HopHello until its first credit (a bound
 *    receiver answers with one), then sends an empty HopBatch carrying
 *    head, as a bound sender does. A sender answers a reset credit it has
 *    nothing to send for with an empty HopBatch, so the receiver stops
 *    asking. A bound receiver takes a batch from a connection that has not
 *    said hello (it restarted, and ZeroMQ reconnected the sender) as that
 *    hello, authorized the same way, and asks for a rewind.
 *  - Liveness: a receiver owed data (head > cursor) that makes no progress
 *    for `timeout_ms`, although it has read everything queued on its
 *    socket since, re-sends a reset credit; a receiver that hears nothing
 *    at all for timeout_ms does too (and reconnects, if it connected). A
 *    receiver working through a backlog does not: the batches are queued,
 *    not lost. A connecting sender that hears nothing for timeout_ms
 *    reconnects; as a backstop, a sender whose receiver's cursor does not
 *    move for 10 x timeout_ms while data is in flight rewinds to it. Bound
 *    sides forget peers silent for timeout_ms. The socket also has TCP
 *    keepalive (hl_sock_harden), so a dead machine's connection is closed.
 *  - Either side may bind or connect. A bound receiver serves many senders
 *    (the city and its wards): each sender names its stream in HopHello and
 *    the authorize callback decides, from the CurveZMQ User-Id of the peer,
 *    whether that peer may speak for that stream.
 *
 *  Both classes register their socket with the caller's zloop; they never
 *  block. Each is a class of its own (hl_hop_sender.c, hl_hop_receiver.c),
 *  over the wire they share (hl_hop.c); both are declared here, as the
 *  protocol is one contract. See hl_hop_sender_test () and
 *  hl_hop_receiver_test () for complete examples.
 *
 *  Rules for callers:
 *  - The source must be gap-free (seq 1, 2, 3 ...): a seq that never
 *    appears stalls the stream (the receiver keeps asking for it, logged).
 *    One item must fit in a frame (HL_MAX_MSG_SIZE less a few KB).
 *  - Destroy a hop after zloop_start () returns, or from a reader handler;
 *    never from a zloop timer handler (zloop may still call the hop's
 *    reader or timer in that same iteration), nor from inside its own
 *    fetch/apply/cursor/authorize callbacks.
 *  - opts->cert must outlive the hop (it is reapplied on reconnect);
 *    opts->server_key is copied.
 *  - Liveness uses the monotonic clock, not hl_clock (tests may jump it).
 */
#ifndef HL_HOP_H_INCLUDED
#define HL_HOP_H_INCLUDED

typedef struct {
    uint64_t seq;
    uint8_t *data;          //  owned by whoever filled the item
    size_t size;
} hl_hop_item_t;

typedef struct {
    int timeout_ms;         //  silence before reset/reconnect (default 3000)
    int heartbeat_ms;       //  idle heartbeat interval (default 1000)
    uint32_t window;        //  receiver credit, items (default 2048)
    uint32_t batch;         //  sender max items per batch (default 256)
    int coalesce_ms;        //  sender: after a notify, wait this long for
                            //  more items before sending, so that the
                            //  receiver commits fewer, larger batches
                            //  (default 0: send at once)
    //  CurveZMQ: for a bound side, curve_server=true and own cert; for a
    //  connecting side, own cert and the server's public key (z85).
    zcert_t *cert;          //  not owned
    const char *server_key; //  z85 public key of the bound side, or NULL
    bool curve_server;
} hl_hop_opts_t;

//  Fill opts with defaults
void hl_hop_opts_init (hl_hop_opts_t *opts);

// ---------------------------------------------------------------- sender
typedef struct _hl_hop_sender_t hl_hop_sender_t;

//  Fetch up to max items with seq > after, in seq order, into items; set each
//  item's data to a malloc'd buffer (freed by the hop). Return the count
//  (0 = nothing new) or -1 on error.
typedef int (hl_hop_fetch_fn) (void *arg, const char *stream, uint64_t after,
                               size_t max, hl_hop_item_t *items);

//  stream: the stream this sender serves. bind: bind endpoint (ROUTER) or
//  connect to it (DEALER, sends HopHello).
hl_hop_sender_t *hl_hop_sender_new (zloop_t *loop, const char *endpoint, bool bind,
                                    const char *stream, hl_hop_fetch_fn *fetch,
                                    void *arg, const hl_hop_opts_t *opts);
void hl_hop_sender_destroy (hl_hop_sender_t **self_p);
//  A bound sender created with stream "*" serves whichever stream each
//  receiver's credit names (the city's return path: one stream per ward),
//  calling fetch with that name. fn decides, from the receiver's CurveZMQ
//  User-Id, whether it may pull that stream; without fn any stream is served.
typedef bool (hl_hop_authorize_fn) (void *arg, const char *user_id, const char *stream);
void hl_hop_sender_set_authorize (hl_hop_sender_t *self, hl_hop_authorize_fn *fn);
//  New items are available in the source: send to receivers with credit,
//  at once, or with opts->coalesce_ms once that time has passed (the
//  notifies in between, and credits, ride on the same send).
void hl_hop_sender_notify (hl_hop_sender_t *self);
//  Highest seq acknowledged by any receiver (connect mode: by the receiver).
uint64_t hl_hop_sender_acked (hl_hop_sender_t *self);
//  A bound sender: the highest cursor a receiver of stream has reported
//  (what it applied durably; 0 before its first credit). Connect mode:
//  hl_hop_sender_acked. Not from inside fetch (it walks the peers, as the
//  pump that calls fetch does).
uint64_t hl_hop_sender_acked_stream (hl_hop_sender_t *self, const char *stream);
//  Number of receivers heard from within timeout.
size_t hl_hop_sender_peers (hl_hop_sender_t *self);
//  Optional: the newest seq in the source, reported to receivers as head
//  (lag metric). Without it head is the highest seq fetched so far.
void hl_hop_sender_set_head (hl_hop_sender_t *self, uint64_t head);
//  The endpoint: for a bound sender the resolved one (tcp://host:* binds
//  an ephemeral port), else the endpoint given.
const char *hl_hop_sender_endpoint (hl_hop_sender_t *self);

// -------------------------------------------------------------- receiver
typedef struct _hl_hop_receiver_t hl_hop_receiver_t;

//  Apply items (contiguous, first seq = cursor+1) and store the new cursor
//  for stream, atomically. 0 = applied and durable; -1 = nothing applied
//  (will be redelivered).
typedef int (hl_hop_apply_fn) (void *arg, const char *stream,
                               const hl_hop_item_t *items, size_t count);
//  Last applied seq for stream (0 if none). 0 or -1.
typedef int (hl_hop_cursor_fn) (void *arg, const char *stream, uint64_t *cursor);
//  Bound receivers only: may the peer with this CurveZMQ User-Id (the
//  certificate's public key in z85, or "" without Curve) send stream?
//  Asked on each HopHello until it says yes. The ZAP handler sets User-Id
//  (the city's sets the client key; czmq's zauth does only when it checks
//  a certificate directory, not with CURVE_ALLOW_ANY).
//  (hl_hop_authorize_fn: see the sender section)

//  stream: for a connecting receiver, the stream it pulls; NULL when bound
//  (or, when bound, the only stream it accepts).
hl_hop_receiver_t *hl_hop_receiver_new (zloop_t *loop, const char *endpoint, bool bind,
                                        const char *stream, hl_hop_apply_fn *apply,
                                        hl_hop_cursor_fn *cursor, void *arg,
                                        const hl_hop_opts_t *opts);
void hl_hop_receiver_destroy (hl_hop_receiver_t **self_p);
void hl_hop_receiver_set_authorize (hl_hop_receiver_t *self, hl_hop_authorize_fn *fn);
//  Group commit across streams (a bound receiver serving many senders):
//  every batch read in one burst from the socket is applied inside one
//  transaction. begin opens it before the first apply of a burst; apply is
//  then called inside it and must keep its own batch atomic (a savepoint:
//  on -1 it leaves the transaction as it was before the call); commit ends
//  it after the burst. Credits for the burst are sent only after commit
//  returns 0; if it fails, every stream of the burst is rewound and asked
//  again, as for a failed apply. If begin fails, that burst applies batch
//  by batch. 0 or -1 each.
typedef int (hl_hop_group_fn) (void *arg);
void hl_hop_receiver_set_group (hl_hop_receiver_t *self, hl_hop_group_fn *begin,
                                hl_hop_group_fn *commit);
//  A stream's own credit window, for a bound receiver whose streams carry
//  items of very different sizes (the city: a ward's log events, a few
//  hundred bytes, and its evidence pieces, 256 KiB): fn returns the window
//  for stream (asked once, when the stream is first seen), or 0 for
//  opts->window. The window bounds what a sender has in flight, so it
//  bounds the memory queued for that stream on both sides.
typedef uint32_t (hl_hop_window_fn) (void *arg, const char *stream);
void hl_hop_receiver_set_window (hl_hop_receiver_t *self, hl_hop_window_fn *fn);
//  Items applied since start (metrics)
uint64_t hl_hop_receiver_applied (hl_hop_receiver_t *self);
//  Newest seq the sender reported having, for stream (lag = head - cursor;
//  never below the cursor; 0 for an unknown stream). stream may be NULL for
//  a connecting receiver.
uint64_t hl_hop_receiver_head (hl_hop_receiver_t *self, const char *stream);
//  The endpoint: for a bound receiver the resolved one, else the one given.
const char *hl_hop_receiver_endpoint (hl_hop_receiver_t *self);

//  A fetch from an SQLite table, for the usual source: sql selects (seq,
//  payload) with ?1 = after, ?2 = max and, if key is not NULL, ?3 = key
//  (e.g. "SELECT seq, event FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2").
//  Returns the count or -1, as hl_hop_fetch_fn does.
int hl_hop_fetch_sql (hl_store_t *store, const char *sql, const char *key,
                      uint64_t after, size_t max, hl_hop_item_t *items);

//  Selftests: the shared parts (options, stream names, hl_hop_fetch_sql),
//  and the hop end to end from each side
void hl_hop_test (bool verbose);
void hl_hop_sender_test (bool verbose);
void hl_hop_receiver_test (bool verbose);
#endif
