/*  federation_guard — a ward refuses to send the city a log that ends
 *  before the city's cursor. See federation_guard.h.
 */
#include "hotline.h"
#include "federation_guard.h"

#define S_REPEAT_MS     60000       //  the refusal's error, again, this often

const char federation_guard_schema [] =
    "CREATE TABLE IF NOT EXISTS federation_diverged ("
    "  stream TEXT PRIMARY KEY,"            //  the ward's stream (its code)
    "  city_cursor INTEGER NOT NULL,"       //  what the city had applied of our log
    "  ward_head INTEGER NOT NULL,"         //  our log's head then
    "  detected_ms INTEGER NOT NULL);";

struct _federation_guard_t {
    hl_service_t *service;
    hl_store_t *store;
    char *stream;
    uint64_t known_head;            //  the log reached this (it only grows)
    bool refused;
    uint64_t city_cursor;           //  when refused: the city's cursor ...
    uint64_t ward_head;             //  ... and our head
    int64_t said_at;                //  monotonic ms of the last error line
};

static void
s_say (federation_guard_t *self)
{
    hl_error ("federation: NOT SENDING to the city: it has applied our log up to seq %" PRIu64
              ", ours ended at %" PRIu64 " (restored from a backup older than the city's copy,"
              " or another node speaks for ward %s). New events would reuse numbers the city"
              " holds for other events and cases; they stay here. See deploy/README.md,"
              " \"Backup and restore\"", self->city_cursor, self->ward_head, self->stream);
    self->said_at = zclock_mono ();
}

//  Gauges, and the error again every S_REPEAT_MS (loop thread, every second)
static void
s_refresh (void *arg)
{
    federation_guard_t *self = (federation_guard_t *) arg;
    hl_metrics_set (hl_service_metrics (self->service), "hotline_federation_diverged",
                    self->refused? 1: 0);
    if (self->refused && zclock_mono () - self->said_at >= S_REPEAT_MS)
        s_say (self);
}

//  Ready: the ward's own work goes on. The reason says what is wrong
static bool
s_ready (void *arg, char *reason, size_t size)
{
    federation_guard_t *self = (federation_guard_t *) arg;
    if (self->refused)
        snprintf (reason, size, "NOT SENDING to the city: it holds our log to seq %" PRIu64
                  ", ours ended at %" PRIu64 " (an older backup restored?)",
                  self->city_cursor, self->ward_head);
    return true;
}

federation_guard_t *
federation_guard_new (hl_service_t *service, hl_store_t *store, const char *stream)
{
    assert (service && store && stream);
    federation_guard_t *self = (federation_guard_t *) zmalloc (sizeof (federation_guard_t));
    self->service = service;
    self->store = store;
    self->stream = hl_strdup (stream);
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "SELECT city_cursor, ward_head FROM federation_diverged WHERE stream = ?");
    int rc = stmt? SQLITE_OK: SQLITE_ERROR;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, stream, -1, SQLITE_STATIC);
        rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) {
            self->refused = true;
            self->city_cursor = (uint64_t) sqlite3_column_int64 (stmt, 0);
            self->ward_head = (uint64_t) sqlite3_column_int64 (stmt, 1);
        }
        sqlite3_reset (stmt);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        hl_error ("federation: cannot read whether this ward was refused: %s", hl_store_error (store));
        federation_guard_destroy (&self);
        return NULL;
    }
    if (self->refused)
        s_say (self);
    hl_metrics_on_refresh (hl_service_metrics (service), s_refresh, self);
    hl_service_set_ready (service, s_ready, self);
    return self;
}

void
federation_guard_destroy (federation_guard_t **self_p)
{
    assert (self_p);
    federation_guard_t *self = *self_p;
    if (self) {
        free (self->stream);
        free (self);
        *self_p = NULL;
    }
}

//  Found now: record it (kept across restarts), then say it
static void
s_refuse (federation_guard_t *self, uint64_t city_cursor, uint64_t ward_head)
{
    self->refused = true;
    self->city_cursor = city_cursor;
    self->ward_head = ward_head;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO federation_diverged (stream, city_cursor, ward_head, detected_ms)"
        " VALUES (?, ?, ?, ?)");
    int rc = SQLITE_ERROR;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, self->stream, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) city_cursor);
        sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) ward_head);
        sqlite3_bind_int64 (stmt, 4, hl_clock_now ());
        rc = sqlite3_step (stmt);
        sqlite3_reset (stmt);
    }
    if (rc != SQLITE_DONE) {
        //  Refused in memory all the same; asked again, we try to record again
        hl_error ("federation: cannot record the refusal: %s", hl_store_error (self->store));
        self->refused = false;
    }
    s_say (self);
}

bool
federation_guard_allows (federation_guard_t *self, uint64_t after)
{
    assert (self);
    if (!self->refused && after > self->known_head) {
        int64_t head = hl_store_int (self->store, "SELECT coalesce (max (seq), 0) FROM log", -1);
        if (head < 0)
            return false;           //  logged; the hop asks again
        self->known_head = (uint64_t) head;
        if (after > self->known_head) {
            s_refuse (self, after, self->known_head);
            hl_metrics_add (hl_service_metrics (self->service), "hotline_federation_refused_total", 1);
            return false;
        }
    }
    if (self->refused)
        hl_metrics_add (hl_service_metrics (self->service), "hotline_federation_refused_total", 1);
    return !self->refused;
}

