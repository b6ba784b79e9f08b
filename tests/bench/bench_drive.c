/*  hotline-bench drive — submits cases to a real intake over real sockets.
 *
 *      --endpoint E            the intake front door
 *      --tag T                 request ids are "T:<n>" (unique per run)
 *      closed loop (max throughput):
 *        --clients N --depth D   N DEALER sockets, D requests in flight each
 *      open loop (fixed offered load):
 *        --rate R [--sockets S]  R submits/s on a schedule, whatever the replies
 *      --seconds S --warmup W  measure over [W, W+S) after the first send
 *      --count C               or: send exactly C submits, no warmup
 *      --ward-feed EP          follow the ward archive's feed (hl_hop, stream
 *                              "log"): submit -> archived
 *      --city-feed EP          and the city archive's: submit -> at the city
 *      --drain S               wait at most S s for feeds after the last ack
 *      --dump FILE             write each request's times (us after the
 *                              start: scheduled, sent, acked) to FILE
 *
 *  Latency is measured from the moment each request was handed to ZeroMQ
 *  (open loop: also from its scheduled time, in "ack_from_schedule").
 */
#include "bench.h"

typedef struct {
    int64_t sched, sent, acked, ward, city;     //  monotonic us, 0 = not yet
} s_req_t;

typedef struct _drive_t drive_t;

typedef struct {
    drive_t *drive;
    int which;                  //  0 ward, 1 city
    uint64_t cursor;
    uint64_t seen;              //  our events seen
    uint64_t events;            //  all events seen
    hl_hop_receiver_t *receiver;
} s_feed_t;

struct _drive_t {
    zloop_t *loop;
    const char *tag;
    bool paced;
    zsock_t **socks;
    size_t nsocks;
    size_t depth;
    double rate;
    int64_t t0, t_warm, t_end, t_stop, hard_end, drain_us;
    int64_t count;
    s_req_t *reqs;
    size_t cap;
    uint64_t next;
    uint64_t acked_ok, acked_err, outstanding, acks_in_window;
    int64_t first_ack, last_ack;
    json_t *codes;
    s_feed_t feeds [2];
    size_t nfeeds;
    bool stopped;               //  no more sends
};

static bool
s_may_send (drive_t *self, int64_t now)
{
    if (self->count)
        return (int64_t) self->next < self->count;
    return now < self->t_end;
}

static int
s_send (drive_t *self, zsock_t *sock, int64_t now, int64_t sched)
{
    if (self->next >= self->cap) {
        size_t cap = self->cap? self->cap * 2: 65536;
        self->reqs = (s_req_t *) realloc (self->reqs, cap * sizeof (s_req_t));
        assert (self->reqs);
        memset (self->reqs + self->cap, 0, (cap - self->cap) * sizeof (s_req_t));
        self->cap = cap;
    }
    uint64_t n = self->next++;
    zframe_t *frame = bench_submit_frame (self->tag, n);
    self->reqs [n].sched = sched;
    self->reqs [n].sent = bench_us ();
    (void) now;
    if (zframe_send (&frame, sock, 0)) {
        zframe_destroy (&frame);
        return -1;
    }
    self->outstanding++;
    return 0;
}

static int
s_sock_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    drive_t *self = (drive_t *) arg;
    while (hl_sock_readable (sock)) {
        zframe_t *frame = zframe_recv (sock);
        if (!frame)
            break;
        int64_t now = bench_us ();
        Hotline__Envelope *env = hotline__envelope__unpack (NULL, zframe_size (frame), zframe_data (frame));
        zframe_destroy (&frame);
        if (!env || env->body_case != HOTLINE__ENVELOPE__BODY_REPLY) {
            if (env)
                hotline__envelope__free_unpacked (env, NULL);
            continue;
        }
        int64_t n = bench_request_number (self->tag, env->reply->request_id);
        int code = env->reply->code;
        hotline__envelope__free_unpacked (env, NULL);
        if (n < 0 || (uint64_t) n >= self->next || self->reqs [n].acked)
            continue;
        self->reqs [n].acked = now;
        self->outstanding--;
        if (!self->first_ack)
            self->first_ack = now;
        self->last_ack = now;
        if (code == HL_OK) {
            self->acked_ok++;
            if (now >= self->t_warm && now < self->t_end)
                self->acks_in_window++;
        }
        else {
            self->acked_err++;
            char key [16];
            snprintf (key, sizeof key, "%d", code);
            json_t *was = json_object_get (self->codes, key);
            json_object_set_new (self->codes, key, json_integer (was? json_integer_value (was) + 1: 1));
            //  keep the rows honest: a refused request is not retried here
        }
        if (!self->paced && s_may_send (self, now))
            s_send (self, sock, now, now);
    }
    return 0;
}

static int
s_pace (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    drive_t *self = (drive_t *) arg;
    int64_t now = bench_us ();
    uint64_t target = (uint64_t) ((double) (now - self->t0) * self->rate / 1e6) + 1;
    while (self->next < target && s_may_send (self, now)) {
        int64_t sched = self->t0 + (int64_t) ((double) self->next * 1e6 / self->rate);
        s_send (self, self->socks [self->next % self->nsocks], now, sched);
    }
    return 0;
}

