/*  hl_clone — the city's live aggregated stream. See hl_clone.h.

    Implementation notes

    Publisher: one PUB and one ROUTER socket and one zloop timer. The timer
    re-checks the source head (one fetch after head, max 1) and sends the
    heartbeat. Each outgoing Event is unpacked, checked, redacted and packed
    again; a failure becomes an empty placeholder item, never raw bytes.

    Subscriber: a SUB and a DEALER, no thread. State:
        last    the last seq delivered or queued for delivery
        want    the highest seq known to exist (updates, heads)
        ready   events queued for delivery, contiguous after the cursor
    next () alternates: deliver from ready; if not synced yet or want > last,
    fetch one snapshot page; else read one SUB message. An update that is
    not last+1 is dropped (its seq raises want, so the snapshot serves it):
    simpler than an out-of-order buffer, and gaps are rare. A snapshot
    request that gets no answer within S_REQUEST_MS is sent again on a new
    DEALER (lazy pirate); replies are matched by Envelope.msg_id.
*/

#include "hl_hop_wire.h"
#include "hl_clone.h"

#define S_PUB_STREAM        "monitor"
#define S_SNAPSHOT_STREAM   "snapshot"
#define S_PAGE_MAX          256     //  items per snapshot page
#define S_ITEM_OVERHEAD     24      //  protobuf bytes around one HopItem
#define S_ENVELOPE_SLACK    8192    //  envelope + batch overhead allowance
#define S_BUDGET            (HL_MAX_MSG_SIZE - S_ENVELOPE_SLACK)
#define S_REQUEST_MS        2000    //  snapshot request retry
#define S_SILENCE_MS        5000    //  no update nor heartbeat: resubscribe
#define S_RECV_BURST        64


//  Redact one encoded Event into a new buffer. 0, or -1 if it is not a
//  valid Event (nothing allocated).
static int
s_redact (const uint8_t *data, size_t size, uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    const char *reason = NULL;
    Hotline__Event *event = size? hotline__event__unpack (NULL, size, data): NULL;
    if (!event || hl_msg_check (&event->base, &reason)) {
        if (event)
            hotline__event__free_unpacked (event, NULL);
        return -1;
    }
    hl_event_redact (event);
    *out_size = hotline__event__get_packed_size (event);
    *out = (uint8_t *) zmalloc (*out_size? *out_size: 1);
    hotline__event__pack (event, *out);
    hotline__event__free_unpacked (event, NULL);
    return 0;
}

//  A socket made as the hop makes its own (hardened, without CurveZMQ);
//  a SUB subscribes to everything
static zsock_t *
s_socket_new (int type, const char *endpoint, bool bind)
{
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    zsock_t *sock = hl_hop_wire_socket (type, endpoint, bind, &opts, NULL);
    if (sock && type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    return sock;
}


//  ==================================================================
//  Publisher

struct _hl_clone_pub_t {
    zloop_t *loop;
    zsock_t *pub;
    zsock_t *snapshot;
    char *pub_endpoint;         //  resolved
    char *snapshot_endpoint;    //  resolved
    hl_clone_fetch_fn *fetch;
    void *arg;
    uint64_t head;
    int heartbeat_ms;
    int timer_id;
    hl_hop_item_t *items;       //  fetch buffer, S_PAGE_MAX
    hl_hop_item_t *redacted;    //  redacted copies, S_PAGE_MAX
    Hotline__HopItem *pb_items;
    Hotline__HopItem **pb_ptrs;
    hl_ratelimit_t rl_bad;
    hl_ratelimit_t rl_item;
    hl_ratelimit_t rl_fetch;
};

//  Seq of the first source item after `after`, 0 if none (or on error)
static uint64_t
s_pub_probe (hl_clone_pub_t *self, uint64_t after)
{
    if (after > (uint64_t) INT64_MAX)
        return 0;
    memset (self->items, 0, sizeof (hl_hop_item_t));
    int rc = self->fetch (self->arg, S_SNAPSHOT_STREAM, after, 1, self->items);
    uint64_t seq = rc == 1 && self->items [0].seq > after? self->items [0].seq: 0;
    if (rc < 0 || rc > 1) {
        long suppressed = hl_ratelimit (&self->rl_fetch);
        if (suppressed >= 0)
            hl_warn ("clone: fetch after=%" PRIu64 " failed (rc=%d, %ld similar suppressed)",
                     after, rc, suppressed);
    }
    hl_hop_wire_items_free (self->items, rc > 0 && rc <= 1? (size_t) rc: 1);
    return seq;
}

//  Find the newest seq of the source, starting from the one we know:
//  exponential then binary search, O(log n) fetches of one item.
static void
s_pub_discover_head (hl_clone_pub_t *self)
{
    uint64_t lo = s_pub_probe (self, self->head);
    if (!lo)
        return;                 //  nothing newer than what we know
    uint64_t hi = 0;
    uint64_t step = 1;
    for (int round = 0; round < 64; round++) {
        uint64_t probe = lo + step < lo? UINT64_MAX: lo + step;
        uint64_t next = s_pub_probe (self, probe - 1);
        if (!next) {
            hi = probe - 1;     //  nothing at or beyond probe
            break;
        }
        lo = next;
        step = step < (UINT64_C (1) << 62)? step * 2: step;
    }
    //  lo exists; nothing above hi (if the source did not grow meanwhile)
    while (hi > lo) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        uint64_t next = s_pub_probe (self, mid - 1);
        if (!next)
            hi = mid - 1;
        else {
            lo = next;
            if (lo > hi)
                break;
        }
    }
    if (lo > self->head)
        self->head = lo;
}

