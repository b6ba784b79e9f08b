/*  bench_list — the case list's query latency (row 8), and its raw limit.
 *
 *  hotline-bench list --endpoint E [--queries N] [--order due|""] [--text T]
 *                     [--overdue 1] [--limit 50] [--pages 10]
 *      N list queries to the archive's query socket (DEALER, one at a
 *      time, as the web service and the CLI ask), each for a random page
 *      among the first --pages; each timed from send to decoded answer.
 *  hotline-bench list-raw --db PATH --sql SQL [--queries N] [--limit 50]
 *                     [--pages 10]
 *      the same pages straight from SQLite in this process: SQL with ?1
 *      limit and ?2 offset, every column of each row read; the floor under
 *      the archive's answer (no socket, no protobuf, no JSON).
 *  Both print {"n", "p50_ms", "p99_ms", ..., "rows"} (rows: of the last page).
 */
#include "bench.h"

static zframe_t *
s_query_frame (uint64_t n, const char *order, const char *text, bool overdue,
               uint32_t limit, uint32_t offset)
{
    char request_id [64];
    snprintf (request_id, sizeof request_id, "list:%" PRIu64, n);
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "list";
    query.order = (char *) order;
    query.text = (char *) text;
    query.overdue = overdue;
    query.limit = limit;
    query.offset = offset;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = request_id;
    request.actor = "officer:bench";
    request.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    request.query = &query;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
    env.request = &request;
    env.msg_id = request_id;
    return hl_msg_encode (&env);
}

int
bench_list (int argc, char **argv)
{
    const char *endpoint = bench_opt (argc, argv, "--endpoint", NULL);
    int64_t queries = bench_opt_int (argc, argv, "--queries", 1000);
    const char *order = bench_opt (argc, argv, "--order", "due");
    const char *text = bench_opt (argc, argv, "--text", "");
    bool overdue = bench_opt_int (argc, argv, "--overdue", 0) != 0;
    uint32_t limit = (uint32_t) bench_opt_int (argc, argv, "--limit", 50);
    uint32_t pages = (uint32_t) bench_opt_int (argc, argv, "--pages", 10);
    if (!endpoint) {
        fprintf (stderr, "list: --endpoint is required\n");
        return 2;
    }
    zsock_t *sock = zsock_new_dealer (endpoint);
    assert (sock);
    zsock_set_rcvtimeo (sock, 10000);
    bench_samples_t samples = { 0 };
    size_t rows = 0;
    int errors = 0;
    for (int64_t n = 0; n < queries; n++) {
        uint32_t offset = (uint32_t) (random () % pages) * limit;
        zframe_t *frame = s_query_frame ((uint64_t) n, order, text, overdue, limit, offset);
        int64_t start = bench_us ();
        zframe_send (&frame, sock, 0);
        zframe_t *answer = zframe_recv (sock);
        if (!answer) {
            fprintf (stderr, "list: no answer in 10 s\n");
            return 1;
        }
        const char *reason = NULL;
        Hotline__Envelope *env = hl_msg_decode (zframe_data (answer), zframe_size (answer), &reason);
        json_t *json = env && env->body_case == HOTLINE__ENVELOPE__BODY_REPLY && env->reply->code == 0?
                       json_loads (env->reply->json, 0, NULL): NULL;
        bench_samples_add (&samples, bench_us () - start);
        if (json)
            rows = json_array_size (json);
        else {
            if (errors++ == 0)
                fprintf (stderr, "list: error answer: %s\n", env && env->body_case == HOTLINE__ENVELOPE__BODY_REPLY?
                         env->reply->error: reason);
        }
        json_decref (json);
        hl_msg_free (&env);
        zframe_destroy (&answer);
    }
    zsock_destroy (&sock);
    json_t *result = bench_percentiles (&samples);
    json_object_set_new (result, "rows", json_integer ((json_int_t) rows));
    json_object_set_new (result, "errors", json_integer (errors));
    bench_samples_free (&samples);
    bench_emit (result);
    return errors? 1: 0;
}

int
bench_list_raw (int argc, char **argv)
{
    const char *path = bench_opt (argc, argv, "--db", NULL);
    const char *sql = bench_opt (argc, argv, "--sql", NULL);
    int64_t queries = bench_opt_int (argc, argv, "--queries", 1000);
    int64_t limit = bench_opt_int (argc, argv, "--limit", 50);
    int64_t pages = bench_opt_int (argc, argv, "--pages", 10);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    if (!path || !sql
    ||  sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
    ||  sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf (stderr, "list-raw: %s\n", db? sqlite3_errmsg (db): "--db and --sql are required");
        return 2;
    }
    bench_samples_t samples = { 0 };
    size_t rows = 0;
    for (int64_t n = 0; n < queries; n++) {
        int64_t offset = (random () % pages) * limit;
        int64_t start = bench_us ();
        sqlite3_bind_int64 (stmt, 1, limit);
        sqlite3_bind_int64 (stmt, 2, offset);
        rows = 0;
        size_t bytes = 0;
        while (sqlite3_step (stmt) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count (stmt); i++)
                bytes += (size_t) sqlite3_column_bytes (stmt, i);
            rows++;
        }
        sqlite3_reset (stmt);
        bench_samples_add (&samples, bench_us () - start);
        (void) bytes;
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    json_t *result = bench_percentiles (&samples);
    json_object_set_new (result, "rows", json_integer ((json_int_t) rows));
    bench_samples_free (&samples);
    bench_emit (result);
    return 0;
}
