/*  federation_test — the federation's selftest (federation.h), in a file of
 *  its own beside federation.c: a ward's and a city's federation in one
 *  process, plaintext over ipc://, each over a scratch store of its own
 *  with recording sinks (no archive: the sink is all the federation knows of
 *  it). Run by `hotline-archive --selftest`, from the source tree's root.
 *
 *    1. redaction: the ward's log reaches the city without the reporter,
 *       except on the event that forwards the case to the Department (the
 *       procedure's forward meaning), which carries the full report
 *    2. the return stream: the city's event about the Department case
 *       reaches the ward redacted, naming the ward's own case
 *    3. resume: the ward restarts with more events, then the city restarts:
 *       every event once, in order, from the durable cursors
 *    4. a ward restored from an older backup (its log ends before the
 *       city's cursor) sends nothing, also once its log has grown past that
 *       cursor, and after a restart (federation_guard)
 *    5. a ward that sends an event of another ward's case: the city refuses
 *       the batch, and applies nothing of it
 */
#include "hotline.h"
#include "federation.h"
#include "federation_guard.h"

#define S_REPORTER_NAME     "Nguyễn Thị Bí Mật"
#define S_REPORTER_PHONE    "0912000111"
#define S_WARD_CASE         "31001-2026-000001"

//  A scratch archive for one side: the tables the federation reads, the
//  recording sink's (got: what was applied, hop_cursor) and the guard's
static const char s_schema [] =
    "CREATE TABLE log (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  event BLOB NOT NULL);"
    "CREATE TABLE cases (case_id TEXT PRIMARY KEY, report BLOB);"
    "CREATE TABLE return_outbox (ward TEXT NOT NULL, seq INTEGER NOT NULL, event BLOB NOT NULL,"
    "  PRIMARY KEY (ward, seq));"
    "CREATE TABLE hop_cursor (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE got (key TEXT NOT NULL, seq INTEGER NOT NULL, event BLOB NOT NULL,"
    "  returned INTEGER NOT NULL);";

typedef struct {
    hl_store_t *store;
    bool in_group;
} s_recorder_t;

static int
s_recorder_cursor (void *arg, const char *key, uint64_t *cursor)
{
    s_recorder_t *self = (s_recorder_t *) arg;
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT seq FROM hop_cursor WHERE stream = ?");
    assert (stmt);
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (stmt);
    *cursor = rc == SQLITE_ROW? (uint64_t) sqlite3_column_int64 (stmt, 0): 0;
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 0: -1;
}

//  The batch and its cursor in one transaction (a savepoint in a group)
static int
s_recorder_apply (void *arg, const char *key, const hl_hop_item_t *items, size_t count, bool returned)
{
    s_recorder_t *self = (s_recorder_t *) arg;
    if (hl_store_exec (self->store, self->in_group? "SAVEPOINT batch": "BEGIN IMMEDIATE"))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        sqlite3_stmt *stmt = hl_store_prepare (self->store,
            "INSERT INTO got (key, seq, event, returned) VALUES (?, ?, ?, ?)");
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) items [i].seq);
        sqlite3_bind_blob (stmt, 3, items [i].data, (int) items [i].size, SQLITE_TRANSIENT);
        sqlite3_bind_int (stmt, 4, returned);
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
        sqlite3_reset (stmt);
    }
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO hop_cursor (stream, seq) VALUES (?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq");
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) items [count - 1].seq);
    if (rc == 0)
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_reset (stmt);
    if (self->in_group)
        return rc == 0? hl_store_exec (self->store, "RELEASE batch"):
               (hl_store_exec (self->store, "ROLLBACK TO batch"),
                hl_store_exec (self->store, "RELEASE batch"), -1);
    if (rc == 0)
        return hl_store_commit (self->store);
    hl_store_rollback (self->store);
    return -1;
}

static int
s_recorder_group_begin (void *arg)
{
    s_recorder_t *self = (s_recorder_t *) arg;
    self->in_group = true;
    return hl_store_begin (self->store);
}

static int
s_recorder_group_commit (void *arg)
{
    s_recorder_t *self = (s_recorder_t *) arg;
    self->in_group = false;
    return hl_store_commit (self->store);
}

//  One side: its service (config file written in dir), store and federation
typedef struct {
    char name [32];
    hl_service_t *service;
    s_recorder_t recorder;
    federation_t *federation;
} s_side_t;

