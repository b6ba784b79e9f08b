/*  notify_outbox — see notify_outbox.h.
 *
 *  Read top to bottom:
 *    s_mark_sent ... s_mark_failed   a row's result, and the rows delivered
 *                                    whose mark could not be written
 *    s_write_logs    the log channel, written here in batches
 *    s_feed, s_dispatch              hand one due row to each idle worker;
 *                                    s_worker_readable records the result
 *    s_query_*       the ROUTER that answers deadletter / outbox / resend
 *    notify_outbox_new, _destroy, the public calls, then the selftest
 */
#include "hotline.h"
#include "notify_sender.h"
#include "notify_outbox.h"
#include "notification.h"
#include <fcntl.h>

#define S_MAX_WORKERS       8
#define S_LOG_BATCH         256

typedef struct _s_worker_t s_worker_t;
struct _s_worker_t {
    notify_outbox_t *parent;
    notify_sender_t *sender;
    const char *channel;        //  "email" or "sms"
    bool busy;
    int64_t row_id;
};

struct _notify_outbox_t {
    hl_store_t *store;
    zloop_t *loop;
    hl_metrics_t *metrics;
    const notify_sender_config_t *sender_config;
    s_worker_t workers [S_MAX_WORKERS];
    size_t nworkers;
    zsock_t *query;             //  ROUTER: deadletter / outbox / resend
    char *log_path;
    int log_fd;
    int64_t retry_ms;
    int64_t retry_max_ms;
    int64_t max_attempts;
    int64_t retention_ms;       //  sent rows are deleted after this (0: kept)
    int64_t purged_ms;          //  last purge
    int tick_timer;
    int kick_timer;
    int smtp_reachable;         //  -1 e-mail off, 0 no, 1 yes, 2 not checked yet
    //  Rows delivered (or written to notify.log) whose 'sent' mark could
    //  not be committed (disk full, database locked): never handed out
    //  again by this process; the mark is retried on every dispatch
    int64_t *unrecorded;
    size_t nunrecorded;
    size_t unrecorded_max;
};

static void s_dispatch (notify_outbox_t *self);

static char *
s_column (sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    return hl_strdup (text? text: "");
}

static int64_t
s_backoff (notify_outbox_t *self, int64_t attempts)
{
    int64_t delay = self->retry_ms;
    for (int64_t i = 1; i < attempts && delay < self->retry_max_ms; i++)
        delay *= 2;
    return delay < self->retry_max_ms? delay: self->retry_max_ms;
}

void
notify_outbox_mask (const char *address, char *out, size_t size)
{
    const char *at = strchr (address, '@');
    if (at)
        snprintf (out, size, "%.1s***%s", address, at);
    else {
        size_t len = strlen (address);
        if (len < 6)
            snprintf (out, size, "***");
        else {
            char stars [32];
            size_t hidden = len - 4 < sizeof stars - 1? len - 4: sizeof stars - 1;
            memset (stars, '*', hidden);
            stars [hidden] = 0;
            snprintf (out, size, "%.2s%s%s", address, stars, address + len - 2);
        }
    }
}

//  0 = recorded (or nothing to record), -1 = the mark could not be written
static int
s_mark_sent (notify_outbox_t *self, int64_t id)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_ms = ?, last_error = ''"
        " WHERE id = ? AND status = 'pending'");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, hl_clock_now ());
    sqlite3_bind_int64 (stmt, 2, id);
    if (hl_store_step_done (self->store, stmt))
        return -1;
    if (sqlite3_changes (hl_store_db (self->store)) > 0)
        hl_metrics_add (self->metrics, "hotline_notifications_sent_total", 1);
    return 0;
}

static bool
s_is_unrecorded (notify_outbox_t *self, int64_t id)
{
    for (size_t i = 0; i < self->nunrecorded; i++)
        if (self->unrecorded [i] == id)
            return true;
    return false;
}

//  Delivered, but the mark did not reach the database: remember the row so
//  that it is not delivered again (only a restart before the mark is
//  written can repeat it: the at-least-once window)
static void
s_remember_unrecorded (notify_outbox_t *self, int64_t id)
{
    if (s_is_unrecorded (self, id))
        return;
    if (self->nunrecorded == self->unrecorded_max) {
        size_t max = self->unrecorded_max? self->unrecorded_max * 2: 64;
        int64_t *grown = (int64_t *) hl_realloc (self->unrecorded, max * sizeof (int64_t));
        self->unrecorded = grown;
        self->unrecorded_max = max;
    }
    self->unrecorded [self->nunrecorded++] = id;
    hl_warn ("message row %" PRId64 " was delivered but could not be marked sent: it will not be"
             " sent again; retrying the mark", id);
}

