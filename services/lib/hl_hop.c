/*  hl_hop — the one reliable hop. See hl_hop.h for the protocol.

    Implementation notes

    Sender, per receiver ("peer"; one in connect mode, one per ROUTER
    routing id in bind mode):
        cursor  receiver's applied cursor, from its last credit
        limit   cursor + window: highest seq we may send
        sent    highest seq sent; rewound to cursor on a reset credit, on
                the first credit from a peer, and when the receiver makes
                no progress for timeout_ms while we owe it data
    pump: while sent < limit, fetch up to min(batch, limit-sent) items after
    sent and send them as one or more HopBatch frames that each fit under
    HL_MAX_MSG_SIZE. A failed (non-blocking) send stops the pump for that
    peer; the next credit, notify or tick retries.

    Receiver, per stream: cursor (the durable one, via the cursor callback)
    and head (as reported by the sender). Per sender peer: resync flag (we
    asked for a rewind and drop batches that do not start at cursor+1),
    last credit sent. Duplicates are skipped; the contiguous run starting at
    cursor+1 goes to apply() in one call; anything else in the batch is a
    gap and triggers a (rate-limited) reset credit.

    Both sides run one zloop timer ("tick") for heartbeats, liveness and
    retries, and never block: every send is ZMQ_DONTWAIT.

    Reconnecting (connect mode only) moves the old socket to a "zombie"
    slot that is destroyed on the next tick: zloop may still call our
    reader for it during the current iteration.
*/

#include "hotline.h"
#include <inttypes.h>

#define S_STREAM_MAX        256     //  longest stream name we accept
#define S_ITEM_OVERHEAD     24      //  protobuf bytes around one HopItem
#define S_ENVELOPE_SLACK    8192    //  envelope + batch overhead allowance
#define S_RECV_BURST        64      //  messages handled per reader call
#define S_GROUP_ITEMS       1024    //  a group commits once it applied this many
#define S_MAX_BATCH         65536
#define S_REWIND_TIMEOUTS   10      //  sender's own rewind: a backstop only

static int64_t
s_now (void)
{
    return zclock_mono ();
}

static uint64_t
s_add_sat (uint64_t a, uint64_t b)
{
    return a + b < a? UINT64_MAX: a + b;
}

//  Tick interval, retry delay after a failed apply
static int
s_tick_ms (const hl_hop_opts_t *opts)
{
    int tick = opts->heartbeat_ms / 4;
    return tick < 5? 5: tick > 250? 250: tick;
}

static int
s_retry_ms (const hl_hop_opts_t *opts)
{
    int retry = opts->heartbeat_ms / 2;
    return retry < 10? 10: retry > 500? 500: retry;
}


void
hl_hop_opts_init (hl_hop_opts_t *opts)
{
    assert (opts);
    memset (opts, 0, sizeof (*opts));
    opts->timeout_ms = 3000;
    opts->heartbeat_ms = 1000;
    opts->window = 2048;
    opts->batch = 256;
}

//  Copy caller's options, filling defaults for unset (zero) values
static void
s_opts_copy (hl_hop_opts_t *dst, const hl_hop_opts_t *src)
{
    hl_hop_opts_t dflt;
    hl_hop_opts_init (&dflt);
    if (src)
        *dst = *src;
    else
        *dst = dflt;
    if (dst->timeout_ms <= 0)
        dst->timeout_ms = dflt.timeout_ms;
    if (dst->heartbeat_ms <= 0)
        dst->heartbeat_ms = dflt.heartbeat_ms;
    if (dst->window == 0)
        dst->window = dflt.window;
    if (dst->batch == 0)
        dst->batch = dflt.batch;
    if (dst->coalesce_ms < 0)
        dst->coalesce_ms = 0;
    if (dst->batch > S_MAX_BATCH)
        dst->batch = S_MAX_BATCH;
    dst->server_key = NULL;     //  we keep our own copy
}

static bool
s_stream_name_ok (const char *name)
{
    return name && *name && strlen (name) <= S_STREAM_MAX;
}

//  Create, harden, secure and bind or connect a socket. NULL on error.
static zsock_t *
s_socket_new (int type, const char *endpoint, bool bind,
              const hl_hop_opts_t *opts, const char *server_key)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        hl_error ("hop: cannot create socket: %s", zmq_strerror (zmq_errno ()));
        return NULL;
    }
    hl_sock_harden (sock);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
    if (opts->cert) {
        zcert_apply (opts->cert, sock);
        if (opts->curve_server || (bind && !server_key))
            zsock_set_curve_server (sock, 1);
        else
        if (server_key)
            zsock_set_curve_serverkey (sock, server_key);
        else {
            hl_error ("hop: %s: CurveZMQ client needs the server's public key", endpoint);
            zsock_destroy (&sock);
            return NULL;
        }
    }
    else
    if (opts->curve_server || server_key) {
        hl_error ("hop: %s: CurveZMQ requested without a certificate", endpoint);
        zsock_destroy (&sock);
        return NULL;
    }
    int rc = bind? zsock_bind (sock, "%s", endpoint): zsock_connect (sock, "%s", endpoint);
    if (rc == -1) {
        hl_error ("hop: cannot %s %s: %s", bind? "bind": "connect", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

//  Send one frame (preceded by routing_id if not NULL) without blocking.
//  Always consumes *frame_p. Returns 0 or the errno of the failure.
static int
s_send_frame (zsock_t *sock, zframe_t *routing_id, zframe_t **frame_p)
{
    int err = 0;
    if (routing_id
    &&  zframe_send (&routing_id, sock, ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) == -1)
        err = zmq_errno ();
    else
    if (zframe_send (frame_p, sock, ZFRAME_DONTWAIT) == -1)
        err = zmq_errno ();
    zframe_destroy (frame_p);
    return err == 0? 0: err;
}

//  Receive one message without blocking. Returns its (single) payload frame
//  and, on a ROUTER, the routing id; NULL if nothing to read or the
//  message was malformed (it is drained and dropped).
static zframe_t *
s_recv (zsock_t *sock, bool router, zframe_t **routing_id_p, hl_ratelimit_t *rl)
{
    *routing_id_p = NULL;
    if (!hl_sock_readable (sock))
        return NULL;
    zframe_t *routing_id = NULL;
    zframe_t *frame = zframe_recv (sock);
    if (router && frame) {
        routing_id = frame;
        frame = zsock_rcvmore (sock)? zframe_recv (sock): NULL;
    }
    bool extra = false;
    while (zsock_rcvmore (sock)) {
        zframe_t *more = zframe_recv (sock);
        if (!more)
            break;
        zframe_destroy (&more);
        extra = true;
    }
    if (!frame || extra) {
        long suppressed = hl_ratelimit (rl);
        if (suppressed >= 0)
            hl_warn ("hop: malformed message dropped (%ld similar suppressed)", suppressed);
        zframe_destroy (&frame);
        zframe_destroy (&routing_id);
        return NULL;
    }
    *routing_id_p = routing_id;
    return frame;
}

static Hotline__Envelope *
s_decode (zframe_t *frame, hl_ratelimit_t *rl)
{
    const char *reason = NULL;
    Hotline__Envelope *env = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
    if (!env) {
        long suppressed = hl_ratelimit (rl);
        if (suppressed >= 0)
            hl_warn ("hop: bad frame dropped: %s (%ld similar suppressed)",
                     reason? reason: "invalid", suppressed);
    }
    return env;
}


//  ==================================================================
//  Sender

typedef struct {
    zframe_t *routing_id;       //  NULL in connect mode
    int64_t last_recv;          //  last message from this receiver
    int64_t last_sent;          //  last message to it
    int64_t progress_at;        //  last ack progress while we owed data
    bool credited;              //  had a credit since (re)connect
    uint64_t cursor;            //  receiver's cursor, from its last credit
    uint64_t limit;             //  may send seq <= limit
    uint64_t sent;              //  highest seq sent
    bool dead;                  //  unreachable; forget at next tick
    uint64_t stuck_seq;         //  item too large to send (logged once)
    char *stream;               //  "*" senders: the stream this peer pulls
} s_txpeer_t;

struct _hl_hop_sender_t {
    zloop_t *loop;
    char *endpoint;
    bool bind;
    char *stream;
    hl_hop_fetch_fn *fetch;
    void *arg;
    hl_hop_authorize_fn *authorize;     //  "*" senders: who may pull what
    hl_hop_opts_t opts;
    char *server_key;
    zsock_t *sock;
    zsock_t *zombie;            //  previous socket, destroyed at next tick
    int timer_id;
    int coalesce_id;            //  one-shot timer armed by a notify, or -1
    zhashx_t *peers;            //  bind mode: routing id (hex) -> s_txpeer_t
    s_txpeer_t *peer;           //  connect mode: the receiver
    hl_hop_item_t *items;       //  fetch buffer, opts.batch entries
    Hotline__HopItem *pb_items;
    Hotline__HopItem **pb_ptrs;
    uint64_t head;              //  newest seq we know the source has
    uint64_t acked;             //  highest cursor any receiver reported
    int64_t connected_at;       //  connect mode: when the socket was made
    int64_t last_heard;         //  connect mode: 0 = nothing since then
    int reconnects;             //  connect mode: in a row, without answer
    bool pumping;
    bool repump;
    hl_ratelimit_t rl_bad;
    hl_ratelimit_t rl_fetch;
};

static void
s_txpeer_destroy (s_txpeer_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->routing_id);
        free ((*self_p)->stream);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_txpeer_free (void **item)
{
    s_txpeer_destroy ((s_txpeer_t **) item);
}

static void
s_items_free (hl_hop_item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free (items [i].data);
        items [i].data = NULL;
    }
}

static int
s_sender_send (hl_hop_sender_t *self, s_txpeer_t *peer, Hotline__Envelope *env)
{
    if (!self->sock)
        return -1;
    zframe_t *frame = hl_msg_encode (env);
    if (!frame) {
        hl_error ("hop: sender stream=%s cannot encode message", self->stream);
        return -1;
    }
    int err = s_send_frame (self->sock, peer->routing_id, &frame);
    if (err) {
        if (err == EHOSTUNREACH)
            peer->dead = true;
        return -1;
    }
    peer->last_sent = s_now ();
    return 0;
}

static int
s_sender_send_hello (hl_hop_sender_t *self)
{
    Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
    hello.stream = self->stream;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return s_sender_send (self, self->peer, &env);
}

//  Send items [first, first+count) of the fetch buffer as one HopBatch
//  A "*" sender serves any stream a receiver asks for, if authorized
static bool
s_any_stream (hl_hop_sender_t *self)
{
    return streq (self->stream, "*");
}

static const char *
s_peer_stream (hl_hop_sender_t *self, s_txpeer_t *peer)
{
    return peer && peer->stream? peer->stream: self->stream;
}

//  May a new receiver (CurveZMQ User-Id) pull this stream?
static bool
s_sender_admits (hl_hop_sender_t *self, const char *user_id, const char *stream)
{
    if (!s_stream_name_ok (stream))
        return false;
    if (!s_any_stream (self))
        return streq (stream, self->stream);
    if (streq (stream, "*"))
        return false;
    if (self->authorize && !self->authorize (self->arg, user_id, stream)) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("hop: sender refused stream '%s' to peer '%s' (%ld similar suppressed)",
                     stream, user_id, suppressed);
        return false;
    }
    return true;
}

