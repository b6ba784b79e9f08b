/*  hl_hop_receiver — the receiving side of the one reliable hop: applies
    each batch with its cursor in one transaction (the apply callback),
    then grants the sender more credit. The protocol and the rules for
    callers are in hl_hop.h; the wire it shares with hl_hop_sender is in
    hl_hop.c (hl_hop_wire.h).

    Per stream: cursor (the durable one, via the cursor callback) and head
    (as reported by the sender). Per sender peer: resync flag (we asked
    for a rewind and drop batches that do not start at cursor+1), last
    credit sent. Duplicates are skipped; the contiguous run starting at
    cursor+1 goes to apply() in one call; anything else in the batch is a
    gap and triggers a (rate-limited) reset credit.

    How to read this file:
      - streams and peers: s_rx_stream, s_rx_load, s_rx_credit, s_rx_resync
      - what comes in: s_rx_on_batch (the heart: gaps, duplicates, apply),
        s_rx_on_hello (authorize), s_rx_group_end (group commit),
        s_receiver_recv (the reader)
      - connect mode and the tick: s_receiver_connect, s_receiver_tick
      - the public API: hl_hop_receiver_new ... hl_hop_receiver_endpoint
      - the selftest, from the receiver's side: a bound receiver and
        connecting senders (gaps, failing applies and commits, junk,
        authorization, CurveZMQ, restarts)
*/

#include "hl_hop_wire.h"

#define S_GROUP_ITEMS       1024    //  a group commits once it applied this many

//  Retry delay after a failed apply
static int
s_retry_ms (const hl_hop_opts_t *opts)
{
    int retry = opts->heartbeat_ms / 2;
    return retry < 10? 10: retry > 500? 500: retry;
}

typedef struct {
    char *name;
    uint64_t cursor;            //  last applied seq (durable, via callbacks)
    uint64_t head;              //  sender's newest seq, as last reported
    uint32_t window;            //  credit granted (opts.window, or the window fn's)
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
    hl_hop_window_fn *window_fn;        //  a stream's own window, or NULL
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
        st->name = hl_strdup (name);
        uint32_t window = self->window_fn? self->window_fn (self->arg, name): 0;
        st->window = window? window: self->opts.window;
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
    credit.window = st->window;
    credit.reset = reset;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
    env.credit = &credit;
    if (hl_hop_wire_send_env (self->sock, peer->routing_id, &env, &peer->dead, &peer->last_sent))
        return -1;
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
        hl_hop_item_t *items = (hl_hop_item_t *) hl_realloc (self->items, max * sizeof (hl_hop_item_t));
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
    if (st->cursor - peer->credited >= st->window / 2 || st->cursor >= st->head)
        s_rx_credit (self, peer, false);
}

