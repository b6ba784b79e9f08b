/*  hl_hop — the one reliable hop: what its two classes share. See hl_hop.h
    for the protocol, hl_hop_sender.c and hl_hop_receiver.c for each side.

    This file holds, in order:
      - the wire (declared in hl_hop_wire.h): options, sockets and their
        loop readers, one frame per message sent and received without
        blocking, batches built from fetched items, decoding (hl_clone
        uses the sockets, sends and batches too)
      - hl_hop_fetch_sql, the usual source for a sender (an SQLite table)
      - the selftest fixture both classes' selftests use (a source that
        can leave gaps, a sink that can fail), and hl_hop_test: the
        shared parts on their own (options, stream names, fetch_sql)

    Both sides run one zloop timer ("tick") for heartbeats, liveness and
    retries, and never block: every send is ZMQ_DONTWAIT.

    Reconnecting (connect mode only) moves the old socket to a "zombie"
    slot that is destroyed on the next tick: zloop may still call our
    reader for it during the current iteration.
*/

#include "hl_hop_wire.h"

int64_t
hl_hop_wire_now (void)
{
    return zclock_mono ();
}

//  Tick interval (heartbeats, liveness and retries)
int
hl_hop_wire_tick_ms (const hl_hop_opts_t *opts)
{
    int tick = opts->heartbeat_ms / 4;
    return tick < 5? 5: tick > 250? 250: tick;
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
void
hl_hop_wire_opts_copy (hl_hop_opts_t *dst, const hl_hop_opts_t *src)
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
    if (dst->batch > HL_HOP_MAX_BATCH)
        dst->batch = HL_HOP_MAX_BATCH;
    dst->server_key = NULL;     //  we keep our own copy
}

bool
hl_hop_wire_stream_ok (const char *name)
{
    return name && *name && strlen (name) <= HL_HOP_STREAM_MAX;
}

//  Create, harden, secure and bind or connect a socket. NULL on error.
zsock_t *
hl_hop_wire_socket (int type, const char *endpoint, bool bind,
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

zsock_t *
hl_hop_wire_open (zloop_t *loop, int type, const char *endpoint, bool bind,
                  const hl_hop_opts_t *opts, const char *server_key,
                  zloop_reader_fn *fn, void *arg)
{
    zsock_t *sock = hl_hop_wire_socket (type, endpoint, bind, opts, server_key);
    if (!sock)
        return NULL;
    if (zloop_reader (loop, sock, fn, arg)) {
        hl_error ("hop: %s: cannot register a reader", endpoint);
        zsock_destroy (&sock);
        return NULL;
    }
    zloop_reader_set_tolerant (loop, sock);
    return sock;
}

void
hl_hop_wire_retire (zloop_t *loop, zsock_t **sock_p, zsock_t **zombie_p)
{
    if (*sock_p) {
        zloop_reader_end (loop, *sock_p);
        zsock_destroy (zombie_p);
        *zombie_p = *sock_p;
        *sock_p = NULL;
    }
}

//  Send one frame (preceded by routing_id if not NULL) without blocking.
//  Always consumes *frame_p. Returns 0 or the errno of the failure.
int
hl_hop_wire_send (zsock_t *sock, zframe_t *routing_id, zframe_t **frame_p)
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

int
hl_hop_wire_send_env (zsock_t *sock, zframe_t *routing_id, Hotline__Envelope *env,
                      bool *dead, int64_t *last_sent)
{
    zframe_t *frame = hl_msg_encode (env);
    if (!frame) {
        hl_error ("hop: cannot encode a message (body %d)", (int) env->body_case);
        return -1;
    }
    int err = hl_hop_wire_send (sock, routing_id, &frame);
    if (err) {
        if (err == EHOSTUNREACH && dead)
            *dead = true;
        return -1;
    }
    if (last_sent)
        *last_sent = hl_hop_wire_now ();
    return 0;
}

void
hl_hop_wire_batch (Hotline__HopBatch *batch, const char *stream, uint64_t head,
                   const hl_hop_item_t *items, size_t count,
                   Hotline__HopItem *pb_items, Hotline__HopItem **pb_ptrs)
{
    for (size_t i = 0; i < count; i++) {
        Hotline__HopItem init = HOTLINE__HOP_ITEM__INIT;
        pb_items [i] = init;
        pb_items [i].seq = items [i].seq;
        pb_items [i].payload.len = items [i].size;
        pb_items [i].payload.data = items [i].data;
        pb_ptrs [i] = &pb_items [i];
    }
    Hotline__HopBatch init = HOTLINE__HOP_BATCH__INIT;
    *batch = init;
    batch->stream = (char *) stream;
    batch->n_items = count;
    batch->items = count? pb_ptrs: NULL;
    batch->head = head;
}

void
hl_hop_wire_items_free (hl_hop_item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free (items [i].data);
        items [i].data = NULL;
        items [i].size = 0;
    }
}