static int
s_sender_send_batch (hl_hop_sender_t *self, s_txpeer_t *peer, size_t first, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        hl_hop_item_t *item = &self->items [first + i];
        Hotline__HopItem init = HOTLINE__HOP_ITEM__INIT;
        self->pb_items [i] = init;
        self->pb_items [i].seq = item->seq;
        self->pb_items [i].payload.len = item->size;
        self->pb_items [i].payload.data = item->data;
        self->pb_ptrs [i] = &self->pb_items [i];
    }
    Hotline__HopBatch batch = HOTLINE__HOP_BATCH__INIT;
    batch.stream = (char *) s_peer_stream (self, peer);
    batch.n_items = count;
    batch.items = count? self->pb_ptrs: NULL;
    batch.head = self->head;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
    env.batch = &batch;
    return s_sender_send (self, peer, &env);
}

//  Send the first count fetched items, in frames under the size limit.
//  0 if all were sent, -1 to stop sending to this peer for now.
static int
s_sender_send_items (hl_hop_sender_t *self, s_txpeer_t *peer, size_t count)
{
    size_t budget = HL_MAX_MSG_SIZE - S_ENVELOPE_SLACK - strlen (self->stream);
    size_t first = 0;
    while (first < count) {
        size_t bytes = 0;
        size_t last = first;
        while (last < count) {
            size_t cost = self->items [last].size + S_ITEM_OVERHEAD;
            if (cost > budget || bytes + cost > budget)
                break;
            bytes += cost;
            last++;
        }
        if (last == first) {
            if (peer->stuck_seq != self->items [first].seq) {
                hl_error ("hop: sender stream=%s item seq=%" PRIu64 " is %zu bytes,"
                          " too large to send; stream is stuck",
                          self->stream, self->items [first].seq, self->items [first].size);
                peer->stuck_seq = self->items [first].seq;
            }
            return -1;
        }
        if (s_sender_send_batch (self, peer, first, last - first))
            return -1;
        if (peer->sent == peer->cursor)
            peer->progress_at = s_now ();   //  we start owing data now
        peer->sent = self->items [last - 1].seq;
        first = last;
    }
    return 0;
}

//  Send to one receiver while it has credit and the source has items
static void
s_sender_pump_peer (hl_hop_sender_t *self, s_txpeer_t *peer)
{
    while (self->sock && !peer->dead && peer->credited && peer->sent < peer->limit) {
        uint64_t room = peer->limit - peer->sent;
        size_t max = room < self->opts.batch? (size_t) room: self->opts.batch;
        memset (self->items, 0, max * sizeof (hl_hop_item_t));
        int rc = self->fetch (self->arg, s_peer_stream (self, peer), peer->sent, max, self->items);
        if (rc <= 0 || (size_t) rc > max) {
            if (rc != 0) {
                long suppressed = hl_ratelimit (&self->rl_fetch);
                if (suppressed >= 0)
                    hl_warn ("hop: sender stream=%s fetch after=%" PRIu64 " failed (rc=%d,"
                             " %ld similar suppressed)", self->stream, peer->sent, rc, suppressed);
            }
            s_items_free (self->items, max);
            break;
        }
        size_t fetched = (size_t) rc;
        size_t count = fetched;
        uint64_t prev = peer->sent;
        bool valid = true;
        for (size_t i = 0; i < fetched; i++) {
            if (self->items [i].seq <= prev
            || (self->items [i].size && !self->items [i].data)) {
                valid = false;
                break;
            }
            if (self->items [i].seq > peer->limit && count == fetched)
                count = i;          //  beyond credit: keep for a later fetch
            prev = self->items [i].seq;
        }
        if (!valid) {
            long suppressed = hl_ratelimit (&self->rl_fetch);
            if (suppressed >= 0)
                hl_error ("hop: sender stream=%s fetch after=%" PRIu64 " returned items"
                          " out of order (%ld similar suppressed)",
                          self->stream, peer->sent, suppressed);
            s_items_free (self->items, max);
            break;
        }
        if (self->items [fetched - 1].seq > self->head)
            self->head = self->items [fetched - 1].seq;
        rc = count? s_sender_send_items (self, peer, count): -1;
        s_items_free (self->items, max);
        if (rc || fetched < max)
            break;              //  stopped, or the source has no more
    }
}

static void
s_sender_pump_all (hl_hop_sender_t *self)
{
    if (self->pumping) {
        self->repump = true;    //  called from inside fetch: finish first
        return;
    }
    self->pumping = true;
    do {
        self->repump = false;
        if (self->bind) {
            s_txpeer_t *peer = (s_txpeer_t *) zhashx_first (self->peers);
            while (peer) {
                s_sender_pump_peer (self, peer);
                peer = (s_txpeer_t *) zhashx_next (self->peers);
            }
        }
        else
            s_sender_pump_peer (self, self->peer);
    } while (self->repump);
    self->pumping = false;
}

static void
s_sender_pump_one (hl_hop_sender_t *self, s_txpeer_t *peer)
{
    if (self->pumping) {
        self->repump = true;
        return;
    }
    self->pumping = true;
    s_sender_pump_peer (self, peer);
    self->pumping = false;
    if (self->repump)
        s_sender_pump_all (self);
}

//  peer may be NULL only for a credit naming another stream (logged, dropped)
static void
s_sender_on_credit (hl_hop_sender_t *self, s_txpeer_t *peer, Hotline__HopCredit *credit)
{
    if (!peer || !credit->stream || strcmp (credit->stream, s_peer_stream (self, peer))) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("hop: sender stream=%s got credit for stream '%s', dropped"
                     " (%ld similar suppressed)", self->stream,
                     credit->stream? credit->stream: "", suppressed);
        return;
    }
    int64_t now = s_now ();
    bool was_credited = peer->credited;
    if (credit->reset || !peer->credited) {
        if (!peer->credited)
            hl_info ("hop: sender stream=%s receiver at cursor=%" PRIu64,
                     self->stream, credit->cursor);
        else
        if (peer->sent != credit->cursor)
            hl_debug ("hop: sender stream=%s reset from %" PRIu64 " to cursor=%" PRIu64,
                      self->stream, peer->sent, credit->cursor);
        peer->sent = credit->cursor;
        peer->progress_at = now;
    }
    else
    if (credit->cursor > peer->sent)
        peer->sent = credit->cursor;
    if (credit->cursor > peer->cursor || !peer->credited)
        peer->progress_at = now;
    peer->credited = true;
    peer->cursor = credit->cursor;
    peer->limit = s_add_sat (credit->cursor, credit->window);
    if (credit->cursor > self->acked)
        self->acked = credit->cursor;
    if (self->coalesce_id != -1 && was_credited && !credit->reset)
        return;                 //  the armed coalesce timer sends
    uint64_t sent = peer->sent;
    s_sender_pump_one (self, peer);
    if (credit->reset && peer->sent == sent && !peer->dead)
        s_sender_send_batch (self, peer, 0, 0);     //  "rewound; nothing to send"
}

static int
s_sender_recv (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    hl_hop_sender_t *self = (hl_hop_sender_t *) arg;
    if (sock != self->sock)
        return 0;               //  reader of a socket we just replaced
    for (int burst = 0; burst < S_RECV_BURST; burst++) {
        zframe_t *routing_id;
        zframe_t *frame = s_recv (sock, self->bind, &routing_id, &self->rl_bad);
        if (!frame) {
            if (hl_sock_readable (sock))
                continue;       //  malformed message dropped, read on
            break;
        }
        const char *user_id = zframe_meta (frame, "User-Id");
        char user [128];
        snprintf (user, sizeof user, "%s", user_id? user_id: "");
        Hotline__Envelope *env = s_decode (frame, &self->rl_bad);
        zframe_destroy (&frame);
        if (!env) {
            zframe_destroy (&routing_id);
            continue;
        }
        int64_t now = s_now ();
        s_txpeer_t *peer = NULL;
        if (self->bind) {
            char *key = zframe_strhex (routing_id);
            peer = (s_txpeer_t *) zhashx_lookup (self->peers, key);
            if (!peer && env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT && env->credit
            &&  s_sender_admits (self, user, env->credit->stream)) {
                peer = (s_txpeer_t *) zmalloc (sizeof (s_txpeer_t));
                assert (peer);
                peer->routing_id = routing_id;
                routing_id = NULL;
                peer->last_sent = now;
                if (s_any_stream (self))
                    peer->stream = strdup (env->credit->stream);
                zhashx_insert (self->peers, key, peer);
            }
            zstr_free (&key);
        }
        else {
            peer = self->peer;
            self->last_heard = now;
            self->reconnects = 0;
        }
        zframe_destroy (&routing_id);
        if (peer)
            peer->last_recv = now;

        if (env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT && env->credit
        && (peer || (env->credit->stream && strcmp (env->credit->stream, self->stream))))
            s_sender_on_credit (self, peer, env->credit);   //  logs a wrong stream
        else {
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("hop: sender stream=%s unexpected message (body %d%s), dropped"
                         " (%ld similar suppressed)", self->stream, (int) env->body_case,
                         peer? "": ", unknown peer", suppressed);
        }
        hl_msg_free (&env);
    }
    return 0;
}