//  Bound receiver: a sender names its stream
static void
s_rx_on_hello (hl_hop_receiver_t *self, s_rxpeer_t *peer, Hotline__HopHello *hello, int64_t now)
{
    const char *name = hello->stream;
    if (!hl_hop_wire_stream_ok (name)) {
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
    int64_t now = hl_hop_wire_now ();
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
    for (int burst = 0; burst < HL_HOP_RECV_BURST; burst++) {
        zframe_t *routing_id;
        zframe_t *frame = hl_hop_wire_recv (sock, self->bind, &routing_id, &self->rl_bad);
        if (!frame) {
            if (hl_sock_readable (sock))
                continue;
            self->drained_at = hl_hop_wire_now ();
            break;
        }
        Hotline__Envelope *env = hl_hop_wire_decode (frame, &self->rl_bad);
        if (!env) {
            zframe_destroy (&frame);
            zframe_destroy (&routing_id);
            continue;
        }
        int64_t now = hl_hop_wire_now ();
        s_rxpeer_t *peer;
        if (self->bind) {
            char *key = zframe_strhex (routing_id);
            peer = (s_rxpeer_t *) zhashx_lookup (self->peers, key);
            if (!peer) {
                peer = (s_rxpeer_t *) zmalloc (sizeof (s_rxpeer_t));
                peer->routing_id = routing_id;
                routing_id = NULL;
                const char *user_id = zframe_meta (frame, "User-Id");
                peer->user_id = hl_strdup (user_id? user_id: "");
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
    hl_hop_wire_retire (self->loop, &self->sock, &self->zombie);
    int64_t now = hl_hop_wire_now ();
    self->connected_at = now;
    self->last_heard = 0;
    self->peer->dead = false;
    self->peer->last_progress = now;
    self->sock = hl_hop_wire_open (self->loop, ZMQ_DEALER, self->endpoint, false, &self->opts,
                                   self->server_key, s_receiver_recv, self);
    if (!self->sock)
        return -1;
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
    int64_t now = hl_hop_wire_now ();
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
    if ((stream || !bind) && !hl_hop_wire_stream_ok (stream)) {
        hl_error ("hop: receiver needs a stream name (1..%d bytes)", HL_HOP_STREAM_MAX);
        return NULL;
    }
    hl_hop_receiver_t *self = (hl_hop_receiver_t *) zmalloc (sizeof (hl_hop_receiver_t));
    self->loop = loop;
    self->endpoint = hl_strdup (endpoint);
    self->bind = bind;
    self->stream = stream? hl_strdup (stream): NULL;
    self->apply = apply;
    self->cursor = cursor;
    self->arg = arg;
    hl_hop_wire_opts_copy (&self->opts, opts);
    self->server_key = opts && opts->server_key? hl_strdup (opts->server_key): NULL;
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
        self->sock = hl_hop_wire_open (loop, ZMQ_ROUTER, endpoint, true, &self->opts,
                                       self->server_key, s_receiver_recv, self);
        if (!self->sock) {
            hl_hop_receiver_destroy (&self);
            return NULL;
        }
    }
    else {
        self->peer = (s_rxpeer_t *) zmalloc (sizeof (s_rxpeer_t));
        self->peer->user_id = hl_strdup ("");
        self->peer->stream = s_rx_stream (self, stream);
        s_rx_load (self, self->peer->stream);   //  else retried on reset
        if (s_receiver_connect (self)) {
            hl_hop_receiver_destroy (&self);
            return NULL;
        }
    }
    self->timer_id = zloop_timer (loop, hl_hop_wire_tick_ms (&self->opts), 0, s_receiver_tick, self);
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
hl_hop_receiver_set_window (hl_hop_receiver_t *self, hl_hop_window_fn *fn)
{
    self->window_fn = fn;
    for (s_stream_t *st = (s_stream_t *) zhashx_first (self->streams); st;
         st = (s_stream_t *) zhashx_next (self->streams)) {
        uint32_t window = fn? fn (self->arg, st->name): 0;
        st->window = window? window: self->opts.window;
    }
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
//  Selftest: a bound receiver and connecting senders
//    3. over tcp, two senders with their own streams (gaps, failing
//       applies and group commits, a sender restart), one refused
//       stream, junk frames; then the receiver restarts
//    4. CurveZMQ: authorize by the User-Id (public key) of the peer

//  Phase 3 and 4 state
typedef struct {
    hl_hop_t_source_t srcs [3];
    hl_hop_t_sink_t sink;
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

//  A stream's own window (hl_hop_receiver_set_window): the evidence
//  stream gets 5, every other stream the receiver's
static uint32_t
t_window (void *arg, const char *stream)
{
    (void) arg;
    return streq (stream, "31002/evidence")? 5: 0;
}

typedef struct {
    zsock_t *socks [2];
    hl_hop_t_db_t *db;
    hl_hop_sender_t *sender;
} t_windows_t;

static bool
t_windows_heard (void *arg)
{
    t_windows_t *w = (t_windows_t *) arg;
    return hl_sock_readable (zsock_resolve (w->socks [0])) && hl_sock_readable (zsock_resolve (w->socks [1]));
}

static bool
t_windows_done (void *arg)
{
    t_windows_t *w = (t_windows_t *) arg;
    return w->db->cursor == w->db->n && hl_hop_sender_acked (w->sender) == w->db->n;
}

//  The window of the credit a raw peer got
static uint32_t
t_credit_window (zsock_t *sock, const char *stream)
{
    zframe_t *frame = zframe_recv (sock);
    assert (frame);
    Hotline__Envelope *env = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
    zframe_destroy (&frame);
    assert (env && env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT && streq (env->credit->stream, stream));
    uint32_t window = env->credit->window;
    hl_msg_free (&env);
    return window;
}

void
hl_hop_receiver_test (bool verbose)
{
    printf (" * hl_hop_receiver: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    assert (opts.timeout_ms == 3000 && opts.window == 2048 && opts.batch == 256);
    opts.heartbeat_ms = 50;     //  fast liveness so the test recovers quickly
    opts.timeout_ms = 500;

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
            hl_hop_t_db_init (&star.sink.dbs [i], names [i], N);
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
                                             hl_hop_t_apply, hl_hop_t_cursor, &star.sink, &small);
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, hl_hop_t_authorize);
        //  Group commit across the streams, with failing commits
        hl_hop_receiver_set_group (star.receiver, hl_hop_t_group_begin, hl_hop_t_group_commit);
        star.sink.grouped = true;
        star.sink.commit_fail_every = 3;
        star.sink.commit_fail_max = 4;
        char *endpoint = hl_strdup (hl_hop_receiver_endpoint (star.receiver));
        assert (endpoint && strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
        for (int i = 0; i < 3; i++) {
            star.senders [i] = hl_hop_sender_new (loop, endpoint, false, names [i],
                                                  hl_hop_t_fetch, &star.srcs [i], &small);
            assert (star.senders [i]);
        }
        //  Junk for the receiver: garbage, a batch without hello, a
        //  receiver's message; none of it may be applied
        zsock_t *junk = zsock_new_dealer (endpoint);
        assert (junk);
        hl_hop_t_send_raw (junk, "\x0a\xff\xff", 3);
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
        hl_hop_t_send_env (junk, &env);
        Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
        credit.stream = "31001";
        env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
        env.credit = &credit;
        hl_hop_t_send_env (junk, &env);
        //  A peer accepted for one stream sends a batch naming another
        zsock_t *liar = zsock_new_dealer (endpoint);
        assert (liar);
        Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
        hello.stream = "31002";
        env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        hl_hop_t_send_env (liar, &env);
        env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
        env.batch = &batch;
        hl_hop_t_send_env (liar, &env);

        //  Restart the first sender mid-stream: it resumes from the
        //  receiver's cursor
        star.stop_at = star.sink.dbs [0].freeze_at = 1000;
        hl_hop_t_run (loop, t_star_done, &star);
        assert (star.sink.dbs [0].cursor >= 1000 && star.sink.dbs [0].cursor < N);
        hl_hop_sender_destroy (&star.senders [0]);
        star.sink.dbs [0].freeze_at = 0;
        star.senders [0] = hl_hop_sender_new (loop, endpoint, false, names [0],
                                              hl_hop_t_fetch, &star.srcs [0], &small);
        assert (star.senders [0]);
        star.stop_at = 0;
        hl_hop_t_run (loop, t_star_done, &star);

        hl_hop_t_db_check (&star.sink.dbs [0], N);
        hl_hop_t_db_check (&star.sink.dbs [1], N);
        hl_hop_t_db_check (&star.sink.dbs [2], 0);         //  refused: nothing
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
        zsock_t *socks [2] = { hl_hop_sender_socket (star.senders [0]), hl_hop_sender_socket (star.senders [1]) };
        hl_hop_receiver_destroy (&star.receiver);
        for (int attempt = 0; !star.receiver && attempt < 100; attempt++) {
            zclock_sleep (attempt? 20: 0);      //  libzmq closes the old listener asynchronously
            star.receiver = hl_hop_receiver_new (loop, endpoint, true, NULL,
                                                 hl_hop_t_apply, hl_hop_t_cursor, &star.sink, &small);
        }
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, hl_hop_t_authorize);
        hl_hop_receiver_set_group (star.receiver, hl_hop_t_group_begin, hl_hop_t_group_commit);
        hl_hop_t_run (loop, t_restarted, &star);
        assert (hl_hop_sender_socket (star.senders [0]) == socks [0]
            && hl_hop_sender_socket (star.senders [1]) == socks [1]);
        hl_hop_t_db_check (&star.sink.dbs [0], N);
        hl_hop_t_db_check (&star.sink.dbs [1], N);

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

    //  3b. A stream's own window: the credit says it, and a stream through
    //  a window of 5 still arrives whole, in order, once
    {
        const uint64_t N = 200;
        hl_hop_opts_t small = opts;
        small.window = 512;
        hl_hop_t_sink_t sink;
        memset (&sink, 0, sizeof sink);
        hl_hop_t_db_init (&sink.dbs [0], "31002/evidence", N);
        hl_hop_t_db_init (&sink.dbs [1], "31002", 0);
        sink.n_dbs = 2;
        hl_hop_t_source_t source;
        memset (&source, 0, sizeof source);
        source.name = "31002/evidence";
        source.n = N;
        zloop_t *loop = zloop_new ();
        assert (loop);
        hl_hop_receiver_t *receiver = hl_hop_receiver_new (loop, "tcp://127.0.0.1:*", true, NULL,
                                                           hl_hop_t_apply, hl_hop_t_cursor, &sink, &small);
        assert (receiver);
        hl_hop_receiver_set_window (receiver, t_window);
        const char *endpoint = hl_hop_receiver_endpoint (receiver);
        t_windows_t w = { { zsock_new_dealer (endpoint), zsock_new_dealer (endpoint) }, &sink.dbs [0], NULL };
        assert (w.socks [0] && w.socks [1]);
        const char *streams [2] = { "31002/evidence", "31002" };
        for (int i = 0; i < 2; i++) {
            Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
            hello.stream = (char *) streams [i];
            Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
            env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
            env.hello = &hello;
            hl_hop_t_send_env (w.socks [i], &env);
        }
        hl_hop_t_run (loop, t_windows_heard, &w);
        assert (t_credit_window (w.socks [0], "31002/evidence") == 5);
        assert (t_credit_window (w.socks [1], "31002") == 512);
        zsock_destroy (&w.socks [0]);
        zsock_destroy (&w.socks [1]);
        w.sender = hl_hop_sender_new (loop, endpoint, false, "31002/evidence",
                                      hl_hop_t_fetch, &source, &small);
        assert (w.sender);
        hl_hop_t_run (loop, t_windows_done, &w);
        hl_hop_t_db_check (&sink.dbs [0], N);
        hl_hop_sender_destroy (&w.sender);
        hl_hop_receiver_destroy (&receiver);
        zloop_destroy (&loop);
        free (sink.dbs [0].count);
        free (sink.dbs [1].count);
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
        hl_hop_t_db_init (&star.sink.dbs [0], "31001", N);
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
                                             hl_hop_t_apply, hl_hop_t_cursor, &star.sink, &server);
        assert (star.receiver);
        hl_hop_receiver_set_authorize (star.receiver, hl_hop_t_authorize);
        char *endpoint = hl_strdup (hl_hop_receiver_endpoint (star.receiver));

        hl_hop_opts_t client = opts;
        client.server_key = zcert_public_txt (server_cert);
        client.cert = good_cert;
        star.senders [0] = hl_hop_sender_new (loop, endpoint, false, "31001",
                                              hl_hop_t_fetch, &star.srcs [0], &client);
        client.cert = bad_cert;
        star.senders [1] = hl_hop_sender_new (loop, endpoint, false, "31001",
                                              hl_hop_t_fetch, &star.srcs [1], &client);
        assert (star.senders [0] && star.senders [1]);
        //  Curve without a certificate is a configuration error
        client.cert = NULL;
        assert (hl_hop_sender_new (loop, endpoint, false, "x", hl_hop_t_fetch, NULL, &client) == NULL);

        hl_hop_t_run (loop, t_star_done, &star);
        hl_hop_t_db_check (&star.sink.dbs [0], N);
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