//  Send redacted [0, count) as one HopBatch on sock
static int
s_pub_send_batch (hl_clone_pub_t *self, zsock_t *sock, zframe_t *routing_id,
                  const char *stream, const char *msg_id, size_t count)
{
    Hotline__HopBatch batch;
    hl_hop_wire_batch (&batch, stream, self->head, self->redacted, count,
                       self->pb_items, self->pb_ptrs);
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
    env.batch = &batch;
    if (msg_id)
        env.msg_id = (char *) msg_id;
    return hl_hop_wire_send_env (sock, routing_id, &env, NULL, NULL);
}

//  Redact one item into redacted [index]; a placeholder if it is not a
//  valid event or too large. Returns its cost in bytes.
static size_t
s_pub_redact_item (hl_clone_pub_t *self, size_t index, uint64_t seq,
                   const uint8_t *data, size_t size)
{
    hl_hop_item_t *out = &self->redacted [index];
    out->seq = seq;
    const char *problem = NULL;
    if (s_redact (data, size, &out->data, &out->size))
        problem = "is not a valid event";
    else
    if (out->size + S_ITEM_OVERHEAD > S_BUDGET) {
        problem = "is too large for one frame";
        free (out->data);
        out->data = NULL;
        out->size = 0;
    }
    if (problem) {
        long suppressed = hl_ratelimit (&self->rl_item);
        if (suppressed >= 0)
            hl_error ("clone: log item %" PRIu64 " %s: sent as a placeholder"
                      " (%ld similar suppressed)", seq, problem, suppressed);
    }
    return out->size + S_ITEM_OVERHEAD;
}

static void
s_pub_heartbeat (hl_clone_pub_t *self)
{
    s_pub_send_batch (self, self->pub, NULL, S_PUB_STREAM, NULL, 0);
}

static int
s_pub_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hl_clone_pub_t *self = (hl_clone_pub_t *) arg;
    s_pub_discover_head (self);
    s_pub_heartbeat (self);
    return 0;
}

//  Answer one snapshot request
static void
s_pub_serve (hl_clone_pub_t *self, zframe_t *routing_id, Hotline__Envelope *env)
{
    Hotline__HopCredit *credit = env->credit;
    uint64_t after = credit->cursor;
    s_pub_discover_head (self);
    size_t max = credit->window < S_PAGE_MAX? credit->window: S_PAGE_MAX;
    size_t count = 0;
    if (after > (uint64_t) INT64_MAX)
        max = 0;                //  nothing there; never pass it to SQL
    if (max) {
        memset (self->items, 0, max * sizeof (hl_hop_item_t));
        int rc = self->fetch (self->arg, S_SNAPSHOT_STREAM, after, max, self->items);
        if (rc < 0 || (size_t) rc > max) {
            long suppressed = hl_ratelimit (&self->rl_fetch);
            if (suppressed >= 0)
                hl_warn ("clone: snapshot fetch after=%" PRIu64 " failed (rc=%d,"
                         " %ld similar suppressed)", after, rc, suppressed);
            hl_hop_wire_items_free (self->items, max);
            return;             //  no answer: the subscriber asks again
        }
        size_t fetched = (size_t) rc;
        size_t bytes = 0;
        uint64_t prev = after;
        for (size_t i = 0; i < fetched; i++) {
            hl_hop_item_t *item = &self->items [i];
            if (item->seq <= prev || (item->size && !item->data))
                break;          //  out of order: serve what came before
            //  Redact into the slot; stop when the frame is full
            size_t cost = s_pub_redact_item (self, count, item->seq, item->data, item->size);
            if (count && bytes + cost > S_BUDGET) {
                free (self->redacted [count].data);
                self->redacted [count].data = NULL;
                break;
            }
            bytes += cost;
            prev = item->seq;
            count++;
        }
        if (fetched && self->items [fetched - 1].seq > self->head)
            self->head = self->items [fetched - 1].seq;
        hl_hop_wire_items_free (self->items, max);
    }
    s_pub_send_batch (self, self->snapshot, routing_id, S_SNAPSHOT_STREAM, env->msg_id, count);
    hl_hop_wire_items_free (self->redacted, count);
}

