/*  hotline-bench rtt — the raw floor under intake's acknowledgement latency.
 *
 *      --file PATH --size BYTES --seconds S
 *
 *  A REP echo server (its own thread, tcp loopback) and one REQ client,
 *  one request at a time. Phase 1: plain round trips. Phase 2: the server
 *  writes the request (pwrite of --size bytes into a preallocated file, at
 *  a rotating offset) and fdatasync()s it before answering — the cheapest
 *  honest durable acknowledgement this disk allows.
 */
#include "bench.h"
#include <pthread.h>
#include <fcntl.h>

typedef struct {
    zsock_t *rep;
    int fd;
    size_t size;
    volatile bool fsync;
} s_server_t;

#define S_FILE_SIZE (4 * 1024 * 1024)

static void *
s_server (void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    off_t offset = 0;
    while (true) {
        zframe_t *frame = zframe_recv (self->rep);
        if (!frame)
            break;
        bool stop = zframe_size (frame) == 4 && memcmp (zframe_data (frame), "STOP", 4) == 0;
        if (!stop && self->fsync) {
            size_t n = zframe_size (frame) < self->size? zframe_size (frame): self->size;
            if (pwrite (self->fd, zframe_data (frame), n, offset) != (ssize_t) n
            ||  fdatasync (self->fd))
                perror ("rtt server");
            offset = (off_t) ((offset + (off_t) self->size) % (S_FILE_SIZE - (off_t) self->size));
        }
        zframe_send (&frame, self->rep, 0);
        if (stop)
            break;
    }
    return NULL;
}

static json_t *
s_phase (zsock_t *req, size_t size, double seconds)
{
    uint8_t *payload = (uint8_t *) malloc (size);
    memset (payload, 'x', size);
    bench_samples_t rtt = { 0 };
    int64_t until = bench_us () + (int64_t) (seconds * 1e6);
    while (bench_us () < until) {
        zframe_t *frame = zframe_new (payload, size);
        int64_t sent = bench_us ();
        zframe_send (&frame, req, 0);
        frame = zframe_recv (req);
        bench_samples_add (&rtt, bench_us () - sent);
        zframe_destroy (&frame);
    }
    free (payload);
    json_t *out = bench_percentiles (&rtt);
    json_object_set_new (out, "per_s", json_real ((double) rtt.n / seconds));
    bench_samples_free (&rtt);
    return out;
}

int
bench_rtt (int argc, char **argv)
{
    const char *path = bench_opt (argc, argv, "--file", NULL);
    size_t size = (size_t) bench_opt_int (argc, argv, "--size", 512);
    double seconds = bench_opt_double (argc, argv, "--seconds", 3);
    if (!path || size < 4) {
        fprintf (stderr, "usage: hotline-bench rtt --file PATH [--size N] [--seconds S]\n");
        return 2;
    }
    zsys_init ();
    s_server_t server = { 0 };
    server.size = size;
    server.fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (server.fd < 0) {
        perror (path);
        return 1;
    }
    //  Preallocate so that fdatasync has no size change to record
    uint8_t *zeros = (uint8_t *) calloc (1, 65536);
    for (int i = 0; i < S_FILE_SIZE / 65536; i++)
        if (write (server.fd, zeros, 65536) != 65536)
            return 1;
    free (zeros);
    fsync (server.fd);
    server.rep = zsock_new (ZMQ_REP);
    int port = zsock_bind (server.rep, "tcp://127.0.0.1:*");
    zsock_t *req = zsock_new (ZMQ_REQ);
    zsock_connect (req, "tcp://127.0.0.1:%d", port);
    pthread_t thread;
    pthread_create (&thread, NULL, s_server, &server);

    json_t *out = json_object ();
    s_phase (req, size, 0.2);       //  warm up
    json_object_set_new (out, "rtt", s_phase (req, size, seconds / 3));
    server.fsync = true;
    s_phase (req, size, 0.2);
    json_object_set_new (out, "rtt_fsync", s_phase (req, size, seconds * 2 / 3));
    json_object_set_new (out, "size", json_integer ((json_int_t) size));

    zframe_t *stop = zframe_new ("STOP", 4);
    zframe_send (&stop, req, 0);
    stop = zframe_recv (req);
    zframe_destroy (&stop);
    pthread_join (thread, NULL);
    zsock_destroy (&req);
    zsock_destroy (&server.rep);
    close (server.fd);
    unlink (path);
    bench_emit (out);
    return 0;
}
