/*  hl_metrics — a service's health, readiness, status and Prometheus
 *  metrics, served over HTTP (libmicrohttpd, its own thread).
 *
 *      GET /metrics   Prometheus text exposition (version 0.0.4): counters,
 *                     gauges and histograms, each sample labelled with
 *                     service and node
 *      GET /healthz   200 while the service's loop is alive (a heartbeat
 *                     the loop refreshes every second), 503 when it is
 *                     older than 5 s (the loop is stuck)
 *      GET /readyz    200 once the service runs and its readiness hook says
 *                     yes, 503 otherwise (starting, stopping, not ready)
 *      GET /status    JSON: service, node, role, version, uptime_s, state,
 *                     ready, queues (backlogs, lags, pending), every
 *                     counter and gauge, last_error
 *
 *  Metrics are created on first use, by name; well-known names carry their
 *  HELP text and type (see s_known in hl_metrics.c). A name may carry its
 *  own labels, `hotline_x{ward="31001"}` (counters and gauges; the caller
 *  writes valid label syntax): each is one series of hotline_x, rendered
 *  beside the service and node labels under one HELP and TYPE.
 *  Every registry also exports its process (from /proc/self, read when
 *  rendered): hotline_process_resident_memory_bytes, _open_fds, _max_fds,
 *  _cpu_seconds_total, with hotline_uptime_seconds; /status has them under
 *  "process". Updates come from the
 *  service's loop thread and are read by the HTTP thread: values are C11
 *  atomics, the registry itself is under a mutex. Gauges that need the
 *  service's own state (a SQL count, a hop's acknowledged seq) are set by
 *  refresh hooks, which hl_metrics_refresh () runs in the loop thread (the
 *  hl_service heartbeat timer calls it every second).
 *
 *  Every function accepts self == NULL and then does nothing, so code that
 *  may run without a service (selftests) can call it unconditionally.
 *  hl_metrics_default () is the registry of the process's service (set by
 *  hl_service_new), for library classes that have no service at hand.
 */
#ifndef HL_METRICS_H_INCLUDED
#define HL_METRICS_H_INCLUDED

typedef struct _hl_metrics_t hl_metrics_t;

//  A registry for service (e.g. "intake") of node (e.g. "ward-31001")
hl_metrics_t *hl_metrics_new (const char *service, const char *node);
void hl_metrics_destroy (hl_metrics_t **self_p);
//  The process's default registry (NULL if none)
hl_metrics_t *hl_metrics_default (void);
void hl_metrics_set_default (hl_metrics_t *self);
//  Role ("ward"/"city") and version shown by /status and build_info
void hl_metrics_set_info (hl_metrics_t *self, const char *role, const char *version);

//  Counter: add by (created at 0 on first use)
void hl_metrics_add (hl_metrics_t *self, const char *name, uint64_t by);
//  Gauge: set the value
void hl_metrics_set (hl_metrics_t *self, const char *name, double value);
//  Histogram: count observations of value (seconds for latencies). Known
//  histograms have their buckets; others get the default latency buckets.
void hl_metrics_observe (hl_metrics_t *self, const char *name, double value, uint64_t count);
//  Current value: counter or gauge value, histogram observation count;
//  0 for an unknown name
double hl_metrics_value (hl_metrics_t *self, const char *name);

//  Prometheus text (caller frees)
char *hl_metrics_render (hl_metrics_t *self);
//  /status document (caller frees with json_decref)
json_t *hl_metrics_status (hl_metrics_t *self);

//  Loop thread: a hook that sets gauges from the service's state
typedef void (hl_metrics_refresh_fn) (void *arg);
void hl_metrics_on_refresh (hl_metrics_t *self, hl_metrics_refresh_fn *fn, void *arg);
//  Loop thread: is the service ready? false with a reason (reason has size
//  bytes); a reason given with true is shown too ("ready: REASON")
typedef bool (hl_metrics_ready_fn) (void *arg, char *reason, size_t size);
void hl_metrics_set_ready_fn (hl_metrics_t *self, hl_metrics_ready_fn *fn, void *arg);
//  Loop thread: heartbeat now, run the refresh hooks and the readiness
//  hook, remember the last error logged
void hl_metrics_refresh (hl_metrics_t *self);
//  Lifecycle state: "starting" (default), "running", "stopping"
void hl_metrics_set_state (hl_metrics_t *self, const char *state);
//  Milliseconds since the last heartbeat (any thread)
int64_t hl_metrics_heartbeat_age (hl_metrics_t *self);
//  Health threshold: heartbeat older than this is unhealthy (default 5000)
void hl_metrics_set_stale_ms (hl_metrics_t *self, int64_t stale_ms);

//  Serve HTTP on endpoint: "tcp://HOST:PORT" (also http:// or HOST:PORT);
//  HOST "*" or 0.0.0.0 listens on every interface, PORT "*" or 0 picks a
//  free port. 0 or -1 (logged; the service runs on without HTTP).
int hl_metrics_serve (hl_metrics_t *self, const char *endpoint);
//  The port served (0 when not serving)
int hl_metrics_port (hl_metrics_t *self);

//  Where an HTTP server listens (this one's and the web console's):
//  endpoint "tcp://HOST:PORT" (also http:// or HOST:PORT) into addr. HOST
//  is "*" or 0.0.0.0 (every interface), localhost, an IPv4 address or, if
//  resolve, a name (looked up now, IPv4); PORT is 0-65535 or "*" (0: a free
//  one). 0, or -1 if endpoint is none of these.
struct sockaddr_in;
int hl_metrics_listen_addr (const char *endpoint, bool resolve, struct sockaddr_in *addr);

void hl_metrics_test (bool verbose);
#endif