static int
s_pub_recv (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    hl_clone_pub_t *self = (hl_clone_pub_t *) arg;
    for (int burst = 0; burst < S_RECV_BURST; burst++) {
        if (!hl_sock_readable (sock))
            break;
        zmsg_t *msg = zmsg_recv (sock);
        if (!msg)
            break;
        zframe_t *routing_id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        const char *reason = "malformed message";
        Hotline__Envelope *env = NULL;
        if (routing_id && body && zmsg_size (msg) == 0)
            env = hl_msg_decode (zframe_data (body), zframe_size (body), &reason);
        if (env && (env->body_case != HOTLINE__ENVELOPE__BODY_CREDIT
               ||  !env->credit->stream || strcmp (env->credit->stream, S_SNAPSHOT_STREAM))) {
            reason = "expected a snapshot credit";
            hl_msg_free (&env);
        }
        if (env)
            s_pub_serve (self, routing_id, env);
        else {
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("clone: snapshot request dropped: %s (%ld similar suppressed)",
                         reason? reason: "invalid", suppressed);
        }
        hl_msg_free (&env);
        zframe_destroy (&routing_id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    return 0;
}

//  The test hook, kept out of the publisher: HOTLINE_CLONE_DROP=N[,M...]
//  (up to 8 seqs) makes the publishers of this process skip publishing
//  those seqs once. Read from the environment when a publisher is created
//  and touched only by publishers (each on its loop thread; a process runs
//  one). Production never sets it, and then nothing here is ever consulted
//  but an empty table.
static uint64_t s_drop [8];

static void
s_drop_init (void)
{
    memset (s_drop, 0, sizeof s_drop);
    const char *drop = getenv ("HOTLINE_CLONE_DROP");
    for (size_t i = 0; drop && *drop && i < sizeof s_drop / sizeof s_drop [0]; i++) {
        char *end = NULL;
        s_drop [i] = strtoull (drop, &end, 10);
        drop = end && *end == ','? end + 1: NULL;
    }
}

//  Is seq to be dropped (once)?
static bool
s_drop_take (uint64_t seq)
{
    for (size_t i = 0; i < sizeof s_drop / sizeof s_drop [0]; i++)
        if (s_drop [i] == seq) {
            s_drop [i] = 0;
            return true;
        }
    return false;
}

hl_clone_pub_t *
hl_clone_pub_new (zloop_t *loop, const char *pub_endpoint, const char *snapshot_endpoint,
                  hl_clone_fetch_fn *fetch, void *arg)
{
    assert (loop);
    assert (pub_endpoint);
    assert (snapshot_endpoint);
    assert (fetch);
    hl_clone_pub_t *self = (hl_clone_pub_t *) zmalloc (sizeof (hl_clone_pub_t));
    assert (self);
    self->loop = loop;
    self->fetch = fetch;
    self->arg = arg;
    self->heartbeat_ms = 1000;
    self->timer_id = -1;
    self->items = (hl_hop_item_t *) zmalloc (S_PAGE_MAX * sizeof (hl_hop_item_t));
    self->redacted = (hl_hop_item_t *) zmalloc (S_PAGE_MAX * sizeof (hl_hop_item_t));
    self->pb_items = (Hotline__HopItem *) zmalloc (S_PAGE_MAX * sizeof (Hotline__HopItem));
    self->pb_ptrs = (Hotline__HopItem **) zmalloc (S_PAGE_MAX * sizeof (Hotline__HopItem *));
    assert (self->items && self->redacted && self->pb_items && self->pb_ptrs);
    s_drop_init ();

    self->pub = s_socket_new (ZMQ_PUB, pub_endpoint, true);
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    self->snapshot = hl_hop_wire_open (loop, ZMQ_ROUTER, snapshot_endpoint, true, &opts, NULL,
                                       s_pub_recv, self);
    if (!self->pub || !self->snapshot) {
        hl_clone_pub_destroy (&self);
        return NULL;
    }
    self->pub_endpoint = hl_strdup (zsock_endpoint (self->pub));
    self->snapshot_endpoint = hl_strdup (zsock_endpoint (self->snapshot));
    self->timer_id = zloop_timer (loop, (size_t) self->heartbeat_ms, 0, s_pub_tick, self);
    if (self->timer_id == -1) {
        hl_clone_pub_destroy (&self);
        return NULL;
    }
    s_pub_discover_head (self);
    hl_info ("clone: publishing on %s, snapshots on %s, head=%" PRIu64,
             self->pub_endpoint, self->snapshot_endpoint, self->head);
    return self;
}

void
hl_clone_pub_destroy (hl_clone_pub_t **self_p)
{
    assert (self_p);
    hl_clone_pub_t *self = *self_p;
    if (!self)
        return;
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    if (self->snapshot) {
        zloop_reader_end (self->loop, self->snapshot);
        zsock_destroy (&self->snapshot);
    }
    zsock_destroy (&self->pub);
    free (self->items);
    free (self->redacted);
    free (self->pb_items);
    free (self->pb_ptrs);
    free (self->pub_endpoint);
    free (self->snapshot_endpoint);
    free (self);
    *self_p = NULL;
}

void
hl_clone_pub_publish (hl_clone_pub_t *self, uint64_t seq, const uint8_t *data, size_t size)
{
    assert (self);
    if (seq == 0)
        return;
    if (seq > self->head)
        self->head = seq;
    if (s_drop_take (seq)) {
        hl_debug ("clone: HOTLINE_CLONE_DROP: seq %" PRIu64 " not published", seq);
        return;
    }
    s_pub_redact_item (self, 0, seq, data, size);
    if (s_pub_send_batch (self, self->pub, NULL, S_PUB_STREAM, NULL, 1))
        hl_debug ("clone: seq %" PRIu64 " not published (%s)", seq, zmq_strerror (zmq_errno ()));
    hl_hop_wire_items_free (self->redacted, 1);
}

uint64_t
hl_clone_pub_head (hl_clone_pub_t *self)
{
    assert (self);
    return self->head;
}

void
hl_clone_pub_set_heartbeat (hl_clone_pub_t *self, int heartbeat_ms)
{
    assert (self);
    self->heartbeat_ms = heartbeat_ms > 0? heartbeat_ms: 1000;
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    self->timer_id = zloop_timer (self->loop, (size_t) self->heartbeat_ms, 0, s_pub_tick, self);
    assert (self->timer_id != -1);
}

const char *
hl_clone_pub_endpoint (hl_clone_pub_t *self)
{
    assert (self);
    return self->pub_endpoint;
}

const char *
hl_clone_pub_snapshot_endpoint (hl_clone_pub_t *self)
{
    assert (self);
    return self->snapshot_endpoint;
}


//  ==================================================================
//  Subscriber

typedef struct {
    uint64_t seq;
    uint8_t *data;
    size_t size;
} s_event_t;

struct _hl_clone_sub_t {
    char *pub_endpoint;
    char *snapshot_endpoint;
    zsock_t *sub;
    zsock_t *dealer;
    uint64_t last;
    uint64_t want;
    uint64_t head;
    bool from_head;             //  first page: head only
    bool synced;
    bool live;                  //  caught up with the snapshot once
    zlistx_t *ready;            //  s_event_t, seq order
    bool requesting;            //  a snapshot request is outstanding
    char request_id [32];
    uint64_t requests;
    int64_t requested_at;
    uint64_t repairs;
    int64_t heard_at;           //  last message on the SUB socket
    bool check;                 //  ask the snapshot for news (after silence)
    hl_ratelimit_t rl_bad;
    hl_ratelimit_t rl_gap;
};

static void
s_event_destroy (void **item)
{
    s_event_t *event = (s_event_t *) *item;
    if (event) {
        free (event->data);
        free (event);
        *item = NULL;
    }
}

//  Queue seq (contiguous or as told by the snapshot); empty = placeholder
static void
s_sub_accept (hl_clone_sub_t *self, uint64_t seq, const uint8_t *data, size_t size)
{
    self->last = seq;
    if (self->want < seq)
        self->want = seq;
    if (size == 0) {
        hl_debug ("clone: seq %" PRIu64 " is a placeholder, skipped", seq);
        return;
    }
    s_event_t *event = (s_event_t *) zmalloc (sizeof (s_event_t));
    assert (event);
    event->seq = seq;
    event->size = size;
    event->data = (uint8_t *) zmalloc (size);
    memcpy (event->data, data, size);
    zlistx_add_end (self->ready, event);
}

static void
s_sub_saw_head (hl_clone_sub_t *self, uint64_t head)
{
    if (head > self->head)
        self->head = head;
    if (head > self->want)
        self->want = head;
}

static Hotline__Envelope *
s_sub_decode (hl_clone_sub_t *self, zframe_t *frame, const char *stream)
{
    const char *reason = NULL;
    Hotline__Envelope *env = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
    if (env && (env->body_case != HOTLINE__ENVELOPE__BODY_BATCH
           ||  !env->batch->stream || strcmp (env->batch->stream, stream))) {
        reason = "not a batch of this stream";
        hl_msg_free (&env);
    }
    if (!env) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("clone: %s message dropped: %s (%ld similar suppressed)", stream,
                     reason? reason: "invalid", suppressed);
    }
    return env;
}

//  Receive one frame, waiting up to wait_ms; NULL if none
static zframe_t *
s_sub_recv (zsock_t *sock, int64_t wait_ms)
{
    zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
    if (wait_ms > INT32_MAX)
        wait_ms = INT32_MAX;
    if (zmq_poll (&item, 1, (long) wait_ms) <= 0 || !(item.revents & ZMQ_POLLIN))
        return NULL;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return NULL;
    zframe_t *frame = zmsg_size (msg) == 1? zmsg_pop (msg): NULL;
    zmsg_destroy (&msg);
    return frame;
}

static int
s_sub_connect_dealer (hl_clone_sub_t *self)
{
    zsock_destroy (&self->dealer);
    self->dealer = s_socket_new (ZMQ_DEALER, self->snapshot_endpoint, false);
    return self->dealer? 0: -1;
}

//  Fetch one snapshot page. 0 = a page was applied, -1 = deadline reached
//  (or interrupted) first; the request stays outstanding.
static int
s_sub_snapshot (hl_clone_sub_t *self, int64_t deadline)
{
    while (true) {
        int64_t now = zclock_mono ();
        if (self->requesting && now - self->requested_at >= S_REQUEST_MS) {
            hl_debug ("clone: no snapshot answer from %s, asking again", self->snapshot_endpoint);
            self->requesting = false;
            s_sub_connect_dealer (self);
        }
        if (!self->requesting && self->dealer) {
            Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
            credit.stream = S_SNAPSHOT_STREAM;
            credit.cursor = self->last;
            credit.window = self->from_head && !self->synced? 0: S_PAGE_MAX;
            snprintf (self->request_id, sizeof self->request_id, "snapshot-%" PRIu64,
                      ++self->requests);
            Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
            env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
            env.credit = &credit;
            env.msg_id = self->request_id;
            hl_msg_send (self->dealer, NULL, &env);     //  a loss is retried
            self->requesting = true;
            self->requested_at = now;
        }
        if (!self->dealer && s_sub_connect_dealer (self))
            return -1;
        int64_t until = self->requested_at + S_REQUEST_MS;
        if (until > deadline)
            until = deadline;
        zframe_t *frame = s_sub_recv (self->dealer, until > now? until - now: 0);
        if (!frame) {
            if (zsys_interrupted || zclock_mono () >= deadline)
                return -1;
            continue;
        }
        Hotline__Envelope *env = s_sub_decode (self, frame, S_SNAPSHOT_STREAM);
        zframe_destroy (&frame);
        if (!env)
            continue;
        if (!env->msg_id || strcmp (env->msg_id, self->request_id)) {
            hl_msg_free (&env);
            continue;           //  an answer to an older request
        }
        self->requesting = false;
        Hotline__HopBatch *batch = env->batch;
        if (self->from_head && !self->synced) {
            self->last = self->want = batch->head;
            self->from_head = false;
        }
        self->synced = true;
        self->check = false;
        uint64_t before = self->last;
        for (size_t i = 0; i < batch->n_items; i++) {
            Hotline__HopItem *item = batch->items [i];
            if (item->seq <= self->last)
                continue;
            if (item->seq != self->last + 1) {
                //  The source says nothing lies between: take its word
                long suppressed = hl_ratelimit (&self->rl_gap);
                if (suppressed >= 0)
                    hl_warn ("clone: snapshot has no seq %" PRIu64 "..%" PRIu64
                             " (%ld similar suppressed)", self->last + 1, item->seq - 1,
                             suppressed);
            }
            s_sub_accept (self, item->seq, item->payload.data, item->payload.len);
        }
        s_sub_saw_head (self, batch->head);
        if (self->last == before && self->want > self->last)
            self->want = self->last;    //  no progress: wait for news, no busy loop
        if (self->live && self->last > before)
            self->repairs++;
        hl_msg_free (&env);
        return 0;
    }
}

//  Handle one update or heartbeat
static void
s_sub_update (hl_clone_sub_t *self, zframe_t *frame)
{
    Hotline__Envelope *env = s_sub_decode (self, frame, S_PUB_STREAM);
    if (!env)
        return;
    self->heard_at = zclock_mono ();
    Hotline__HopBatch *batch = env->batch;
    for (size_t i = 0; i < batch->n_items; i++) {
        Hotline__HopItem *item = batch->items [i];
        if (item->seq == self->last + 1)
            s_sub_accept (self, item->seq, item->payload.data, item->payload.len);
        else
        if (item->seq > self->want)
            self->want = item->seq;     //  gap: the snapshot fills it
    }
    s_sub_saw_head (self, batch->head);
    hl_msg_free (&env);
}

hl_clone_sub_t *
hl_clone_sub_new (const char *pub_endpoint, const char *snapshot_endpoint, uint64_t from_seq)
{
    assert (pub_endpoint);
    assert (snapshot_endpoint);
    hl_clone_sub_t *self = (hl_clone_sub_t *) zmalloc (sizeof (hl_clone_sub_t));
    assert (self);
    self->pub_endpoint = hl_strdup (pub_endpoint);
    self->snapshot_endpoint = hl_strdup (snapshot_endpoint);
    self->ready = zlistx_new ();
    assert (self->pub_endpoint && self->snapshot_endpoint && self->ready);
    zlistx_set_destructor (self->ready, s_event_destroy);
    if (from_seq == HL_CLONE_FROM_HEAD)
        self->from_head = true;
    else
        self->last = self->want = from_seq;
    //  SUB first: it buffers updates while we read the snapshot
    self->sub = s_socket_new (ZMQ_SUB, pub_endpoint, false);
    self->heard_at = zclock_mono ();
    if (!self->sub || s_sub_connect_dealer (self)) {
        hl_clone_sub_destroy (&self);
        return NULL;
    }
    return self;
}

void
hl_clone_sub_destroy (hl_clone_sub_t **self_p)
{
    assert (self_p);
    hl_clone_sub_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->sub);
    zsock_destroy (&self->dealer);
    zlistx_destroy (&self->ready);
    free (self->pub_endpoint);
    free (self->snapshot_endpoint);
    free (self);
    *self_p = NULL;
}