static void
s_retry_unrecorded (notify_outbox_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->nunrecorded; i++)
        if (s_mark_sent (self, self->unrecorded [i]))
            self->unrecorded [kept++] = self->unrecorded [i];
    if (kept < self->nunrecorded && kept == 0)
        hl_info ("every delivered message is marked sent again");
    self->nunrecorded = kept;
}

static void
s_mark_failed (notify_outbox_t *self, int64_t id, const char *error)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT attempts, idempotency_key, case_id FROM outbox WHERE id = ? AND status = 'pending'");
    if (!stmt)
        return;
    sqlite3_bind_int64 (stmt, 1, id);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return;
    }
    int64_t attempts = sqlite3_column_int64 (stmt, 0) + 1;
    char *key = s_column (stmt, 1);
    char *case_id = s_column (stmt, 2);
    sqlite3_reset (stmt);
    bool dead = attempts >= self->max_attempts;
    int64_t next = hl_clock_now () + s_backoff (self, attempts);
    hl_metrics_add (self->metrics, "hotline_notifications_failed_total", 1);
    stmt = hl_store_prepare (self->store,
        "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_ms = ?,"
        " status = CASE WHEN ? THEN 'dead' ELSE 'pending' END WHERE id = ?");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, attempts);
        sqlite3_bind_text (stmt, 2, error, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, next);
        sqlite3_bind_int (stmt, 4, dead);
        sqlite3_bind_int64 (stmt, 5, id);
        hl_store_step_done (self->store, stmt);
    }
    if (dead)
        hl_log (HL_WARN, case_id, "message %s is dead after %" PRId64 " attempts: %s",
                key, attempts, error);
    else
        hl_log (HL_INFO, case_id, "message %s attempt %" PRId64 " failed, retry in %" PRId64
                " ms: %s", key, attempts, next - hl_clock_now (), error);
    free (key);
    free (case_id);
}

//  The log channel: append due lines to notify.log, fsync once, mark them
static void
s_write_logs (notify_outbox_t *self, int64_t now)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT id, body FROM outbox WHERE status = 'pending' AND channel = 'log'"
        " AND next_attempt_ms <= ? ORDER BY id LIMIT ?");
    if (!stmt)
        return;
    sqlite3_bind_int64 (stmt, 1, now);
    sqlite3_bind_int (stmt, 2, S_LOG_BATCH);
    int64_t ids [S_LOG_BATCH];
    size_t count = 0;
    zchunk_t *text = zchunk_new (NULL, 4096);
    while (count < S_LOG_BATCH && sqlite3_step (stmt) == SQLITE_ROW) {
        if (s_is_unrecorded (self, sqlite3_column_int64 (stmt, 0)))
            continue;           //  written already, its mark is pending
        ids [count++] = sqlite3_column_int64 (stmt, 0);
        const char *line = (const char *) sqlite3_column_text (stmt, 1);
        zchunk_extend (text, line? line: "{}", line? strlen (line): 2);
        zchunk_extend (text, "\n", 1);
    }
    sqlite3_reset (stmt);
    if (count == 0) {
        zchunk_destroy (&text);
        return;
    }
    const char *error = NULL;
    size_t size = zchunk_size (text), written = 0;
    while (written < size) {
        ssize_t rc = write (self->log_fd, zchunk_data (text) + written, size - written);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            error = strerror (errno);
            break;
        }
        written += (size_t) rc;
    }
    if (!error && fdatasync (self->log_fd))
        error = strerror (errno);
    zchunk_destroy (&text);
    if (error) {
        hl_error ("cannot write %s: %s", self->log_path, error);
        for (size_t i = 0; i < count; i++)
            s_mark_failed (self, ids [i], error);
        return;
    }
    bool recorded = hl_store_begin (self->store) == 0;
    for (size_t i = 0; i < count && recorded; i++)
        recorded = s_mark_sent (self, ids [i]) == 0;
    if (recorded)
        recorded = hl_store_commit (self->store) == 0;
    else
        hl_store_rollback (self->store);
    if (!recorded)
        for (size_t i = 0; i < count; i++)
            s_remember_unrecorded (self, ids [i]);
}