//  Connect mode: (re)create the socket, say hello
static int
s_sender_connect (hl_hop_sender_t *self)
{
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->zombie);
        self->zombie = self->sock;
        self->sock = NULL;
    }
    s_txpeer_t *peer = self->peer;
    peer->credited = false;
    peer->dead = false;
    peer->cursor = peer->limit = peer->sent = 0;
    self->connected_at = s_now ();
    self->last_heard = 0;
    self->sock = s_socket_new (ZMQ_DEALER, self->endpoint, false, &self->opts, self->server_key);
    if (!self->sock)
        return -1;
    if (zloop_reader (self->loop, self->sock, s_sender_recv, self)) {
        hl_error ("hop: sender stream=%s cannot register reader", self->stream);
        zsock_destroy (&self->sock);
        return -1;
    }
    zloop_reader_set_tolerant (self->loop, self->sock);
    s_sender_send_hello (self);
    return 0;
}

static int
s_sender_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hl_hop_sender_t *self = (hl_hop_sender_t *) arg;
    int64_t now = s_now ();
    zsock_destroy (&self->zombie);

    if (!self->bind) {
        int64_t since = self->last_heard? self->last_heard: self->connected_at;
        if (now - since > self->opts.timeout_ms || !self->sock) {
            if (self->reconnects++ == 0)
                hl_warn ("hop: sender stream=%s no answer from %s for %d ms, reconnecting",
                         self->stream, self->endpoint, (int) (now - since));
            else
                hl_debug ("hop: sender stream=%s reconnecting to %s",
                          self->stream, self->endpoint);
            s_sender_connect (self);
            return 0;
        }
    }
    else {
        //  Forget receivers that went silent or unreachable
        zlistx_t *gone = zlistx_new ();
        assert (gone);
        s_txpeer_t *peer = (s_txpeer_t *) zhashx_first (self->peers);
        while (peer) {
            if (peer->dead || now - peer->last_recv > self->opts.timeout_ms)
                zlistx_add_end (gone, (void *) zhashx_cursor (self->peers));
            peer = (s_txpeer_t *) zhashx_next (self->peers);
        }
        char *key = (char *) zlistx_first (gone);
        while (key) {
            hl_debug ("hop: sender stream=%s forgetting receiver %s", self->stream, key);
            zhashx_delete (self->peers, key);
            key = (char *) zlistx_next (gone);
        }
        zlistx_destroy (&gone);
    }
    //  A receiver that makes no progress while we owe it data missed
    //  something: rewind to its cursor
    s_txpeer_t *peer = self->bind? (s_txpeer_t *) zhashx_first (self->peers): self->peer;
    while (peer) {
        if (peer->credited && peer->sent > peer->cursor
        &&  now - peer->progress_at > S_REWIND_TIMEOUTS * self->opts.timeout_ms) {
            hl_debug ("hop: sender stream=%s no ack progress, rewinding to %" PRIu64,
                      self->stream, peer->cursor);
            peer->sent = peer->cursor;
            peer->progress_at = now;
        }
        peer = self->bind? (s_txpeer_t *) zhashx_next (self->peers): NULL;
    }
    s_sender_pump_all (self);

    //  Heartbeats to idle receivers
    if (self->bind) {
        peer = (s_txpeer_t *) zhashx_first (self->peers);
        while (peer) {
            if (!peer->dead && now - peer->last_sent >= self->opts.heartbeat_ms)
                s_sender_send_batch (self, peer, 0, 0);
            peer = (s_txpeer_t *) zhashx_next (self->peers);
        }
    }
    else
    if (now - self->peer->last_sent >= self->opts.heartbeat_ms) {
        //  Once credited, an empty batch: it tells the receiver our head,
        //  so a receiver that lost a batch knows it is owed data
        if (self->peer->credited)
            s_sender_send_batch (self, self->peer, 0, 0);
        else
            s_sender_send_hello (self);
    }
    return 0;
}

hl_hop_sender_t *
hl_hop_sender_new (zloop_t *loop, const char *endpoint, bool bind,
                   const char *stream, hl_hop_fetch_fn *fetch,
                   void *arg, const hl_hop_opts_t *opts)
{
    assert (loop);
    assert (endpoint);
    assert (fetch);
    if (!s_stream_name_ok (stream)) {
        hl_error ("hop: sender needs a stream name (1..%d bytes)", S_STREAM_MAX);
        return NULL;
    }
    hl_hop_sender_t *self = (hl_hop_sender_t *) zmalloc (sizeof (hl_hop_sender_t));
    assert (self);
    self->loop = loop;
    self->endpoint = strdup (endpoint);
    self->bind = bind;
    self->stream = strdup (stream);
    self->fetch = fetch;
    self->arg = arg;
    s_opts_copy (&self->opts, opts);
    self->server_key = opts && opts->server_key? strdup (opts->server_key): NULL;
    self->timer_id = -1;
    self->coalesce_id = -1;
    self->items = (hl_hop_item_t *) zmalloc (self->opts.batch * sizeof (hl_hop_item_t));
    self->pb_items = (Hotline__HopItem *) zmalloc (self->opts.batch * sizeof (Hotline__HopItem));
    self->pb_ptrs = (Hotline__HopItem **) zmalloc (self->opts.batch * sizeof (Hotline__HopItem *));
    assert (self->endpoint && self->stream && self->items && self->pb_items && self->pb_ptrs);

    if (bind) {
        self->peers = zhashx_new ();
        assert (self->peers);
        zhashx_set_destructor (self->peers, s_txpeer_free);
        self->sock = s_socket_new (ZMQ_ROUTER, endpoint, true, &self->opts, self->server_key);
        if (!self->sock
        ||  zloop_reader (loop, self->sock, s_sender_recv, self)) {
            hl_hop_sender_destroy (&self);
            return NULL;
        }
        zloop_reader_set_tolerant (loop, self->sock);
    }
    else {
        self->peer = (s_txpeer_t *) zmalloc (sizeof (s_txpeer_t));
        assert (self->peer);
        if (s_sender_connect (self)) {
            hl_hop_sender_destroy (&self);
            return NULL;
        }
    }
    self->timer_id = zloop_timer (loop, s_tick_ms (&self->opts), 0, s_sender_tick, self);
    if (self->timer_id == -1) {
        hl_hop_sender_destroy (&self);
        return NULL;
    }
    hl_info ("hop: sender stream=%s %s %s", self->stream, bind? "bound to": "connected to",
             bind? zsock_endpoint (self->sock): endpoint);
    return self;
}

void
hl_hop_sender_destroy (hl_hop_sender_t **self_p)
{
    assert (self_p);
    hl_hop_sender_t *self = *self_p;
    if (!self)
        return;
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    if (self->coalesce_id != -1)
        zloop_timer_end (self->loop, self->coalesce_id);
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->sock);
    }
    zsock_destroy (&self->zombie);
    zhashx_destroy (&self->peers);
    s_txpeer_destroy (&self->peer);
    free (self->items);
    free (self->pb_items);
    free (self->pb_ptrs);
    free (self->server_key);
    free (self->stream);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
hl_hop_sender_set_authorize (hl_hop_sender_t *self, hl_hop_authorize_fn *fn)
{
    self->authorize = fn;
}

static int
s_sender_coalesced (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hl_hop_sender_t *self = (hl_hop_sender_t *) arg;
    self->coalesce_id = -1;     //  a one-shot timer: zloop has dropped it
    s_sender_pump_all (self);
    return 0;
}

void
hl_hop_sender_notify (hl_hop_sender_t *self)
{
    assert (self);
    if (self->opts.coalesce_ms == 0)
        s_sender_pump_all (self);
    else
    if (self->coalesce_id == -1) {
        self->coalesce_id = zloop_timer (self->loop, self->opts.coalesce_ms, 1,
                                         s_sender_coalesced, self);
        if (self->coalesce_id == -1)
            s_sender_pump_all (self);   //  no timer: send at once
    }
}

void
hl_hop_sender_set_head (hl_hop_sender_t *self, uint64_t head)
{
    assert (self);
    if (head > self->head)
        self->head = head;
}

uint64_t
hl_hop_sender_acked (hl_hop_sender_t *self)
{
    assert (self);
    return self->acked;
}

size_t
hl_hop_sender_peers (hl_hop_sender_t *self)
{
    assert (self);
    int64_t now = s_now ();
    if (!self->bind)
        return self->last_heard && now - self->last_heard <= self->opts.timeout_ms? 1: 0;
    size_t count = 0;
    s_txpeer_t *peer = (s_txpeer_t *) zhashx_first (self->peers);
    while (peer) {
        if (!peer->dead && now - peer->last_recv <= self->opts.timeout_ms)
            count++;
        peer = (s_txpeer_t *) zhashx_next (self->peers);
    }
    return count;
}

const char *
hl_hop_sender_endpoint (hl_hop_sender_t *self)
{
    assert (self);
    return self->bind && self->sock? zsock_endpoint (self->sock): self->endpoint;
}


//  ==================================================================
//  Receiver

typedef struct {
    char *name;
    uint64_t cursor;            //  last applied seq (durable, via callbacks)
    uint64_t head;              //  sender's newest seq, as last reported
    bool loaded;                //  cursor read from the cursor callback
    bool grouped;               //  applied in the open group (not yet committed)
    uint64_t group_base;        //  cursor when the group opened
} s_stream_t;

typedef struct {
    zframe_t *routing_id;       //  NULL in connect mode
    char *user_id;              //  CurveZMQ User-Id ("" without Curve)
    s_stream_t *stream;         //  accepted stream; NULL until hello + authorize
    bool refused;               //  refusal logged
    bool dropped;               //  dropped batch before hello logged
    int64_t last_recv;
    int64_t last_sent;
    int64_t last_progress;      //  last applied batch (or start of owing)
    uint64_t credited;          //  cursor in our last credit
    bool resync;                //  waiting for the sender to rewind
    int64_t next_reset;         //  earliest time for the next reset credit
    bool dead;
    bool grouped;               //  in the open group's peer list
    bool credit_due;            //  a credit deferred until the group commits
    bool credit_reset;          //  ... and it is a reset
} s_rxpeer_t;

struct _hl_hop_receiver_t {
    zloop_t *loop;
    char *endpoint;
    bool bind;
    char *stream;               //  connect: stream pulled; bind: only stream, or NULL
    hl_hop_apply_fn *apply;
    hl_hop_cursor_fn *cursor;
    void *arg;
    hl_hop_authorize_fn *authorize;
    hl_hop_opts_t opts;
    char *server_key;
    zsock_t *sock;
    zsock_t *zombie;
    int timer_id;
    zhashx_t *streams;          //  name -> s_stream_t
    zhashx_t *peers;            //  bind mode: routing id (hex) -> s_rxpeer_t
    s_rxpeer_t *peer;           //  connect mode: the sender
    hl_hop_item_t *items;       //  apply buffer
    size_t items_max;
    uint64_t applied;
    int64_t drained_at;         //  last time the socket had nothing more to read
    hl_hop_group_fn *group_begin;
    hl_hop_group_fn *group_commit;
    bool in_group;              //  a group transaction is open (inside one burst)
    bool group_refused;         //  group_begin failed in this burst
    uint64_t group_applied;     //  items applied in the open group
    zlistx_t *group_peers;      //  peers with uncommitted applies or deferred credits
    hl_ratelimit_t rl_group;
    int64_t connected_at;
    int64_t last_heard;
    int reconnects;
    hl_ratelimit_t rl_bad;
    hl_ratelimit_t rl_cursor;
    hl_ratelimit_t rl_apply;
};

