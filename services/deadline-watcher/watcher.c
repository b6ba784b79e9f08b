/*  watcher — fires deadline warnings and breaches. See watcher.h.
 *
 *    s_load      rebuild the heap from the store (restart recovery)
 *    s_handle    one log event: apply it; queue the deadlines it started
 *    s_tick      fire what is due, in order, within a time budget
 *    s_fire      check one firing against the store and submit it
 */
#include "hotline.h"
#include "watcher.h"
#include "heap.h"

//  deadline.db's schema versions (hl_store_migrate): append, never edit.
//  1 and 2: what the last unversioned release made outside versions (the
//  deadlines' tables, the consumer's cursor), IF NOT EXISTS, as its stores
//  have them already
static const hl_store_migration_t s_migrations [] = {
    { 1, hl_deadline_schema, NULL },
    { 2, hl_consumer_schema, NULL },
    { 0, NULL, NULL }
};

struct _watcher_t {
    hl_service_t *service;
    hl_procedure_t *procedure;
    hl_store_t *store;
    hl_client_t *client;
    hl_consumer_t *consumer;
    firing_heap_t *heap;
    int timer_id;
    int64_t budget_ms;          //  most time one tick spends firing
    int64_t retry_ms;           //  pause after intake did not answer
    int64_t retry_at;           //  monotonic ms: no firing before this
    char actor [64];
    uint64_t sent, stale;
};

//  Queue the firings of one deadline row
static int
s_queue (watcher_t *self, int64_t id, int64_t warn_ms, int64_t due_ms, bool warn_pending, bool bulk)
{
    int (*add) (firing_heap_t *, int64_t, int64_t, firing_kind_t) =
        bulk? firing_heap_append: firing_heap_push;
    if (warn_ms > 0 && warn_pending && add (self->heap, warn_ms, id, FIRING_WARN))
        return -1;
    return add (self->heap, due_ms, id, FIRING_BREACH);
}

//  Restart recovery: every running deadline not yet breached
static int
s_load (watcher_t *self)
{
    int64_t started = zclock_mono ();
    firing_heap_clear (self->heap);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT id, warn_ms, due_ms, warned_seq IS NULL FROM deadlines"
        " WHERE met_ms IS NULL AND breached_seq IS NULL");
    if (!stmt)
        return -1;
    int rc;
    size_t rows = 0;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        if (s_queue (self, sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
                     sqlite3_column_int64 (stmt, 2), sqlite3_column_int (stmt, 3), true)) {
            sqlite3_reset (stmt);
            hl_error ("out of memory loading deadlines");
            return -1;
        }
        rows++;
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("deadline store: %s", hl_store_error (self->store));
        return -1;
    }
    firing_heap_build (self->heap);
    hl_info ("loaded %zu open deadline(s), %zu pending firing(s) in %" PRId64 " ms",
             rows, firing_heap_size (self->heap), zclock_mono () - started);
    return 0;
}

static int
s_handle (void *arg, const Hotline__Event *event)
{
    watcher_t *self = (watcher_t *) arg;
    if (hl_deadline_apply (self->store, self->procedure, event))
        return -1;
    const char *from = event->from_state? event->from_state: "";
    const char *to = event->to_state? event->to_state: "";
    if (!*to || streq (from, to) || !event->case_id || !*event->case_id)
        return 0;
    //  The deadlines this event started. (If the batch rolls back, the
    //  entries stay; s_fire checks each against the store, so a stray one
    //  is dropped and a repeated one is deduplicated by intake.)
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT id, warn_ms, due_ms FROM deadlines"
        " WHERE case_id = ? AND started_seq = ? AND met_ms IS NULL AND breached_seq IS NULL");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) event->seq);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        if (s_queue (self, sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
                     sqlite3_column_int64 (stmt, 2), true, false)) {
            sqlite3_reset (stmt);
            return -1;
        }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