static bool
s_feeds_done (drive_t *self)
{
    for (size_t i = 0; i < self->nfeeds; i++)
        if (self->feeds [i].seen < self->acked_ok)
            return false;
    return true;
}

static int
s_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    drive_t *self = (drive_t *) arg;
    int64_t now = bench_us ();
    if (!self->stopped && !s_may_send (self, now)) {
        self->stopped = true;
        self->t_stop = now;
    }
    if (now > self->hard_end) {
        fprintf (stderr, "drive: hard timeout (%" PRIu64 " outstanding)\n", self->outstanding);
        return -1;
    }
    if (self->stopped && self->outstanding == 0) {
        if (s_feeds_done (self))
            return -1;
        if (now - self->last_ack > self->drain_us) {
            fprintf (stderr, "drive: feeds did not catch up within the drain time\n");
            return -1;
        }
    }
    return 0;
}

static int
s_feed_cursor (void *arg, const char *stream, uint64_t *cursor)
{
    (void) stream;
    *cursor = ((s_feed_t *) arg)->cursor;
    return 0;
}

static int
s_feed_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    (void) stream;
    s_feed_t *feed = (s_feed_t *) arg;
    drive_t *self = feed->drive;
    int64_t now = bench_us ();
    for (size_t i = 0; i < count; i++) {
        Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
        feed->events++;
        if (event) {
            int64_t n = bench_request_number (self->tag, event->request_id);
            if (n >= 0 && (uint64_t) n < self->next) {
                int64_t *slot = feed->which? &self->reqs [n].city: &self->reqs [n].ward;
                if (!*slot) {
                    *slot = now;
                    feed->seen++;
                }
            }
            hotline__event__free_unpacked (event, NULL);
        }
    }
    feed->cursor = items [count - 1].seq;
    return 0;
}

//  Does request n count for the measurement window?
static bool
s_in_window (drive_t *self, s_req_t *req)
{
    if (self->count)
        return true;
    int64_t at = self->paced? req->sched: req->sent;
    return at >= self->t_warm && at < self->t_end;
}