static void
s_stream_free (void **item)
{
    s_stream_t *self = (s_stream_t *) *item;
    if (self) {
        free (self->name);
        free (self);
        *item = NULL;
    }
}

static void
s_rxpeer_destroy (s_rxpeer_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->routing_id);
        free ((*self_p)->user_id);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_rxpeer_free (void **item)
{
    s_rxpeer_destroy ((s_rxpeer_t **) item);
}

static s_stream_t *
s_rx_stream (hl_hop_receiver_t *self, const char *name)
{
    s_stream_t *st = (s_stream_t *) zhashx_lookup (self->streams, name);
    if (!st) {
        st = (s_stream_t *) zmalloc (sizeof (s_stream_t));
        assert (st);
        st->name = strdup (name);
        assert (st->name);
        zhashx_insert (self->streams, name, st);
    }
    return st;
}

//  (Re)read the durable cursor. 0 or -1.
static int
s_rx_load (hl_hop_receiver_t *self, s_stream_t *st)
{
    uint64_t cursor = 0;
    if (self->cursor (self->arg, st->name, &cursor)) {
        long suppressed = hl_ratelimit (&self->rl_cursor);
        if (suppressed >= 0)
            hl_error ("hop: receiver stream=%s cannot read cursor (%ld similar suppressed)",
                      st->name, suppressed);
        return -1;
    }
    if (st->loaded && cursor != st->cursor)
        hl_warn ("hop: receiver stream=%s cursor moved from %" PRIu64 " to %" PRIu64
                 " outside the hop", st->name, st->cursor, cursor);
    st->cursor = cursor;
    st->loaded = true;
    return 0;
}

//  A peer whose stream has uncommitted applies in the open group
static void
s_rx_group_join (hl_hop_receiver_t *self, s_rxpeer_t *peer)
{
    if (!peer->grouped) {
        peer->grouped = true;
        zlistx_add_end (self->group_peers, peer);
    }
}

static int
s_rx_credit (hl_hop_receiver_t *self, s_rxpeer_t *peer, bool reset)
{
    s_stream_t *st = peer->stream;
    if (!st || !self->sock || peer->dead)
        return -1;
    if (self->in_group && st->grouped) {
        //  Credit only what is durable: send it when the group commits
        s_rx_group_join (self, peer);
        peer->credit_due = true;
        peer->credit_reset = peer->credit_reset || reset;
        return 0;
    }
    if ((reset || !st->loaded) && s_rx_load (self, st))
        return -1;
    Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
    credit.stream = st->name;
    credit.cursor = st->cursor;
    credit.window = self->opts.window;
    credit.reset = reset;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
    env.credit = &credit;
    zframe_t *frame = hl_msg_encode (&env);
    if (!frame) {
        hl_error ("hop: receiver stream=%s cannot encode credit", st->name);
        return -1;
    }
    int err = s_send_frame (self->sock, peer->routing_id, &frame);
    if (err) {
        if (err == EHOSTUNREACH)
            peer->dead = true;
        return -1;
    }
    peer->last_sent = s_now ();
    peer->credited = st->cursor;
    return 0;
}

//  Ask the sender to rewind: now, unless we asked recently
static void
s_rx_resync (hl_hop_receiver_t *self, s_rxpeer_t *peer, int64_t now)
{
    if (!peer->resync || now >= peer->next_reset) {
        peer->resync = true;
        peer->next_reset = now + self->opts.heartbeat_ms;
        s_rx_credit (self, peer, true);
    }
}

static void
s_rx_on_hello (hl_hop_receiver_t *self, s_rxpeer_t *peer, Hotline__HopHello *hello, int64_t now);

static void
s_rx_on_batch (hl_hop_receiver_t *self, s_rxpeer_t *peer, Hotline__HopBatch *batch, int64_t now)
{
    s_stream_t *st = peer->stream;
    if (!st && self->bind && !peer->refused && batch->stream) {
        //  A sender that has not said hello on this connection: a bound
        //  receiver restarted under a sender's socket (ZeroMQ reconnected
        //  it), and the sender heartbeats with empty batches. Take the batch
        //  as its hello (authorized the same way); the content is dropped,
        //  the reset credit that acceptance sends makes the sender rewind.
        Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
        hello.stream = batch->stream;
        s_rx_on_hello (self, peer, &hello, now);
        if (peer->stream)
            return;
    }
    if (!st) {
        if (!peer->dropped) {
            hl_warn ("hop: receiver dropped batch for stream '%s' from a peer that has not"
                     " said hello or was refused", batch->stream? batch->stream: "");
            peer->dropped = true;
        }
        return;
    }
    if (!batch->stream || strcmp (batch->stream, st->name)) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("hop: receiver stream=%s got batch for stream '%s', dropped"
                     " (%ld similar suppressed)", st->name,
                     batch->stream? batch->stream: "", suppressed);
        return;
    }
    if (!st->loaded && s_rx_load (self, st))
        return;                 //  the tick's resync will ask again
    size_t count = batch->n_items;
    for (size_t i = 0; i < count; i++)
        if (!batch->items [i]) {
            hl_warn ("hop: receiver stream=%s malformed batch dropped", st->name);
            return;
        }
    bool owed = st->head > st->cursor;
    uint64_t head = batch->head;
    if (count && batch->items [count - 1]->seq > head)
        head = batch->items [count - 1]->seq;
    st->head = head;
    if (!owed && st->head > st->cursor)
        peer->last_progress = now;      //  we start waiting now

    //  Skip what we already have
    size_t first = 0;
    while (first < count && batch->items [first]->seq <= st->cursor)
        first++;
    if (first == count) {
        if (count == 0 && head <= st->cursor)
            peer->resync = false;       //  nothing owed: nothing to rewind
        return;
    }
    if (batch->items [first]->seq != st->cursor + 1) {
        if (!peer->resync)
            hl_info ("hop: receiver stream=%s gap: expected seq=%" PRIu64 ", got %" PRIu64
                     ", asking sender to rewind", st->name, st->cursor + 1,
                     batch->items [first]->seq);
        s_rx_resync (self, peer, now);
        return;
    }
    //  The contiguous run from cursor+1
    size_t run = 0;
    while (first + run < count && batch->items [first + run]->seq == st->cursor + 1 + run)
        run++;
    if (run > self->items_max) {
        size_t max = self->items_max? self->items_max: 256;
        while (max < run)
            max *= 2;
        hl_hop_item_t *items = (hl_hop_item_t *) realloc (self->items, max * sizeof (hl_hop_item_t));
        assert (items);
        self->items = items;
        self->items_max = max;
    }
    for (size_t i = 0; i < run; i++) {
        Hotline__HopItem *item = batch->items [first + i];
        self->items [i].seq = item->seq;
        self->items [i].data = item->payload.data;
        self->items [i].size = item->payload.len;
    }
    if (self->group_begin && !self->in_group && !self->group_refused) {
        if (self->group_begin (self->arg) == 0) {
            self->in_group = true;
            self->group_applied = 0;
        }
        else
            self->group_refused = true;     //  this burst applies batch by batch
    }
    if (self->in_group && !st->grouped) {
        st->grouped = true;
        st->group_base = st->cursor;
    }
    if (self->in_group)
        s_rx_group_join (self, peer);
    if (self->apply (self->arg, st->name, self->items, run)) {
        long suppressed = hl_ratelimit (&self->rl_apply);
        if (suppressed >= 0)
            hl_warn ("hop: receiver stream=%s apply of %zu items from seq=%" PRIu64
                     " failed, will retry (%ld similar suppressed)",
                     st->name, run, st->cursor + 1, suppressed);
        peer->resync = true;
        peer->next_reset = now + s_retry_ms (&self->opts);
        return;
    }
    st->cursor += run;
    self->applied += run;
    if (self->in_group)
        self->group_applied += run;
    peer->last_progress = now;
    peer->resync = false;
    if (first + run < count) {
        hl_info ("hop: receiver stream=%s gap after seq=%" PRIu64 ", asking sender to rewind",
                 st->name, st->cursor);
        s_rx_resync (self, peer, now);
    }
    else
    if (st->cursor - peer->credited >= self->opts.window / 2 || st->cursor >= st->head)
        s_rx_credit (self, peer, false);
}

//  Bound receiver: a sender names its stream
static void
s_rx_on_hello (hl_hop_receiver_t *self, s_rxpeer_t *peer, Hotline__HopHello *hello, int64_t now)
{
    const char *name = hello->stream;
    if (!s_stream_name_ok (name)) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("hop: receiver got hello without a valid stream, dropped"
                     " (%ld similar suppressed)", suppressed);
        return;
    }
    if (peer->stream) {
        if (streq (peer->stream->name, name)) {
            //  Heartbeat: answer. A reset only if the last one is old: the
            //  sender may be resending from it already
            if (peer->resync)
                s_rx_resync (self, peer, now);
            else
                s_rx_credit (self, peer, false);
        }
        else {
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("hop: receiver stream=%s peer said hello for stream '%s'; one"
                         " connection serves one stream, ignored (%ld similar suppressed)",
                         peer->stream->name, name, suppressed);
        }
        return;
    }
    if ((self->stream && strcmp (self->stream, name))
    ||  (self->authorize && !self->authorize (self->arg, peer->user_id, name))) {
        if (!peer->refused)
            hl_warn ("hop: receiver refused stream '%s' from user '%s'", name, peer->user_id);
        peer->refused = true;
        return;
    }
    peer->stream = s_rx_stream (self, name);
    hl_info ("hop: receiver accepted stream=%s from user '%s'", name, peer->user_id);
    peer->last_progress = now;
    peer->resync = false;
    s_rx_resync (self, peer, now);
}

