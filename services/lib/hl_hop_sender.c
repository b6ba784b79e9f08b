/*  hl_hop_sender — the sending side of the one reliable hop: serves a
    durable, numbered source to receivers that grant it credit. The
    protocol and the rules for callers are in hl_hop.h; the wire it shares
    with hl_hop_receiver is in hl_hop.c (hl_hop_wire.h).

    Per receiver ("peer"; one in connect mode, one per ROUTER routing id
    in bind mode):
        cursor  receiver's applied cursor, from its last credit
        limit   cursor + window: highest seq we may send
        sent    highest seq sent; rewound to cursor on a reset credit, on
                the first credit from a peer, and when the receiver makes
                no progress for timeout_ms while we owe it data
    pump: while sent < limit, fetch up to min(batch, limit-sent) items after
    sent and send them as one or more HopBatch frames that each fit under
    HL_MAX_MSG_SIZE. A failed (non-blocking) send stops the pump for that
    peer; the next credit, notify or tick retries.

    How to read this file:
      - peers and sending: s_sender_send*, the pump (s_sender_pump_*)
      - what comes in: s_sender_on_credit, s_sender_recv (the reader)
      - connect mode and the tick: s_sender_connect, s_sender_tick
      - the public API: hl_hop_sender_new ... hl_hop_sender_endpoint
      - the selftest, from the sender's side: a bound sender and a
        connecting receiver (junk, notify, coalescing, restarts of either)
*/

#include "hl_hop_wire.h"

#define S_ITEM_OVERHEAD     24      //  protobuf bytes around one HopItem
#define S_ENVELOPE_SLACK    8192    //  envelope + batch overhead allowance
#define S_REWIND_TIMEOUTS   10      //  sender's own rewind: a backstop only

static uint64_t
s_add_sat (uint64_t a, uint64_t b)
{
    return a + b < a? UINT64_MAX: a + b;
}

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