static bool
s_in_flight (notify_outbox_t *self, int64_t id)
{
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->workers [i].busy && self->workers [i].row_id == id)
            return true;
    return s_is_unrecorded (self, id);
}

//  Give an idle worker the next due row of its channel
static void
s_feed (notify_outbox_t *self, s_worker_t *worker, int64_t now)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT id, idempotency_key, address, subject, body, case_id, event_id FROM outbox"
        " WHERE status = 'pending' AND channel = ? AND next_attempt_ms <= ?"
        " ORDER BY next_attempt_ms, id LIMIT ?");
    if (!stmt)
        return;
    sqlite3_bind_text (stmt, 1, worker->channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, now);
    sqlite3_bind_int (stmt, 3, (int) self->nworkers + 1);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64 (stmt, 0);
        if (s_in_flight (self, id))
            continue;
        notify_message_t message = {
            (const char *) sqlite3_column_text (stmt, 1), worker->channel,
            (const char *) sqlite3_column_text (stmt, 2),
            (const char *) sqlite3_column_text (stmt, 3),
            (const char *) sqlite3_column_text (stmt, 4),
            (const char *) sqlite3_column_text (stmt, 5),
            (const char *) sqlite3_column_text (stmt, 6)
        };
        if (notify_sender_post (worker->sender, id, &message) == 0) {
            worker->busy = true;
            worker->row_id = id;
        }
        break;
    }
    sqlite3_reset (stmt);
}

static void
s_dispatch (notify_outbox_t *self)
{
    int64_t now = hl_clock_now ();
    if (self->nunrecorded)
        s_retry_unrecorded (self);
    s_write_logs (self, now);
    for (size_t i = 0; i < self->nworkers; i++)
        if (!self->workers [i].busy)
            s_feed (self, &self->workers [i], now);
}

//  Sent rows are kept for notify/retention_days (90), then deleted. Safe
//  for idempotency: an event is never replayed once its batch committed.
//  Dead rows stay until someone deals with them.
int64_t
notify_outbox_purge (notify_outbox_t *self, int64_t now)
{
    assert (self);
    if (self->retention_ms <= 0)
        return 0;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "DELETE FROM outbox WHERE status = 'sent' AND sent_ms < ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, now - self->retention_ms);
    if (hl_store_step_done (self->store, stmt))
        return -1;
    int64_t deleted = sqlite3_changes (hl_store_db (self->store));
    if (deleted > 0)
        hl_info ("deleted %" PRId64 " sent messages older than %" PRId64 " days",
                 deleted, self->retention_ms / 86400000);
    return deleted;
}

void
notify_outbox_tick (notify_outbox_t *self)
{
    assert (self);
    s_dispatch (self);
    int64_t now = hl_clock_now ();
    //  A DELETE over the index once a minute is plenty for days of retention
    if (self->retention_ms > 0 && now - self->purged_ms >= 60000) {
        self->purged_ms = now;
        notify_outbox_purge (self, now);
    }
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    notify_outbox_tick ((notify_outbox_t *) arg);
    return 0;
}

static int
s_kick_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    notify_outbox_t *self = (notify_outbox_t *) arg;
    self->kick_timer = 0;
    s_dispatch (self);
    return 0;
}

//  New rows were enqueued: dispatch as soon as the batch has committed
void
notify_outbox_kick (notify_outbox_t *self)
{
    assert (self);
    if (self->loop && !self->kick_timer)
        self->kick_timer = zloop_timer (self->loop, 1, 1, s_kick_timer, self);
}

static void
s_worker_result (s_worker_t *worker)
{
    notify_outbox_t *self = worker->parent;
    int64_t id;
    bool ok;
    char error [512];
    if (notify_sender_recv (worker->sender, &id, &ok, error, sizeof error))
        return;
    if (!worker->busy || id != worker->row_id)
        hl_error ("worker result for row %" PRId64 " not in flight", id);
    worker->busy = false;
    if (ok) {
        if (s_mark_sent (self, id))
            s_remember_unrecorded (self, id);
    }
    else
        s_mark_failed (self, id, error);
}

