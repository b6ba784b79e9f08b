/*  hotline-bench pushpull — raw ZeroMQ PUSH/PULL throughput on loopback.
 *
 *      --size BYTES --count N [--curve 1]
 *
 *  One PUSH (bound) streams N messages of --size bytes to one PULL
 *  (connected, its own thread), with the high-water marks the services use.
 *  With --curve 1 the link is CurveZMQ-encrypted, like a ward link.
 */
#include "bench.h"
#include <pthread.h>

typedef struct {
    zsock_t *pull;
    size_t count;
    int64_t first, last;
} s_sink_t;

static void *
s_sink (void *arg)
{
    s_sink_t *self = (s_sink_t *) arg;
    void *handle = zsock_resolve (self->pull);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (size_t i = 0; i < self->count; i++) {
        if (zmq_msg_recv (&msg, handle, 0) < 0)
            break;
        if (i == 0)
            self->first = bench_us ();
    }
    self->last = bench_us ();
    zmq_msg_close (&msg);
    return NULL;
}

int
bench_pushpull (int argc, char **argv)
{
    size_t size = (size_t) bench_opt_int (argc, argv, "--size", 400);
    size_t count = (size_t) bench_opt_int (argc, argv, "--count", 1000000);
    bool curve = bench_opt_int (argc, argv, "--curve", 0) == 1;
    zsys_init ();
    zsock_t *push = zsock_new (ZMQ_PUSH);
    zsock_t *pull = zsock_new (ZMQ_PULL);
    zsock_set_sndhwm (push, 10000);
    zsock_set_rcvhwm (pull, 10000);
    zsock_set_linger (push, 0);
    zcert_t *server = NULL, *client = NULL;
    if (curve) {
        server = zcert_new ();
        client = zcert_new ();
        zcert_apply (server, push);
        zsock_set_curve_server (push, 1);
        zcert_apply (client, pull);
        zsock_set_curve_serverkey (pull, zcert_public_txt (server));
    }
    int port = zsock_bind (push, "tcp://127.0.0.1:*");
    zsock_connect (pull, "tcp://127.0.0.1:%d", port);
    s_sink_t sink = { pull, count, 0, 0 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_sink, &sink);
    uint8_t *payload = (uint8_t *) malloc (size);
    memset (payload, 'e', size);
    void *handle = zsock_resolve (push);
    int64_t started = bench_us ();
    for (size_t i = 0; i < count; i++)
        zmq_send (handle, payload, size, 0);
    pthread_join (thread, NULL);
    double elapsed = (sink.last - started) / 1e6;
    json_t *out = json_object ();
    json_object_set_new (out, "size", json_integer ((json_int_t) size));
    json_object_set_new (out, "count", json_integer ((json_int_t) count));
    json_object_set_new (out, "curve", json_boolean (curve));
    json_object_set_new (out, "seconds", json_real (elapsed));
    json_object_set_new (out, "msgs_per_s", json_real ((double) count / elapsed));
    json_object_set_new (out, "mb_per_s", json_real ((double) count * (double) size / elapsed / 1e6));
    free (payload);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zcert_destroy (&server);
    zcert_destroy (&client);
    bench_emit (out);
    return 0;
}
