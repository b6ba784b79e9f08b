/*  hotline-bench keys / wards — CurveZMQ ward links to a real city archive.
 *
 *  keys --dir D (--first CODE --count N | --codes "C1 C2 ...")
 *      D/city.cert (+ _secret)          the city's keypair
 *      D/allow/<code>.cert              each ward's public certificate, with
 *                                       metadata ward=<code> (the city's
 *                                       federation/allow directory)
 *      D/wards/<code>.cert (+ _secret)  each ward's keypair
 *
 *  wards --city EP --keys D --first CODE --links N --events E [--city-pid P]
 *        [--timeout S] [--connect-timeout S] [--window N] [--link-timeout MS]
 *      N hl_hop senders in this process, on one zloop, each with its own
 *      certificate and stream (its ward code), each serving a backlog of E
 *      submit events (redacted, as a ward sends them). Phase 1: connect all
 *      links with nothing to send (handshakes; city memory per link).
 *      Phase 2: release every backlog at once; done when the city has
 *      acknowledged (durably applied) every event of every link.
 */
#include "bench.h"

static int
s_save (zcert_t *cert, const char *dir, const char *code, bool secret)
{
    char *path = zsys_sprintf ("%s/%s.cert", dir, code);
    int rc = secret? zcert_save (cert, path): zcert_save_public (cert, path);
    zstr_free (&path);
    return rc;
}

int
bench_keys (int argc, char **argv)
{
    const char *dir = bench_opt (argc, argv, "--dir", NULL);
    const char *codes = bench_opt (argc, argv, "--codes", NULL);
    int64_t first = bench_opt_int (argc, argv, "--first", 40001);
    int64_t count = bench_opt_int (argc, argv, "--count", 0);
    if (!dir || (!codes && count < 1)) {
        fprintf (stderr, "usage: hotline-bench keys --dir D (--first CODE --count N | --codes LIST)\n");
        return 2;
    }
    zsys_dir_create ("%s/allow", dir);
    zsys_dir_create ("%s/wards", dir);
    int64_t started = bench_us ();
    zcert_t *city = zcert_new ();
    zcert_set_meta (city, "role", "city");
    char path [1024];
    snprintf (path, sizeof path, "%s/city.cert", dir);
    if (zcert_save (city, path))
        return 1;
    zcert_destroy (&city);
    zlistx_t *list = zlistx_new ();
    zlistx_set_destructor (list, (czmq_destructor *) zstr_free);
    if (codes) {
        char *copy = strdup (codes);
        for (char *tok = strtok (copy, " ,"); tok; tok = strtok (NULL, " ,"))
            zlistx_add_end (list, strdup (tok));
        free (copy);
    }
    else
        for (int64_t i = 0; i < count; i++)
            zlistx_add_end (list, zsys_sprintf ("%" PRId64, first + i));
    char *allow = zsys_sprintf ("%s/allow", dir);
    char *wards = zsys_sprintf ("%s/wards", dir);
    for (char *code = (char *) zlistx_first (list); code; code = (char *) zlistx_next (list)) {
        zcert_t *cert = zcert_new ();
        zcert_set_meta (cert, "ward", "%s", code);
        if (s_save (cert, allow, code, false) || s_save (cert, wards, code, true))
            return 1;
        zcert_destroy (&cert);
    }
    zstr_free (&allow);
    zstr_free (&wards);
    double seconds = (bench_us () - started) / 1e6;
    //  What the city's zauth pays per CurveZMQ handshake: zcertstore
    //  rescans the whole allow directory on every lookup
    char *allow_dir = zsys_sprintf ("%s/allow", dir);
    zcertstore_t *store = zcertstore_new (allow_dir);
    int64_t t = bench_us ();
    for (int i = 0; i < 5; i++)
        zcertstore_lookup (store, "not-a-key");
    double lookup_ms = (bench_us () - t) / 5e3;
    zcertstore_destroy (&store);
    zstr_free (&allow_dir);
    json_t *out = json_object ();
    json_object_set_new (out, "certs", json_integer ((json_int_t) zlistx_size (list)));
    json_object_set_new (out, "seconds", json_real (seconds));
    json_object_set_new (out, "zcertstore_lookup_ms", json_real (lookup_ms));
    zlistx_destroy (&list);
    bench_emit (out);
    return 0;
}