int
hl_clone_sub_next (hl_clone_sub_t *self, int timeout_ms, uint64_t *seq,
                   uint8_t **data, size_t *size)
{
    assert (self);
    assert (seq && data && size);
    int64_t deadline = timeout_ms < 0? INT64_MAX: zclock_mono () + timeout_ms;
    while (!zsys_interrupted) {
        s_event_t *event = (s_event_t *) zlistx_first (self->ready);
        if (event) {
            zlistx_detach_cur (self->ready);
            *seq = event->seq;
            *data = event->data;
            *size = event->size;
            free (event);
            return 0;
        }
        if (!self->synced || self->want > self->last || self->check) {
            if (s_sub_snapshot (self, deadline))
                return -1;
            continue;
        }
        self->live = true;
        int64_t now = zclock_mono ();
        if (now - self->heard_at >= S_SILENCE_MS) {
            //  No update nor heartbeat: the publisher may have restarted
            //  somewhere ZeroMQ does not reconnect to by itself (inproc).
            //  Subscribe again and ask the snapshot what we missed.
            hl_debug ("clone: nothing from %s for %d ms, subscribing again",
                      self->pub_endpoint, (int) (now - self->heard_at));
            zsock_t *sub = s_socket_new (ZMQ_SUB, self->pub_endpoint, false);
            if (sub) {
                zsock_destroy (&self->sub);
                self->sub = sub;
            }
            self->heard_at = now;
            self->check = true;
            continue;
        }
        int64_t left = deadline - now;
        int64_t wait = self->heard_at + S_SILENCE_MS - now;
        if (left < wait)
            wait = left;
        zframe_t *frame = s_sub_recv (self->sub, wait > 0? wait: 0);
        if (frame) {
            s_sub_update (self, frame);
            zframe_destroy (&frame);
        }
        else
        if (left <= 0)
            return -1;
    }
    return -1;
}

