/*  hl_metrics — health, readiness, status and Prometheus metrics over HTTP.  */
#include "hotline.h"
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <curl/curl.h>
#include <dirent.h>
#include <sys/resource.h>

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

//  Latency buckets, seconds
static const double s_latency_buckets [] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};
#define S_LATENCY_BUCKETS (sizeof s_latency_buckets / sizeof s_latency_buckets [0])

//  Well-known metrics: type, HELP text, and whether /status lists the gauge
//  as a queue depth
typedef struct {
    const char *name;
    s_type_t type;
    bool queue;
    const char *help;
} s_known_t;

static const s_known_t s_known [] = {
    //  intake
    { "hotline_cases_received_total", S_COUNTER, false,
      "New cases accepted (submit commands committed) since start." },
    { "hotline_events_written_total", S_COUNTER, false,
      "Events committed to the node log by intake since start." },
    { "hotline_ack_latency_seconds", S_HISTOGRAM, false,
      "Intake acknowledgement latency: request received to reply sent after commit." },
    { "hotline_intake_log_seq", S_GAUGE, false, "Last seq intake wrote to the node log." },
    { "hotline_outbox_backlog", S_GAUGE, true,
      "Events intake committed that the archive has not acknowledged yet." },
    { "hotline_oldest_unacked_age_seconds", S_GAUGE, true,
      "Age of the oldest event intake committed that the archive has not acknowledged." },
    //  archive
    { "hotline_archive_log_seq", S_GAUGE, false, "Last seq of the archive's log." },
    { "hotline_archive_intake_cursor", S_GAUGE, false,
      "Last intake seq the archive applied (its durable cursor)." },
    { "hotline_open_cases", S_GAUGE, true, "Cases in the archive not in a final state." },
    { "hotline_federation_forwarded_total", S_COUNTER, false,
      "Ward: log events the city acknowledged since start." },
    { "hotline_federation_backlog", S_GAUGE, true,
      "Ward: log events the city has not acknowledged yet." },
    { "hotline_federation_oldest_unacked_age_seconds", S_GAUGE, true,
      "Ward: age of the oldest log event the city has not acknowledged." },
    { "hotline_federation_filed_total", S_COUNTER, false,
      "Ward: the city's filings (reports, a reporter's actions) our intake did since start." },
    { "hotline_federation_filings_refused_total", S_COUNTER, false,
      "Ward: the city's filings refused since start (by intake: told to the city; not ours to take: dropped)." },
    { "hotline_federation_evidence_backlog", S_GAUGE, true,
      "Ward: pieces (256 KiB) of forwarded cases' evidence files the city has not acknowledged." },
    { "hotline_federation_evidence_files_total", S_COUNTER, false,
      "City: evidence files from the wards checked (SHA-256) and stored since start." },
    { "hotline_federation_evidence_bytes_total", S_COUNTER, false,
      "City: bytes of the evidence files from the wards stored since start." },
    { "hotline_federation_evidence_refused_total", S_COUNTER, false,
      "City: evidence pieces or files from the wards refused (malformed, another ward's case, a"
      " hash that does not match, lost at the ward) since start." },
    { "hotline_federation_filing_evidence_sent_total", S_COUNTER, false,
      "City: files of reports filed at a ward that the ward has (its copy at the city deleted) since start." },
    { "hotline_federation_filing_evidence_files_total", S_COUNTER, false,
      "Ward: files of the city's filings checked (SHA-256) and stored since start." },
    { "hotline_federation_filing_evidence_bytes_total", S_COUNTER, false,
      "Ward: bytes of the files of the city's filings stored since start." },
    { "hotline_federation_filing_evidence_refused_total", S_COUNTER, false,
      "Ward: pieces or files of the city's filings refused (malformed, a hash that does not match,"
      " lost at the city) since start." },
    { "hotline_federation_filings_without_files_total", S_COUNTER, false,
      "Ward: the city's filings filed without some of their files, still missing after 10 minutes." },
    //  log consumers (routing, deadline-watcher, notification)
    { "hotline_consumer_cursor", S_GAUGE, false, "Last log seq this consumer applied." },
    { "hotline_consumer_lag", S_GAUGE, true,
      "Log events the archive reported that this consumer has not applied." },
    //  routing
    { "hotline_routing_decisions_total", S_COUNTER, false,
      "Route commands intake accepted from this routing service since start." },
    //  deadline-watcher
    { "hotline_deadline_warnings_total", S_COUNTER, false, "Deadline warnings fired since start." },
    { "hotline_deadline_breaches_total", S_COUNTER, false, "Deadline breaches fired since start." },
    { "hotline_deadline_pending_firings", S_GAUGE, true,
      "Warnings and breaches waiting in the timer heap." },
    //  notification
    { "hotline_notifications_sent_total", S_COUNTER, false,
      "Notifications delivered (e-mail, SMS, log) since start." },
    { "hotline_notifications_failed_total", S_COUNTER, false,
      "Notification delivery attempts that failed since start." },
    { "hotline_notifications_pending", S_GAUGE, true, "Notifications waiting to be delivered." },
    { "hotline_notifications_dead", S_GAUGE, true, "Dead letters: notifications given up on." },
    { "hotline_notifications_oldest_pending_age_seconds", S_GAUGE, true,
      "Age of the oldest notification waiting to be delivered (0: none)." },
    { "hotline_notifications_resent_total", S_COUNTER, false,
      "Dead letters moved back to pending by hotline deadletter resend since start." },
    { "hotline_smtp_reachable", S_GAUGE, true,
      "1 when the SMTP server took a connection at the last check (every 30 s); 0 when not, or e-mail is off." },
    //  city archive, one series per ward (label ward)
    { "hotline_ward_last_event_timestamp_seconds", S_GAUGE, false,
      "City: when the last event from this ward was applied (Unix time; 0: none yet)." },
    { "hotline_ward_last_event_age_seconds", S_GAUGE, false,
      "City: seconds since the last event from this ward was applied." },
    { "hotline_ward_cursor", S_GAUGE, false,
      "City: the last log seq of this ward the city applied (its durable cursor)." },
    { NULL, S_COUNTER, false, NULL }
};