// ------------------------------------------------------------------ wards

typedef struct _sim_t sim_t;

typedef struct {
    sim_t *sim;
    char code [16];
    zcert_t *cert;
    hl_hop_sender_t *sender;
} s_link_t;

struct _sim_t {
    zloop_t *loop;
    s_link_t *links;
    size_t nlinks;
    size_t created;             //  links created so far (self-clocked ramp)
    size_t window;              //  at most this many links not yet answered
    int link_timeout_ms;        //  hop timeout of each link (0: the default)
    const char *city;
    const char *keys;
    int64_t first;
    zcert_t *city_cert;
    bench_samples_t admitted;   //  creation -> first answer, per link (us)
    int64_t *created_at;
    bool *answered;
    uint64_t events;
    bool released;
    int phase;                  //  0 connecting, 1 ingesting
    int city_pid;
    int64_t t_start, t_created, t_connected, t_done, deadline;
    size_t connected, done, live_at_release;
    long rss_before, rss_connected, rss_done;
    double city_cpu_release, city_cpu_done, cpu_release, cpu_done;
    uint64_t payload_bytes, payloads;
    int64_t connect_timeout_us, ingest_timeout_us;
};

static int
s_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    s_link_t *link = (s_link_t *) arg;
    sim_t *sim = link->sim;
    if (!sim->released)
        return 0;
    int count = 0;
    char node [32], event_id [64], case_id [40], request_id [64];
    snprintf (node, sizeof node, "ward-%s", link->code);
    for (uint64_t seq = after + 1; seq <= sim->events && (size_t) count < max; seq++) {
        snprintf (event_id, sizeof event_id, "%s/%" PRIu64, node, seq);
        snprintf (case_id, sizeof case_id, "%s-2026-%06" PRIu64, link->code, seq);
        snprintf (request_id, sizeof request_id, "sim:%s:%" PRIu64, link->code, seq);
        int64_t now = hl_clock_now ();
        Hotline__Report report = HOTLINE__REPORT__INIT;
        report.received_ms = now;
        report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
        report.channel = HOTLINE__CHANNEL__PHONE;
        report.scope = HOTLINE__SCOPE__WITHIN_WARD;
        report.location = "Kênh Xáng, tổ 5";
        report.description = "Nước thải đen chảy ra kênh từ cơ sở sản xuất, mùi hôi nồng nặc"
                             " vào buổi tối, người dân khu vực phản ánh nhiều lần.";
        Hotline__Event event = HOTLINE__EVENT__INIT;
        event.event_id = event_id;
        event.seq = seq;
        event.case_id = case_id;
        event.ward = link->code;
        event.at_ms = now;
        event.actor = "officer:sim";
        event.action = "submit";
        event.from_state = "";
        event.to_state = "received";
        event.report = &report;
        event.regime = "normal";
        event.request_id = request_id;
        event.redacted = true;
        event.origin = node;
        items [count].seq = seq;
        items [count].size = hotline__event__get_packed_size (&event);
        items [count].data = (uint8_t *) malloc (items [count].size);
        hotline__event__pack (&event, items [count].data);
        sim->payload_bytes += items [count].size;
        sim->payloads++;
        count++;
    }
    return count;
}

static int
s_link_create (sim_t *sim, size_t i)
{
    s_link_t *link = &sim->links [i];
    link->sim = sim;
    snprintf (link->code, sizeof link->code, "%" PRId64, sim->first + (int64_t) i);
    char *path = zsys_sprintf ("%s/wards/%s.cert", sim->keys, link->code);
    link->cert = zcert_load (path);
    if (!link->cert) {
        fprintf (stderr, "wards: cannot load %s\n", path);
        zstr_free (&path);
        return -1;
    }
    zstr_free (&path);
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    if (sim->link_timeout_ms > 0)
        opts.timeout_ms = sim->link_timeout_ms;
    opts.cert = link->cert;
    opts.server_key = zcert_public_txt (sim->city_cert);
    sim->created_at [i] = bench_us ();
    link->sender = hl_hop_sender_new (sim->loop, sim->city, false, link->code, s_fetch, link, &opts);
    if (!link->sender) {
        fprintf (stderr, "wards: link %zu (%s) could not be created\n", i, link->code);
        return -1;
    }
    sim->created++;
    return 0;
}

