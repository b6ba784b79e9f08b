/*  hotline-bench deadlines / fake-intake / idle
 *
 *  deadlines --db PATH --count N --fire K --fire-at MS --window MS
 *      Fill a deadline-watcher store (hl_deadline's schema) with N open
 *      deadlines: N-K due in 30-60 days with a warning at 75% (two firings
 *      each, as the procedure's deadlines have), and K without a warning,
 *      due evenly over [fire-at, fire-at + window) (node clock, ms).
 *
 *  fake-intake --endpoint E --expect K [--timeout S]
 *      A ROUTER at the watcher's intake endpoint that accepts every command
 *      at once (no disk), and records, for each deadline_breach, how late it
 *      arrived: hl_clock_now () - due_ms (the same clock file as the
 *      watcher). Ends after K firings or --timeout seconds of silence.
 *
 *  idle --endpoint E --db PATH --seconds S
 *      The floor of a service process: the same libraries, a zloop, one
 *      hardened ROUTER and one hl_store. Sleeps S seconds.
 */
#include "bench.h"

int
bench_deadlines (int argc, char **argv)
{
    const char *path = bench_opt (argc, argv, "--db", NULL);
    int64_t count = bench_opt_int (argc, argv, "--count", 1000000);
    int64_t fire = bench_opt_int (argc, argv, "--fire", 0);
    int64_t fire_at = bench_opt_int (argc, argv, "--fire-at", 0);
    int64_t window = bench_opt_int (argc, argv, "--window", 10000);
    if (!path || count < 1 || fire > count || (fire && !fire_at)) {
        fprintf (stderr, "usage: hotline-bench deadlines --db PATH --count N [--fire K --fire-at MS --window MS]\n");
        return 2;
    }
    int64_t started = bench_us ();
    hl_store_t *store = hl_store_new (path, NULL);
    if (!store || hl_deadline_setup (store))
        return 1;
    int64_t now = hl_clock_now ();
    static const char *names [] = { "inform_leaders", "route", "verify" };
    if (hl_store_begin (store))
        return 1;
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "INSERT INTO deadlines (case_id, name, started_seq, started_ms, due_ms, warn_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    sqlite3_stmt *cases = hl_store_prepare (store,
        "INSERT OR IGNORE INTO deadline_cases (case_id, received_ms, regime) VALUES (?, ?, 'normal')");
    for (int64_t i = 0; i < count; i++) {
        //  Three deadlines a case, like a submit starts; ward prefix varies
        //  so that case numbers stay six digits
        int64_t case_n = i / 3;
        char case_id [40];
        snprintf (case_id, sizeof case_id, "%05" PRId64 "-2026-%06" PRId64,
                  31001 + case_n / 999999, case_n % 999999 + 1);
        int64_t started_ms = now - (i % 3600000);
        int64_t due_ms, warn_ms;
        if (i < count - fire) {
            due_ms = now + 30LL * 86400000 + (i * 7919) % (30LL * 86400000);
            warn_ms = started_ms + (due_ms - started_ms) * 75 / 100;
        }
        else {
            int64_t j = i - (count - fire);
            due_ms = fire_at + j * window / fire;
            warn_ms = 0;
        }
        sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 2, names [i % 3], -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, (i / 3) * 2 + 1);
        sqlite3_bind_int64 (stmt, 4, started_ms);
        sqlite3_bind_int64 (stmt, 5, due_ms);
        sqlite3_bind_int64 (stmt, 6, warn_ms);
        if (sqlite3_step (stmt) != SQLITE_DONE) {
            fprintf (stderr, "deadlines: %s\n", hl_store_error (store));
            return 1;
        }
        sqlite3_reset (stmt);
        if (i % 3 == 0) {
            sqlite3_bind_text (cases, 1, case_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64 (cases, 2, started_ms);
            sqlite3_step (cases);
            sqlite3_reset (cases);
        }
    }
    if (hl_store_commit (store))
        return 1;
    hl_store_exec (store, "PRAGMA wal_checkpoint(TRUNCATE)");
    hl_store_destroy (&store);
    json_t *out = json_object ();
    json_object_set_new (out, "rows", json_integer (count));
    json_object_set_new (out, "firing", json_integer (fire));
    json_object_set_new (out, "seconds", json_real ((bench_us () - started) / 1e6));
    bench_emit (out);
    return 0;
}

