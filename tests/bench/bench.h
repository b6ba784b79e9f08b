/*  bench.h — the `make bench` programs (one binary, one subcommand each).
 *
 *      hotline-bench sqlite      raw SQLite WAL+FULL insert limit (row 1)
 *      hotline-bench drive       load generator against a real intake, with
 *                                optional archive/city feed observers
 *                                (rows 1, 2, 3, 5)
 *      hotline-bench rtt         raw REQ/REP round trip, with and without
 *                                one fdatasync per request (row 2)
 *      hotline-bench pushpull    raw PUSH/PULL throughput (row 4)
 *      hotline-bench keys        CurveZMQ certificates for a city and wards
 *      hotline-bench wards       N simulated ward links on one zloop (row 4)
 *      hotline-bench deadlines   fill a deadline-watcher store (row 6)
 *      hotline-bench fake-intake record deadline firing lateness (row 6)
 *      hotline-bench idle        the floor: a bare process with the same
 *                                libraries, one socket, one store (row 7)
 *      hotline-bench list        case list queries to a real archive (row 8)
 *      hotline-bench list-raw    the same pages straight from SQLite (row 8)
 *      hotline-bench web-list    the web API's case list, keep-alive HTTP (row 12)
 *      hotline-bench web-submit  submits through the web API, K in flight (row 12)
 *
 *  Every subcommand prints one JSON object on its last stdout line.
 *  tests/bench/run builds this with the project's flags and runs the rows.
 */
#ifndef BENCH_H_INCLUDED
#define BENCH_H_INCLUDED

#include "hotline.h"
#include <inttypes.h>

int bench_sqlite (int argc, char **argv);
int bench_drive (int argc, char **argv);
int bench_rtt (int argc, char **argv);
int bench_pushpull (int argc, char **argv);
int bench_keys (int argc, char **argv);
int bench_wards (int argc, char **argv);
int bench_deadlines (int argc, char **argv);
int bench_fake_intake (int argc, char **argv);
int bench_idle (int argc, char **argv);
int bench_list (int argc, char **argv);
int bench_list_raw (int argc, char **argv);
int bench_web_list (int argc, char **argv);
int bench_web_submit (int argc, char **argv);

//  "--name value" options
const char *bench_opt (int argc, char **argv, const char *name, const char *dflt);
int64_t bench_opt_int (int argc, char **argv, const char *name, int64_t dflt);
double bench_opt_double (int argc, char **argv, const char *name, double dflt);

//  Monotonic microseconds
int64_t bench_us (void);
//  This process's CPU time (user+system), seconds
double bench_cpu_s (void);
//  Another process's resident set (kB) and CPU seconds; -1 if unknown
long bench_rss_kb (int pid);
double bench_proc_cpu_s (int pid);

//  A growable array of samples (microseconds)
typedef struct {
    int64_t *v;
    size_t n, cap;
} bench_samples_t;
void bench_samples_add (bench_samples_t *self, int64_t value);
void bench_samples_free (bench_samples_t *self);
//  {"n", "p50_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms"} (sorts the samples)
json_t *bench_percentiles (bench_samples_t *self);

//  Print obj as one JSON line on stdout and free it
void bench_emit (json_t *obj);

//  A submit request like the CLI's, with request id "<tag>:<n>"
zframe_t *bench_submit_frame (const char *tag, uint64_t n);
//  n from a request id "<tag>:<n>"; -1 if the tag does not match
int64_t bench_request_number (const char *tag, const char *request_id);

#endif