//  Receive one message without blocking. Returns its (single) payload frame
//  and, on a ROUTER, the routing id; NULL if nothing to read or the
//  message was malformed (it is drained and dropped).
zframe_t *
hl_hop_wire_recv (zsock_t *sock, bool router, zframe_t **routing_id_p, hl_ratelimit_t *rl)
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

Hotline__Envelope *
hl_hop_wire_decode (zframe_t *frame, hl_ratelimit_t *rl)
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
//  A source in SQLite

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
    int rc = SQLITE_ROW;
    while ((size_t) count < max && (rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        items [count].seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        items [count].size = (size_t) sqlite3_column_bytes (stmt, 1);
        //  zmalloc: never NULL (it aborts), and one byte for an empty item,
        //  so that data is always a buffer the hop may free
        items [count].data = (uint8_t *) zmalloc (items [count].size? items [count].size: 1);
        if (items [count].size)
            memcpy (items [count].data, sqlite3_column_blob (stmt, 1), items [count].size);
        count++;
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        //  A failed read is an error, not the end of the source: the
        //  sender retries on its next tick
        hl_error ("hop: fetch failed: %s", hl_store_error (store));
        while (count > 0)
            free (items [--count].data);
        return -1;
    }
    return count;
}

//  ==================================================================
//  Selftest fixture (declared in hl_hop_wire.h)

typedef struct {
    int64_t deadline;
    bool timed_out;
    bool (*done) (void *);
    void *arg;
} t_wait_t;

int
hl_hop_t_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    hl_hop_t_source_t *src = (hl_hop_t_source_t *) arg;
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
        items [count].data = (uint8_t *) zmalloc (size);
        memcpy (items [count].data, buf, size);
        items [count].size = size;
        count++;
    }
    return (int) count;
}

void
hl_hop_t_db_init (hl_hop_t_db_t *db, const char *name, uint64_t n)
{
    memset (db, 0, sizeof (*db));
    db->name = name;
    db->n = n;
    db->count = (uint32_t *) zmalloc ((n + 1) * sizeof (uint32_t));
    db->order_ok = true;
}

void
hl_hop_t_db_check (hl_hop_t_db_t *db, uint64_t n)
{
    assert (db->order_ok);
    assert (db->bad_payloads == 0);
    assert (db->cursor == n);
    for (uint64_t seq = 1; seq <= n; seq++)
        assert (db->count [seq] == 1);
    for (uint64_t seq = n + 1; seq <= db->n; seq++)
        assert (db->count [seq] == 0);
}

static hl_hop_t_db_t *
t_sink_db (hl_hop_t_sink_t *sink, const char *stream)
{
    for (size_t i = 0; i < sink->n_dbs; i++)
        if (streq (sink->dbs [i].name, stream))
            return &sink->dbs [i];
    return NULL;
}

int
hl_hop_t_group_begin (void *arg)
{
    hl_hop_t_sink_t *sink = (hl_hop_t_sink_t *) arg;
    assert (!sink->group_open);
    for (size_t i = 0; i < sink->n_dbs; i++) {
        hl_hop_t_db_t *db = &sink->dbs [i];
        sink->saved_cursor [i] = db->cursor;
        sink->saved_count [i] = (uint32_t *) zmalloc ((db->n + 1) * sizeof (uint32_t));
        memcpy (sink->saved_count [i], db->count, (db->n + 1) * sizeof (uint32_t));
    }
    sink->group_open = true;
    sink->group_begins++;
    return 0;
}

