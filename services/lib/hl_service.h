/*  hl_service — what every service main does: arguments, configuration,
 *  procedure, data directory, logs, signals and the event loop.
 *
 *      hotline-<name> [-c CONFIG] [-v]
 *
 *  Configuration comes from -c, else $HOTLINE_CONFIG, else built-in defaults
 *  (a ward node "31001" on 127.0.0.1 ports 7101-7109, data in ./var/ward).
 *
 *  Every service also answers HTTP (hl_metrics: /metrics /healthz /readyz
 *  /status) on endpoints/http_<name>, by default base+11 intake, +12
 *  archive, +13 routing, +14 deadline-watcher, +15 notification; "off"
 *  turns it off. A heartbeat timer (health/heartbeat_ms, 1000) keeps
 *  /healthz alive and runs the metrics refresh hooks in the loop thread.
 *
 *  Bind and connect addresses: a service binds hl_service_bind_endpoint
 *  (key), which is config bind/<key> (env HOTLINE_BIND_<KEY>, e.g.
 *  HOTLINE_BIND_INTAKE=tcp://0.0.0.0:7101) when set, else the endpoint others
 *  connect to (endpoints/<key>). In containers, bind tcp://0.0.0.0:PORT and let
 *  the others connect to tcp://intake-31001:PORT.
 */
#ifndef HL_SERVICE_H_INCLUDED
#define HL_SERVICE_H_INCLUDED

typedef struct _hl_service_t hl_service_t;

//  Parse argv, load config and procedure, create the data directory and the
//  loop. On any error prints a clear message and returns NULL (exit 2).
hl_service_t *hl_service_new (const char *name, int argc, char *argv []);
void hl_service_destroy (hl_service_t **self_p);
hl_config_t *hl_service_config (hl_service_t *self);
hl_procedure_t *hl_service_procedure (hl_service_t *self);
zloop_t *hl_service_loop (hl_service_t *self);
const char *hl_service_name (hl_service_t *self);
//  "ward" or "city"
const char *hl_service_role (hl_service_t *self);
//  Node name, e.g. "ward-31001"
const char *hl_service_node (hl_service_t *self);
//  Ward code of this node ("" at the city)
const char *hl_service_ward (hl_service_t *self);
//  Endpoint "endpoints/<key>" with the built-in default for this node
const char *hl_service_endpoint (hl_service_t *self, const char *key);
//  The address this service binds for key: bind/<key> if configured, else
//  hl_service_endpoint (self, key)
const char *hl_service_bind_endpoint (hl_service_t *self, const char *key);
//  The service's metrics registry (also hl_metrics_default ())
hl_metrics_t *hl_service_metrics (hl_service_t *self);
//  Readiness hook for /readyz, called in the loop thread every heartbeat;
//  without one the service is ready once hl_service_run has started
void hl_service_set_ready (hl_service_t *self, hl_metrics_ready_fn *fn, void *arg);
//  A file in the data directory (caller frees)
char *hl_service_path (hl_service_t *self, const char *file);
//  Run the loop until SIGINT/SIGTERM or a handler returns -1. Returns 0.
int hl_service_run (hl_service_t *self);

//  Default endpoints for a node whose ports start at base (base+1 ...)
const char *hl_service_default_endpoint (const char *key, int base, char *buf, size_t size);

void hl_service_test (bool verbose);
#endif