//  Fire one due entry. 0 = done with it (sent, or no longer due), -1 =
//  intake did not take it: keep it and try later.
static int
s_fire (watcher_t *self, const firing_t *firing)
{
    bool warn = firing_kind (firing) == FIRING_WARN;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT case_id, name, started_seq, due_ms, warn_ms,"
        " met_ms IS NULL, warned_seq IS NULL, breached_seq IS NULL FROM deadlines WHERE id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, firing_row (firing));
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_reset (stmt);
        if (rc == SQLITE_DONE)
            return 0;           //  row gone (rolled back batch): stray entry
        //  A failed read is not a row gone: keep the firing, retry it
        hl_error ("watcher: cannot read deadline %lld: %s", (long long) firing_row (firing),
                  hl_store_error (self->store));
        return -1;
    }
    char case_id [64], name [64];
    snprintf (case_id, sizeof case_id, "%s", (const char *) sqlite3_column_text (stmt, 0));
    snprintf (name, sizeof name, "%s", (const char *) sqlite3_column_text (stmt, 1));
    uint64_t started_seq = (uint64_t) sqlite3_column_int64 (stmt, 2);
    int64_t due_ms = sqlite3_column_int64 (stmt, 3);
    int64_t warn_ms = sqlite3_column_int64 (stmt, 4);
    bool running = sqlite3_column_int (stmt, 5);
    bool not_warned = sqlite3_column_int (stmt, 6);
    bool not_breached = sqlite3_column_int (stmt, 7);
    sqlite3_reset (stmt);
    //  Met, already fired, or an entry for other times: drop it
    if (!running || !not_breached || (warn && !not_warned)
    ||  firing->fire_ms != (warn? warn_ms: due_ms))
        return 0;

    const char *kind = warn? "warn": "breach";
    char request_id [256], seq_text [24], due_text [24];
    snprintf (request_id, sizeof request_id, "deadline:%s:%s:%" PRIu64 ":%s",
              case_id, name, started_seq, kind);
    snprintf (seq_text, sizeof seq_text, "%" PRIu64, started_seq);
    snprintf (due_text, sizeof due_text, "%" PRId64, due_ms);
    Hotline__Command__ArgsEntry entries [3];
    Hotline__Command__ArgsEntry *args [3];
    const char *keys [3] = { "deadline", "started_seq", "due_ms" };
    char *values [3] = { name, seq_text, due_text };
    for (int i = 0; i < 3; i++) {
        hotline__command__args_entry__init (&entries [i]);
        entries [i].key = (char *) keys [i];
        entries [i].value = values [i];
        args [i] = &entries [i];
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    //  The procedure's deadline_warn / deadline_breach meanings
    command.action = (char *) hl_procedure_meaning (self->procedure,
                                                    warn? "deadline_warn": "deadline_breach", NULL);
    assert (command.action);            //  every procedure declares both (checked on load)
    command.case_id = case_id;
    command.n_args = 3;
    command.args = args;
    //  Blocks the loop (see hl_client.h): the request id names the deadline,
    //  its start and the kind, so a retry after a crash fires it once
    Hotline__Envelope *reply = hl_client_command (self->client, request_id, self->actor, &command);
    if (!reply) {
        hl_log (HL_WARN, case_id, "%s of deadline %s will be retried", kind, name);
        return -1;
    }
    int code = reply->reply->code;
    char when [32];
    if (code == HL_OK) {
        self->sent++;
        //  Firings, not replays: a replayed answer is one another replica
        //  (or this one, before a restart) fired and counted
        if (!reply->reply->replayed)
            hl_metrics_add (hl_service_metrics (self->service),
                            warn? "hotline_deadline_warnings_total": "hotline_deadline_breaches_total", 1);
        hl_log (HL_INFO, case_id, "deadline %s %s (due %s)", name, warn? "warning sent": "breached",
                hl_clock_format (due_ms, when, sizeof when));
    }
    else
    if (code == HL_CONFLICT) {
        //  The case moved on (met), or it was fired already
        self->stale++;
        hl_log (HL_DEBUG, case_id, "deadline %s %s not pending any more: dropped", name, kind);
    }
    else
        hl_log (HL_ERROR, case_id, "intake refused %s of deadline %s: %d %s", kind, name, code,
                reply->reply->error? reply->reply->error: "");
    hl_msg_free (&reply);
    return 0;
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    watcher_t *self = (watcher_t *) arg;
    int64_t started = zclock_mono ();
    if (started < self->retry_at)
        return 0;
    int64_t now = hl_clock_now ();
    const firing_t *top;
    while ((top = firing_heap_peek (self->heap)) && top->fire_ms <= now) {
        if (zclock_mono () - started >= self->budget_ms)
            break;              //  let the log in; the rest next tick
        firing_t firing;
        firing_heap_pop (self->heap, &firing);
        //  Identical entries (a replayed batch) come out together
        while ((top = firing_heap_peek (self->heap))
           &&  top->fire_ms == firing.fire_ms && top->key == firing.key)
            firing_heap_pop (self->heap, &firing);
        if (s_fire (self, &firing)) {
            //  Keep it; warn-before-breach order holds since the heap
            //  gives it back first
            firing_heap_push (self->heap, firing.fire_ms, firing_row (&firing), firing_kind (&firing));
            self->retry_at = zclock_mono () + self->retry_ms;
            break;
        }
    }
    return 0;
}