typedef struct {
    char *name;
    s_type_t type;
    bool queue;
    const char *help;
    _Atomic uint64_t count;             //  counter value
    _Atomic double value;               //  gauge value
    _Atomic double sum;                 //  histogram sum
    const double *bounds;               //  histogram upper bounds
    size_t nbounds;
    _Atomic uint64_t *buckets;          //  nbounds + 1 (last: above every bound)
} s_metric_t;

typedef struct {
    hl_metrics_refresh_fn *fn;
    void *arg;
} s_hook_t;

#define S_MAX_HOOKS 8

struct _hl_metrics_t {
    char *service;
    char *node;
    char *role;
    char *version;
    pthread_mutex_t mutex;              //  registry, strings
    zhashx_t *by_name;                  //  name -> s_metric_t
    s_metric_t **metrics;
    size_t nmetrics, capacity;
    s_hook_t hooks [S_MAX_HOOKS];
    size_t nhooks;
    hl_metrics_ready_fn *ready_fn;
    void *ready_arg;
    int64_t started_mono;
    _Atomic int64_t heartbeat;          //  zclock_mono () of the last heartbeat
    _Atomic int64_t stale_ms;
    _Atomic int state;                  //  0 starting, 1 running, 2 stopping
    _Atomic bool ready;                 //  the hook's last answer
    char ready_reason [160];
    char last_error [256];
    struct MHD_Daemon *daemon;
    int port;
};

static const char *s_state_names [] = { "starting", "running", "stopping" };
static hl_metrics_t *s_default = NULL;

// ---------------------------------------------------------------- registry

hl_metrics_t *
hl_metrics_new (const char *service, const char *node)
{
    hl_metrics_t *self = (hl_metrics_t *) zmalloc (sizeof (hl_metrics_t));
    self->service = hl_strdup (service? service: "hotline");
    self->node = hl_strdup (node? node: "");
    self->role = hl_strdup ("");
    self->version = hl_strdup (HOTLINE_VERSION);
    pthread_mutex_init (&self->mutex, NULL);
    self->by_name = zhashx_new ();
    self->started_mono = zclock_mono ();
    atomic_store (&self->heartbeat, self->started_mono);
    atomic_store (&self->stale_ms, 5000);
    atomic_store (&self->state, 0);
    atomic_store (&self->ready, true);
    return self;
}

void
hl_metrics_destroy (hl_metrics_t **self_p)
{
    assert (self_p);
    hl_metrics_t *self = *self_p;
    if (self) {
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        if (s_default == self)
            s_default = NULL;
        for (size_t i = 0; i < self->nmetrics; i++) {
            free (self->metrics [i]->name);
            free ((void *) self->metrics [i]->buckets);
            free (self->metrics [i]);
        }
        free (self->metrics);
        zhashx_destroy (&self->by_name);
        pthread_mutex_destroy (&self->mutex);
        free (self->service);
        free (self->node);
        free (self->role);
        free (self->version);
        free (self);
        *self_p = NULL;
    }
}

hl_metrics_t *hl_metrics_default (void) { return s_default; }
void hl_metrics_set_default (hl_metrics_t *self) { s_default = self; }

void
hl_metrics_set_info (hl_metrics_t *self, const char *role, const char *version)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    free (self->role);
    self->role = hl_strdup (role? role: "");
    free (self->version);
    self->version = hl_strdup (version? version: HOTLINE_VERSION);
    pthread_mutex_unlock (&self->mutex);
}

//  Find or create a metric; the caller holds no lock
static s_metric_t *
s_lookup (hl_metrics_t *self, const char *name, s_type_t type)
{
    pthread_mutex_lock (&self->mutex);
    s_metric_t *metric = (s_metric_t *) zhashx_lookup (self->by_name, name);
    if (!metric) {
        metric = (s_metric_t *) zmalloc (sizeof (s_metric_t));
        metric->name = hl_strdup (name);
        metric->type = type;
        metric->help = "";
        //  A labelled series (name{ward="31001"}) is its base name's
        size_t base = strcspn (name, "{");
        for (const s_known_t *known = s_known; known->name; known++)
            if (strlen (known->name) == base && strncmp (known->name, name, base) == 0) {
                metric->type = known->type;
                metric->help = known->help;
                metric->queue = known->queue;
            }
        if (metric->type == S_HISTOGRAM) {
            metric->bounds = s_latency_buckets;
            metric->nbounds = S_LATENCY_BUCKETS;
            metric->buckets = (_Atomic uint64_t *) zmalloc ((metric->nbounds + 1) * sizeof (_Atomic uint64_t));
        }
        if (self->nmetrics == self->capacity) {
            self->capacity = self->capacity? self->capacity * 2: 16;
            self->metrics = (s_metric_t **) hl_realloc (self->metrics, self->capacity * sizeof (s_metric_t *));
        }
        self->metrics [self->nmetrics++] = metric;
        zhashx_insert (self->by_name, name, metric);
    }
    pthread_mutex_unlock (&self->mutex);
    return metric;
}