static int
s_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    sim_t *sim = (sim_t *) arg;
    int64_t now = bench_us ();
    if (sim->phase == 0) {
        //  Self-clocked ramp: a new link whenever fewer than `window` wait
        //  for their first answer (the city admits links one at a time)
        size_t connected = 0;
        for (size_t i = 0; i < sim->created; i++) {
            bool up = hl_hop_sender_peers (sim->links [i].sender) > 0;
            if (up && !sim->answered [i]) {
                sim->answered [i] = true;
                bench_samples_add (&sim->admitted, now - sim->created_at [i]);
            }
            connected += sim->answered [i];
        }
        while (sim->created < sim->nlinks && sim->created - connected < sim->window)
            if (s_link_create (sim, sim->created))
                return -1;
        sim->connected = connected;
        if ((connected == sim->nlinks || now - sim->t_created > sim->connect_timeout_us)) {
            sim->t_connected = now;
            //  Let the city settle its per-connection state before measuring
            zclock_sleep (500);
            sim->rss_connected = sim->city_pid? bench_rss_kb (sim->city_pid): -1;
            sim->city_cpu_release = sim->city_pid? bench_proc_cpu_s (sim->city_pid): -1;
            sim->cpu_release = bench_cpu_s ();
            fprintf (stderr, "wards: %zu/%zu links connected in %.1f s; releasing backlogs\n",
                     connected, sim->nlinks, (sim->t_connected - sim->t_created) / 1e6);
            sim->live_at_release = 0;
            for (size_t i = 0; i < sim->created; i++)
                sim->live_at_release += hl_hop_sender_peers (sim->links [i].sender);
            sim->phase = 1;
            sim->released = true;
            sim->t_connected = bench_us ();
            for (size_t i = 0; i < sim->created; i++)
                hl_hop_sender_notify (sim->links [i].sender);
        }
        return 0;
    }
    size_t done = 0;
    for (size_t i = 0; i < sim->created; i++)
        done += hl_hop_sender_acked (sim->links [i].sender) >= sim->events;
    sim->done = done;
    if (done == sim->created || now - sim->t_connected > sim->ingest_timeout_us) {
        sim->t_done = now;
        sim->city_cpu_done = sim->city_pid? bench_proc_cpu_s (sim->city_pid): -1;
        sim->cpu_done = bench_cpu_s ();
        sim->rss_done = sim->city_pid? bench_rss_kb (sim->city_pid): -1;
        return -1;
    }
    return 0;
}

