/*  hotline-bench sqlite — the raw durable-insert limit of this disk.
 *
 *      --db PATH --size BYTES --batch ROWS --seconds S [--shape log|case]
 *
 *  --shape log (default): a table shaped like intake's log (seq, case_id,
 *  at_ms, event BLOB) in WAL mode with synchronous=FULL, as hl_store opens
 *  every store. Rows of --size bytes go in transactions of --batch rows
 *  (one fsync per commit); --batch 1 is one fsync per row.
 *
 *  --shape case: the rows intake writes for one submitted case, in intake's
 *  own tables (the schema of --schema-from, a store intake made; an
 *  hl_store, so WAL, FULL and its background checkpointer):
 *  the request lookup, the counter, the log event of --size bytes, the case,
 *  the deadline anchor, the three deadlines that start at submit and the
 *  remembered reply; nine statements, --batch cases per commit. What is
 *  left between this and intake is the service: sockets, decoding and
 *  validation, the reply, the log line, the archive's feed.
 */
#include "bench.h"

static int
s_exec (sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf (stderr, "sqlite: %s: %s\n", sql, err? err: "?");
        sqlite3_free (err);
        return -1;
    }
    return 0;
}

//  The schema of an existing store (intake's own, made by intake), so that
//  the bare-C rows go into exactly intake's tables and indexes
static char *
s_schema_of (const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
    ||  sqlite3_prepare_v2 (db, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"
                                " AND name NOT LIKE 'sqlite_%' ORDER BY rowid", -1, &stmt, NULL) != SQLITE_OK) {
        fprintf (stderr, "sqlite: cannot read the schema of %s\n", path);
        sqlite3_close (db);
        return NULL;
    }
    char *schema = strdup ("");
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        char *more = zsys_sprintf ("%s%s;", schema, (const char *) sqlite3_column_text (stmt, 0));
        free (schema);
        schema = more;
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return schema;
}

static int
s_done (sqlite3_stmt *stmt)
{
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW? 0: -1;
}

//  One submitted case's rows, as intake writes them
static int
s_case_rows (hl_store_t *store, int64_t n, const uint8_t *blob, int size)
{
    static const char *names [3] = { "inform_leaders", "route", "verify" };
    static const int64_t hours [3] = { 0, 2, 24 };
    char case_id [32], request_id [32];
    snprintf (case_id, sizeof case_id, "31001-2026-%06" PRId64, n % 1000000);
    snprintf (request_id, sizeof request_id, "raw:%" PRId64, n);
    int64_t now = 1780000000000LL + n;
    sqlite3_stmt *stmt = hl_store_prepare (store, "SELECT reply FROM requests WHERE request_id = ?");
    sqlite3_bind_text (stmt, 1, request_id, -1, SQLITE_STATIC);
    if (s_done (stmt))
        return -1;
    stmt = hl_store_prepare (store, "UPDATE counters SET last = ? WHERE prefix = '31001' AND year = 2026");
    sqlite3_bind_int64 (stmt, 1, n % 1000000);
    if (s_done (stmt))
        return -1;
    stmt = hl_store_prepare (store, "INSERT INTO log (seq, case_id, at_ms, event) VALUES (?, ?, ?, ?)");
    sqlite3_bind_int64 (stmt, 1, n);
    sqlite3_bind_text (stmt, 2, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, now);
    sqlite3_bind_blob (stmt, 4, blob, size, SQLITE_STATIC);
    if (s_done (stmt))
        return -1;
    stmt = hl_store_prepare (store,
        "INSERT OR FAIL INTO cases (case_id, state, regime, received_ms) VALUES (?, 'received', 'normal', ?)");
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, now);
    if (s_done (stmt))
        return -1;
    stmt = hl_store_prepare (store,
        "INSERT OR IGNORE INTO deadline_cases (case_id, received_ms, regime) VALUES (?, ?, 'normal')");
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, now);
    if (s_done (stmt))
        return -1;
    for (int i = 0; i < 3; i++) {
        int64_t due = now + (hours [i]? hours [i] * 3600000: 900000);
        stmt = hl_store_prepare (store,
            "INSERT OR IGNORE INTO deadlines (case_id, name, started_seq, started_ms, due_ms, warn_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)");
        sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, names [i], -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, n);
        sqlite3_bind_int64 (stmt, 4, now);
        sqlite3_bind_int64 (stmt, 5, due);
        sqlite3_bind_int64 (stmt, 6, now + (due - now) * 3 / 4);
        if (s_done (stmt))
            return -1;
    }
    stmt = hl_store_prepare (store, "INSERT OR FAIL INTO requests (request_id, reply) VALUES (?, ?)");
    sqlite3_bind_text (stmt, 1, request_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 2, blob, 40, SQLITE_STATIC);
    return s_done (stmt);
}