//  Gauge: firings waiting in the heap (loop thread, every second)
static void
s_metrics (void *arg)
{
    watcher_t *self = (watcher_t *) arg;
    hl_metrics_set (hl_service_metrics (self->service), "hotline_deadline_pending_firings",
                    (double) firing_heap_size (self->heap));
}

watcher_t *
watcher_new (hl_service_t *service)
{
    watcher_t *self = (watcher_t *) zmalloc (sizeof (watcher_t));
    self->service = service;
    self->procedure = hl_service_procedure (service);
    snprintf (self->actor, sizeof self->actor, "system:%s", hl_service_name (service));
    hl_config_t *config = hl_service_config (service);
    int64_t tick_ms = hl_config_int (config, "deadlines/tick_ms", 100);
    self->budget_ms = hl_config_int (config, "deadlines/budget_ms", 50);
    self->retry_ms = hl_config_int (config, "deadlines/retry_ms", 1000);
    if (tick_ms < 1 || tick_ms > 60000 || self->budget_ms < 1 || self->retry_ms < 0) {
        fprintf (stderr, "hotline-deadline-watcher: deadlines/tick_ms must be 1..60000, "
                         "budget_ms >= 1, retry_ms >= 0\n");
        watcher_destroy (&self);
        return NULL;
    }
    self->heap = firing_heap_new ();
    char *db = hl_service_path (service, "deadline.db");
    self->store = hl_store_new (db, NULL);
    free (db);
    if (!self->store || hl_store_migrate (self->store, "deadline.db", s_migrations, NULL)
    ||  s_load (self)) {
        watcher_destroy (&self);
        return NULL;
    }
    self->client = hl_client_new (hl_service_endpoint (service, "intake"),
                                  (int) hl_config_int (config, "deadlines/timeout_ms", 1000),
                                  (int) hl_config_int (config, "deadlines/tries", 2));
    zloop_t *loop = hl_service_loop (service);
    self->consumer = hl_consumer_new (loop, hl_service_endpoint (service, "archive_feed"),
                                      self->store, s_handle, self);
    if (!self->consumer) {
        watcher_destroy (&self);
        return NULL;
    }
    self->timer_id = zloop_timer (loop, (size_t) tick_ms, 0, s_tick, self);
    hl_metrics_on_refresh (hl_service_metrics (service), s_metrics, self);
    //  Exported from the start, at 0: an alert on rate() needs the series
    //  before the first firing
    hl_metrics_add (hl_service_metrics (service), "hotline_deadline_warnings_total", 0);
    hl_metrics_add (hl_service_metrics (service), "hotline_deadline_breaches_total", 0);
    return self;
}

void
watcher_destroy (watcher_t **self_p)
{
    assert (self_p);
    watcher_t *self = *self_p;
    if (self) {
        if (self->timer_id > 0)
            zloop_timer_end (hl_service_loop (self->service), self->timer_id);
        if (self->sent || self->stale)
            hl_info ("sent %" PRIu64 " firing(s), %" PRIu64 " stale", self->sent, self->stale);
        hl_consumer_destroy (&self->consumer);
        hl_client_destroy (&self->client);
        hl_store_destroy (&self->store);
        firing_heap_destroy (&self->heap);
        free (self);
        *self_p = NULL;
    }
}