static int
s_worker_readable (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    s_worker_t *worker = (s_worker_t *) arg;
    s_worker_result (worker);
    s_dispatch (worker->parent);
    return 0;
}

// ---------------------------------------------------------------- queries

//  Outbox rows as JSON, newest first. status NULL: any.
static json_t *
s_query_rows (notify_outbox_t *self, const char *status, const char *case_id, uint32_t limit)
{
    if (limit == 0)
        limit = 100;
    if (limit > 1000)
        limit = 1000;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT id, idempotency_key, event_id, case_id, recipient, template, channel, address,"
        " subject, attempts, status, last_error, next_attempt_ms, created_ms, sent_ms, resends"
        " FROM outbox WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR case_id = ?2)"
        " ORDER BY id DESC LIMIT ?3");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, status? status: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, case_id? case_id: "", -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 3, (int) limit);
    json_t *rows = json_array ();
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *recipient = (const char *) sqlite3_column_text (stmt, 4);
        const char *address = (const char *) sqlite3_column_text (stmt, 7);
        char shown [300];
        if (recipient && streq (recipient, "reporter") && address && *address)
            notify_outbox_mask (address, shown, sizeof shown);
        else
            snprintf (shown, sizeof shown, "%s", address? address: "");
        json_t *row = json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I}",
            "id", (json_int_t) sqlite3_column_int64 (stmt, 0),
            "key", (const char *) sqlite3_column_text (stmt, 1),
            "event_id", (const char *) sqlite3_column_text (stmt, 2),
            "case_id", (const char *) sqlite3_column_text (stmt, 3),
            "recipient", recipient,
            "template", (const char *) sqlite3_column_text (stmt, 5),
            "channel", (const char *) sqlite3_column_text (stmt, 6),
            "address", shown,
            "subject", (const char *) sqlite3_column_text (stmt, 8),
            "attempts", (json_int_t) sqlite3_column_int64 (stmt, 9),
            "status", (const char *) sqlite3_column_text (stmt, 10),
            "last_error", (const char *) sqlite3_column_text (stmt, 11),
            "next_attempt_ms", (json_int_t) sqlite3_column_int64 (stmt, 12),
            "created_ms", (json_int_t) sqlite3_column_int64 (stmt, 13));
        if (!row)
            continue;
        json_object_set_new (row, "sent_ms", sqlite3_column_type (stmt, 14) == SQLITE_NULL?
                             json_null (): json_integer (sqlite3_column_int64 (stmt, 14)));
        json_object_set_new (row, "resends", json_integer (sqlite3_column_int64 (stmt, 15)));
        json_array_append_new (rows, row);
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        //  A failed read is a store error, not a shorter list
        hl_error ("outbox query failed: %s", hl_store_error (self->store));
        json_decref (rows);
        return NULL;
    }
    return rows;
}

//  hotline deadletter resend: the dead letters of case_id ("" = all) go
//  back to pending with fresh attempts, due now, and their rows count the
//  resend. Only dead rows move, so a second resend (or a retry of the
//  request) while they are pending changes nothing. Number moved, or -1.
int64_t
notify_outbox_resend (notify_outbox_t *self, const char *case_id)
{
    assert (self);
    if (!case_id)
        case_id = "";
    int64_t now = hl_clock_now ();
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ms = ?1,"
        " resends = resends + 1, resent_ms = ?1"
        " WHERE status = 'dead' AND (?2 = '' OR case_id = ?2)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, now);
    sqlite3_bind_text (stmt, 2, case_id, -1, SQLITE_STATIC);
    if (hl_store_step_done (self->store, stmt))
        return -1;
    int64_t moved = sqlite3_changes (hl_store_db (self->store));
    if (moved) {
        hl_metrics_add (self->metrics, "hotline_notifications_resent_total",
                        (uint64_t) moved);
        hl_log (HL_WARN, *case_id? case_id: NULL, "re-sending %" PRId64 " dead letter(s)%s%s",
                moved, *case_id? "": " of every case",
                self->smtp_reachable == 0? " (the SMTP server did not answer the last check)": "");
        notify_outbox_kick (self);
    }
    return moved;
}