//  --shape case: cases per second, --batch cases per commit
static int
s_bench_cases (const char *path, const char *schema_from, int size, int batch, double seconds)
{
    char *schema = schema_from? s_schema_of (schema_from): NULL;
    if (!schema)
        return 1;
    hl_store_t *store = hl_store_new (path, schema);
    free (schema);
    if (!store || hl_store_exec (store, "INSERT INTO counters VALUES ('31001', 2026, 0)"))
        return 1;
    uint8_t *blob = (uint8_t *) malloc ((size_t) (size > 40? size: 40));
    for (int i = 0; i < (size > 40? size: 40); i++)
        blob [i] = (uint8_t) (rand () & 0xff);
    int64_t n = 0, commits = 0;
    bench_samples_t commit_us = { 0 };
    int64_t started = bench_us ();
    int64_t until = started + (int64_t) (seconds * 1e6);
    while (bench_us () < until) {
        if (hl_store_begin (store))
            return 1;
        for (int i = 0; i < batch; i++)
            if (s_case_rows (store, ++n, blob, size)) {
                fprintf (stderr, "sqlite: %s\n", hl_store_error (store));
                return 1;
            }
        int64_t before = bench_us ();
        if (hl_store_commit (store))
            return 1;
        bench_samples_add (&commit_us, bench_us () - before);
        commits++;
    }
    double elapsed = (bench_us () - started) / 1e6;
    hl_store_destroy (&store);
    free (blob);
    json_t *out = json_object ();
    json_object_set_new (out, "shape", json_string ("case"));
    json_object_set_new (out, "cases", json_integer (n));
    json_object_set_new (out, "commits", json_integer (commits));
    json_object_set_new (out, "batch", json_integer (batch));
    json_object_set_new (out, "size", json_integer (size));
    json_object_set_new (out, "seconds", json_real (elapsed));
    json_object_set_new (out, "rows_per_s", json_real (n / elapsed));
    json_object_set_new (out, "commit", bench_percentiles (&commit_us));
    bench_samples_free (&commit_us);
    bench_emit (out);
    return 0;
}

int
bench_sqlite (int argc, char **argv)
{
    const char *path = bench_opt (argc, argv, "--db", NULL);
    int size = (int) bench_opt_int (argc, argv, "--size", 400);
    int batch = (int) bench_opt_int (argc, argv, "--batch", 128);
    double seconds = bench_opt_double (argc, argv, "--seconds", 3);
    if (!path || size < 1 || batch < 1) {
        fprintf (stderr, "usage: hotline-bench sqlite --db PATH [--size N] [--batch N] [--seconds S]"
                         " [--shape log|case --schema-from INTAKE_DB]\n");
        return 2;
    }
    const char *shape = bench_opt (argc, argv, "--shape", "log");
    char extra [1024];
    unlink (path);
    snprintf (extra, sizeof extra, "%s-wal", path);
    unlink (extra);
    snprintf (extra, sizeof extra, "%s-shm", path);
    unlink (extra);
    if (streq (shape, "case"))
        return s_bench_cases (path, bench_opt (argc, argv, "--schema-from", NULL), size, batch, seconds);
    sqlite3 *db = NULL;
    if (sqlite3_open (path, &db) != SQLITE_OK)
        return 1;
    if (s_exec (db, "PRAGMA journal_mode=WAL") || s_exec (db, "PRAGMA synchronous=FULL")
    ||  s_exec (db, "CREATE TABLE log (seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL,"
                    " at_ms INTEGER NOT NULL, event BLOB NOT NULL)"))
        return 1;
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2 (db, "INSERT INTO log (seq, case_id, at_ms, event) VALUES (?, ?, ?, ?)",
                        -1, &stmt, NULL);
    uint8_t *blob = (uint8_t *) malloc ((size_t) size);
    for (int i = 0; i < size; i++)
        blob [i] = (uint8_t) (rand () & 0xff);
    int64_t seq = 0, commits = 0;
    bench_samples_t commit_us = { 0 };
    int64_t started = bench_us ();
    int64_t until = started + (int64_t) (seconds * 1e6);
    while (bench_us () < until) {
        if (s_exec (db, "BEGIN IMMEDIATE"))
            return 1;
        for (int i = 0; i < batch; i++) {
            char case_id [32];
            seq++;
            snprintf (case_id, sizeof case_id, "31001-2026-%06" PRId64, seq % 1000000);
            sqlite3_bind_int64 (stmt, 1, seq);
            sqlite3_bind_text (stmt, 2, case_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64 (stmt, 3, 1780000000000LL + seq);
            blob [0] = (uint8_t) seq;
            sqlite3_bind_blob (stmt, 4, blob, size, SQLITE_STATIC);
            if (sqlite3_step (stmt) != SQLITE_DONE) {
                fprintf (stderr, "sqlite: %s\n", sqlite3_errmsg (db));
                return 1;
            }
            sqlite3_reset (stmt);
        }
        int64_t before = bench_us ();
        if (s_exec (db, "COMMIT"))
            return 1;
        bench_samples_add (&commit_us, bench_us () - before);
        commits++;
    }
    double elapsed = (bench_us () - started) / 1e6;
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    free (blob);
    json_t *out = json_object ();
    json_object_set_new (out, "rows", json_integer (seq));
    json_object_set_new (out, "commits", json_integer (commits));
    json_object_set_new (out, "batch", json_integer (batch));
    json_object_set_new (out, "size", json_integer (size));
    json_object_set_new (out, "seconds", json_real (elapsed));
    json_object_set_new (out, "rows_per_s", json_real (seq / elapsed));
    json_object_set_new (out, "commits_per_s", json_real (commits / elapsed));
    json_object_set_new (out, "commit", bench_percentiles (&commit_us));
    bench_samples_free (&commit_us);
    bench_emit (out);
    return 0;
}
