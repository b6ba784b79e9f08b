/*  hl_consumer — a service that follows the archive's event log.  */
#include "hotline.h"

const char hl_consumer_schema [] =
    "CREATE TABLE IF NOT EXISTS hop_cursor (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);";

struct _hl_consumer_t {
    hl_store_t *store;
    hl_hop_receiver_t *receiver;
    hl_consumer_fn *handler;
    void *arg;
    uint64_t cursor;
    bool all_origins;
};

static int
s_cursor (void *arg, const char *stream, uint64_t *cursor)
{
    hl_consumer_t *self = (hl_consumer_t *) arg;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT seq FROM hop_cursor WHERE stream = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, stream, -1, SQLITE_STATIC);
    //  No row is cursor 0 (nothing applied yet: replay from the start). A
    //  failed read (locked, I/O error) is -1, never 0: 0 would replay the
    //  whole log into handlers that act on each event again
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *cursor = (uint64_t) sqlite3_column_int64 (stmt, 0);
    else
    if (rc == SQLITE_DONE)
        *cursor = 0;
    else
        hl_error ("consumer: cannot read the cursor of stream %s: %s", stream,
                  sqlite3_errstr (rc));
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    self->cursor = *cursor;
    return 0;
}

static int
s_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    hl_consumer_t *self = (hl_consumer_t *) arg;
    if (hl_store_begin (self->store))
        return -1;
    for (size_t i = 0; i < count; i++) {
        Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
        const char *reason = "malformed";
        if (!event || hl_msg_check (&event->base, &reason)) {
            //  Our own archive wrote it: this is a bug, not bad input.
            //  Skip it loudly rather than wedge the stream.
            hl_error ("log item %" PRIu64 " cannot be decoded (%s), skipped", items [i].seq, reason);
            if (event)
                hotline__event__free_unpacked (event, NULL);
            continue;
        }
        int rc = 0;
        //  Node-level events (no case) are not for case consumers
        if (event->case_id && *event->case_id
        &&  (self->all_origins || !event->origin || !*event->origin
             || streq (event->origin, hl_msg_node ())))
            rc = self->handler (self->arg, event);
        hotline__event__free_unpacked (event, NULL);
        if (rc) {
            hl_store_rollback (self->store);
            return -1;
        }
    }
    uint64_t cursor = items [count - 1].seq;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO hop_cursor (stream, seq) VALUES (?, ?) "
        "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq");
    if (!stmt) {
        hl_store_rollback (self->store);
        return -1;
    }
    sqlite3_bind_text (stmt, 1, stream, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) cursor);
    if (sqlite3_step (stmt) != SQLITE_DONE || hl_store_commit (self->store)) {
        hl_store_rollback (self->store);
        return -1;
    }
    self->cursor = cursor;
    uint64_t head = hl_hop_receiver_head (self->receiver, NULL);
    hl_metrics_set (hl_metrics_default (), "hotline_consumer_cursor", (double) cursor);
    hl_metrics_set (hl_metrics_default (), "hotline_consumer_lag", (double) (head > cursor? head - cursor: 0));
    return 0;
}

hl_consumer_t *
hl_consumer_new (zloop_t *loop, const char *endpoint, hl_store_t *store,
                 hl_consumer_fn *handler, void *arg)
{
    hl_consumer_t *self = (hl_consumer_t *) zmalloc (sizeof (hl_consumer_t));
    self->store = store;
    self->handler = handler;
    self->arg = arg;
    //  The table comes from the store's migration steps: a schema made
    //  here, outside them, would not be in the store's version
    if (hl_store_int (store, "SELECT count(*) FROM sqlite_master WHERE name = 'hop_cursor'", 0) != 1) {
        hl_error ("%s has no hop_cursor table: its migration steps must include"
                  " hl_consumer_schema", hl_store_path (store));
        free (self);
        return NULL;
    }
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    self->receiver = hl_hop_receiver_new (loop, endpoint, false, "log", s_apply, s_cursor, self, &opts);
    if (!self->receiver) {
        free (self);
        return NULL;
    }
    return self;
}

void
hl_consumer_destroy (hl_consumer_t **self_p)
{
    assert (self_p);
    hl_consumer_t *self = *self_p;
    if (self) {
        hl_hop_receiver_destroy (&self->receiver);
        free (self);
        *self_p = NULL;
    }
}

void
hl_consumer_set_local_only (hl_consumer_t *self, bool local_only)
{
    self->all_origins = !local_only;
}

uint64_t
hl_consumer_cursor (hl_consumer_t *self)
{
    return self->cursor;
}