//  Answer one request: fills reply (json owned by caller through *json_p)
void
notify_outbox_answer (notify_outbox_t *self, const Hotline__Request *request, Hotline__Reply *reply,
                      char **json_p)
{
    assert (self);
    reply->request_id = request->request_id? request->request_id: "";
    if (request->kind_case == HOTLINE__REQUEST__KIND_PING) {
        reply->code = HL_OK;
        return;
    }
    if (request->kind_case != HOTLINE__REQUEST__KIND_QUERY) {
        reply->code = HL_BAD_INPUT;
        reply->error = "the notification service answers queries only (deadletter, outbox, resend)";
        return;
    }
    const Hotline__Query *query = request->query;
    const char *status = NULL;
    if (streq (query->kind, "resend") || streq (query->kind, "resend_all")) {
        bool all = streq (query->kind, "resend_all");
        if (all == (query->case_id && *query->case_id)) {
            reply->code = HL_BAD_INPUT;
            reply->error = all? "resend_all takes no case (resend takes one)":
                                "resend needs a case (resend_all re-sends every dead letter)";
            return;
        }
        int64_t moved = notify_outbox_resend (self, all? "": query->case_id);
        if (moved < 0) {
            reply->code = HL_UNAVAILABLE;
            reply->error = "store error";
            return;
        }
        json_t *answer = json_pack ("{s:I}", "resent", (json_int_t) moved);
        *json_p = json_dumps (answer, JSON_COMPACT);
        json_decref (answer);
        reply->code = HL_OK;
        reply->json = *json_p;
        return;
    }
    if (streq (query->kind, "deadletter"))
        status = "dead";
    else
    if (streq (query->kind, "outbox")) {
        status = query->status;
        if (*status && strneq (status, "pending") && strneq (status, "sent") && strneq (status, "dead")) {
            reply->code = HL_BAD_INPUT;
            reply->error = "status must be pending, sent or dead";
            return;
        }
    }
    else {
        reply->code = HL_BAD_INPUT;
        reply->error = "unknown query kind (deadletter, outbox, resend, resend_all)";
        return;
    }
    json_t *rows = s_query_rows (self, status, query->case_id, query->limit);
    hl_clock_json_times (rows);         //  created_at ... beside the *_ms
    *json_p = rows? json_dumps (rows, JSON_COMPACT): NULL;
    json_decref (rows);
    if (!*json_p) {
        reply->code = HL_UNAVAILABLE;
        reply->error = "store error";
        return;
    }
    reply->code = HL_OK;
    reply->json = *json_p;
}

static int
s_query_readable (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    notify_outbox_t *self = (notify_outbox_t *) arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg)
        return 0;
    zframe_t *routing_id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    const char *reason = NULL;
    Hotline__Envelope *env = body? hl_msg_decode (zframe_data (body), zframe_size (body), &reason): NULL;
    if (env && env->body_case == HOTLINE__ENVELOPE__BODY_REQUEST && zmsg_size (msg) == 0) {
        Hotline__Reply reply = HOTLINE__REPLY__INIT;
        char *json = NULL;
        notify_outbox_answer (self, env->request, &reply, &json);
        Hotline__Envelope answer = HOTLINE__ENVELOPE__INIT;
        answer.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
        answer.reply = &reply;
        if (hl_msg_send (reader, routing_id, &answer))
            hl_debug ("query client gone before the reply");
        free (json);
    }
    else
        hl_debug ("query dropped: %s", reason? reason: "not a request");
    hl_msg_free (&env);
    zframe_destroy (&body);
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
    return 0;
}

// ---------------------------------------------------------------- class