uint64_t
hl_clone_sub_last (hl_clone_sub_t *self)
{
    assert (self);
    return self->last;
}

uint64_t
hl_clone_sub_head (hl_clone_sub_t *self)
{
    assert (self);
    return self->head;
}

bool
hl_clone_sub_synced (hl_clone_sub_t *self)
{
    assert (self);
    return self->synced;
}

uint64_t
hl_clone_sub_repairs (hl_clone_sub_t *self)
{
    assert (self);
    return self->repairs;
}


//  ==================================================================
//  Selftest

#define T_MAX       400
#define T_PHONE     "0916588826"
#define T_NAME      "Nguyễn Thị Hằng"

//  The durable source: events 1..n, each with reporter data
typedef struct {
    uint8_t *data [T_MAX + 1];
    size_t size [T_MAX + 1];
    uint64_t n;
} t_source_t;

static void
t_source_fill (t_source_t *src, uint64_t upto)
{
    for (uint64_t seq = src->n + 1; seq <= upto && seq <= T_MAX; seq++) {
        char event_id [64], case_id [64];
        snprintf (event_id, sizeof event_id, "ward-31001/%" PRIu64, seq);
        snprintf (case_id, sizeof case_id, "31001-2026-%06" PRIu64, seq);
        Hotline__Reporter who = HOTLINE__REPORTER__INIT;
        who.name = T_NAME;
        who.phone = T_PHONE;
        who.email = "hang@example.vn";
        who.address = "Số 12, tổ 3";
        Hotline__Report report = HOTLINE__REPORT__INIT;
        report.reporter = &who;
        report.location = "Kênh Xáng";
        report.description = "Nước thải đen";
        Hotline__Event event = HOTLINE__EVENT__INIT;
        event.event_id = event_id;
        event.seq = seq;
        event.case_id = case_id;
        event.ward = "31001";
        event.actor = "officer:lan";
        event.action = "submit";
        event.to_state = "received";
        event.origin = "ward-31001";
        event.report = &report;
        src->size [seq] = hotline__event__get_packed_size (&event);
        src->data [seq] = (uint8_t *) zmalloc (src->size [seq]);
        hotline__event__pack (&event, src->data [seq]);
        src->n = seq;
    }
}

