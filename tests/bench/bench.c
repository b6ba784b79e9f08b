/*  hotline-bench — see bench.h  */
#include "bench.h"
#include <sys/resource.h>

const char *
bench_opt (int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i++)
        if (streq (argv [i], name))
            return argv [i + 1];
    return dflt;
}

int64_t
bench_opt_int (int argc, char **argv, const char *name, int64_t dflt)
{
    const char *value = bench_opt (argc, argv, name, NULL);
    return value? strtoll (value, NULL, 10): dflt;
}

double
bench_opt_double (int argc, char **argv, const char *name, double dflt)
{
    const char *value = bench_opt (argc, argv, name, NULL);
    return value? strtod (value, NULL): dflt;
}

int64_t
bench_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double
bench_cpu_s (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long
bench_rss_kb (int pid)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long kb = -1;
    while (fgets (line, sizeof line, file))
        if (strncmp (line, "VmRSS:", 6) == 0) {
            kb = strtol (line + 6, NULL, 10);
            break;
        }
    fclose (file);
    return kb;
}

double
bench_proc_cpu_s (int pid)
{
    char path [64], buf [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    size_t size = fread (buf, 1, sizeof buf - 1, file);
    fclose (file);
    buf [size] = 0;
    //  Fields after the command name (which may hold spaces)
    char *p = strrchr (buf, ')');
    if (!p)
        return -1;
    p += 2;
    unsigned long utime = 0, stime = 0;
    //  state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf (p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

void
bench_samples_add (bench_samples_t *self, int64_t value)
{
    if (self->n == self->cap) {
        self->cap = self->cap? self->cap * 2: 4096;
        self->v = (int64_t *) realloc (self->v, self->cap * sizeof (int64_t));
        assert (self->v);
    }
    self->v [self->n++] = value;
}

void
bench_samples_free (bench_samples_t *self)
{
    free (self->v);
    memset (self, 0, sizeof (*self));
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y? -1: x > y;
}

static double
s_pct (bench_samples_t *self, double p)
{
    if (!self->n)
        return 0;
    size_t at = (size_t) (p * (double) (self->n - 1) + 0.5);
    return self->v [at] / 1000.0;
}

json_t *
bench_percentiles (bench_samples_t *self)
{
    json_t *obj = json_object ();
    json_object_set_new (obj, "n", json_integer ((json_int_t) self->n));
    if (!self->n)
        return obj;
    qsort (self->v, self->n, sizeof (int64_t), s_cmp);
    double sum = 0;
    for (size_t i = 0; i < self->n; i++)
        sum += (double) self->v [i];
    json_object_set_new (obj, "p50_ms", json_real (s_pct (self, 0.50)));
    json_object_set_new (obj, "p90_ms", json_real (s_pct (self, 0.90)));
    json_object_set_new (obj, "p99_ms", json_real (s_pct (self, 0.99)));
    json_object_set_new (obj, "p999_ms", json_real (s_pct (self, 0.999)));
    json_object_set_new (obj, "max_ms", json_real (self->v [self->n - 1] / 1000.0));
    json_object_set_new (obj, "mean_ms", json_real (sum / (double) self->n / 1000.0));
    return obj;
}

void
bench_emit (json_t *obj)
{
    char *text = json_dumps (obj, JSON_COMPACT | JSON_REAL_PRECISION (6));
    printf ("%s\n", text);
    fflush (stdout);
    free (text);
    json_decref (obj);
}

zframe_t *
bench_submit_frame (const char *tag, uint64_t n)
{
    char request_id [64];
    snprintf (request_id, sizeof request_id, "%s:%" PRIu64, tag, n);
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    reporter.name = "Nguyễn Văn An";
    reporter.phone = "0912345678";
    Hotline__Report report = HOTLINE__REPORT__INIT;
    report.reporter = &reporter;
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    report.channel = HOTLINE__CHANNEL__PHONE;
    report.scope = HOTLINE__SCOPE__WITHIN_WARD;
    report.location = "Kênh Xáng, tổ 5";
    report.description = "Nước thải đen chảy ra kênh từ cơ sở sản xuất, mùi hôi nồng nặc"
                         " vào buổi tối, người dân khu vực phản ánh nhiều lần.";
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "submit";
    command.report = &report;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = request_id;
    request.actor = "officer:bench";
    request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request.command = &command;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
    env.request = &request;
    env.msg_id = request_id;
    return hl_msg_encode (&env);
}

int64_t
bench_request_number (const char *tag, const char *request_id)
{
    if (!request_id)
        return -1;
    size_t len = strlen (tag);
    if (strncmp (request_id, tag, len) || request_id [len] != ':')
        return -1;
    char *end = NULL;
    long long n = strtoll (request_id + len + 1, &end, 10);
    return end && !*end? (int64_t) n: -1;
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: hotline-bench sqlite|drive|rtt|pushpull|keys|wards|deadlines|"
                     "fake-intake|idle|list|list-raw|web-list|web-submit [--option value]...\n(see tests/bench/bench.h)\n");
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        s_usage ();
        return 2;
    }
    hl_log_init ("bench");
    hl_msg_set_node ("bench", "");
    const char *cmd = argv [1];
    if (streq (cmd, "sqlite"))      return bench_sqlite (argc, argv);
    if (streq (cmd, "drive"))       return bench_drive (argc, argv);
    if (streq (cmd, "rtt"))         return bench_rtt (argc, argv);
    if (streq (cmd, "pushpull"))    return bench_pushpull (argc, argv);
    if (streq (cmd, "keys"))        return bench_keys (argc, argv);
    if (streq (cmd, "wards"))       return bench_wards (argc, argv);
    if (streq (cmd, "deadlines"))   return bench_deadlines (argc, argv);
    if (streq (cmd, "fake-intake")) return bench_fake_intake (argc, argv);
    if (streq (cmd, "idle"))        return bench_idle (argc, argv);
    if (streq (cmd, "list"))        return bench_list (argc, argv);
    if (streq (cmd, "list-raw"))    return bench_list_raw (argc, argv);
    if (streq (cmd, "web-list"))    return bench_web_list (argc, argv);
    if (streq (cmd, "web-submit"))  return bench_web_submit (argc, argv);
    s_usage ();
    return 2;
}