int
bench_wards (int argc, char **argv)
{
    const char *city = bench_opt (argc, argv, "--city", NULL);
    const char *keys = bench_opt (argc, argv, "--keys", NULL);
    int64_t first = bench_opt_int (argc, argv, "--first", 40001);
    sim_t sim = { 0 };
    sim.nlinks = (size_t) bench_opt_int (argc, argv, "--links", 3321);
    sim.events = (uint64_t) bench_opt_int (argc, argv, "--events", 20);
    sim.city_pid = (int) bench_opt_int (argc, argv, "--city-pid", 0);
    sim.connect_timeout_us = (int64_t) (bench_opt_double (argc, argv, "--connect-timeout", 120) * 1e6);
    sim.ingest_timeout_us = (int64_t) (bench_opt_double (argc, argv, "--timeout", 240) * 1e6);
    sim.window = (size_t) bench_opt_int (argc, argv, "--window", 4);
    sim.link_timeout_ms = (int) bench_opt_int (argc, argv, "--link-timeout", 0);
    if (!city || !keys || sim.nlinks < 1) {
        fprintf (stderr, "usage: hotline-bench wards --city EP --keys D --first CODE --links N --events E\n");
        return 2;
    }
    //  Each link is one ZeroMQ socket: raise libzmq's limit before any
    //  socket exists (the caller raises ulimit -n)
    zsys_set_max_sockets (2 * sim.nlinks + 256);     //  + reconnect zombies
    zsys_init ();
    if (zsys_socket_limit () < sim.nlinks + 64)
        fprintf (stderr, "wards: socket limit %zu is low for %zu links\n",
                 zsys_socket_limit (), sim.nlinks);
    char path [1024];
    snprintf (path, sizeof path, "%s/city.cert", keys);
    zcert_t *city_cert = zcert_load (path);
    if (!city_cert) {
        fprintf (stderr, "wards: cannot load %s\n", path);
        return 1;
    }
    sim.rss_before = sim.city_pid? bench_rss_kb (sim.city_pid): -1;
    sim.loop = zloop_new ();
    zloop_t *loop = sim.loop;
    sim.links = (s_link_t *) calloc (sim.nlinks, sizeof (s_link_t));
    sim.created_at = (int64_t *) calloc (sim.nlinks, sizeof (int64_t));
    sim.answered = (bool *) calloc (sim.nlinks, sizeof (bool));
    sim.city = city;
    sim.keys = keys;
    sim.first = first;
    sim.city_cert = city_cert;
    sim.t_start = bench_us ();
    sim.t_created = bench_us ();
    zloop_timer (loop, 20, 0, s_check, &sim);
    zloop_start (loop);

    double ingest_s = (sim.t_done - sim.t_connected) / 1e6;
    uint64_t total = (uint64_t) sim.nlinks * sim.events;
    json_t *out = json_object ();
    json_object_set_new (out, "links", json_integer ((json_int_t) sim.nlinks));
    json_object_set_new (out, "events_per_link", json_integer ((json_int_t) sim.events));
    json_object_set_new (out, "link_timeout_ms", json_integer (sim.link_timeout_ms? sim.link_timeout_ms: 3000));
    json_object_set_new (out, "connect_s", json_real ((sim.t_connected - sim.t_created) / 1e6));
    json_object_set_new (out, "connected", json_integer ((json_int_t) sim.connected));
    json_object_set_new (out, "links_done", json_integer ((json_int_t) sim.done));
    json_object_set_new (out, "live_at_release", json_integer ((json_int_t) sim.live_at_release));
    json_object_set_new (out, "events", json_integer ((json_int_t) total));
    json_object_set_new (out, "ingest_s", json_real (ingest_s));
    json_object_set_new (out, "events_per_s", json_real (
        (double) sim.done * (double) sim.events / ingest_s));
    json_object_set_new (out, "payload_avg", json_real (
        sim.payloads? (double) sim.payload_bytes / (double) sim.payloads: 0));
    json_object_set_new (out, "sent_items", json_integer ((json_int_t) sim.payloads));
    json_object_set_new (out, "city_rss_before_kb", json_integer (sim.rss_before));
    json_object_set_new (out, "city_rss_connected_kb", json_integer (sim.rss_connected));
    json_object_set_new (out, "city_rss_done_kb", json_integer (sim.rss_done));
    if (sim.rss_before > 0 && sim.rss_connected > 0)
        json_object_set_new (out, "city_kb_per_link", json_real (
            (double) (sim.rss_connected - sim.rss_before) / (double) sim.nlinks));
    json_object_set_new (out, "city_cpu_ingest_s", json_real (sim.city_cpu_done - sim.city_cpu_release));
    json_object_set_new (out, "sim_cpu_ingest_s", json_real (sim.cpu_done - sim.cpu_release));
    json_object_set_new (out, "admission", bench_percentiles (&sim.admitted));
    json_object_set_new (out, "links_per_s", json_real (
        (double) sim.connected / ((sim.t_connected - sim.t_created) / 1e6)));
    bench_samples_free (&sim.admitted);
    free (sim.created_at);
    free (sim.answered);
    for (size_t i = 0; i < sim.created; i++) {
        hl_hop_sender_destroy (&sim.links [i].sender);
        zcert_destroy (&sim.links [i].cert);
    }
    free (sim.links);
    zcert_destroy (&city_cert);
    zloop_destroy (&loop);
    bench_emit (out);
    return 0;
}