static int
s_sender_send (hl_hop_sender_t *self, s_txpeer_t *peer, Hotline__Envelope *env)
{
    if (!self->sock)
        return -1;
    return hl_hop_wire_send_env (self->sock, peer->routing_id, env,
                                 &peer->dead, &peer->last_sent);
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
    if (!hl_hop_wire_stream_ok (stream))
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
    Hotline__HopBatch batch;
    hl_hop_wire_batch (&batch, s_peer_stream (self, peer), self->head,
                       self->items + first, count, self->pb_items, self->pb_ptrs);
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
            peer->progress_at = hl_hop_wire_now ();   //  we start owing data now
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
            hl_hop_wire_items_free (self->items, max);
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
            hl_hop_wire_items_free (self->items, max);
            break;
        }
        if (self->items [fetched - 1].seq > self->head)
            self->head = self->items [fetched - 1].seq;
        rc = count? s_sender_send_items (self, peer, count): -1;
        hl_hop_wire_items_free (self->items, max);
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
    int64_t now = hl_hop_wire_now ();
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
    for (int burst = 0; burst < HL_HOP_RECV_BURST; burst++) {
        zframe_t *routing_id;
        zframe_t *frame = hl_hop_wire_recv (sock, self->bind, &routing_id, &self->rl_bad);
        if (!frame) {
            if (hl_sock_readable (sock))
                continue;       //  malformed message dropped, read on
            break;
        }
        const char *user_id = zframe_meta (frame, "User-Id");
        char user [128];
        snprintf (user, sizeof user, "%s", user_id? user_id: "");
        Hotline__Envelope *env = hl_hop_wire_decode (frame, &self->rl_bad);
        zframe_destroy (&frame);
        if (!env) {
            zframe_destroy (&routing_id);
            continue;
        }
        int64_t now = hl_hop_wire_now ();
        s_txpeer_t *peer = NULL;
        if (self->bind) {
            char *key = zframe_strhex (routing_id);
            peer = (s_txpeer_t *) zhashx_lookup (self->peers, key);
            if (!peer && env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT && env->credit
            &&  s_sender_admits (self, user, env->credit->stream)) {
                peer = (s_txpeer_t *) zmalloc (sizeof (s_txpeer_t));
                peer->routing_id = routing_id;
                routing_id = NULL;
                peer->last_sent = now;
                if (s_any_stream (self))
                    peer->stream = hl_strdup (env->credit->stream);
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
    hl_hop_wire_retire (self->loop, &self->sock, &self->zombie);
    s_txpeer_t *peer = self->peer;
    peer->credited = false;
    peer->dead = false;
    peer->cursor = peer->limit = peer->sent = 0;
    self->connected_at = hl_hop_wire_now ();
    self->last_heard = 0;
    self->sock = hl_hop_wire_open (self->loop, ZMQ_DEALER, self->endpoint, false, &self->opts,
                                   self->server_key, s_sender_recv, self);
    if (!self->sock)
        return -1;
    s_sender_send_hello (self);
    return 0;
}

static int
s_sender_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hl_hop_sender_t *self = (hl_hop_sender_t *) arg;
    int64_t now = hl_hop_wire_now ();
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
    if (!hl_hop_wire_stream_ok (stream)) {
        hl_error ("hop: sender needs a stream name (1..%d bytes)", HL_HOP_STREAM_MAX);
        return NULL;
    }
    hl_hop_sender_t *self = (hl_hop_sender_t *) zmalloc (sizeof (hl_hop_sender_t));
    self->loop = loop;
    self->endpoint = hl_strdup (endpoint);
    self->bind = bind;
    self->stream = hl_strdup (stream);
    self->fetch = fetch;
    self->arg = arg;
    hl_hop_wire_opts_copy (&self->opts, opts);
    self->server_key = opts && opts->server_key? hl_strdup (opts->server_key): NULL;
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
        self->sock = hl_hop_wire_open (loop, ZMQ_ROUTER, endpoint, true, &self->opts,
                                       self->server_key, s_sender_recv, self);
        if (!self->sock) {
            hl_hop_sender_destroy (&self);
            return NULL;
        }
    }
    else {
        self->peer = (s_txpeer_t *) zmalloc (sizeof (s_txpeer_t));
        if (s_sender_connect (self)) {
            hl_hop_sender_destroy (&self);
            return NULL;
        }
    }
    self->timer_id = zloop_timer (loop, hl_hop_wire_tick_ms (&self->opts), 0, s_sender_tick, self);
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

uint64_t
hl_hop_sender_acked_stream (hl_hop_sender_t *self, const char *stream)
{
    assert (self);
    if (!self->bind)
        return self->acked;
    uint64_t cursor = 0;
    for (s_txpeer_t *peer = (s_txpeer_t *) zhashx_first (self->peers); peer;
         peer = (s_txpeer_t *) zhashx_next (self->peers))
        if (peer->credited && streq (s_peer_stream (self, peer), stream) && peer->cursor > cursor)
            cursor = peer->cursor;
    return cursor;
}

size_t
hl_hop_sender_peers (hl_hop_sender_t *self)
{
    assert (self);
    int64_t now = hl_hop_wire_now ();
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

zsock_t *
hl_hop_sender_socket (hl_hop_sender_t *self)
{
    assert (self);
    return self->sock;
}

//  ==================================================================
//  Selftest: a bound sender and a connecting receiver, over inproc
//    1. N=10000: all in order, exactly once; notify; junk frames to the
//       sender; 1b. coalescing
//    2. kill and recreate the receiver mid-stream, then the bound sender

//  Phase 1 and 2 state
typedef struct {
    hl_hop_t_source_t src;
    hl_hop_t_sink_t sink;
    hl_hop_sender_t *sender;
    hl_hop_receiver_t *receiver;
    uint64_t target;            //  done when cursor and acked reach this
    uint64_t stop_at;           //  or when the cursor passes this (0 = never)
} t_pair_t;

static bool
t_pair_done (void *arg)
{
    t_pair_t *pair = (t_pair_t *) arg;
    hl_hop_t_db_t *db = &pair->sink.dbs [0];
    if (pair->stop_at && db->cursor >= pair->stop_at)
        return true;
    return db->cursor == pair->target && hl_hop_sender_acked (pair->sender) == pair->target;
}

void
hl_hop_sender_test (bool verbose)
{
    printf (" * hl_hop_sender: ");
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
        hl_hop_t_db_init (&pair.sink.dbs [0], "intake", N + 500);
        pair.sink.n_dbs = 1;
        pair.target = N;

        zloop_t *loop = zloop_new ();
        assert (loop);
        pair.sender = hl_hop_sender_new (loop, "inproc://hl-hop-test-1", true, "intake",
                                         hl_hop_t_fetch, &pair.src, &opts);
        assert (pair.sender);
        assert (streq (hl_hop_sender_endpoint (pair.sender), "inproc://hl-hop-test-1"));
        pair.receiver = hl_hop_receiver_new (loop, "inproc://hl-hop-test-1", false, "intake",
                                             hl_hop_t_apply, hl_hop_t_cursor, &pair.sink, &opts);
        assert (pair.receiver);

        //  Junk for the sender: it must drop all of it and carry on
        zsock_t *junk = zsock_new_dealer ("inproc://hl-hop-test-1");
        assert (junk);
        hl_hop_t_send_raw (junk, "garbage", 7);
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
        hl_hop_t_send_env (junk, &env);            //  wrong stream
        Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
        hello.stream = "intake";
        env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        hl_hop_t_send_env (junk, &env);            //  a sender's message

        hl_hop_t_run (loop, t_pair_done, &pair);
        hl_hop_t_db_check (&pair.sink.dbs [0], N);
        assert (hl_hop_receiver_applied (pair.receiver) == N);
        assert (hl_hop_receiver_head (pair.receiver, "intake") == N);
        assert (hl_hop_receiver_head (pair.receiver, NULL) == N);
        assert (hl_hop_receiver_head (pair.receiver, "nope") == 0);
        assert (hl_hop_sender_peers (pair.sender) == 1);
        assert (hl_hop_sender_acked_stream (pair.sender, "intake") == N);
        assert (hl_hop_sender_acked_stream (pair.sender, "other") == 0);

        //  More items in the source: notify and they flow
        pair.src.n = N + 500;
        pair.target = N + 500;
        hl_hop_sender_notify (pair.sender);
        hl_hop_t_run (loop, t_pair_done, &pair);
        hl_hop_t_db_check (&pair.sink.dbs [0], N + 500);
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
        hl_hop_t_db_init (&pair.sink.dbs [0], "intake", 11);
        pair.sink.n_dbs = 1;
        pair.target = 1;
        zloop_t *loop = zloop_new ();
        assert (loop);
        //  Its own endpoint each time: a closed socket's inproc name is
        //  released asynchronously
        char endpoint [64];
        snprintf (endpoint, sizeof endpoint, "inproc://hl-hop-test-1b-%d", coalesce);
        pair.sender = hl_hop_sender_new (loop, endpoint, true, "intake", hl_hop_t_fetch, &pair.src, &copts);
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "intake",
                                             hl_hop_t_apply, hl_hop_t_cursor, &pair.sink, &copts);
        assert (pair.sender && pair.receiver);
        hl_hop_t_run (loop, t_pair_done, &pair);       //  linked, item 1 applied
        size_t calls = pair.sink.dbs [0].calls;
        for (uint64_t n = 2; n <= 11; n++) {
            pair.src.n = n;                     //  as intake: write, notify
            hl_hop_sender_notify (pair.sender);
        }
        pair.target = 11;
        hl_hop_t_run (loop, t_pair_done, &pair);
        hl_hop_t_db_check (&pair.sink.dbs [0], 11);
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
        hl_hop_t_db_init (&pair.sink.dbs [0], "log", N);
        pair.sink.n_dbs = 1;
        pair.target = N;
        const char *endpoint = "inproc://hl-hop-test-2";

        zloop_t *loop = zloop_new ();
        assert (loop);
        pair.sender = hl_hop_sender_new (loop, endpoint, true, "log", hl_hop_t_fetch, &pair.src, &small);
        assert (pair.sender);
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "log",
                                             hl_hop_t_apply, hl_hop_t_cursor, &pair.sink, &small);
        assert (pair.receiver);

        //  The "database" stops taking batches at 3000, so the loop ends
        //  with the sender's window in flight; then the process "dies"
        pair.stop_at = pair.sink.dbs [0].freeze_at = 3000;
        hl_hop_t_run (loop, t_pair_done, &pair);
        uint64_t killed_at = pair.sink.dbs [0].cursor;
        assert (killed_at >= 3000 && killed_at < 3000 + small.batch);
        hl_hop_receiver_destroy (&pair.receiver);
        pair.sink.dbs [0].freeze_at = 0;
        pair.receiver = hl_hop_receiver_new (loop, endpoint, false, "log",
                                             hl_hop_t_apply, hl_hop_t_cursor, &pair.sink, &small);
        assert (pair.receiver);

        pair.stop_at = pair.sink.dbs [0].freeze_at = 6000;
        hl_hop_t_run (loop, t_pair_done, &pair);
        assert (pair.sink.dbs [0].cursor >= 6000 && pair.sink.dbs [0].cursor < N);
        hl_hop_sender_destroy (&pair.sender);
        pair.sink.dbs [0].freeze_at = 0;
        //  inproc endpoints are released asynchronously: retry the bind
        for (int attempt = 0; attempt < 200 && !pair.sender; attempt++) {
            pair.sender = hl_hop_sender_new (loop, endpoint, true, "log",
                                             hl_hop_t_fetch, &pair.src, &small);
            if (!pair.sender)
                zclock_sleep (10);
        }
        assert (pair.sender);

        pair.stop_at = 0;
        hl_hop_t_run (loop, t_pair_done, &pair);
        hl_hop_t_db_check (&pair.sink.dbs [0], N);
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
    //  @end
    printf ("OK\n");
}