//  Close the burst's group: commit, then send the credits it held back; if
//  the commit failed, nothing of the group is durable: every stream in it
//  goes back to its cursor before the group and asks for a resend.
static void
s_rx_group_end (hl_hop_receiver_t *self)
{
    self->group_refused = false;
    if (!self->in_group)
        return;
    self->in_group = false;
    int rc = self->group_commit (self->arg);
    int64_t now = s_now ();
    if (rc) {
        self->applied -= self->group_applied;
        long suppressed = hl_ratelimit (&self->rl_group);
        if (suppressed >= 0)
            hl_warn ("hop: receiver commit of %" PRIu64 " items from %zu peer(s) failed,"
                     " will retry (%ld similar suppressed)", self->group_applied,
                     zlistx_size (self->group_peers), suppressed);
    }
    s_rxpeer_t *peer = (s_rxpeer_t *) zlistx_first (self->group_peers);
    while (peer) {
        s_stream_t *st = peer->stream;
        if (rc) {
            if (st && st->grouped)
                st->cursor = st->group_base;
            peer->resync = true;
            peer->next_reset = now + s_retry_ms (&self->opts);
        }
        else
        if (peer->credit_due && st) {
            st->grouped = false;        //  durable now: credit it
            s_rx_credit (self, peer, peer->credit_reset);
        }
        peer = (s_rxpeer_t *) zlistx_next (self->group_peers);
    }
    peer = (s_rxpeer_t *) zlistx_first (self->group_peers);
    while (peer) {
        if (peer->stream)
            peer->stream->grouped = false;
        peer->grouped = peer->credit_due = peer->credit_reset = false;
        peer = (s_rxpeer_t *) zlistx_next (self->group_peers);
    }
    zlistx_purge (self->group_peers);
}

static int
s_receiver_recv (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    hl_hop_receiver_t *self = (hl_hop_receiver_t *) arg;
    if (sock != self->sock)
        return 0;               //  reader of a socket we just replaced
    for (int burst = 0; burst < S_RECV_BURST; burst++) {
        zframe_t *routing_id;
        zframe_t *frame = s_recv (sock, self->bind, &routing_id, &self->rl_bad);
        if (!frame) {
            if (hl_sock_readable (sock))
                continue;
            self->drained_at = s_now ();
            break;
        }
        Hotline__Envelope *env = s_decode (frame, &self->rl_bad);
        if (!env) {
            zframe_destroy (&frame);
            zframe_destroy (&routing_id);
            continue;
        }
        int64_t now = s_now ();
        s_rxpeer_t *peer;
        if (self->bind) {
            char *key = zframe_strhex (routing_id);
            peer = (s_rxpeer_t *) zhashx_lookup (self->peers, key);
            if (!peer) {
                peer = (s_rxpeer_t *) zmalloc (sizeof (s_rxpeer_t));
                assert (peer);
                peer->routing_id = routing_id;
                routing_id = NULL;
                const char *user_id = zframe_meta (frame, "User-Id");
                peer->user_id = strdup (user_id? user_id: "");
                assert (peer->user_id);
                peer->last_sent = now;
                zhashx_insert (self->peers, key, peer);
            }
            zstr_free (&key);
        }
        else {
            peer = self->peer;
            self->last_heard = now;
            self->reconnects = 0;
        }
        zframe_destroy (&frame);
        zframe_destroy (&routing_id);
        peer->last_recv = now;

        if (env->body_case == HOTLINE__ENVELOPE__BODY_BATCH && env->batch)
            s_rx_on_batch (self, peer, env->batch, now);
        else
        if (env->body_case == HOTLINE__ENVELOPE__BODY_HELLO && env->hello && self->bind)
            s_rx_on_hello (self, peer, env->hello, now);
        else
        if (env->body_case != HOTLINE__ENVELOPE__BODY_HELLO) {
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("hop: receiver unexpected message (body %d), dropped"
                         " (%ld similar suppressed)", (int) env->body_case, suppressed);
        }
        hl_msg_free (&env);
        if (self->in_group && self->group_applied >= S_GROUP_ITEMS)
            break;              //  commit now; the rest waits on the socket
    }
    s_rx_group_end (self);
    return 0;
}

//  Connect mode: (re)create the socket, ask for everything after our cursor
static int
s_receiver_connect (hl_hop_receiver_t *self)
{
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->zombie);
        self->zombie = self->sock;
        self->sock = NULL;
    }
    int64_t now = s_now ();
    self->connected_at = now;
    self->last_heard = 0;
    self->peer->dead = false;
    self->peer->last_progress = now;
    self->sock = s_socket_new (ZMQ_DEALER, self->endpoint, false, &self->opts, self->server_key);
    if (!self->sock)
        return -1;
    if (zloop_reader (self->loop, self->sock, s_receiver_recv, self)) {
        hl_error ("hop: receiver stream=%s cannot register reader", self->stream);
        zsock_destroy (&self->sock);
        return -1;
    }
    zloop_reader_set_tolerant (self->loop, self->sock);
    self->peer->resync = false;
    s_rx_resync (self, self->peer, now);
    return 0;
}

static void
s_rx_peer_tick (hl_hop_receiver_t *self, s_rxpeer_t *peer, int64_t now)
{
    s_stream_t *st = peer->stream;
    if (!st || peer->dead)
        return;
    //  Owed data and no progress for timeout_ms, although we have read
    //  everything queued on the socket well after the last progress (a
    //  receiver still working through a backlog has simply not got there)
    if (!peer->resync && st->head > st->cursor
    &&  now - peer->last_progress > self->opts.timeout_ms
    &&  self->drained_at - peer->last_progress > self->opts.timeout_ms / 2) {
        hl_info ("hop: receiver stream=%s no progress for %d ms at cursor=%" PRIu64
                 " (head %" PRIu64 "), asking sender to rewind", st->name,
                 (int) (now - peer->last_progress), st->cursor, st->head);
        peer->last_progress = now;
        s_rx_resync (self, peer, now);
    }
    else
    if (peer->resync && now >= peer->next_reset)
        s_rx_resync (self, peer, now);
    else
    if (now - peer->last_sent >= self->opts.heartbeat_ms)
        s_rx_credit (self, peer, false);
}

static int
s_receiver_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hl_hop_receiver_t *self = (hl_hop_receiver_t *) arg;
    int64_t now = s_now ();
    zsock_destroy (&self->zombie);
    if (self->sock && !hl_sock_readable (self->sock))
        self->drained_at = now;

    if (!self->bind) {
        int64_t since = self->last_heard? self->last_heard: self->connected_at;
        if (now - since > self->opts.timeout_ms || !self->sock) {
            if (self->reconnects++ == 0)
                hl_warn ("hop: receiver stream=%s nothing from %s for %d ms, reconnecting",
                         self->stream, self->endpoint, (int) (now - since));
            else
                hl_debug ("hop: receiver stream=%s reconnecting to %s",
                          self->stream, self->endpoint);
            s_receiver_connect (self);
        }
        else
            s_rx_peer_tick (self, self->peer, now);
        return 0;
    }
    zlistx_t *gone = zlistx_new ();
    assert (gone);
    s_rxpeer_t *peer = (s_rxpeer_t *) zhashx_first (self->peers);
    while (peer) {
        if (peer->dead || now - peer->last_recv > self->opts.timeout_ms)
            zlistx_add_end (gone, (void *) zhashx_cursor (self->peers));
        else
            s_rx_peer_tick (self, peer, now);
        peer = (s_rxpeer_t *) zhashx_next (self->peers);
    }
    char *key = (char *) zlistx_first (gone);
    while (key) {
        peer = (s_rxpeer_t *) zhashx_lookup (self->peers, key);
        if (peer && peer->stream)
            hl_info ("hop: receiver stream=%s sender from user '%s' gone silent",
                     peer->stream->name, peer->user_id);
        zhashx_delete (self->peers, key);
        key = (char *) zlistx_next (gone);
    }
    zlistx_destroy (&gone);
    return 0;
}

hl_hop_receiver_t *
hl_hop_receiver_new (zloop_t *loop, const char *endpoint, bool bind,
                     const char *stream, hl_hop_apply_fn *apply,
                     hl_hop_cursor_fn *cursor, void *arg,
                     const hl_hop_opts_t *opts)
{
    assert (loop);
    assert (endpoint);
    assert (apply);
    assert (cursor);
    if ((stream || !bind) && !s_stream_name_ok (stream)) {
        hl_error ("hop: receiver needs a stream name (1..%d bytes)", S_STREAM_MAX);
        return NULL;
    }
    hl_hop_receiver_t *self = (hl_hop_receiver_t *) zmalloc (sizeof (hl_hop_receiver_t));
    assert (self);
    self->loop = loop;
    self->endpoint = strdup (endpoint);
    assert (self->endpoint);
    self->bind = bind;
    self->stream = stream? strdup (stream): NULL;
    self->apply = apply;
    self->cursor = cursor;
    self->arg = arg;
    s_opts_copy (&self->opts, opts);
    self->server_key = opts && opts->server_key? strdup (opts->server_key): NULL;
    self->timer_id = -1;
    self->streams = zhashx_new ();
    assert (self->streams);
    zhashx_set_destructor (self->streams, s_stream_free);
    self->group_peers = zlistx_new ();
    assert (self->group_peers);

    if (bind) {
        self->peers = zhashx_new ();
        assert (self->peers);
        zhashx_set_destructor (self->peers, s_rxpeer_free);
        self->sock = s_socket_new (ZMQ_ROUTER, endpoint, true, &self->opts, self->server_key);
        if (!self->sock
        ||  zloop_reader (loop, self->sock, s_receiver_recv, self)) {
            hl_hop_receiver_destroy (&self);
            return NULL;
        }
        zloop_reader_set_tolerant (loop, self->sock);
    }
    else {
        self->peer = (s_rxpeer_t *) zmalloc (sizeof (s_rxpeer_t));
        assert (self->peer);
        self->peer->user_id = strdup ("");
        self->peer->stream = s_rx_stream (self, stream);
        s_rx_load (self, self->peer->stream);   //  else retried on reset
        if (s_receiver_connect (self)) {
            hl_hop_receiver_destroy (&self);
            return NULL;
        }
    }
    self->timer_id = zloop_timer (loop, s_tick_ms (&self->opts), 0, s_receiver_tick, self);
    if (self->timer_id == -1) {
        hl_hop_receiver_destroy (&self);
        return NULL;
    }
    if (bind)
        hl_info ("hop: receiver bound to %s", zsock_endpoint (self->sock));
    else
        hl_info ("hop: receiver stream=%s connected to %s at cursor=%" PRIu64,
                 stream, endpoint, self->peer->stream->cursor);
    return self;
}