int
hl_hop_t_group_commit (void *arg)
{
    hl_hop_t_sink_t *sink = (hl_hop_t_sink_t *) arg;
    assert (sink->group_open);
    sink->group_open = false;
    sink->group_commits++;
    bool fail = sink->commit_fail_every && sink->group_commits % sink->commit_fail_every == 0
             && sink->commit_failures < sink->commit_fail_max;
    for (size_t i = 0; i < sink->n_dbs; i++) {
        hl_hop_t_db_t *db = &sink->dbs [i];
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

int
hl_hop_t_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    hl_hop_t_sink_t *sink = (hl_hop_t_sink_t *) arg;
    assert (!sink->grouped || sink->group_open);
    hl_hop_t_db_t *db = t_sink_db (sink, stream);
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

int
hl_hop_t_cursor (void *arg, const char *stream, uint64_t *cursor)
{
    hl_hop_t_db_t *db = t_sink_db ((hl_hop_t_sink_t *) arg, stream);
    if (!db)
        return -1;
    *cursor = db->cursor;
    return 0;
}

bool
hl_hop_t_authorize (void *arg, const char *user_id, const char *stream)
{
    hl_hop_t_sink_t *sink = (hl_hop_t_sink_t *) arg;
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

void
hl_hop_t_run (zloop_t *loop, bool (*done) (void *), void *arg)
{
    t_wait_t wait = { zclock_mono () + 60000, false, done, arg };
    int timer_id = zloop_timer (loop, 5, 0, t_check, &wait);
    assert (timer_id != -1);
    zloop_start (loop);
    zloop_timer_end (loop, timer_id);
    assert (!wait.timed_out);
}

void
hl_hop_t_send_raw (zsock_t *sock, const void *data, size_t size)
{
    zframe_t *frame = zframe_new (data, size);
    assert (frame);
    int rc = zframe_send (&frame, sock, 0);
    assert (rc == 0);
}

void
hl_hop_t_send_env (zsock_t *sock, Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    assert (frame);
    int rc = zframe_send (&frame, sock, 0);
    assert (rc == 0);
}

static int
t_reader (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    (void) sock;
    (void) arg;
    return 0;
}

//  ==================================================================
//  Selftest: the shared parts. The hop itself, end to end, is tested
//  from each side in hl_hop_sender_test and hl_hop_receiver_test.

void
hl_hop_test (bool verbose)
{
    printf (" * hl_hop: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    assert (opts.timeout_ms == 3000 && opts.heartbeat_ms == 1000);
    assert (opts.window == 2048 && opts.batch == 256 && opts.coalesce_ms == 0);
    assert (!opts.cert && !opts.server_key && !opts.curve_server);

    //  Unset and out-of-range options take their defaults or limits
    hl_hop_opts_t copy;
    hl_hop_wire_opts_copy (&copy, NULL);
    assert (copy.timeout_ms == 3000 && copy.window == 2048);
    opts.timeout_ms = -1;
    opts.heartbeat_ms = 0;
    opts.batch = HL_HOP_MAX_BATCH + 1;
    opts.coalesce_ms = -5;
    opts.server_key = "not copied";
    hl_hop_wire_opts_copy (&copy, &opts);
    assert (copy.timeout_ms == 3000 && copy.heartbeat_ms == 1000);
    assert (copy.batch == HL_HOP_MAX_BATCH && copy.coalesce_ms == 0);
    assert (copy.server_key == NULL);
    copy.heartbeat_ms = 1;
    assert (hl_hop_wire_tick_ms (&copy) == 5);
    copy.heartbeat_ms = 100000;
    assert (hl_hop_wire_tick_ms (&copy) == 250);

    //  Stream names
    char name [HL_HOP_STREAM_MAX + 2];
    memset (name, 'a', sizeof name - 1);
    name [sizeof name - 1] = 0;
    assert (!hl_hop_wire_stream_ok (name));
    name [HL_HOP_STREAM_MAX] = 0;
    assert (hl_hop_wire_stream_ok (name));
    assert (!hl_hop_wire_stream_ok ("") && !hl_hop_wire_stream_ok (NULL));

    //  Sides refuse bad streams and endpoints, creating nothing
    zloop_t *loop = zloop_new ();
    assert (loop);
    hl_hop_opts_init (&opts);
    assert (!hl_hop_sender_new (loop, "inproc://hl-hop-test-0", true, "",
                                hl_hop_t_fetch, NULL, &opts));
    assert (!hl_hop_receiver_new (loop, "inproc://hl-hop-test-0", false, NULL,
                                  hl_hop_t_apply, hl_hop_t_cursor, NULL, &opts));
    assert (!hl_hop_sender_new (loop, "bogus://x", true, "log", hl_hop_t_fetch, NULL, &opts));
    zloop_destroy (&loop);

    //  The wire: a socket read by the loop, retired on reconnect; a batch
    //  points at the fetched items; a send stamps the peer, and a ROUTER's
    //  unknown peer is dead; freeing the items clears them
    loop = zloop_new ();
    assert (loop);
    assert (!hl_hop_wire_open (loop, ZMQ_DEALER, "bogus://x", false, &opts, NULL,
                               t_reader, NULL));
    zsock_t *router = hl_hop_wire_open (loop, ZMQ_ROUTER, "inproc://hl-hop-test-wire", true,
                                        &opts, NULL, t_reader, NULL);
    zsock_t *dealer = hl_hop_wire_open (loop, ZMQ_DEALER, "inproc://hl-hop-test-wire", false,
                                        &opts, NULL, t_reader, NULL);
    assert (router && dealer);
    hl_hop_item_t fetched [2] = {
        { .seq = 7, .data = (uint8_t *) hl_strdup ("a"), .size = 1 },
        { .seq = 9, .data = (uint8_t *) hl_strdup ("bc"), .size = 2 } };
    Hotline__HopItem pb_items [2];
    Hotline__HopItem *pb_ptrs [2];
    Hotline__HopBatch batch;
    hl_hop_wire_batch (&batch, "log", 12, fetched, 2, pb_items, pb_ptrs);
    assert (streq (batch.stream, "log") && batch.head == 12 && batch.n_items == 2);
    assert (batch.items [1]->seq == 9 && batch.items [1]->payload.len == 2
         && batch.items [1]->payload.data == fetched [1].data);
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
    env.batch = &batch;
    bool dead = false;
    int64_t last_sent = 0;
    assert (hl_hop_wire_send_env (dealer, NULL, &env, &dead, &last_sent) == 0);
    assert (!dead && last_sent > 0);
    hl_ratelimit_t rl = { 0 };
    zframe_t *routing_id = NULL;
    zframe_t *frame = NULL;
    while (!frame)
        frame = hl_hop_wire_recv (router, true, &routing_id, &rl);
    assert (routing_id);
    Hotline__Envelope *got = hl_hop_wire_decode (frame, &rl);
    assert (got && got->body_case == HOTLINE__ENVELOPE__BODY_BATCH);
    assert (got->batch->n_items == 2 && got->batch->items [0]->seq == 7
         && got->batch->items [1]->payload.len == 2
         && memcmp (got->batch->items [1]->payload.data, "bc", 2) == 0);
    hl_msg_free (&got);
    zframe_destroy (&frame);
    hl_hop_wire_batch (&batch, "log", 12, fetched, 0, pb_items, pb_ptrs);
    assert (batch.n_items == 0 && batch.items == NULL);
    assert (hl_hop_wire_send_env (router, routing_id, &env, &dead, &last_sent) == 0);
    zframe_t *nobody = zframe_new ("nobody", 6);
    last_sent = 0;
    assert (hl_hop_wire_send_env (router, nobody, &env, &dead, &last_sent) == -1);
    assert (dead && last_sent == 0);
    zframe_destroy (&nobody);
    zframe_destroy (&routing_id);
    hl_hop_wire_items_free (fetched, 2);
    assert (!fetched [0].data && !fetched [1].data && fetched [1].size == 0);
    zsock_t *zombie = NULL;
    zsock_t *old = dealer;
    hl_hop_wire_retire (loop, &dealer, &zombie);
    assert (!dealer && zombie == old);
    hl_hop_wire_retire (loop, &dealer, &zombie);
    assert (zombie == old);
    zsock_destroy (&zombie);
    zloop_reader_end (loop, router);
    zsock_destroy (&router);
    zloop_destroy (&loop);

    //  hl_hop_fetch_sql: items after a cursor, at most max, in seq order,
    //  and an SQL error is -1
    char dir [] = "/tmp/hl_hop_test_XXXXXX";
    assert (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/hop.db", dir);
    hl_store_t *store = hl_store_new (path,
        "CREATE TABLE log (seq INTEGER PRIMARY KEY, stream TEXT, event BLOB);"
        "INSERT INTO log VALUES (1, 'a', x'01'), (2, 'b', x'0202'), (3, 'a', x''), (4, 'a', x'04');");
    assert (store);
    hl_hop_item_t items [4];
    int count = hl_hop_fetch_sql (store, "SELECT seq, event FROM log WHERE seq > ?1 "
                                         "AND stream = ?3 ORDER BY seq LIMIT ?2", "a", 0, 2, items);
    assert (count == 2);
    assert (items [0].seq == 1 && items [0].size == 1 && items [0].data [0] == 1);
    assert (items [1].seq == 3 && items [1].size == 0 && items [1].data);
    for (int i = 0; i < count; i++)
        free (items [i].data);
    count = hl_hop_fetch_sql (store, "SELECT seq, event FROM log WHERE seq > ?1 "
                                     "ORDER BY seq LIMIT ?2", NULL, 3, 4, items);
    assert (count == 1 && items [0].seq == 4);
    free (items [0].data);
    assert (hl_hop_fetch_sql (store, "SELECT nope FROM nowhere", NULL, 0, 4, items) == -1);
    hl_store_destroy (&store);
    char cmd [96];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    //  @end
    printf ("OK\n");
}