void
hl_metrics_add (hl_metrics_t *self, const char *name, uint64_t by)
{
    if (!self)
        return;
    s_metric_t *metric = s_lookup (self, name, S_COUNTER);
    if (metric->type == S_COUNTER)
        atomic_fetch_add (&metric->count, by);
}

void
hl_metrics_set (hl_metrics_t *self, const char *name, double value)
{
    if (!self)
        return;
    s_metric_t *metric = s_lookup (self, name, S_GAUGE);
    if (metric->type == S_GAUGE)
        atomic_store (&metric->value, value);
}

void
hl_metrics_observe (hl_metrics_t *self, const char *name, double value, uint64_t count)
{
    if (!self || count == 0)
        return;
    s_metric_t *metric = s_lookup (self, name, S_HISTOGRAM);
    if (metric->type != S_HISTOGRAM)
        return;
    size_t bucket = 0;
    while (bucket < metric->nbounds && value > metric->bounds [bucket])
        bucket++;
    atomic_fetch_add (&metric->buckets [bucket], count);
    double sum = atomic_load (&metric->sum);
    while (!atomic_compare_exchange_weak (&metric->sum, &sum, sum + value * (double) count))
        ;
}

static uint64_t
s_histogram_count (s_metric_t *metric)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= metric->nbounds; i++)
        total += atomic_load (&metric->buckets [i]);
    return total;
}

double
hl_metrics_value (hl_metrics_t *self, const char *name)
{
    if (!self)
        return 0;
    pthread_mutex_lock (&self->mutex);
    s_metric_t *metric = (s_metric_t *) zhashx_lookup (self->by_name, name);
    pthread_mutex_unlock (&self->mutex);
    if (!metric)
        return 0;
    if (metric->type == S_COUNTER)
        return (double) atomic_load (&metric->count);
    if (metric->type == S_GAUGE)
        return atomic_load (&metric->value);
    return (double) s_histogram_count (metric);
}

// ---------------------------------------------------------------- loop side

void
hl_metrics_on_refresh (hl_metrics_t *self, hl_metrics_refresh_fn *fn, void *arg)
{
    if (!self || self->nhooks == S_MAX_HOOKS)
        return;
    self->hooks [self->nhooks].fn = fn;
    self->hooks [self->nhooks].arg = arg;
    self->nhooks++;
}

void
hl_metrics_set_ready_fn (hl_metrics_t *self, hl_metrics_ready_fn *fn, void *arg)
{
    if (!self)
        return;
    self->ready_fn = fn;
    self->ready_arg = arg;
}

void
hl_metrics_refresh (hl_metrics_t *self)
{
    if (!self)
        return;
    atomic_store (&self->heartbeat, zclock_mono ());
    for (size_t i = 0; i < self->nhooks; i++)
        self->hooks [i].fn (self->hooks [i].arg);
    char reason [160] = "";
    bool ready = self->ready_fn? self->ready_fn (self->ready_arg, reason, sizeof reason): true;
    pthread_mutex_lock (&self->mutex);
    //  Ready with a reason: what the service wants an operator to see
    //  (notification: its dead letters), shown by /readyz and /status
    snprintf (self->ready_reason, sizeof self->ready_reason, "%s", reason);
    snprintf (self->last_error, sizeof self->last_error, "%s", hl_log_last_error ());
    pthread_mutex_unlock (&self->mutex);
    atomic_store (&self->ready, ready);
}

void
hl_metrics_set_state (hl_metrics_t *self, const char *state)
{
    if (!self)
        return;
    for (int i = 0; i < 3; i++)
        if (streq (state, s_state_names [i]))
            atomic_store (&self->state, i);
}

static int64_t
s_heartbeat_age (hl_metrics_t *self)
{
    return zclock_mono () - atomic_load (&self->heartbeat);
}

int64_t
hl_metrics_heartbeat_age (hl_metrics_t *self)
{
    return self? s_heartbeat_age (self): 0;
}

void
hl_metrics_set_stale_ms (hl_metrics_t *self, int64_t stale_ms)
{
    if (self)
        atomic_store (&self->stale_ms, stale_ms);
}

static bool
s_healthy (hl_metrics_t *self)
{
    return s_heartbeat_age (self) <= atomic_load (&self->stale_ms);
}

static bool
s_ready (hl_metrics_t *self)
{
    return atomic_load (&self->state) == 1 && atomic_load (&self->ready) && s_healthy (self);
}

// ---------------------------------------------------------------- rendering

//  The process, from /proc/self (any thread may read it); -1 when unknown
typedef struct {
    int64_t rss_bytes;
    int64_t open_fds;
    int64_t max_fds;
    double cpu_seconds;
} s_process_t;

static void
s_process (s_process_t *process)
{
    process->rss_bytes = process->open_fds = process->max_fds = -1;
    process->cpu_seconds = -1;
    FILE *file = fopen ("/proc/self/statm", "re");
    long long pages_total, pages_resident;
    if (file && fscanf (file, "%lld %lld", &pages_total, &pages_resident) == 2)
        process->rss_bytes = pages_resident * (int64_t) sysconf (_SC_PAGESIZE);
    if (file)
        fclose (file);
    DIR *dir = opendir ("/proc/self/fd");
    if (dir) {
        int64_t count = 0;
        struct dirent *entry;
        while ((entry = readdir (dir)))
            if (entry->d_name [0] != '.')
                count++;
        process->open_fds = count - 1;      //  not the one reading the directory
        closedir (dir);
    }
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
        process->max_fds = limit.rlim_cur == RLIM_INFINITY? -1: (int64_t) limit.rlim_cur;
    //  utime and stime are fields 14 and 15, counted after the command's
    //  closing parenthesis (the command may hold spaces and parentheses)
    file = fopen ("/proc/self/stat", "re");
    char line [1024];
    if (file && fgets (line, sizeof line, file)) {
        char *p = strrchr (line, ')');
        unsigned long long utime, stime;
        if (p && sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                         &utime, &stime) == 2)
            process->cpu_seconds = (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
    }
    if (file)
        fclose (file);
}