void
hl_hop_receiver_destroy (hl_hop_receiver_t **self_p)
{
    assert (self_p);
    hl_hop_receiver_t *self = *self_p;
    if (!self)
        return;
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->sock);
    }
    zsock_destroy (&self->zombie);
    zlistx_destroy (&self->group_peers);
    zhashx_destroy (&self->peers);
    s_rxpeer_destroy (&self->peer);
    zhashx_destroy (&self->streams);
    free (self->items);
    free (self->server_key);
    free (self->stream);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
hl_hop_receiver_set_authorize (hl_hop_receiver_t *self, hl_hop_authorize_fn *fn)
{
    assert (self);
    self->authorize = fn;
}

void
hl_hop_receiver_set_group (hl_hop_receiver_t *self, hl_hop_group_fn *begin,
                           hl_hop_group_fn *commit)
{
    assert (self);
    assert ((begin == NULL) == (commit == NULL));
    self->group_begin = begin;
    self->group_commit = commit;
}

uint64_t
hl_hop_receiver_applied (hl_hop_receiver_t *self)
{
    assert (self);
    return self->applied;
}

uint64_t
hl_hop_receiver_head (hl_hop_receiver_t *self, const char *stream)
{
    assert (self);
    if (!stream)
        stream = self->stream;
    s_stream_t *st = stream? (s_stream_t *) zhashx_lookup (self->streams, stream): NULL;
    if (!st)
        return 0;
    return st->head > st->cursor? st->head: st->cursor;
}

const char *
hl_hop_receiver_endpoint (hl_hop_receiver_t *self)
{
    assert (self);
    return self->bind && self->sock? zsock_endpoint (self->sock): self->endpoint;
}


//  ==================================================================
//  Selftest
//
//  A source is an array of items 1..n (payload "<stream>:<seq>") that can
//  skip chosen seqs once (gaps). A sink is an in-memory "database" per
//  stream: the cursor it persists and how often each seq was applied; it
//  can fail every k-th apply. Phases:
//    1. bound sender -> connecting receiver, inproc, N=10000: all in order,
//       exactly once; notify; junk frames to the sender
//    2. kill and recreate the receiver mid-stream, then the bound sender
//    3. bound receiver over tcp with two connecting senders (gaps, failing
//       applies, a sender restart), one refused stream, junk frames
//    4. CurveZMQ: authorize by the User-Id (public key) of the peer

#define T_STREAMS 4

typedef struct {
    const char *name;
    uint64_t n;                 //  items 1..n exist
    uint64_t skip [2];          //  seqs to leave out once (gap), 0 = none
    bool skipped [2];
    size_t fetches;
} t_source_t;

typedef struct {
    const char *name;
    uint64_t cursor;            //  "persisted" cursor
    uint64_t n;                 //  size of count []
    uint32_t *count;            //  times each seq was applied
    bool order_ok;
    size_t bad_payloads;
    size_t calls;
    size_t fail_every;          //  fail every k-th apply...
    size_t fail_max;            //  ...this many times
    size_t failures;
    uint64_t freeze_at;         //  once cursor >= this, apply fails (0 = off)
} t_db_t;

typedef struct {
    t_db_t dbs [T_STREAMS];
    size_t n_dbs;
    const char *allow_user;     //  authorize: if set, only this User-Id
    const char *refuse_stream;  //  authorize: refuse this stream
    size_t refusals;
    char last_user [128];       //  User-Id of the last authorize call
    char refused_user [128];    //  User-Id of the last refusal
    //  Group commit: a transaction over every db, which a failed commit
    //  rolls back
    bool grouped;               //  applies must come inside a group
    bool group_open;
    size_t group_begins;
    size_t group_commits;
    size_t commit_fail_every;   //  fail every k-th commit...
    size_t commit_fail_max;     //  ...this many times
    size_t commit_failures;
    uint64_t saved_cursor [T_STREAMS];
    uint32_t *saved_count [T_STREAMS];
} t_sink_t;

typedef struct {
    int64_t deadline;
    bool timed_out;
    bool (*done) (void *);
    void *arg;
} t_wait_t;

static int
t_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    t_source_t *src = (t_source_t *) arg;
    assert (streq (stream, src->name));
    src->fetches++;
    size_t count = 0;
    for (uint64_t seq = after + 1; seq <= src->n && count < max; seq++) {
        bool skip = false;
        for (int i = 0; i < 2; i++)
            if (src->skip [i] == seq && !src->skipped [i]) {
                src->skipped [i] = true;
                skip = true;
            }
        if (skip)
            continue;
        char buf [64];
        int size = snprintf (buf, sizeof buf, "%s:%" PRIu64, stream, seq);
        items [count].seq = seq;
        items [count].data = (uint8_t *) malloc (size);
        assert (items [count].data);
        memcpy (items [count].data, buf, size);
        items [count].size = size;
        count++;
    }
    return (int) count;
}

static void
t_db_init (t_db_t *db, const char *name, uint64_t n)
{
    memset (db, 0, sizeof (*db));
    db->name = name;
    db->n = n;
    db->count = (uint32_t *) zmalloc ((n + 1) * sizeof (uint32_t));
    assert (db->count);
    db->order_ok = true;
}

//  Every seq 1..n applied exactly once, in order, with its own payload
static void
t_db_check (t_db_t *db, uint64_t n)
{
    assert (db->order_ok);
    assert (db->bad_payloads == 0);
    assert (db->cursor == n);
    for (uint64_t seq = 1; seq <= n; seq++)
        assert (db->count [seq] == 1);
    for (uint64_t seq = n + 1; seq <= db->n; seq++)
        assert (db->count [seq] == 0);
}

static t_db_t *
t_sink_db (t_sink_t *sink, const char *stream)
{
    for (size_t i = 0; i < sink->n_dbs; i++)
        if (streq (sink->dbs [i].name, stream))
            return &sink->dbs [i];
    return NULL;
}

static int
t_group_begin (void *arg)
{
    t_sink_t *sink = (t_sink_t *) arg;
    assert (!sink->group_open);
    for (size_t i = 0; i < sink->n_dbs; i++) {
        t_db_t *db = &sink->dbs [i];
        sink->saved_cursor [i] = db->cursor;
        sink->saved_count [i] = (uint32_t *) malloc ((db->n + 1) * sizeof (uint32_t));
        assert (sink->saved_count [i]);
        memcpy (sink->saved_count [i], db->count, (db->n + 1) * sizeof (uint32_t));
    }
    sink->group_open = true;
    sink->group_begins++;
    return 0;
}

static int
t_group_commit (void *arg)
{
    t_sink_t *sink = (t_sink_t *) arg;
    assert (sink->group_open);
    sink->group_open = false;
    sink->group_commits++;
    bool fail = sink->commit_fail_every && sink->group_commits % sink->commit_fail_every == 0
             && sink->commit_failures < sink->commit_fail_max;
    for (size_t i = 0; i < sink->n_dbs; i++) {
        t_db_t *db = &sink->dbs [i];
        if (fail) {             //  roll back everything the group applied
            db->cursor = sink->saved_cursor [i];
            memcpy (db->count, sink->saved_count [i], (db->n + 1) * sizeof (uint32_t));
        }
        free (sink->saved_count [i]);
        sink->saved_count [i] = NULL;
    }
    if (fail)
        sink->commit_failures++;
    return fail? -1: 0;
}

static int
t_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    t_sink_t *sink = (t_sink_t *) arg;
    assert (!sink->grouped || sink->group_open);
    t_db_t *db = t_sink_db (sink, stream);
    assert (db);
    db->calls++;
    if (db->fail_every && db->calls % db->fail_every == 0 && db->failures < db->fail_max) {
        db->failures++;
        return -1;              //  as if the transaction rolled back
    }
    if (db->freeze_at && db->cursor >= db->freeze_at)
        return -1;              //  stuck until the test kills something
    if (count == 0)
        db->order_ok = false;
    for (size_t i = 0; i < count; i++) {
        uint64_t seq = items [i].seq;
        if (seq != db->cursor + 1 + i)
            db->order_ok = false;
        char expect [64];
        int size = snprintf (expect, sizeof expect, "%s:%" PRIu64, stream, seq);
        if (items [i].size != (size_t) size || memcmp (items [i].data, expect, size))
            db->bad_payloads++;
        if (seq >= 1 && seq <= db->n)
            db->count [seq]++;
        else
            db->order_ok = false;
    }
    if (count)
        db->cursor = items [count - 1].seq;
    return 0;
}

static int
t_cursor (void *arg, const char *stream, uint64_t *cursor)
{
    t_db_t *db = t_sink_db ((t_sink_t *) arg, stream);
    if (!db)
        return -1;
    *cursor = db->cursor;
    return 0;
}

static bool
t_authorize (void *arg, const char *user_id, const char *stream)
{
    t_sink_t *sink = (t_sink_t *) arg;
    snprintf (sink->last_user, sizeof sink->last_user, "%s", user_id);
    if ((sink->refuse_stream && streq (stream, sink->refuse_stream))
    ||  (sink->allow_user && strcmp (user_id, sink->allow_user))) {
        sink->refusals++;
        snprintf (sink->refused_user, sizeof sink->refused_user, "%s", user_id);
        return false;
    }
    return true;
}

static int
t_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    t_wait_t *wait = (t_wait_t *) arg;
    if (wait->done (wait->arg))
        return -1;
    if (zclock_mono () > wait->deadline) {
        wait->timed_out = true;
        return -1;
    }
    return 0;
}

//  Run the loop until done (arg) is true; fails the test after 60 seconds
static void
t_run (zloop_t *loop, bool (*done) (void *), void *arg)
{
    t_wait_t wait = { zclock_mono () + 60000, false, done, arg };
    int timer_id = zloop_timer (loop, 5, 0, t_check, &wait);
    assert (timer_id != -1);
    zloop_start (loop);
    zloop_timer_end (loop, timer_id);
    assert (!wait.timed_out);
}

//  Send a raw frame from a test socket
static void
t_send_raw (zsock_t *sock, const void *data, size_t size)
{
    zframe_t *frame = zframe_new (data, size);
    assert (frame);
    int rc = zframe_send (&frame, sock, 0);
    assert (rc == 0);
}

static void
t_send_env (zsock_t *sock, Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    assert (frame);
    int rc = zframe_send (&frame, sock, 0);
    assert (rc == 0);
}