bool
federation_guard_refused (federation_guard_t *self, uint64_t *city_cursor, uint64_t *ward_head)
{
    assert (self);
    if (city_cursor)
        *city_cursor = self->city_cursor;
    if (ward_head)
        *ward_head = self->ward_head;
    return self->refused;
}

//  ==================================================================
//  Selftest: a store with a log; the city's cursor at, below and beyond
//  its head; the refusal recorded, kept when the log grows past the
//  cursor, and found again by a new guard; the gauge and /readyz

static hl_service_t *
s_test_service (const char *dir)
{
    char cfg [PATH_MAX];
    snprintf (cfg, sizeof cfg, "%s/node.cfg", dir);
    char cwd [PATH_MAX];
    assert (getcwd (cwd, sizeof cwd));
    FILE *file = fopen (cfg, "w");
    assert (file);
    fprintf (file, "node\n    role = ward\n    ward_code = 31001\n    data_dir = %s\n"
                   "    procedure = %s/deploy/config/procedure.conf\n"
                   "endpoints\n    http_archive = off\n", dir, cwd);
    fclose (file);
    char *argv [] = { "archive", "-c", cfg, NULL };
    hl_service_t *service = hl_service_new ("archive", 3, argv);
    assert (service);
    return service;
}

static void
s_test_log (hl_store_t *store, int from, int to)
{
    for (int seq = from; seq <= to; seq++) {
        char sql [96];
        snprintf (sql, sizeof sql, "INSERT INTO log (seq) VALUES (%d)", seq);
        assert (hl_store_exec (store, sql) == 0);
    }
}

void
federation_guard_test (bool verbose)
{
    printf (" * federation_guard: ");
    char dir [] = "/tmp/federation_guard_XXXXXX";
    assert (mkdtemp (dir));
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/archive.db", dir);
    hl_store_t *store = hl_store_new (path, "CREATE TABLE log (seq INTEGER PRIMARY KEY)");
    assert (store);
    //  Without its table: a store error, refused to start
    hl_service_t *service = s_test_service (dir);
    assert (federation_guard_new (service, store, "31001") == NULL);
    assert (hl_store_exec (store, federation_guard_schema) == 0);

    //  @selftest
    //  An empty log: the city at 0 is fine, the city anywhere else is not
    federation_guard_t *guard = federation_guard_new (service, store, "31001");
    assert (guard);
    assert (federation_guard_allows (guard, 0));
    s_test_log (store, 1, 5);
    //  The city behind or at our head: send (a city restored from an older
    //  backup catches up by the usual resume)
    assert (federation_guard_allows (guard, 0));
    assert (federation_guard_allows (guard, 3));
    assert (federation_guard_allows (guard, 5));
    assert (!federation_guard_refused (guard, NULL, NULL));
    char reason [160] = "";
    assert (s_ready (guard, reason, sizeof reason) && *reason == 0);
    //  The city beyond it: refused, recorded, said
    assert (!federation_guard_allows (guard, 8));
    uint64_t cursor = 0, head = 0;
    assert (federation_guard_refused (guard, &cursor, &head));
    assert (cursor == 8 && head == 5);
    assert (hl_store_int (store, "SELECT city_cursor * 100 + ward_head FROM federation_diverged"
                                 " WHERE stream = '31001'", -1) == 805);
    assert (strstr (hl_log_last_error (), "NOT SENDING to the city"));
    assert (s_ready (guard, reason, sizeof reason));
    assert (strstr (reason, "seq 8, ours ended at 5"));
    hl_metrics_t *metrics = hl_service_metrics (service);
    hl_metrics_refresh (metrics);
    assert (hl_metrics_value (metrics, "hotline_federation_diverged") == 1);
    //  ... and stays so when our log grows past the city's cursor, and for
    //  any cursor, also after a restart
    s_test_log (store, 6, 12);
    assert (!federation_guard_allows (guard, 8));
    assert (!federation_guard_allows (guard, 0));
    assert (hl_metrics_value (metrics, "hotline_federation_refused_total") == 3);
    federation_guard_destroy (&guard);
    assert (guard == NULL);
    hl_service_destroy (&service);
    service = s_test_service (dir);
    guard = federation_guard_new (service, store, "31001");
    assert (guard);
    assert (federation_guard_refused (guard, &cursor, &head) && cursor == 8 && head == 5);
    assert (!federation_guard_allows (guard, 12));
    //  Another ward's stream in the same store is its own
    federation_guard_t *other = federation_guard_new (service, store, "31002");
    assert (other && !federation_guard_refused (other, NULL, NULL));
    assert (federation_guard_allows (other, 12));
    federation_guard_destroy (&other);
    federation_guard_destroy (&guard);
    //  @end
    federation_guard_destroy (&guard);          //  NULL is fine
    hl_service_destroy (&service);
    hl_store_destroy (&store);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", dir);
    printf ("OK\n");
}