//  By base name, then labels: a metric's series must be adjacent, under
//  one HELP and TYPE ("x{" sorts after "x_y" by plain strcmp)
static int
s_by_name (const void *a, const void *b)
{
    const char *x = (*(s_metric_t * const *) a)->name;
    const char *y = (*(s_metric_t * const *) b)->name;
    size_t xl = strcspn (x, "{"), yl = strcspn (y, "{");
    int rc = strncmp (x, y, xl < yl? xl: yl);
    if (rc == 0 && xl != yl)
        return xl < yl? -1: 1;
    return rc? rc: strcmp (x, y);
}

//  A snapshot of the metric pointers, sorted by name (caller frees)
static s_metric_t **
s_snapshot (hl_metrics_t *self, size_t *count)
{
    pthread_mutex_lock (&self->mutex);
    *count = self->nmetrics;
    s_metric_t **list = (s_metric_t **) zmalloc ((self->nmetrics + 1) * sizeof (s_metric_t *));
    if (self->nmetrics)
        memcpy (list, self->metrics, self->nmetrics * sizeof (s_metric_t *));
    pthread_mutex_unlock (&self->mutex);
    qsort (list, *count, sizeof (s_metric_t *), s_by_name);
    return list;
}

//  Label values: escape \ " and newline
static void
s_label_value (zchunk_t *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\' || *p == '"')
            zchunk_extend (out, "\\", 1);
        if (*p == '\n')
            zchunk_extend (out, "\\n", 2);
        else
            zchunk_extend (out, p, 1);
    }
}

static void
s_printf (zchunk_t *out, const char *fmt, ...)
{
    char line [1024];
    va_list args;
    va_start (args, fmt);
    int len = vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    if (len > 0)
        zchunk_extend (out, line, (size_t) len < sizeof line? (size_t) len: sizeof line - 1);
}

//  {service="..",node=".."[,extra]}
static void
s_labels (hl_metrics_t *self, zchunk_t *out, const char *extra)
{
    zchunk_extend (out, "{service=\"", 10);
    s_label_value (out, self->service);
    zchunk_extend (out, "\",node=\"", 8);
    s_label_value (out, self->node);
    zchunk_extend (out, "\"", 1);
    if (extra) {
        zchunk_extend (out, ",", 1);
        zchunk_extend (out, extra, strlen (extra));
    }
    zchunk_extend (out, "}", 1);
}

static void
s_header (zchunk_t *out, const char *name, const char *type, const char *help)
{
    if (help && *help)
        s_printf (out, "# HELP %s %s\n", name, help);
    s_printf (out, "# TYPE %s %s\n", name, type);
}