//  --------------------------------------------------------------------------
//  Selftest: a sender serving ten events on stream "log"; a handler that
//  fails once on event 5 (transient) must still see each event handled, and
//  the cursor must end at 10.

typedef struct {
    hl_store_t *store;          //  the handler's effects go here, in the batch txn
    bool failed_once;
    zloop_t *loop;
    hl_consumer_t *consumer;
} s_test_state_t;

static int
s_test_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) arg; (void) stream;
    size_t count = 0;
    for (uint64_t seq = after + 1; seq <= 10 && count < max; seq++) {
        Hotline__Event event = HOTLINE__EVENT__INIT;
        event.seq = seq;
        event.case_id = "31001-2026-000001";
        event.action = "submit";
        items [count].seq = seq;
        items [count].size = hotline__event__get_packed_size (&event);
        items [count].data = (uint8_t *) zmalloc (items [count].size);
        hotline__event__pack (&event, items [count].data);
        count++;
    }
    return (int) count;
}

static int
s_test_handler (void *arg, const Hotline__Event *event)
{
    s_test_state_t *state = (s_test_state_t *) arg;
    if (event->seq == 5 && !state->failed_once) {
        state->failed_once = true;
        return -1;
    }
    sqlite3_stmt *stmt = hl_store_prepare (state->store, "INSERT INTO handled (seq) VALUES (?)");
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) event->seq);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_reset (stmt);
    return rc;
}

static int
s_test_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_test_state_t *state = (s_test_state_t *) arg;
    return hl_consumer_cursor (state->consumer) == 10? -1: 0;
}

void
hl_consumer_test (bool verbose)
{
    printf (" * hl_consumer: ");
    char dir [] = "/tmp/hl_consumer_XXXXXX";
    assert (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/c.db", dir);
    //  A store without the cursor's table is refused, with nothing started
    hl_store_t *store = hl_store_new (path, "CREATE TABLE handled (seq INTEGER NOT NULL)");
    zloop_t *loop = zloop_new ();
    assert (hl_consumer_new (loop, "inproc://hl-consumer-refused", store, s_test_handler, NULL) == NULL);
    zloop_destroy (&loop);
    assert (hl_store_exec (store, hl_consumer_schema) == 0);
    s_test_state_t state = { store, false, zloop_new (), NULL };
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    opts.timeout_ms = 300;
    //  On a port the system picks, so that selftests running side by side
    //  (several builds, several engineers) do not take each other's port
    hl_hop_sender_t *sender = hl_hop_sender_new (state.loop, "tcp://127.0.0.1:*", true,
                                                 "log", s_test_fetch, NULL, &opts);
    assert (sender);
    const char *endpoint = hl_hop_sender_endpoint (sender);
    assert (strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0 && !strstr (endpoint, "*"));
    state.consumer = hl_consumer_new (state.loop, endpoint, store, s_test_handler, &state);
    assert (state.consumer);
    zloop_timer (state.loop, 50, 0, s_test_check, &state);
    zloop_timer (state.loop, 20000, 1, s_test_check, &state);     //  hard stop
    zloop_start (state.loop);
    assert (hl_consumer_cursor (state.consumer) == 10);
    assert (state.failed_once);
    //  Every event's effect is there once: the failed batch left nothing
    assert (hl_store_int (store, "SELECT count(*) FROM handled", 0) == 10);
    assert (hl_store_int (store, "SELECT count(DISTINCT seq) FROM handled", 0) == 10);
    assert (hl_store_int (store, "SELECT seq FROM hop_cursor WHERE stream='log'", 0) == 10);
    hl_consumer_destroy (&state.consumer);
    hl_hop_sender_destroy (&sender);
    zloop_destroy (&state.loop);
    hl_store_destroy (&store);

    //  The cursor callback: no row is 0; a read that fails at step (here a
    //  view whose seq overflows at run time) is -1 and leaves the cursor
    //  alone, never 0, which would replay the whole log
    snprintf (path, sizeof path, "%s/bad.db", dir);
    store = hl_store_new (path, "CREATE VIEW hop_cursor AS SELECT 'log' AS stream,"
                                " abs (-9223372036854775807 - 1) AS seq");
    assert (store);
    hl_consumer_t probe = { .store = store, .cursor = 7 };
    uint64_t cursor = 42;
    assert (s_cursor (&probe, "other", &cursor) == 0 && cursor == 0);
    cursor = 42;
    assert (s_cursor (&probe, "log", &cursor) == -1);
    assert (probe.cursor == 0);         //  the successful read above set it
    hl_store_destroy (&store);

    char cmd [96];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(cursor 10) ");
    printf ("OK\n");
}