static void
t_source_free (t_source_t *src)
{
    for (uint64_t seq = 1; seq <= src->n; seq++)
        free (src->data [seq]);
}

static int
t_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    t_source_t *src = (t_source_t *) arg;
    int count = 0;
    for (uint64_t seq = after + 1; seq <= src->n && (size_t) count < max; seq++) {
        items [count].seq = seq;
        items [count].size = src->size [seq];
        items [count].data = (uint8_t *) zmalloc (src->size [seq]);
        memcpy (items [count].data, src->data [seq], src->size [seq]);
        count++;
    }
    return count;
}

//  The publisher runs in an actor with its own zloop, as in the archive.
//  Commands (each answered with a signal, START with the two endpoints):
//      "START" drop     create the publisher (drop: HOTLINE_CLONE_DROP) on
//                       ephemeral tcp ports, then again on the same ports
//      "STOP"           destroy it
//      "APPEND" n       add events up to n to the source, unpublished
//      "PUBLISH" n      add events up to n and publish each
typedef struct {
    t_source_t src;
    hl_clone_pub_t *pub;
    zloop_t *loop;
    char pub_endpoint [128];
    char snapshot_endpoint [128];
} t_pub_state_t;

static int
t_pub_command (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    t_pub_state_t *state = (t_pub_state_t *) arg;
    char *command = NULL, *value = NULL;
    if (zstr_recvx (pipe, &command, &value, NULL) < 1)
        return -1;
    int rc = 0;
    if (streq (command, "$TERM"))
        rc = -1;
    else
    if (streq (command, "START")) {
        setenv ("HOTLINE_CLONE_DROP", value? value: "0", 1);
        bool again = *state->pub_endpoint != 0;
        //  A port just closed may take a moment to be free: retry the bind
        for (int attempt = 0; attempt < 200 && !state->pub; attempt++) {
            state->pub = hl_clone_pub_new (loop,
                again? state->pub_endpoint: "tcp://127.0.0.1:*",
                again? state->snapshot_endpoint: "tcp://127.0.0.1:*", t_fetch, &state->src);
            if (!state->pub)
                zclock_sleep (10);
        }
        unsetenv ("HOTLINE_CLONE_DROP");
        assert (state->pub);
        assert (hl_clone_pub_head (state->pub) == state->src.n);
        hl_clone_pub_set_heartbeat (state->pub, 50);
        snprintf (state->pub_endpoint, sizeof state->pub_endpoint, "%s",
                  hl_clone_pub_endpoint (state->pub));
        snprintf (state->snapshot_endpoint, sizeof state->snapshot_endpoint, "%s",
                  hl_clone_pub_snapshot_endpoint (state->pub));
        zstr_sendx (pipe, state->pub_endpoint, state->snapshot_endpoint, NULL);
    }
    else
    if (streq (command, "STOP")) {
        hl_clone_pub_destroy (&state->pub);
        zsock_signal (pipe, 0);
    }
    else {
        uint64_t upto = strtoull (value? value: "0", NULL, 10);
        uint64_t from = state->src.n + 1;
        t_source_fill (&state->src, upto);
        if (streq (command, "PUBLISH"))
            for (uint64_t seq = from; seq <= state->src.n; seq++)
                hl_clone_pub_publish (state->pub, seq, state->src.data [seq], state->src.size [seq]);
        zsock_signal (pipe, 0);
    }
    zstr_free (&command);
    zstr_free (&value);
    return rc;
}