static void
s_side_start (s_side_t *side, zloop_t *loop, const char *dir)
{
    if (!side->recorder.store) {
        char path [PATH_MAX];
        snprintf (path, sizeof path, "%s/%s.db", dir, side->name);
        side->recorder.store = hl_store_new (path, NULL);
        assert (side->recorder.store);
        if (hl_store_int (side->recorder.store, "SELECT count(*) FROM sqlite_master", -1) == 0)
            assert (hl_store_exec (side->recorder.store, s_schema) == 0
                 && hl_store_exec (side->recorder.store, federation_guard_schema) == 0);
    }
    char cwd [PATH_MAX], cfg [PATH_MAX];
    assert (getcwd (cwd, sizeof cwd));
    snprintf (cfg, sizeof cfg, "%s/%s.cfg", dir, side->name);
    FILE *file = fopen (cfg, "w");
    assert (file);
    bool city = streq (side->name, "city");
    fprintf (file, "node\n    role = %s\n    name = %s\n    ward_code = 31001\n    city_code = 31\n"
                   "    data_dir = %s\n    procedure = %s/deploy/config/procedure.conf\n"
                   "federation\n    plaintext = 1\n"
                   "endpoints\n    http_archive = off\n    intake = ipc://%s/intake.ipc\n"
                   "    %s = ipc://%s/city.ipc\n    %s = ipc://%s/return.ipc\n",
             city? "city": "ward", city? "city": "ward-31001", dir, cwd, dir,
             city? "federation": "city", dir, city? "federation_return": "city_return", dir);
    fclose (file);
    char *argv [] = { "archive", "-c", cfg, NULL };
    side->service = hl_service_new ("archive", 3, argv);
    assert (side->service);
    federation_sink_t sink = {
        side->service, side->recorder.store, &side->recorder, s_recorder_cursor, s_recorder_apply,
        s_recorder_group_begin, s_recorder_group_commit,
        NULL        //  no evidence streams (test_evidence_federation.py runs them)
    };
    side->federation = federation_new (&sink, loop);
    assert (side->federation);
}

static void
s_side_stop (s_side_t *side, bool store_too)
{
    federation_destroy (&side->federation);
    hl_service_destroy (&side->service);
    if (store_too)
        hl_store_destroy (&side->recorder.store);
}

//  Append one event to a side's log (and, with a report, its case row),
//  as the archive would have written it. Returns its seq.
static int64_t
s_log (s_side_t *side, Hotline__Event *event)
{
    int64_t seq = hl_store_int (side->recorder.store, "SELECT coalesce (max (seq), 0) + 1 FROM log", -1);
    assert (seq > 0);
    event->seq = (uint64_t) seq;
    size_t size = hotline__event__get_packed_size (event);
    uint8_t *data = (uint8_t *) zmalloc (size);
    hotline__event__pack (event, data);
    sqlite3_stmt *stmt = hl_store_prepare (side->recorder.store,
        "INSERT INTO log (seq, case_id, at_ms, event) VALUES (?, ?, ?, ?)");
    sqlite3_bind_int64 (stmt, 1, seq);
    sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 3, event->at_ms);
    sqlite3_bind_blob (stmt, 4, data, (int) size, SQLITE_TRANSIENT);
    assert (sqlite3_step (stmt) == SQLITE_DONE);
    sqlite3_reset (stmt);
    if (event->report) {
        stmt = hl_store_prepare (side->recorder.store, "INSERT INTO cases (case_id, report) VALUES (?, ?)");
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob (stmt, 2, data, (int) size, SQLITE_TRANSIENT);
        assert (sqlite3_step (stmt) == SQLITE_DONE);
        sqlite3_reset (stmt);
    }
    free (data);
    if (side->federation)
        federation_notify (side->federation);
    return seq;
}

//  An event of ward 31001's case (action, variant; from_state set: a change)
static int64_t
s_log_change (s_side_t *side, const char *case_id, const char *action, const char *variant)
{
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.event_id = "ward-31001/x";
    event.case_id = (char *) case_id;
    event.origin = "ward-31001";
    event.ward = "31001";
    event.at_ms = hl_clock_now ();
    event.actor = "officer:lan";
    event.action = (char *) action;
    event.variant = (char *) variant;
    event.from_state = "received";
    event.to_state = "received";
    return s_log (side, &event);
}

//  Run the loop until done (checked every 10 ms), for at most 20 s
typedef bool (s_done_fn) (void *arg);
typedef struct {
    s_done_fn *done;
    void *arg;
    int64_t deadline;
} s_run_t;

static int
s_run_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_run_t *run = (s_run_t *) arg;
    return run->done (run->arg) || zclock_mono () > run->deadline? -1: 0;
}

static void
s_run (zloop_t *loop, s_done_fn *done, void *arg)
{
    s_run_t run = { done, arg, zclock_mono () + 20000 };
    int timer = zloop_timer (loop, 10, 0, s_run_check, &run);
    if (!done (arg))
        zloop_start (loop);
    zloop_timer_end (loop, timer);
    assert (done (arg));
}

//  What the city holds of the ward's stream
typedef struct {
    s_side_t *city;
    int64_t seq;            //  done when it holds this seq
} s_wait_t;