int
bench_drive (int argc, char **argv)
{
    drive_t drive = { 0 }, *self = &drive;
    const char *endpoint = bench_opt (argc, argv, "--endpoint", NULL);
    self->tag = bench_opt (argc, argv, "--tag", "bench");
    self->rate = bench_opt_double (argc, argv, "--rate", 0);
    self->paced = self->rate > 0;
    size_t clients = (size_t) bench_opt_int (argc, argv, "--clients", 4);
    self->depth = (size_t) bench_opt_int (argc, argv, "--depth", 8);
    self->nsocks = self->paced? (size_t) bench_opt_int (argc, argv, "--sockets", 4): clients;
    double seconds = bench_opt_double (argc, argv, "--seconds", 5);
    double warmup = bench_opt_double (argc, argv, "--warmup", 1);
    self->count = bench_opt_int (argc, argv, "--count", 0);
    self->drain_us = (int64_t) (bench_opt_double (argc, argv, "--drain", 60) * 1e6);
    const char *dump = bench_opt (argc, argv, "--dump", NULL);
    const char *feeds [2] = { bench_opt (argc, argv, "--ward-feed", NULL),
                              bench_opt (argc, argv, "--city-feed", NULL) };
    if (!endpoint || self->nsocks < 1 || self->depth < 1) {
        fprintf (stderr, "usage: hotline-bench drive --endpoint E [--clients N --depth D | --rate R]"
                         " [--seconds S --warmup W | --count C] [--ward-feed EP] [--city-feed EP]\n");
        return 2;
    }
    zsys_init ();
    self->codes = json_object ();
    self->loop = zloop_new ();
    self->socks = (zsock_t **) calloc (self->nsocks, sizeof (zsock_t *));
    for (size_t i = 0; i < self->nsocks; i++) {
        self->socks [i] = zsock_new (ZMQ_DEALER);
        zsock_set_sndhwm (self->socks [i], 0);
        zsock_set_rcvhwm (self->socks [i], 0);
        zsock_set_linger (self->socks [i], 0);
        zsock_connect (self->socks [i], "%s", endpoint);
        zloop_reader (self->loop, self->socks [i], s_sock_readable, self);
    }
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    for (int i = 0; i < 2; i++) {
        if (!feeds [i])
            continue;
        s_feed_t *feed = &self->feeds [self->nfeeds];
        feed->drive = self;
        feed->which = i;
        feed->receiver = hl_hop_receiver_new (self->loop, feeds [i], false, "log",
                                              s_feed_apply, s_feed_cursor, feed, &opts);
        if (!feed->receiver)
            return 1;
        self->nfeeds++;
    }
    //  Let the connections (and the feeds' first credit) settle
    zclock_sleep (300);
    double cpu_before = bench_cpu_s ();
    self->t0 = bench_us ();
    self->t_warm = self->count? self->t0: self->t0 + (int64_t) (warmup * 1e6);
    self->t_end = self->count? INT64_MAX: self->t_warm + (int64_t) (seconds * 1e6);
    self->hard_end = (self->count? self->t0 + 600 * (int64_t) 1000000: self->t_end)
                   + self->drain_us + 30 * (int64_t) 1000000;
    if (self->paced)
        zloop_timer (self->loop, 1, 0, s_pace, self);
    else
        for (size_t i = 0; i < self->nsocks; i++)
            for (size_t d = 0; d < self->depth && s_may_send (self, self->t0); d++)
                s_send (self, self->socks [i], self->t0, self->t0);
    zloop_timer (self->loop, 10, 0, s_check, self);
    zloop_start (self->loop);
    double cpu = bench_cpu_s () - cpu_before;

    //  Results
    bench_samples_t ack = { 0 }, ack_sched = { 0 }, lag = { 0 }, ward = { 0 }, city = { 0 };
    int64_t ward_last = 0, city_last = 0;
    uint64_t in_window = 0;
    for (uint64_t n = 0; n < self->next; n++) {
        s_req_t *req = &self->reqs [n];
        if (req->ward > ward_last)
            ward_last = req->ward;
        if (req->city > city_last)
            city_last = req->city;
        if (!s_in_window (self, req))
            continue;
        in_window++;
        if (self->paced)
            bench_samples_add (&lag, req->sent - req->sched);
        if (!req->acked)
            continue;
        bench_samples_add (&ack, req->acked - req->sent);
        if (self->paced)
            bench_samples_add (&ack_sched, req->acked - req->sched);
        if (req->ward)
            bench_samples_add (&ward, req->ward - req->sent);
        if (req->city)
            bench_samples_add (&city, req->city - req->sent);
    }
    if (dump) {
        FILE *file = fopen (dump, "w");
        if (file) {
            for (uint64_t n = 0; n < self->next; n++) {
                s_req_t *req = &self->reqs [n];
                fprintf (file, "%" PRId64 " %" PRId64 " %" PRId64 "\n", req->sched - self->t0,
                         req->sent - self->t0, req->acked? req->acked - self->t0: -1);
            }
            fclose (file);
        }
    }
    json_t *out = json_object ();
    json_object_set_new (out, "mode", json_string (self->paced? "open": "closed"));
    if (self->paced) {
        json_object_set_new (out, "rate", json_real (self->rate));
        json_object_set_new (out, "sockets", json_integer ((json_int_t) self->nsocks));
    }
    else {
        json_object_set_new (out, "clients", json_integer ((json_int_t) self->nsocks));
        json_object_set_new (out, "depth", json_integer ((json_int_t) self->depth));
    }
    json_object_set_new (out, "sent", json_integer ((json_int_t) self->next));
    json_object_set_new (out, "acked_ok", json_integer ((json_int_t) self->acked_ok));
    json_object_set_new (out, "refused", self->codes);
    json_object_set_new (out, "unanswered", json_integer ((json_int_t) self->outstanding));
    json_object_set_new (out, "measured", json_integer ((json_int_t) in_window));
    double window_s;
    if (self->count)
        window_s = (self->last_ack - self->t0) / 1e6;
    else
        window_s = (self->t_end - self->t_warm) / 1e6;
    json_object_set_new (out, "window_s", json_real (window_s));
    json_object_set_new (out, "acks_per_s", json_real (
        (self->count? (double) self->acked_ok: (double) self->acks_in_window) / window_s));
    json_object_set_new (out, "ack", bench_percentiles (&ack));
    if (self->paced) {
        json_object_set_new (out, "ack_from_schedule", bench_percentiles (&ack_sched));
        json_object_set_new (out, "send_lag", bench_percentiles (&lag));
    }
    for (size_t i = 0; i < self->nfeeds; i++) {
        s_feed_t *feed = &self->feeds [i];
        json_t *f = json_object ();
        json_object_set_new (f, "seen", json_integer ((json_int_t) feed->seen));
        json_object_set_new (f, "events", json_integer ((json_int_t) feed->events));
        json_object_set_new (f, "latency", bench_percentiles (feed->which? &city: &ward));
        int64_t last = feed->which? city_last: ward_last;
        if (self->count && last > self->t0)
            json_object_set_new (f, "per_s", json_real ((double) feed->seen / ((last - self->t0) / 1e6)));
        json_object_set_new (out, feed->which? "city": "ward", f);
    }
    json_object_set_new (out, "generator_cpu_s", json_real (cpu));
    bench_samples_free (&ack);
    bench_samples_free (&ack_sched);
    bench_samples_free (&lag);
    bench_samples_free (&ward);
    bench_samples_free (&city);
    for (size_t i = 0; i < self->nfeeds; i++)
        hl_hop_receiver_destroy (&self->feeds [i].receiver);
    for (size_t i = 0; i < self->nsocks; i++)
        zsock_destroy (&self->socks [i]);
    free (self->socks);
    free (self->reqs);
    zloop_destroy (&self->loop);
    bench_emit (out);
    return 0;
}