notify_outbox_t *
notify_outbox_new (const notify_outbox_opts_t *opts)
{
    if (!opts || !opts->store || !opts->metrics || !opts->sender || !opts->log_path) {
        hl_error ("notify_outbox: the store, metrics, sender config and log path are required");
        return NULL;
    }
    notify_outbox_t *self = (notify_outbox_t *) zmalloc (sizeof (notify_outbox_t));
    self->store = opts->store;
    self->loop = opts->loop;
    self->metrics = opts->metrics;
    self->sender_config = opts->sender;
    self->log_fd = -1;
    self->retry_ms = opts->retry_ms < 1? 1: opts->retry_ms;
    self->retry_max_ms = opts->retry_max_ms < self->retry_ms? self->retry_ms: opts->retry_max_ms;
    self->max_attempts = opts->max_attempts < 1? 1: opts->max_attempts;
    self->retention_ms = opts->retention_ms;
    self->smtp_reachable = 2;
    int64_t per_channel = opts->workers;
    if (per_channel < 1)
        per_channel = 1;
    if (per_channel > S_MAX_WORKERS / 2)
        per_channel = S_MAX_WORKERS / 2;
    const char *channels [] = { opts->email? "email": NULL, opts->sms? "sms": NULL };
    for (int c = 0; c < 2; c++) {
        if (!channels [c])
            continue;
        for (int64_t i = 0; i < per_channel; i++) {
            s_worker_t *worker = &self->workers [self->nworkers];
            worker->parent = self;
            worker->channel = channels [c];
            worker->sender = notify_sender_new (self->sender_config);
            if (!worker->sender) {
                hl_error ("cannot start a %s worker", channels [c]);
                notify_outbox_destroy (&self);
                return NULL;
            }
            self->nworkers++;
            if (self->loop)
                zloop_reader (self->loop, notify_sender_sock (worker->sender), s_worker_readable, worker);
        }
    }
    self->log_path = hl_strdup (opts->log_path);
    self->log_fd = open (self->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (self->log_fd < 0) {
        hl_error ("cannot open %s: %s", self->log_path, strerror (errno));
        notify_outbox_destroy (&self);
        return NULL;
    }
    if (self->loop && opts->query_endpoint) {
        self->query = zsock_new (ZMQ_ROUTER);
        hl_sock_harden (self->query);
        if (zsock_bind (self->query, "%s", opts->query_endpoint) < 0) {
            hl_error ("cannot bind endpoints/notification %s", opts->query_endpoint);
            notify_outbox_destroy (&self);
            return NULL;
        }
        zloop_reader (self->loop, self->query, s_query_readable, self);
    }
    if (self->loop && opts->tick_ms > 0)
        self->tick_timer = zloop_timer (self->loop, (size_t) opts->tick_ms, 0, s_tick, self);
    hl_metrics_add (self->metrics, "hotline_notifications_resent_total", 0);
    return self;
}

size_t
notify_outbox_settle (notify_outbox_t *self, int timeout_ms)
{
    assert (self);
    size_t recorded = 0;
    for (size_t i = 0; i < self->nworkers; i++) {
        s_worker_t *worker = &self->workers [i];
        if (!worker->busy)
            continue;
        zpoller_t *poller = zpoller_new (notify_sender_sock (worker->sender), NULL);
        zpoller_set_nonstop (poller, true);     //  also after SIGTERM
        if (zpoller_wait (poller, timeout_ms)) {
            s_worker_result (worker);
            recorded++;
        }
        zpoller_destroy (&poller);
    }
    return recorded;
}

void
notify_outbox_destroy (notify_outbox_t **self_p)
{
    assert (self_p);
    notify_outbox_t *self = *self_p;
    if (self) {
        if (self->tick_timer)
            zloop_timer_end (self->loop, self->tick_timer);
        if (self->kick_timer)
            zloop_timer_end (self->loop, self->kick_timer);
        for (size_t i = 0; i < self->nworkers; i++)
            if (self->loop)
                zloop_reader_end (self->loop, notify_sender_sock (self->workers [i].sender));
        //  Record the result of a send in flight, so a graceful stop never
        //  sends a message twice
        notify_outbox_settle (self, self->sender_config->timeout_ms + 2000);
        for (size_t i = 0; i < self->nworkers; i++)
            notify_sender_destroy (&self->workers [i].sender);
        if (self->query) {
            zloop_reader_end (self->loop, self->query);
            zsock_destroy (&self->query);
        }
        if (self->log_fd >= 0)
            close (self->log_fd);
        free (self->log_path);
        free (self->unrecorded);
        free (self);
        *self_p = NULL;
    }
}

int
notify_outbox_enqueue (notify_outbox_t *self, const char *key, const char *event_id,
                       const char *case_id, const char *recipient, const char *template_name,
                       const char *channel, const char *address, const char *subject,
                       const char *body)
{
    assert (self);
    if (!key || !event_id || !case_id || !recipient || !template_name || !channel
    ||  !address || !subject || !body) {
        hl_error ("notify_outbox_enqueue: a field is missing, row not added");
        return -1;
    }
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO outbox (idempotency_key, event_id, case_id, recipient, template,"
        " channel, address, subject, body, attempts, next_attempt_ms, status, last_error,"
        " created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', '', ?)");
    if (!stmt)
        return -1;
    int64_t now = hl_clock_now ();
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, template_name, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 6, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, address, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 8, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 9, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 10, now);
    sqlite3_bind_int64 (stmt, 11, now);
    return hl_store_step_done (self->store, stmt);
}