//  Phase 1 and 2 state
typedef struct {
    t_source_t src;
    t_sink_t sink;
    hl_hop_sender_t *sender;
    hl_hop_receiver_t *receiver;
    uint64_t target;            //  done when cursor and acked reach this
    uint64_t stop_at;           //  or when the cursor passes this (0 = never)
} t_pair_t;

static bool
t_pair_done (void *arg)
{
    t_pair_t *pair = (t_pair_t *) arg;
    t_db_t *db = &pair->sink.dbs [0];
    if (pair->stop_at && db->cursor >= pair->stop_at)
        return true;
    return db->cursor == pair->target && hl_hop_sender_acked (pair->sender) == pair->target;
}

//  Phase 3 and 4 state
typedef struct {
    t_source_t srcs [3];
    t_sink_t sink;
    hl_hop_sender_t *senders [3];
    hl_hop_receiver_t *receiver;
    uint64_t target [2];
    size_t min_refusals;
    uint64_t stop_at;           //  stop when stream 0 passes this (0 = never)
} t_star_t;

static bool
t_star_done (void *arg)
{
    t_star_t *star = (t_star_t *) arg;
    if (star->stop_at && star->sink.dbs [0].cursor >= star->stop_at)
        return true;
    for (int i = 0; i < 2; i++)
        if (star->target [i]
        && (star->sink.dbs [i].cursor != star->target [i]
        ||  hl_hop_sender_acked (star->senders [i]) != star->target [i]))
            return false;
    return star->sink.refusals >= star->min_refusals;
}

//  A restarted bound receiver has heard from both senders again (their
//  rewind answers carry the head)
static bool
t_restarted (void *arg)
{
    t_star_t *star = (t_star_t *) arg;
    return hl_hop_receiver_head (star->receiver, "31001") == star->target [0]
        && hl_hop_receiver_head (star->receiver, "31002") == star->target [1];
}

int
hl_hop_fetch_sql (hl_store_t *store, const char *sql, const char *key,
                  uint64_t after, size_t max, hl_hop_item_t *items)
{
    sqlite3_stmt *stmt = hl_store_prepare (store, sql);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) after);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) max);
    if (key)
        sqlite3_bind_text (stmt, 3, key, -1, SQLITE_STATIC);
    int count = 0;
    while ((size_t) count < max && sqlite3_step (stmt) == SQLITE_ROW) {
        items [count].seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        items [count].size = (size_t) sqlite3_column_bytes (stmt, 1);
        items [count].data = (uint8_t *) malloc (items [count].size? items [count].size: 1);
        memcpy (items [count].data, sqlite3_column_blob (stmt, 1), items [count].size);
        count++;
    }
    sqlite3_reset (stmt);
    return count;
}