char *
hl_metrics_render (hl_metrics_t *self)
{
    if (!self)
        return hl_strdup ("");
    zchunk_t *out = zchunk_new (NULL, 4096);
    //  Process-level series
    pthread_mutex_lock (&self->mutex);
    char info [256];
    snprintf (info, sizeof info, "version=\"%s\",role=\"%s\"", self->version, self->role);
    pthread_mutex_unlock (&self->mutex);
    s_header (out, "hotline_build_info", "gauge", "Build and role of this service (always 1).");
    zchunk_extend (out, "hotline_build_info", 18);
    s_labels (self, out, info);
    zchunk_extend (out, " 1\n", 3);
    s_header (out, "hotline_uptime_seconds", "gauge", "Seconds since the service started.");
    zchunk_extend (out, "hotline_uptime_seconds", 22);
    s_labels (self, out, NULL);
    s_printf (out, " %.3f\n", (zclock_mono () - self->started_mono) / 1000.0);
    s_header (out, "hotline_heartbeat_age_seconds", "gauge",
              "Seconds since the service's loop last beat (healthz fails above 5).");
    zchunk_extend (out, "hotline_heartbeat_age_seconds", 29);
    s_labels (self, out, NULL);
    s_printf (out, " %.3f\n", s_heartbeat_age (self) / 1000.0);
    s_process_t process;
    s_process (&process);
    s_header (out, "hotline_process_resident_memory_bytes", "gauge",
              "Resident set size of the process (/proc/self/statm).");
    zchunk_extend (out, "hotline_process_resident_memory_bytes", 37);
    s_labels (self, out, NULL);
    s_printf (out, " %" PRId64 "\n", process.rss_bytes);
    s_header (out, "hotline_process_open_fds", "gauge", "Open file descriptors (/proc/self/fd).");
    zchunk_extend (out, "hotline_process_open_fds", 24);
    s_labels (self, out, NULL);
    s_printf (out, " %" PRId64 "\n", process.open_fds);
    s_header (out, "hotline_process_max_fds", "gauge", "The open file descriptor limit (RLIMIT_NOFILE).");
    zchunk_extend (out, "hotline_process_max_fds", 23);
    s_labels (self, out, NULL);
    s_printf (out, " %" PRId64 "\n", process.max_fds);
    s_header (out, "hotline_process_cpu_seconds_total", "counter",
              "User and system CPU time of the process (/proc/self/stat).");
    zchunk_extend (out, "hotline_process_cpu_seconds_total", 33);
    s_labels (self, out, NULL);
    s_printf (out, " %.2f\n", process.cpu_seconds);
    s_header (out, "hotline_ready", "gauge", "1 when the service is ready (readyz answers 200).");
    zchunk_extend (out, "hotline_ready", 13);
    s_labels (self, out, NULL);
    s_printf (out, " %d\n", s_ready (self)? 1: 0);

    size_t count;
    s_metric_t **list = s_snapshot (self, &count);
    for (size_t i = 0; i < count; i++) {
        s_metric_t *metric = list [i];
        const char *type = metric->type == S_COUNTER? "counter":
                           metric->type == S_GAUGE? "gauge": "histogram";
        //  name{labels}: the base name, and the labels beside ours
        size_t base = strcspn (metric->name, "{");
        char extra [256] = "";
        if (metric->name [base])
            snprintf (extra, sizeof extra, "%.*s", (int) (strlen (metric->name) - base - 2),
                      metric->name + base + 1);
        char name [160];
        snprintf (name, sizeof name, "%.*s", (int) base, metric->name);
        if (i == 0 || strlen (list [i - 1]->name) < base || strncmp (list [i - 1]->name, name, base)
        ||  (list [i - 1]->name [base] != '{' && list [i - 1]->name [base] != 0))
            s_header (out, name, type, metric->help);
        if (metric->type == S_COUNTER) {
            zchunk_extend (out, name, strlen (name));
            s_labels (self, out, *extra? extra: NULL);
            s_printf (out, " %" PRIu64 "\n", atomic_load (&metric->count));
        }
        else
        if (metric->type == S_GAUGE) {
            zchunk_extend (out, name, strlen (name));
            s_labels (self, out, *extra? extra: NULL);
            s_printf (out, " %.17g\n", atomic_load (&metric->value));
        }
        else {
            //  Cumulative buckets from one read of each bucket, so that
            //  +Inf and _count agree
            uint64_t cumulative = 0;
            for (size_t b = 0; b <= metric->nbounds; b++) {
                cumulative += atomic_load (&metric->buckets [b]);
                char le [64];
                if (b < metric->nbounds)
                    snprintf (le, sizeof le, "le=\"%g\"", metric->bounds [b]);
                else
                    snprintf (le, sizeof le, "le=\"+Inf\"");
                s_printf (out, "%s_bucket", metric->name);
                s_labels (self, out, le);
                s_printf (out, " %" PRIu64 "\n", cumulative);
            }
            s_printf (out, "%s_sum", metric->name);
            s_labels (self, out, NULL);
            s_printf (out, " %.17g\n", atomic_load (&metric->sum));
            s_printf (out, "%s_count", metric->name);
            s_labels (self, out, NULL);
            s_printf (out, " %" PRIu64 "\n", cumulative);
        }
    }
    free (list);
    char *text = (char *) zmalloc (zchunk_size (out) + 1);
    memcpy (text, zchunk_data (out), zchunk_size (out));
    text [zchunk_size (out)] = 0;
    zchunk_destroy (&out);
    return text;
}

json_t *
hl_metrics_status (hl_metrics_t *self)
{
    if (!self)
        return json_object ();
    json_t *status = json_object ();
    pthread_mutex_lock (&self->mutex);
    json_object_set_new (status, "service", json_string (self->service));
    json_object_set_new (status, "node", json_string (self->node));
    json_object_set_new (status, "role", json_string (self->role));
    json_object_set_new (status, "version", json_string (self->version));
    json_object_set_new (status, "last_error", json_string (self->last_error));
    json_object_set_new (status, "ready_reason", json_string (self->ready_reason));
    pthread_mutex_unlock (&self->mutex);
    json_object_set_new (status, "state", json_string (s_state_names [atomic_load (&self->state)]));
    json_object_set_new (status, "pid", json_integer (getpid ()));
    json_object_set_new (status, "uptime_s", json_integer ((zclock_mono () - self->started_mono) / 1000));
    json_object_set_new (status, "heartbeat_age_ms", json_integer (s_heartbeat_age (self)));
    s_process_t process;
    s_process (&process);
    json_object_set_new (status, "process", json_pack ("{s:I, s:I, s:I, s:f}",
        "rss_bytes", (json_int_t) process.rss_bytes, "open_fds", (json_int_t) process.open_fds,
        "max_fds", (json_int_t) process.max_fds, "cpu_seconds", process.cpu_seconds));
    json_object_set_new (status, "healthy", json_boolean (s_healthy (self)));
    json_object_set_new (status, "ready", json_boolean (s_ready (self)));
    json_t *queues = json_object ();
    json_t *counters = json_object ();
    json_t *gauges = json_object ();
    json_t *histograms = json_object ();
    size_t count;
    s_metric_t **list = s_snapshot (self, &count);
    for (size_t i = 0; i < count; i++) {
        s_metric_t *metric = list [i];
        if (metric->type == S_COUNTER)
            json_object_set_new (counters, metric->name, json_integer ((json_int_t) atomic_load (&metric->count)));
        else
        if (metric->type == S_GAUGE) {
            double value = atomic_load (&metric->value);
            json_object_set_new (gauges, metric->name, json_real (value));
            if (metric->queue)
                json_object_set_new (queues, metric->name, json_real (value));
        }
        else {
            json_t *histogram = json_object ();
            json_object_set_new (histogram, "count", json_integer ((json_int_t) s_histogram_count (metric)));
            json_object_set_new (histogram, "sum", json_real (atomic_load (&metric->sum)));
            json_object_set_new (histograms, metric->name, histogram);
        }
    }
    free (list);
    json_object_set_new (status, "queues", queues);
    json_object_set_new (status, "counters", counters);
    json_object_set_new (status, "gauges", gauges);
    json_object_set_new (status, "histograms", histograms);
    return status;
}