void
notify_outbox_set_smtp_reachable (notify_outbox_t *self, int reachable)
{
    assert (self);
    self->smtp_reachable = reachable;
}

//  --------------------------------------------------------------------------
//  Selftest: a real notify.db (notification's migrations), an e-mail
//  worker whose SMTP server does not exist (every send fails) and the log
//  channel; no loop, so the test drives the outbox with _tick and _settle.

static int64_t
s_test_count (hl_store_t *store, const char *where)
{
    char *sql = zsys_sprintf ("SELECT count(*) FROM outbox WHERE %s", where);
    int64_t count = hl_store_int (store, sql, -1);
    zstr_free (&sql);
    return count;
}

void
notify_outbox_test (bool verbose)
{
    printf (" * notify_outbox: ");
    char dir [] = "/tmp/notify_outbox_XXXXXX";
    assert (mkdtemp (dir));
    char path [256];
    snprintf (path, sizeof path, "%s/notify.db", dir);
    hl_store_t *store = hl_store_new (path, NULL);
    assert (store);
    assert (hl_store_migrate (store, "notify.db", notification_migrations (), NULL) == 0);
    hl_metrics_t *metrics = hl_metrics_new ("notification", "selftest");
    zsock_t *closed = zsock_new (ZMQ_ROUTER);   //  a port nothing listens on after this
    int port = zsock_bind (closed, "tcp://127.0.0.1:*");
    zsock_destroy (&closed);
    char smtp_url [64];
    snprintf (smtp_url, sizeof smtp_url, "smtp://127.0.0.1:%d", port);
    notify_sender_config_t sender = { 0 };
    sender.smtp_url = smtp_url;
    sender.smtp_tls = "none";
    sender.from = "hotline@localhost";
    sender.timeout_ms = 2000;
    char log_path [256];
    snprintf (log_path, sizeof log_path, "%s/notify.log", dir);
    notify_outbox_opts_t opts = {
        .store = store, .metrics = metrics, .sender = &sender, .email = true,
        .workers = 1, .retry_ms = 1, .retry_max_ms = 4, .max_attempts = 2,
        .retention_ms = 1000, .log_path = log_path
    };

    //  Bad options: a clear error, no outbox
    notify_outbox_opts_t bad = opts;
    bad.store = NULL;
    assert (notify_outbox_new (&bad) == NULL);
    assert (notify_outbox_new (NULL) == NULL);
    bad = opts;
    bad.log_path = "/nonexistent-dir/notify.log";
    assert (notify_outbox_new (&bad) == NULL);

    notify_outbox_t *self = notify_outbox_new (&opts);
    assert (self);
    notify_outbox_destroy (&self);
    assert (self == NULL);
    notify_outbox_destroy (&self);      //  NULL is fine
    self = notify_outbox_new (&opts);
    assert (self);

    //  Backoff: doubling, capped
    assert (s_backoff (self, 1) == 1 && s_backoff (self, 2) == 2 && s_backoff (self, 3) == 4);
    assert (s_backoff (self, 10) == 4);

    //  Enqueue: a key seen before adds nothing; a missing field adds nothing
    assert (notify_outbox_enqueue (self, "e/1|leaders|email", "e/1", "C1", "leaders", "submit",
                                   "email", "lanhdao@anbien.gov.vn", "New case", "body") == 0);
    assert (notify_outbox_enqueue (self, "e/1|leaders|email", "e/1", "C1", "leaders", "submit",
                                   "email", "other@anbien.gov.vn", "New case", "body") == 0);
    assert (notify_outbox_enqueue (self, "e/1|leaders|log", "e/1", "C1", "leaders", "submit",
                                   "log", "", "", "{\"key\":\"e/1|leaders|log\"}") == 0);
    assert (notify_outbox_enqueue (self, "e/1|x|log", "e/1", "C1", "x", "submit",
                                   "log", "", "", NULL) == -1);
    assert (s_test_count (store, "1") == 2);
    assert (s_test_count (store, "address = 'lanhdao@anbien.gov.vn'") == 1);

    //  Send: the log line is written and marked at once; the e-mail fails
    //  twice and is dead, with the reason
    notify_outbox_tick (self);
    assert (s_test_count (store, "channel = 'log' AND status = 'sent' AND attempts = 1") == 1);
    for (int round = 0; round < 2000 && s_test_count (store, "status = 'pending'"); round++) {
        notify_outbox_tick (self);
        if (notify_outbox_settle (self, 5000) == 0)
            zclock_sleep (2);   //  wait out a backoff; not a timing assertion
    }
    assert (s_test_count (store, "status = 'dead' AND attempts = 2 AND last_error != ''") == 1);
    assert (notify_outbox_settle (self, 10) == 0);     //  nothing in flight
    FILE *file = fopen (log_path, "r");
    assert (file);
    char line [256];
    assert (fgets (line, sizeof line, file) && streq (line, "{\"key\":\"e/1|leaders|log\"}\n"));
    assert (!fgets (line, sizeof line, file));
    fclose (file);
    assert (hl_metrics_value (metrics, "hotline_notifications_sent_total") == 1);
    assert (hl_metrics_value (metrics, "hotline_notifications_failed_total") == 2);

    //  Queries: dead letters; bad input is refused and changes nothing
    Hotline__Query query = HOTLINE__QUERY__INIT;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = "q1";
    request.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    request.query = &query;
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    char *json = NULL;
    query.kind = "deadletter";
    notify_outbox_answer (self, &request, &reply, &json);
    assert (reply.code == HL_OK && json);
    json_t *rows = json_loads (json, 0, NULL);
    assert (json_array_size (rows) == 1);
    assert (streq (json_string_value (json_object_get (json_array_get (rows, 0), "key")),
                   "e/1|leaders|email"));
    json_decref (rows);
    zstr_free (&json);
    const char *refused [] = { "outbox", "resend", "resend_all", "nope", NULL };
    const char *refused_case [] = { "", "", "C1", "", NULL };
    for (int i = 0; refused [i]; i++) {
        Hotline__Reply bad_reply = HOTLINE__REPLY__INIT;
        query.kind = (char *) refused [i];
        query.case_id = (char *) refused_case [i];
        query.status = streq (refused [i], "outbox")? "lost": "";
        notify_outbox_answer (self, &request, &bad_reply, &json);
        assert (bad_reply.code == HL_BAD_INPUT && bad_reply.error && !json);
    }
    query.status = "";
    assert (s_test_count (store, "status = 'dead' AND resends = 0") == 1);

    //  Resend: the dead letter goes back to pending once; a repeat moves nothing
    query.kind = "resend_all";
    query.case_id = "";
    notify_outbox_answer (self, &request, &reply, &json);
    assert (reply.code == HL_OK && streq (json, "{\"resent\":1}"));
    zstr_free (&json);
    assert (s_test_count (store, "status = 'pending' AND attempts = 0 AND resends = 1") == 1);
    assert (notify_outbox_resend (self, "C1") == 0);
    assert (notify_outbox_resend (self, NULL) == 0);
    assert (hl_metrics_value (metrics, "hotline_notifications_resent_total") == 1);

    //  Retention: sent rows older than it go; other rows stay
    assert (notify_outbox_purge (self, hl_clock_now () - 10000) == 0);
    assert (notify_outbox_purge (self, hl_clock_now () + 2000) == 1);
    assert (s_test_count (store, "status = 'sent'") == 0);
    assert (s_test_count (store, "1") == 1);

    //  Masks: the reporter's addresses in logs and queries
    char masked [64];
    notify_outbox_mask ("dan@example.com", masked, sizeof masked);
    assert (streq (masked, "d***@example.com"));
    notify_outbox_mask ("0912345678", masked, sizeof masked);
    assert (streq (masked, "09******78"));
    notify_outbox_mask ("12345", masked, sizeof masked);
    assert (streq (masked, "***"));

    //  Stop with the resent e-mail in flight: its result is recorded
    notify_outbox_tick (self);
    notify_outbox_destroy (&self);
    assert (s_test_count (store, "status = 'pending' AND attempts = 1") == 1);

    hl_metrics_destroy (&metrics);
    hl_store_destroy (&store);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(e-mail to port %d) ", port);
    printf ("OK\n");
}