static int64_t
s_held (s_side_t *side, const char *key, const char *what)
{
    char sql [160];
    snprintf (sql, sizeof sql, "SELECT %s FROM got WHERE key = '%s'", what, key);
    return hl_store_int (side->recorder.store, sql, -1);
}

static bool
s_city_holds (void *arg)
{
    s_wait_t *wait = (s_wait_t *) arg;
    return s_held (wait->city, "ward:31001", "coalesce (max (seq), 0)") >= wait->seq;
}

//  Every seq 1..n exactly once, under key
static void
s_check_once (s_side_t *side, const char *key, int64_t n)
{
    assert (s_held (side, key, "count (*)") == n);
    assert (s_held (side, key, "count (DISTINCT seq)") == n);
    assert (s_held (side, key, "min (seq)") == 1 && s_held (side, key, "max (seq)") == n);
}

//  The event the city (or ward) got as seq under key; caller frees
static Hotline__Event *
s_got (s_side_t *side, const char *key, int64_t seq, bool *has_phone)
{
    sqlite3_stmt *stmt = hl_store_prepare (side->recorder.store, "SELECT event FROM got WHERE key = ? AND seq = ?");
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, seq);
    assert (sqlite3_step (stmt) == SQLITE_ROW);
    const void *blob = sqlite3_column_blob (stmt, 0);
    size_t size = (size_t) sqlite3_column_bytes (stmt, 0);
    //  In the raw bytes, not only in the fields we look at
    *has_phone = memmem (blob, size, S_REPORTER_PHONE, strlen (S_REPORTER_PHONE)) != NULL;
    Hotline__Event *event = hotline__event__unpack (NULL, size, blob);
    sqlite3_reset (stmt);
    assert (event);
    return event;
}

typedef struct {
    s_side_t *ward;
    double above;
} s_refused_t;

//  The ward's guard refused a fetch (again) since `above` refusals
static bool
s_refused_more (void *arg)
{
    s_refused_t *refused = (s_refused_t *) arg;
    return hl_metrics_value (hl_service_metrics (refused->ward->service),
                             "hotline_federation_refused_total") > refused->above;
}

static bool
s_city_refused (void *arg)
{
    (void) arg;
    return strstr (hl_log_last_error (), "ward 31001 sent an event for another ward") != NULL;
}

static bool
s_ward_returned (void *arg)
{
    return s_held ((s_side_t *) arg, "city", "count (*)") >= 1;
}