static void
t_pub_actor (zsock_t *pipe, void *args)
{
    (void) args;
    t_pub_state_t state;
    memset (&state, 0, sizeof state);
    state.loop = zloop_new ();
    assert (state.loop);
    zloop_reader (state.loop, pipe, t_pub_command, &state);
    zsock_signal (pipe, 0);
    zloop_start (state.loop);
    hl_clone_pub_destroy (&state.pub);
    zloop_destroy (&state.loop);
    t_source_free (&state.src);
}

static void
t_pub_do (zactor_t *actor, const char *command, uint64_t value)
{
    char text [32];
    snprintf (text, sizeof text, "%" PRIu64, value);
    zstr_sendx (actor, command, text, NULL);
    zsock_wait (actor);
}

static void
t_pub_start (zactor_t *actor, const char *drop, char *pub_endpoint, char *snapshot_endpoint)
{
    zstr_sendx (actor, "START", drop, NULL);
    char *endpoints [2] = { NULL, NULL };
    zstr_recvx (actor, &endpoints [0], &endpoints [1], NULL);
    assert (endpoints [0] && endpoints [1]);
    snprintf (pub_endpoint, 128, "%s", endpoints [0]);
    snprintf (snapshot_endpoint, 128, "%s", endpoints [1]);
    zstr_free (&endpoints [0]);
    zstr_free (&endpoints [1]);
}

//  Read events until seq upto: each exactly once, in order, redacted
static void
t_expect (hl_clone_sub_t *sub, uint64_t first, uint64_t upto, bool verbose)
{
    for (uint64_t expect = first; expect <= upto; expect++) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t size = 0;
        int rc = hl_clone_sub_next (sub, 30000, &seq, &data, &size);
        if (rc || seq != expect)
            printf ("clone test: expected seq %" PRIu64 ", got rc=%d seq %" PRIu64 "\n",
                    expect, rc, seq);
        assert (rc == 0);
        assert (seq == expect);
        Hotline__Event *event = hotline__event__unpack (NULL, size, data);
        assert (event);
        assert (event->seq == seq);        //  the test source: log seq == event seq
        assert (event->redacted);
        assert (event->report && event->report->reporter);
        assert (*event->report->reporter->phone == 0);
        assert (*event->report->reporter->name == 0);
        assert (streq (event->report->location, "Kênh Xáng"));
        hotline__event__free_unpacked (event, NULL);
        free (data);
    }
    if (verbose)
        printf ("   got %" PRIu64 "..%" PRIu64 ", repairs so far %" PRIu64 "\n",
                first, upto, hl_clone_sub_repairs (sub));
}