int
bench_fake_intake (int argc, char **argv)
{
    const char *endpoint = bench_opt (argc, argv, "--endpoint", NULL);
    int64_t expect = bench_opt_int (argc, argv, "--expect", 0);
    double timeout = bench_opt_double (argc, argv, "--timeout", 60);
    if (!endpoint || expect < 1) {
        fprintf (stderr, "usage: hotline-bench fake-intake --endpoint E --expect K [--timeout S]\n");
        return 2;
    }
    zsys_init ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    hl_sock_harden (router);
    if (zsock_bind (router, "%s", endpoint) < 0) {
        fprintf (stderr, "fake-intake: cannot bind %s\n", endpoint);
        return 1;
    }
    printf ("ready\n");
    fflush (stdout);
    bench_samples_t late = { 0 };
    int64_t got = 0, other = 0, seq = 0;
    int64_t last_heard = bench_us (), first = 0, last = 0;
    while (got < expect && !zsys_interrupted) {
        zmq_pollitem_t item = { zsock_resolve (router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 100) <= 0) {
            if (bench_us () - last_heard > (int64_t) (timeout * 1e6))
                break;
            continue;
        }
        zmsg_t *msg = zmsg_recv (router);
        if (!msg)
            continue;
        last_heard = bench_us ();
        int64_t now = hl_clock_now ();
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        zmsg_destroy (&msg);
        Hotline__Envelope *env = body? hl_msg_decode (zframe_data (body), zframe_size (body), NULL): NULL;
        zframe_destroy (&body);
        if (!env || env->body_case != HOTLINE__ENVELOPE__BODY_REQUEST) {
            hl_msg_free (&env);
            zframe_destroy (&id);
            continue;
        }
        Hotline__Request *request = env->request;
        Hotline__Reply reply = HOTLINE__REPLY__INIT;
        reply.request_id = request->request_id;
        reply.code = HL_OK;
        if (request->kind_case == HOTLINE__REQUEST__KIND_COMMAND) {
            Hotline__Command *command = request->command;
            reply.case_id = command->case_id;
            reply.seq = (uint64_t) ++seq;
            const char *due = hl_command_arg (command, "due_ms");
            if (command->action && streq (command->action, "deadline_breach") && *due) {
                bench_samples_add (&late, (now - strtoll (due, NULL, 10)) * 1000);
                if (!first)
                    first = last_heard;
                last = last_heard;
                got++;
            }
            else
                other++;
        }
        Hotline__Envelope answer = HOTLINE__ENVELOPE__INIT;
        answer.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
        answer.reply = &reply;
        hl_msg_send (router, id, &answer);
        zframe_destroy (&id);
        hl_msg_free (&env);
    }
    json_t *out = json_object ();
    json_object_set_new (out, "fired", json_integer (got));
    json_object_set_new (out, "other", json_integer (other));
    json_object_set_new (out, "span_s", json_real ((last - first) / 1e6));
    json_object_set_new (out, "lateness", bench_percentiles (&late));
    bench_samples_free (&late);
    zsock_destroy (&router);
    bench_emit (out);
    return 0;
}

static int
s_idle_done (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

int
bench_idle (int argc, char **argv)
{
    const char *endpoint = bench_opt (argc, argv, "--endpoint", NULL);
    const char *path = bench_opt (argc, argv, "--db", NULL);
    double seconds = bench_opt_double (argc, argv, "--seconds", 5);
    if (!endpoint || !path)
        return 2;
    zsys_init ();
    zloop_t *loop = zloop_new ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    hl_sock_harden (router);
    zsock_bind (router, "%s", endpoint);
    hl_store_t *store = hl_store_new (path, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)");
    printf ("ready\n");
    fflush (stdout);
    zloop_timer (loop, (size_t) (seconds * 1000), 1, s_idle_done, NULL);
    zloop_start (loop);
    hl_store_destroy (&store);
    zsock_destroy (&router);
    zloop_destroy (&loop);
    bench_emit (json_object ());
    return 0;
}