// ---------------------------------------------------------------- HTTP

static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned int code, const char *type, char *body)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (body), body,
                                                                     MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (response, "Content-Type", type);
    MHD_add_response_header (response, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response (connection, code, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_handler (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version; (void) upload_data; (void) upload_data_size; (void) con_cls;
    hl_metrics_t *self = (hl_metrics_t *) cls;
    if (strneq (method, "GET") && strneq (method, "HEAD"))
        return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", hl_strdup ("GET only\n"));
    if (streq (url, "/metrics"))
        return s_reply (connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                        hl_metrics_render (self));
    if (streq (url, "/healthz")) {
        bool ok = s_healthy (self);
        return s_reply (connection, ok? MHD_HTTP_OK: MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                        zsys_sprintf (ok? "ok\n": "stale: loop silent for %" PRId64 " ms\n",
                                      s_heartbeat_age (self)));
    }
    if (streq (url, "/readyz")) {
        bool ok = s_ready (self);
        char reason [200];
        pthread_mutex_lock (&self->mutex);
        snprintf (reason, sizeof reason, "%s", self->ready_reason);
        pthread_mutex_unlock (&self->mutex);
        int state = atomic_load (&self->state);
        return s_reply (connection, ok? MHD_HTTP_OK: MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                        ok? (*reason? zsys_sprintf ("ready: %s\n", reason): hl_strdup ("ready\n")):
                        state != 1? zsys_sprintf ("not ready: %s\n", s_state_names [state]):
                        !s_healthy (self)? hl_strdup ("not ready: loop stale\n"):
                        zsys_sprintf ("not ready: %s\n", *reason? reason: "not ready"));
    }
    if (streq (url, "/status")) {
        json_t *status = hl_metrics_status (self);
        char *text = json_dumps (status, JSON_INDENT (2) | JSON_SORT_KEYS);
        json_decref (status);
        size_t len = strlen (text);
        char *body = (char *) hl_realloc (text, len + 2);
        body [len] = '\n';
        body [len + 1] = 0;
        return s_reply (connection, MHD_HTTP_OK, "application/json", body);
    }
    return s_reply (connection, MHD_HTTP_NOT_FOUND, "text/plain",
                    hl_strdup ("not found: /metrics /healthz /readyz /status\n"));
}

int
hl_metrics_listen_addr (const char *endpoint, bool resolve, struct sockaddr_in *addr)
{
    assert (addr);
    if (!endpoint)
        return -1;
    const char *p = endpoint;
    if (strncmp (p, "tcp://", 6) == 0)
        p += 6;
    else
    if (strncmp (p, "http://", 7) == 0)
        p += 7;
    const char *colon = strrchr (p, ':');
    if (!colon || colon == p || strlen (colon + 1) == 0)
        return -1;
    char host [256];
    snprintf (host, sizeof host, "%.*s", (int) (colon - p), p);
    const char *port_text = colon + 1;
    long port = 0;
    if (strneq (port_text, "*")) {
        char *end;
        port = strtol (port_text, &end, 10);
        if (*end || port < 0 || port > 65535)
            return -1;
    }
    memset (addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons ((uint16_t) port);
    if (streq (host, "*") || streq (host, "0.0.0.0"))
        addr->sin_addr.s_addr = htonl (INADDR_ANY);
    else
    if (streq (host, "localhost"))
        addr->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    else
    if (inet_pton (AF_INET, host, &addr->sin_addr) != 1) {
        if (!resolve)
            return -1;
        struct addrinfo hints, *found = NULL;
        memset (&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo (host, NULL, &hints, &found) || !found)
            return -1;
        addr->sin_addr = ((struct sockaddr_in *) found->ai_addr)->sin_addr;
        freeaddrinfo (found);
    }
    return 0;
}

int
hl_metrics_serve (hl_metrics_t *self, const char *endpoint)
{
    if (!self || self->daemon)
        return -1;
    struct sockaddr_in addr;
    if (hl_metrics_listen_addr (endpoint, true, &addr)) {
        hl_error ("metrics: '%s' is not an HTTP endpoint (tcp://HOST:PORT)", endpoint? endpoint: "");
        return -1;
    }
    //  SIGINT/SIGTERM must reach the service's loop thread, not the HTTP
    //  thread: block them while MHD creates its thread (it inherits the mask)
    sigset_t block, saved;
    sigemptyset (&block);
    sigaddset (&block, SIGINT);
    sigaddset (&block, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &block, &saved);
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
                                     0, NULL, NULL, s_handler, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
                                     MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    if (!self->daemon) {
        hl_error ("metrics: cannot serve HTTP on %s: %s", endpoint, strerror (errno));
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info? (int) info->port: ntohs (addr.sin_port);
    hl_debug ("metrics: HTTP on %s (port %d)", endpoint, self->port);
    return 0;
}

int
hl_metrics_port (hl_metrics_t *self)
{
    return self? self->port: 0;
}

// ---------------------------------------------------------------- selftest

static size_t
s_test_write (char *data, size_t size, size_t nmemb, void *arg)
{
    zchunk_extend ((zchunk_t *) arg, data, size * nmemb);
    return size * nmemb;
}

//  GET a path; returns the HTTP code, body in *body (caller frees)
static long
s_test_get (int port, const char *path, char **body)
{
    CURL *curl = curl_easy_init ();
    char url [128];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    zchunk_t *chunk = zchunk_new (NULL, 1024);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_test_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, chunk);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 5000L);
    long code = 0;
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup (curl);
    zchunk_extend (chunk, "", 1);
    *body = hl_strdup ((char *) zchunk_data (chunk));
    zchunk_destroy (&chunk);
    return code;
}

static void
s_test_refresh (void *arg)
{
    int *calls = (int *) arg;
    (*calls)++;
}

static bool
s_test_ready (void *arg, char *reason, size_t size)
{
    bool *ready = (bool *) arg;
    snprintf (reason, size, "%s", *ready? "2 dead letters": "store not open");
    return *ready;
}

void
hl_metrics_test (bool verbose)
{
    printf (" * hl_metrics: ");
    curl_global_init (CURL_GLOBAL_DEFAULT);
    //  NULL registry: every call is a no-op
    hl_metrics_add (NULL, "x_total", 1);
    hl_metrics_set (NULL, "x", 1);
    hl_metrics_observe (NULL, "x_seconds", 1, 1);
    assert (hl_metrics_value (NULL, "x_total") == 0);

    hl_metrics_t *metrics = hl_metrics_new ("intake", "ward-\"42\"");
    hl_metrics_set_info (metrics, "ward", HOTLINE_VERSION);
    //  Counters add, gauges set, histograms count
    hl_metrics_add (metrics, "hotline_cases_received_total", 2);
    hl_metrics_add (metrics, "hotline_cases_received_total", 3);
    assert (hl_metrics_value (metrics, "hotline_cases_received_total") == 5);
    hl_metrics_set (metrics, "hotline_outbox_backlog", 7);
    hl_metrics_set (metrics, "hotline_outbox_backlog", 4);
    assert (hl_metrics_value (metrics, "hotline_outbox_backlog") == 4);
    hl_metrics_observe (metrics, "hotline_ack_latency_seconds", 0.003, 2);     //  le 0.005
    hl_metrics_observe (metrics, "hotline_ack_latency_seconds", 0.2, 1);       //  le 0.25
    hl_metrics_observe (metrics, "hotline_ack_latency_seconds", 60, 1);        //  +Inf only
    assert (hl_metrics_value (metrics, "hotline_ack_latency_seconds") == 4);
    //  A known counter name used as a gauge keeps its type: the set is ignored
    hl_metrics_set (metrics, "hotline_cases_received_total", 99);
    assert (hl_metrics_value (metrics, "hotline_cases_received_total") == 5);
    //  An unknown name gets the type of its first use
    hl_metrics_add (metrics, "hotline_custom_total", 1);
    assert (hl_metrics_value (metrics, "hotline_custom_total") == 1);
    assert (hl_metrics_value (metrics, "nope") == 0);
    //  Labelled series of one metric, with a name that sorts between them
    //  by plain strcmp: one HELP and TYPE, both series under it
    hl_metrics_set (metrics, "hotline_ward_cursor{ward=\"31002\"}", 9);
    hl_metrics_set (metrics, "hotline_ward_cursor_x", 1);
    hl_metrics_set (metrics, "hotline_ward_cursor{ward=\"31001\"}", 8);
    assert (hl_metrics_value (metrics, "hotline_ward_cursor{ward=\"31001\"}") == 8);

    char *text = hl_metrics_render (metrics);
    {
        const char *type = "# TYPE hotline_ward_cursor gauge\n";
        char *first = strstr (text, type);
        assert (first && !strstr (first + 1, type));
        char *one = strstr (text, "hotline_ward_cursor{service=\"intake\",node=\"ward-\\\"42\\\"\",ward=\"31001\"} 8\n");
        char *two = strstr (text, "hotline_ward_cursor{service=\"intake\",node=\"ward-\\\"42\\\"\",ward=\"31002\"} 9\n");
        assert (one && two && first < one && one < two);
        assert (strstr (text, "# TYPE hotline_ward_cursor_x gauge\n") > two);
        //  The process, from /proc/self: at least stdin..stderr and a page
        char *rss = strstr (text, "hotline_process_resident_memory_bytes{");
        assert (rss && atoll (strchr (rss, '}') + 2) > 4096);
        char *fds = strstr (text, "hotline_process_open_fds{");
        assert (fds && atoll (strchr (fds, '}') + 2) >= 3);
        assert (strstr (text, "# TYPE hotline_process_cpu_seconds_total counter\n"));
    }
    if (verbose)
        printf ("\n%s", text);
    assert (strstr (text, "# TYPE hotline_cases_received_total counter\n"));
    assert (strstr (text, "hotline_cases_received_total{service=\"intake\",node=\"ward-\\\"42\\\"\"} 5\n"));
    assert (strstr (text, "# TYPE hotline_outbox_backlog gauge\n"));
    assert (strstr (text, "hotline_outbox_backlog{service=\"intake\",node=\"ward-\\\"42\\\"\"} 4\n"));
    assert (strstr (text, "# TYPE hotline_ack_latency_seconds histogram\n"));
    assert (strstr (text, "hotline_ack_latency_seconds_bucket{service=\"intake\",node=\"ward-\\\"42\\\"\",le=\"0.0025\"} 0\n"));
    assert (strstr (text, "hotline_ack_latency_seconds_bucket{service=\"intake\",node=\"ward-\\\"42\\\"\",le=\"0.005\"} 2\n"));
    assert (strstr (text, "hotline_ack_latency_seconds_bucket{service=\"intake\",node=\"ward-\\\"42\\\"\",le=\"0.25\"} 3\n"));
    assert (strstr (text, "hotline_ack_latency_seconds_bucket{service=\"intake\",node=\"ward-\\\"42\\\"\",le=\"+Inf\"} 4\n"));
    assert (strstr (text, "hotline_ack_latency_seconds_count{service=\"intake\",node=\"ward-\\\"42\\\"\"} 4\n"));
    assert (strstr (text, "hotline_build_info{service=\"intake\",node=\"ward-\\\"42\\\"\",version=\"" HOTLINE_VERSION "\",role=\"ward\"} 1\n"));
    free (text);

    //  Refresh hooks and readiness run in the caller's (loop) thread
    int calls = 0;
    bool ready = false;
    hl_metrics_on_refresh (metrics, s_test_refresh, &calls);
    hl_metrics_set_ready_fn (metrics, s_test_ready, &ready);
    hl_metrics_refresh (metrics);
    assert (calls == 1);

    //  HTTP on a free port
    assert (hl_metrics_serve (metrics, "tcp://127.0.0.1:*") == 0);
    int port = hl_metrics_port (metrics);
    assert (port > 0);
    char *body;
    assert (s_test_get (port, "/healthz", &body) == 200);
    free (body);
    //  Starting: not ready yet
    assert (s_test_get (port, "/readyz", &body) == 503);
    assert (strstr (body, "starting"));
    free (body);
    hl_metrics_set_state (metrics, "running");
    //  Running, but the hook says no
    assert (s_test_get (port, "/readyz", &body) == 503);
    assert (strstr (body, "store not open"));
    free (body);
    ready = true;
    hl_metrics_refresh (metrics);
    //  Ready, and what the hook wants seen
    assert (s_test_get (port, "/readyz", &body) == 200);
    assert (streq (body, "ready: 2 dead letters\n"));
    free (body);
    assert (s_test_get (port, "/metrics", &body) == 200);
    assert (strstr (body, "hotline_cases_received_total{"));
    assert (strstr (body, "hotline_ready{service=\"intake\",node=\"ward-\\\"42\\\"\"} 1\n"));
    free (body);
    assert (s_test_get (port, "/status", &body) == 200);
    json_error_t error;
    json_t *status = json_loads (body, 0, &error);
    free (body);
    assert (status);
    assert (streq (json_string_value (json_object_get (status, "service")), "intake"));
    assert (streq (json_string_value (json_object_get (status, "version")), HOTLINE_VERSION));
    assert (streq (json_string_value (json_object_get (status, "state")), "running"));
    assert (json_is_true (json_object_get (status, "ready")));
    assert (json_integer_value (json_object_get (json_object_get (status, "counters"),
                                                 "hotline_cases_received_total")) == 5);
    assert (json_real_value (json_object_get (json_object_get (status, "queues"),
                                              "hotline_outbox_backlog")) == 4);
    //  A non-queue gauge is not a queue
    assert (!json_object_get (json_object_get (status, "queues"), "hotline_custom_total"));
    json_decref (status);
    //  A loop silent for longer than the threshold is unhealthy, and so not ready
    hl_metrics_set_stale_ms (metrics, -1);
    assert (s_test_get (port, "/healthz", &body) == 503);
    free (body);
    assert (s_test_get (port, "/readyz", &body) == 503);
    free (body);
    hl_metrics_set_stale_ms (metrics, 5000);
    assert (s_test_get (port, "/nope", &body) == 404);
    free (body);
    hl_metrics_set_state (metrics, "stopping");
    assert (s_test_get (port, "/readyz", &body) == 503);
    free (body);
    //  The same port cannot be served twice
    hl_metrics_t *other = hl_metrics_new ("archive", "ward-42");
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    assert (hl_metrics_serve (other, endpoint) == -1);
    assert (hl_metrics_serve (other, "tcp://nonsense") == -1);
    //  Where to listen: every interface, loopback, an address, a name only
    //  when names are allowed; anything else is not an endpoint
    struct sockaddr_in addr;
    assert (hl_metrics_listen_addr ("tcp://*:9100", false, &addr) == 0);
    assert (addr.sin_addr.s_addr == htonl (INADDR_ANY) && ntohs (addr.sin_port) == 9100);
    assert (hl_metrics_listen_addr ("http://localhost:*", false, &addr) == 0);
    assert (addr.sin_addr.s_addr == htonl (INADDR_LOOPBACK) && addr.sin_port == 0);
    assert (hl_metrics_listen_addr ("10.1.2.3:80", false, &addr) == 0);
    assert (addr.sin_addr.s_addr == inet_addr ("10.1.2.3") && ntohs (addr.sin_port) == 80);
    assert (hl_metrics_listen_addr ("tcp://127.0.0.1.nip:80", false, &addr) == -1);
    const char *bad [] = { NULL, "", "nothing", "tcp://:80", "tcp://127.0.0.1:", "tcp://127.0.0.1:x",
                           "tcp://127.0.0.1:65536", "tcp://127.0.0.1:-1", "tcp://127.0.0.1:80x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        assert (hl_metrics_listen_addr (bad [i], true, &addr) == -1);
    hl_metrics_destroy (&other);

    //  The default registry
    hl_metrics_set_default (metrics);
    assert (hl_metrics_default () == metrics);
    hl_metrics_destroy (&metrics);
    assert (hl_metrics_default () == NULL);
    curl_global_cleanup ();
    printf ("OK\n");
}