void
hl_hop_test (bool verbose)
{
    printf (" * hl_hop: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    assert (opts.timeout_ms == 3000 && opts.window == 2048 && opts.batch == 256);
    opts.heartbeat_ms = 50;     //  fast liveness so the test recovers quickly
    opts.timeout_ms = 500;

    //  1. Bound sender, connecting receiver, 10000 items over inproc
    {
        const uint64_t N = 10000;
        t_pair_t pair;
        memset (&pair, 0, sizeof pair);
        pair.src.name = "intake";
        pair.src.n = N;
        t_db_init (&pair.sink.dbs [0], "intake", N + 500);
        pair.sink.n_dbs = 1;
        pair.target = N;

        zloop_t *loop = zloop_new ();
        assert (loop);
        pair.sender = hl_hop_sender_new (loop, "inproc://hl-hop-test-1", true, "intake",
                                         t_fetch, &pair.src, &opts);
        assert (pair.sender);
        assert (streq (hl_hop_sender_endpoint (pair.sender), "inproc://hl-hop-test-1"));
        pair.receiver = hl_hop_receiver_new (loop, "inproc://hl-hop-test-1", false, "intake",
                                             t_apply, t_cursor, &pair.sink, &opts);
        assert (pair.receiver);

        //  Junk for the sender: it must drop all of it and carry on
        zsock_t *junk = zsock_new_dealer ("inproc://hl-hop-test-1");
        assert (junk);
        t_send_raw (junk, "garbage", 7);
        zmsg_t *multi = zmsg_new ();
        zmsg_addstr (multi, "two");
        zmsg_addstr (multi, "frames");
        zmsg_send (&multi, junk);
        Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
        credit.stream = "other";
        credit.window = 10;
        Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
        env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
        env.credit = &credit;
        t_send_env (junk, &env);            //  wrong stream
        Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
        hello.stream = "intake";
        env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        t_send_env (junk, &env);            //  a sender's message

        t_run (loop, t_pair_done, &pair);
        t_db_check (&pair.sink.dbs [0], N);
        assert (hl_hop_receiver_applied (pair.receiver) == N);
        assert (hl_hop_receiver_head (pair.receiver, "intake") == N);
        assert (hl_hop_receiver_head (pair.receiver, NULL) == N);
        assert (hl_hop_receiver_head (pair.receiver, "nope") == 0);
        assert (hl_hop_sender_peers (pair.sender) == 1);

        //  More items in the source: notify and they flow
        pair.src.n = N + 500;
        pair.target = N + 500;
        hl_hop_sender_notify (pair.sender);
        t_run (loop, t_pair_done, &pair);
        t_db_check (&pair.sink.dbs [0], N + 500);
        if (verbose)
            printf ("   1: %" PRIu64 " items, %zu applies, %zu fetches\n",
                    pair.sink.dbs [0].cursor, pair.sink.dbs [0].calls, pair.src.fetches);

        zsock_destroy (&junk);
        hl_hop_receiver_destroy (&pair.receiver);
        hl_hop_sender_destroy (&pair.sender);
        assert (pair.sender == NULL && pair.receiver == NULL);
        zloop_destroy (&loop);
        free (pair.sink.dbs [0].count);
    }

    //  1b. Coalescing: ten notifies within coalesce_ms reach the receiver
    //  as one batch (one apply, one commit); without it, as ten
    for (int coalesce = 0; coalesce < 2; coalesce++) {
        hl_hop_opts_t copts = opts;
        copts.coalesce_ms = coalesce? 200: 0;
        t_pair_t pair;
        memset (&pair, 0, sizeof pair);
        pair.src.name = "intake";
        pair.src.n = 1;
        t_db_init (&pair.sink.dbs [0], "intake", 11);
        pair.sink.n_dbs = 1;
        pair.target = 1;
        zloop_t *loop = zloop_new ();
        assert (loop);
        //  Its own endpoint each time: a closed socket's inproc name is
        //  released asynchronously
        char endpoint [64];
        snprintf (endpoint, sizeof endpoint, "inproc://hl-hop-test-1b-%d", coalesce);
        pair.sender = hl_hop_sender_new (loop, endpoint, true, "intake", t_fetch, &pair.src, &copts);
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "intake",
                                             t_apply, t_cursor, &pair.sink, &copts);
        assert (pair.sender && pair.receiver);
        t_run (loop, t_pair_done, &pair);       //  linked, item 1 applied
        size_t calls = pair.sink.dbs [0].calls;
        for (uint64_t n = 2; n <= 11; n++) {
            pair.src.n = n;                     //  as intake: write, notify
            hl_hop_sender_notify (pair.sender);
        }
        pair.target = 11;
        t_run (loop, t_pair_done, &pair);
        t_db_check (&pair.sink.dbs [0], 11);
        assert (pair.sink.dbs [0].calls - calls == (coalesce? 1: 10));
        hl_hop_receiver_destroy (&pair.receiver);
        hl_hop_sender_destroy (&pair.sender);     //  a timer may be armed
        zloop_destroy (&loop);
        free (pair.sink.dbs [0].count);
    }

    //  2. Kill and recreate the receiver mid-stream (it resumes from its
    //  persisted cursor), then the bound sender (the receiver reconnects)
    {
        const uint64_t N = 10000;
        hl_hop_opts_t small = opts;
        small.window = 300;         //  many round trips, state mid-stream
        small.batch = 64;
        t_pair_t pair;
        memset (&pair, 0, sizeof pair);
        pair.src.name = "log";
        pair.src.n = N;
        t_db_init (&pair.sink.dbs [0], "log", N);
        pair.sink.n_dbs = 1;
        pair.target = N;
        const char *endpoint = "inproc://hl-hop-test-2";

        zloop_t *loop = zloop_new ();
        assert (loop);
        pair.sender = hl_hop_sender_new (loop, endpoint, true, "log", t_fetch, &pair.src, &small);
        assert (pair.sender);
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "log",
                                             t_apply, t_cursor, &pair.sink, &small);
        assert (pair.receiver);

        //  The "database" stops taking batches at 3000, so the loop ends
        //  with the sender's window in flight; then the process "dies"
        pair.stop_at = pair.sink.dbs [0].freeze_at = 3000;
        t_run (loop, t_pair_done, &pair);
        uint64_t killed_at = pair.sink.dbs [0].cursor;
        assert (killed_at >= 3000 && killed_at < 3000 + small.batch);
        hl_hop_receiver_destroy (&pair.receiver);
        pair.sink.dbs [0].freeze_at = 0;
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "log",
                                             t_apply, t_cursor, &pair.sink, &small);
        assert (pair.receiver);

        pair.stop_at = pair.sink.dbs [0].freeze_at = 6000;
        t_run (loop, t_pair_done, &pair);
        assert (pair.sink.dbs [0].cursor >= 6000 && pair.sink.dbs [0].cursor < N);
        hl_hop_sender_destroy (&pair.sender);
        pair.sink.dbs [0].freeze_at = 0;
        //  inproc endpoints are released asynchronously: retry the bind
        for (int attempt = 0; attempt < 200 && !pair.sender; attempt++) {
            pair.sender = hl_hop_sender_new (loop, endpoint, true, "log",
                                             t_fetch, &pair.src, &small);
            if (!pair.sender)
                zclock_sleep (10);
        }
        assert (pair.sender);

        pair.stop_at = 0;
        t_run (loop, t_pair_done, &pair);
        t_db_check (&pair.sink.dbs [0], N);
        //  The second receiver applied exactly what was left when it started
        assert (hl_hop_receiver_applied (pair.receiver) == N - killed_at);
        if (verbose)
            printf ("   2: receiver killed at %" PRIu64 ", %zu applies\n",
                    killed_at, pair.sink.dbs [0].calls);

        hl_hop_receiver_destroy (&pair.receiver);
        hl_hop_sender_destroy (&pair.sender);
        zloop_destroy (&loop);
        free (pair.sink.dbs [0].count);
    }

    //  3. Bound receiver (tcp), two connecting senders with their own
    //  streams, a refused third one, gaps, failing applies, a sender restart
    {
        const uint64_t N = 3000;
        hl_hop_opts_t small = opts;
        small.window = 512;
        small.batch = 100;
        t_star_t star;
        memset (&star, 0, sizeof star);
        const char *names [3] = { "31001", "31002", "99999" };
        for (int i = 0; i < 3; i++) {
            star.srcs [i].name = names [i];
            star.srcs [i].n = N;
            t_db_init (&star.sink.dbs [i], names [i], N);
        }
        star.sink.n_dbs = 3;
        star.srcs [0].skip [0] = 1234;      //  gaps, each seen once
        star.srcs [0].skip [1] = 2345;
        star.sink.dbs [1].fail_every = 7;   //  transient apply failures
        star.sink.dbs [1].fail_max = 5;
        star.sink.refuse_stream = "99999";
        star.target [0] = star.target [1] = N;
        star.min_refusals = 2;

        zloop_t *loop = zloop_new ();
        assert (loop);
        star.receiver = hl_hop_receiver_new (loop, "tcp://127.0.0.1:*", true, NULL,
                                             t_apply, t_cursor, &star.sink, &small);
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, t_authorize);
        //  Group commit across the streams, with failing commits
        hl_hop_receiver_set_group (star.receiver, t_group_begin, t_group_commit);
        star.sink.grouped = true;
        star.sink.commit_fail_every = 3;
        star.sink.commit_fail_max = 4;
        char *endpoint = strdup (hl_hop_receiver_endpoint (star.receiver));
        assert (endpoint && strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
        for (int i = 0; i < 3; i++) {
            star.senders [i] = hl_hop_sender_new (loop, endpoint, false, names [i],
                                                  t_fetch, &star.srcs [i], &small);
            assert (star.senders [i]);
        }
        //  Junk for the receiver: garbage, a batch without hello, a
        //  receiver's message; none of it may be applied
        zsock_t *junk = zsock_new_dealer (endpoint);
        assert (junk);
        t_send_raw (junk, "\x0a\xff\xff", 3);
        Hotline__HopItem item = HOTLINE__HOP_ITEM__INIT;
        item.seq = 1;
        item.payload.data = (uint8_t *) "evil";
        item.payload.len = 4;
        Hotline__HopItem *items [1] = { &item };
        Hotline__HopBatch batch = HOTLINE__HOP_BATCH__INIT;
        batch.stream = "31001";
        batch.n_items = 1;
        batch.items = items;
        batch.head = 1;
        Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
        env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
        env.batch = &batch;
        t_send_env (junk, &env);
        Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
        credit.stream = "31001";
        env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
        env.credit = &credit;
        t_send_env (junk, &env);
        //  A peer accepted for one stream sends a batch naming another
        zsock_t *liar = zsock_new_dealer (endpoint);
        assert (liar);
        Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
        hello.stream = "31002";
        env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        t_send_env (liar, &env);
        env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
        env.batch = &batch;
        t_send_env (liar, &env);

        //  Restart the first sender mid-stream: it resumes from the
        //  receiver's cursor
        star.stop_at = star.sink.dbs [0].freeze_at = 1000;
        t_run (loop, t_star_done, &star);
        assert (star.sink.dbs [0].cursor >= 1000 && star.sink.dbs [0].cursor < N);
        hl_hop_sender_destroy (&star.senders [0]);
        star.sink.dbs [0].freeze_at = 0;
        star.senders [0] = hl_hop_sender_new (loop, endpoint, false, names [0],
                                              t_fetch, &star.srcs [0], &small);
        assert (star.senders [0]);
        star.stop_at = 0;
        t_run (loop, t_star_done, &star);

        t_db_check (&star.sink.dbs [0], N);
        t_db_check (&star.sink.dbs [1], N);
        t_db_check (&star.sink.dbs [2], 0);         //  refused: nothing
        assert (star.sink.dbs [2].calls == 0);
        assert (star.srcs [0].skipped [0] && star.srcs [0].skipped [1]);
        assert (star.sink.dbs [1].failures == 5);
        assert (star.sink.commit_failures == 4);
        assert (star.sink.group_begins == star.sink.group_commits && !star.sink.group_open);
        assert (star.sink.refusals >= 2);
        assert (streq (star.sink.last_user, ""));    //  no Curve: no User-Id
        assert (hl_hop_receiver_applied (star.receiver) == 2 * N);
        assert (hl_hop_receiver_head (star.receiver, "31001") == N);
        assert (hl_hop_receiver_head (star.receiver, "31002") == N);
        assert (hl_hop_receiver_head (star.receiver, "99999") == 0);
        assert (hl_hop_sender_peers (star.senders [0]) == 1);
        assert (hl_hop_sender_peers (star.senders [1]) == 1);
        assert (hl_hop_sender_peers (star.senders [2]) == 0);
        assert (hl_hop_sender_acked (star.senders [2]) == 0);
        if (verbose)
            printf ("   3: 2 x %" PRIu64 " items over %s, %zu refusals, %zu group commits\n",
                    N, endpoint, star.sink.refusals, star.sink.group_commits);

        //  The bound receiver restarts under the senders' sockets (ZeroMQ
        //  reconnects them by itself): their heartbeat batches serve as
        //  hellos, so they are heard again well within the hop timeout,
        //  without making new sockets
        zsock_t *socks [2] = { star.senders [0]->sock, star.senders [1]->sock };
        hl_hop_receiver_destroy (&star.receiver);
        for (int attempt = 0; !star.receiver && attempt < 100; attempt++) {
            zclock_sleep (attempt? 20: 0);      //  libzmq closes the old listener asynchronously
            star.receiver = hl_hop_receiver_new (loop, endpoint, true, NULL,
                                                 t_apply, t_cursor, &star.sink, &small);
        }
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, t_authorize);
        hl_hop_receiver_set_group (star.receiver, t_group_begin, t_group_commit);
        t_run (loop, t_restarted, &star);
        assert (star.senders [0]->sock == socks [0] && star.senders [1]->sock == socks [1]);
        t_db_check (&star.sink.dbs [0], N);
        t_db_check (&star.sink.dbs [1], N);

        zsock_destroy (&junk);
        zsock_destroy (&liar);
        for (int i = 0; i < 3; i++)
            hl_hop_sender_destroy (&star.senders [i]);
        hl_hop_receiver_destroy (&star.receiver);
        zloop_destroy (&loop);
        for (int i = 0; i < 3; i++)
            free (star.sink.dbs [i].count);
        free (endpoint);
    }

    //  4. CurveZMQ: the bound receiver authorizes by the peer's public key
    //  (User-Id). zauth belongs to the process, not to the hop: as in
    //  production it checks a certificate directory, which is what makes
    //  it set User-Id to the client's public key.
    {
        const uint64_t N = 500;
        char certdir [] = "/tmp/hl-hop-test-XXXXXX";
        assert (mkdtemp (certdir));
        zcert_t *server_cert = zcert_new ();
        zcert_t *good_cert = zcert_new ();
        zcert_t *bad_cert = zcert_new ();
        assert (server_cert && good_cert && bad_cert);
        char good_path [64], bad_path [64];
        snprintf (good_path, sizeof good_path, "%s/good.cert", certdir);
        snprintf (bad_path, sizeof bad_path, "%s/bad.cert", certdir);
        int rc = zcert_save_public (good_cert, good_path);
        assert (rc == 0);
        rc = zcert_save_public (bad_cert, bad_path);
        assert (rc == 0);

        zactor_t *auth = zactor_new (zauth, NULL);
        assert (auth);
        if (verbose) {
            zstr_sendx (auth, "VERBOSE", NULL);
            zsock_wait (auth);
        }
        zstr_sendx (auth, "CURVE", certdir, NULL);
        zsock_wait (auth);

        t_star_t star;
        memset (&star, 0, sizeof star);
        star.srcs [0].name = "31001";
        star.srcs [0].n = N;
        star.srcs [1].name = "31001";       //  another ward claims it too
        star.srcs [1].n = N;
        t_db_init (&star.sink.dbs [0], "31001", N);
        star.sink.n_dbs = 1;
        star.sink.allow_user = zcert_public_txt (good_cert);
        star.target [0] = N;
        star.min_refusals = 1;

        zloop_t *loop = zloop_new ();
        assert (loop);
        hl_hop_opts_t server = opts;
        server.cert = server_cert;
        server.curve_server = true;
        star.receiver = hl_hop_receiver_new (loop, "tcp://127.0.0.1:*", true, NULL,
                                             t_apply, t_cursor, &star.sink, &server);
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, t_authorize);
        char *endpoint = strdup (hl_hop_receiver_endpoint (star.receiver));
        assert (endpoint);

        hl_hop_opts_t client = opts;
        client.server_key = zcert_public_txt (server_cert);
        client.cert = good_cert;
        star.senders [0] = hl_hop_sender_new (loop, endpoint, false, "31001",
                                              t_fetch, &star.srcs [0], &client);
        client.cert = bad_cert;
        star.senders [1] = hl_hop_sender_new (loop, endpoint, false, "31001",
                                              t_fetch, &star.srcs [1], &client);
        assert (star.senders [0] && star.senders [1]);
        //  Curve without a certificate is a configuration error
        client.cert = NULL;
        assert (hl_hop_sender_new (loop, endpoint, false, "x", t_fetch, NULL, &client) == NULL);

        t_run (loop, t_star_done, &star);
        t_db_check (&star.sink.dbs [0], N);
        assert (star.sink.refusals >= 1);
        assert (streq (star.sink.refused_user, zcert_public_txt (bad_cert)));
        assert (hl_hop_sender_peers (star.senders [0]) == 1);
        assert (hl_hop_sender_peers (star.senders [1]) == 0);
        if (verbose)
            printf ("   4: %" PRIu64 " items over CurveZMQ, %zu refusals\n",
                    N, star.sink.refusals);

        for (int i = 0; i < 2; i++)
            hl_hop_sender_destroy (&star.senders [i]);
        hl_hop_receiver_destroy (&star.receiver);
        zloop_destroy (&loop);
        zactor_destroy (&auth);
        free (star.sink.dbs [0].count);
        free (endpoint);
        zcert_destroy (&server_cert);
        zcert_destroy (&good_cert);
        zcert_destroy (&bad_cert);
        zsys_file_delete (good_path);
        zsys_file_delete (bad_path);
        zsys_dir_delete ("%s", certdir);
    }
    //  @end
    printf ("OK\n");
}