void
hl_clone_test (bool verbose)
{
    printf (" * hl_clone: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    uint8_t *data = NULL;
    size_t size = 0;
    uint64_t seq = 0;

    //  Redaction helper: personal data gone, the rest kept, junk refused
    t_source_t one;
    memset (&one, 0, sizeof one);
    t_source_fill (&one, 1);
    assert (s_redact (one.data [1], one.size [1], &data, &size) == 0);
    assert (!memmem (data, size, T_PHONE, strlen (T_PHONE)));
    assert (!memmem (data, size, T_NAME, strlen (T_NAME)));
    assert (memmem (data, size, "Kênh Xáng", strlen ("Kênh Xáng")));
    free (data);
    assert (s_redact ((const uint8_t *) "\xff\xff\xff", 3, &data, &size) == -1);
    assert (data == NULL);
    t_source_free (&one);

    zactor_t *pub = zactor_new (t_pub_actor, NULL);
    assert (pub);
    //  1. 100 events exist, 51..100 published before anyone listened;
    //  the publisher will drop 150 (mid-stream) and 200 (at the tail)
    char pub_ep [128], snap_ep [128];
    t_pub_do (pub, "APPEND", 50);
    t_pub_start (pub, "150,200", pub_ep, snap_ep);
    t_pub_do (pub, "PUBLISH", 100);

    //  A raw subscriber sees only redacted events on the wire
    zsock_t *raw = zsock_new_sub (pub_ep, "");
    assert (raw);

    //  Late joiner from the start: snapshot 1..100, then updates
    hl_clone_sub_t *sub = hl_clone_sub_new (pub_ep, snap_ep, 0);
    assert (sub);
    assert (!hl_clone_sub_synced (sub));
    t_expect (sub, 1, 100, verbose);
    assert (hl_clone_sub_synced (sub));
    assert (hl_clone_sub_head (sub) >= 100);

    //  The SUB connects in the background: publish one at a time until an
    //  update arrives as an update, not through a repair
    uint64_t next = 101;
    for (; next < 140; next++) {
        uint64_t repairs = hl_clone_sub_repairs (sub);
        t_pub_do (pub, "PUBLISH", next);
        t_expect (sub, next, next, false);
        if (hl_clone_sub_repairs (sub) == repairs)
            break;
    }
    assert (next < 140);
    //  2. Updates up to 160 with 150 dropped: the next update reveals the
    //  gap; then up to 200, dropped: only the heartbeat's head reveals it.
    //  Both are repaired through the snapshot.
    uint64_t repairs = hl_clone_sub_repairs (sub);
    t_pub_do (pub, "PUBLISH", 160);
    t_expect (sub, next + 1, 160, verbose);
    assert (hl_clone_sub_repairs (sub) > repairs);
    repairs = hl_clone_sub_repairs (sub);
    t_pub_do (pub, "PUBLISH", 200);
    t_expect (sub, 161, 200, verbose);
    assert (hl_clone_sub_repairs (sub) > repairs);
    bool saw_update = false;
    for (int i = 0; i < 1000 && !saw_update; i++) {
        zframe_t *frame = zframe_recv (raw);
        assert (frame);
        assert (!memmem (zframe_data (frame), zframe_size (frame), T_PHONE, strlen (T_PHONE)));
        Hotline__Envelope *env = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
        assert (env && env->body_case == HOTLINE__ENVELOPE__BODY_BATCH);
        assert (streq (env->batch->stream, "monitor"));
        saw_update = env->batch->n_items == 1;
        hl_msg_free (&env);
        zframe_destroy (&frame);
    }
    assert (saw_update);
    zsock_destroy (&raw);

    //  3. Publisher restart: down while 201..220 are written, back on the
    //  same endpoints; the last update (240) is dropped: the heartbeat
    //  reveals it
    repairs = hl_clone_sub_repairs (sub);
    t_pub_do (pub, "STOP", 0);
    t_pub_do (pub, "APPEND", 220);
    char again_pub [128], again_snap [128];
    t_pub_start (pub, "240", again_pub, again_snap);
    assert (streq (again_pub, pub_ep) && streq (again_snap, snap_ep));
    t_pub_do (pub, "PUBLISH", 240);
    t_expect (sub, 201, 240, verbose);
    assert (hl_clone_sub_repairs (sub) > repairs);
    //  Nothing more, no duplicate
    assert (hl_clone_sub_next (sub, 200, &seq, &data, &size) == -1);
    assert (hl_clone_sub_last (sub) == 240);

    //  4. Subscribers from a given seq and from the head
    hl_clone_sub_t *mid = hl_clone_sub_new (pub_ep, snap_ep, 230);
    hl_clone_sub_t *tail = hl_clone_sub_new (pub_ep, snap_ep, HL_CLONE_FROM_HEAD);
    assert (mid && tail);
    t_expect (mid, 231, 240, verbose);
    //  The tail subscriber syncs at the head: nothing to deliver yet
    assert (hl_clone_sub_next (tail, 200, &seq, &data, &size) == -1);
    assert (hl_clone_sub_synced (tail) && hl_clone_sub_last (tail) == 240);
    t_pub_do (pub, "PUBLISH", 260);
    t_expect (sub, 241, 260, verbose);
    t_expect (mid, 241, 260, verbose);
    t_expect (tail, 241, 260, verbose);

    //  5. Junk at the snapshot endpoint is dropped; absurd cursors get an
    //  empty page with the head
    zsock_t *junk = zsock_new_dealer (snap_ep);
    assert (junk);
    zstr_send (junk, "garbage");
    zstr_sendx (junk, "two", "frames", NULL);
    Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
    credit.stream = "log";
    credit.window = 10;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
    env.credit = &credit;
    env.msg_id = "wrong-stream";
    assert (hl_msg_send (junk, NULL, &env) == 0);
    credit.stream = "snapshot";
    credit.cursor = UINT64_MAX - 5;
    env.msg_id = "huge";
    assert (hl_msg_send (junk, NULL, &env) == 0);
    zframe_t *frame = zframe_recv (junk);
    assert (frame);
    Hotline__Envelope *answer = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
    assert (answer && streq (answer->msg_id, "huge"));
    assert (answer->batch->n_items == 0 && answer->batch->head == 260);
    hl_msg_free (&answer);
    zframe_destroy (&frame);
    //  A page is capped and starts after the cursor
    credit.cursor = 1;
    credit.window = 100000;
    env.msg_id = "page";
    assert (hl_msg_send (junk, NULL, &env) == 0);
    frame = zframe_recv (junk);
    assert (frame);
    answer = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
    assert (answer && streq (answer->msg_id, "page"));
    assert (answer->batch->n_items == S_PAGE_MAX);
    assert (answer->batch->items [0]->seq == 2);
    assert (answer->batch->items [S_PAGE_MAX - 1]->seq == S_PAGE_MAX + 1);
    hl_msg_free (&answer);
    zframe_destroy (&frame);
    zsock_destroy (&junk);

    hl_clone_sub_destroy (&tail);
    hl_clone_sub_destroy (&mid);
    hl_clone_sub_destroy (&sub);
    assert (sub == NULL);
    zactor_destroy (&pub);
    //  @end
    printf ("OK\n");
}