void
federation_test (bool verbose)
{
    printf (" * federation: ");
    if (verbose)
        printf ("\n");
    char dir [] = "/tmp/federation_test_XXXXXX";
    assert (mkdtemp (dir));
    zloop_t *loop = zloop_new ();
    s_side_t city = { .name = "city" }, ward = { .name = "ward-31001" };

    //  @selftest
    s_side_start (&city, loop, dir);
    s_side_start (&ward, loop, dir);
    hl_procedure_t *procedure = hl_service_procedure (ward.service);
    const char *forward_variant = NULL;
    const char *forward = hl_procedure_meaning (procedure, "forward", &forward_variant);
    assert (forward);

    //  1. A case with its reporter, a change, and its forwarding
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    who.name = S_REPORTER_NAME;
    who.phone = S_REPORTER_PHONE;
    who.email = "bimat@example.vn";
    Hotline__Report report = HOTLINE__REPORT__INIT;
    report.reporter = &who;
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    report.location = "Kênh Xáng, tổ 5";
    report.description = "Nước thải đen chảy ra kênh";
    report.received_ms = hl_clock_now ();
    Hotline__Event submit = HOTLINE__EVENT__INIT;
    submit.event_id = "ward-31001/1";
    submit.case_id = S_WARD_CASE;
    submit.origin = "ward-31001";
    submit.ward = "31001";
    submit.at_ms = report.received_ms;
    submit.actor = "officer:lan";
    submit.action = "submit";
    char initial [64];              //  the procedure goes with the ward's service
    snprintf (initial, sizeof initial, "%s", hl_procedure_initial (procedure));
    submit.to_state = initial;
    submit.regime = "normal";
    submit.report = &report;
    assert (s_log (&ward, &submit) == 1);
    assert (s_log_change (&ward, S_WARD_CASE, "assign", "") == 2);
    assert (s_log_change (&ward, S_WARD_CASE, forward, forward_variant) == 3);
    s_wait_t wait = { &city, 3 };
    s_run (loop, s_city_holds, &wait);
    s_check_once (&city, "ward:31001", 3);
    bool phone;
    Hotline__Event *got = s_got (&city, "ward:31001", 1, &phone);
    assert (got->report && got->redacted && !phone);
    assert (streq (got->report->reporter->name, "") && streq (got->report->reporter->phone, ""));
    assert (streq (got->report->location, "Kênh Xáng, tổ 5"));      //  the case itself is kept
    hotline__event__free_unpacked (got, NULL);
    got = s_got (&city, "ward:31001", 2, &phone);
    assert (!got->report && !phone);
    hotline__event__free_unpacked (got, NULL);
    //  The forwarding carries the whole report: the Department answers the reporter
    got = s_got (&city, "ward:31001", 3, &phone);
    assert (phone && streq (got->action, forward) && got->report && !got->redacted);
    assert (streq (got->report->reporter->name, S_REPORTER_NAME));
    hotline__event__free_unpacked (got, NULL);
    if (verbose)
        printf ("   1. redacted but the forwarding (%s %s)\n", forward, forward_variant);

    //  2. The city's event about its Department case goes back to the
    //  ward, redacted, naming the ward's case
    Hotline__Event dept = submit;
    dept.event_id = "city/1";
    dept.case_id = "31-2026-000001";
    dept.origin = "city";
    dept.ward = "31";
    assert (hl_store_begin (city.recorder.store) == 0);
    assert (federation_queue_return (city.federation, &dept, "31001", S_WARD_CASE) == 0);
    assert (hl_store_commit (city.recorder.store) == 0);
    federation_notify_return (city.federation);
    s_run (loop, s_ward_returned, &ward);
    assert (s_held (&ward, "city", "returned") == 1);
    got = s_got (&ward, "city", 1, &phone);
    assert (!phone && got->redacted && streq (got->case_id, "31-2026-000001"));
    assert (streq (hl_event_arg (got, "origin_case"), S_WARD_CASE));
    hotline__event__free_unpacked (got, NULL);

    //  3. Resume. The ward restarts, with events written meanwhile; then
    //  the city restarts: each side resumes from the city's durable cursor
    s_side_stop (&ward, false);
    s_log_change (&ward, S_WARD_CASE, "assign", "");
    s_log_change (&ward, S_WARD_CASE, "assign", "");
    s_side_start (&ward, loop, dir);
    wait.seq = 5;
    s_run (loop, s_city_holds, &wait);
    s_side_stop (&city, false);
    s_log_change (&ward, S_WARD_CASE, "assign", "");
    s_side_start (&city, loop, dir);
    wait.seq = 6;
    s_run (loop, s_city_holds, &wait);
    s_check_once (&city, "ward:31001", 6);
    if (verbose)
        printf ("   3. resumed after the ward's and the city's restarts: 6 events, each once\n");

    //  4. The ward restored from a backup taken at seq 2: the city holds
    //  its log to 6. Refused; nothing sent, also once the log has grown
    //  past 6, and after a restart
    s_side_stop (&ward, true);
    s_side_t restored = { .name = "restored" };
    s_side_start (&restored, loop, dir);
    s_log (&restored, &submit);
    s_log_change (&restored, S_WARD_CASE, "assign", "");
    s_refused_t refused = { &restored, 0 };
    s_run (loop, s_refused_more, &refused);
    assert (hl_store_int (restored.recorder.store, "SELECT city_cursor * 100 + ward_head"
                                               " FROM federation_diverged", -1) == 602);
    for (int i = 0; i < 6; i++)
        s_log_change (&restored, S_WARD_CASE, "assign", "");       //  seqs 3 to 8
    refused.above = hl_metrics_value (hl_service_metrics (restored.service),
                                      "hotline_federation_refused_total");
    s_run (loop, s_refused_more, &refused);     //  the new events were asked for
    s_side_stop (&restored, false);
    s_side_start (&restored, loop, dir);
    refused.above = 0;
    s_run (loop, s_refused_more, &refused);
    s_check_once (&city, "ward:31001", 6);      //  nothing of the restored log
    s_side_stop (&restored, true);
    if (verbose)
        printf ("   4. a ward restored behind the city's cursor sends nothing\n");

    //  5. A ward's batch with another ward's case: refused whole (its
    //  first event is fine), and asked again, refused again
    s_side_t stray = { .name = "stray" };
    s_side_start (&stray, loop, dir);
    for (int i = 0; i < 6; i++)
        s_log_change (&stray, S_WARD_CASE, "assign", "");          //  1 to 6: the city has them
    s_log_change (&stray, S_WARD_CASE, "assign", "");              //  7: ours
    s_log_change (&stray, "31002-2026-000001", "assign", "");      //  8: not ours
    s_run (loop, s_city_refused, NULL);
    s_check_once (&city, "ward:31001", 6);
    if (verbose)
        printf ("   5. a batch with another ward's case is refused\n");
    //  @end
    s_side_stop (&stray, true);
    s_side_stop (&city, true);
    zloop_destroy (&loop);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    printf ("OK\n");
}
