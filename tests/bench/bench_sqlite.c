/*  hotline-bench sqlite — the raw durable-insert limit of this disk.
 *
 *      --db PATH --size BYTES --batch ROWS --seconds S
 *
 *  A table shaped like intake's log (seq, case_id, at_ms, event BLOB) in
 *  WAL mode with synchronous=FULL, as hl_store opens every store. Rows of
 *  --size bytes go in transactions of --batch rows (one fsync per commit);
 *  --batch 1 is one fsync per row.
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

int
bench_sqlite (int argc, char **argv)
{
    const char *path = bench_opt (argc, argv, "--db", NULL);
    int size = (int) bench_opt_int (argc, argv, "--size", 400);
    int batch = (int) bench_opt_int (argc, argv, "--batch", 128);
    double seconds = bench_opt_double (argc, argv, "--seconds", 3);
    if (!path || size < 1 || batch < 1) {
        fprintf (stderr, "usage: hotline-bench sqlite --db PATH [--size N] [--batch N] [--seconds S]\n");
        return 2;
    }
    char extra [1024];
    unlink (path);
    snprintf (extra, sizeof extra, "%s-wal", path);
    unlink (extra);
    snprintf (extra, sizeof extra, "%s-shm", path);
    unlink (extra);
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
