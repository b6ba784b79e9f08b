/*  hl_service — arguments, configuration, procedure, data directory, loop.  */
#include "hotline.h"
#include <sys/stat.h>

struct _hl_service_t {
    char *name;
    hl_config_t *config;
    hl_procedure_t *procedure;
    zloop_t *loop;
    char *data_dir;
    char *node;
    int base_port;
    zhashx_t *endpoints;        //  key -> resolved endpoint string
    hl_metrics_t *metrics;      //  /metrics /healthz /readyz /status
    int heartbeat_timer;
};

static const char *s_ports [] = {
    "intake",               //  base+1  front door (CLI, services)
    "intake_feed",          //  base+2  intake -> archive hop
    "archive",              //  base+3  queries
    "archive_feed",         //  base+4  archive -> consumers hop
    "federation",           //  base+5  city: wards -> city hop (CurveZMQ)
    "notification",         //  base+6  notification queries (dead letters)
    "federation_return",    //  base+7  city: city -> wards hop (CurveZMQ)
    "monitor",              //  base+8  city: live aggregated stream (PUB)
    "snapshot",             //  base+9  city: snapshot and gap repair (ROUTER)
    "web",                  //  base+10 the web console and JSON API (HTTP)
    NULL
};

//  HTTP (health, readiness, status, metrics) of each service: base+11 ...
static const char *s_http_ports [] = {
    "http_intake",          //  base+11
    "http_archive",         //  base+12
    "http_routing",         //  base+13
    "http_deadline-watcher",//  base+14
    "http_notification",    //  base+15
    "http_web",             //  base+16
    NULL
};

const char *
hl_service_default_endpoint (const char *key, int base, char *buf, size_t size)
{
    for (int i = 0; s_ports [i]; i++)
        if (streq (s_ports [i], key)) {
            snprintf (buf, size, "tcp://127.0.0.1:%d", base + 1 + i);
            return buf;
        }
    for (int i = 0; s_http_ports [i]; i++)
        if (streq (s_http_ports [i], key)) {
            snprintf (buf, size, "tcp://127.0.0.1:%d", base + 11 + i);
            return buf;
        }
    return NULL;
}

//  Every second: the loop is alive; refresh gauges and readiness
static int
s_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    hl_service_t *self = (hl_service_t *) arg;
    hl_metrics_refresh (self->metrics);
    return 0;
}

static void
s_usage (const char *name)
{
    fprintf (stderr,
        "usage: hotline-%s [-c CONFIG] [-v]\n"
        "  -c CONFIG   node configuration file (default: $HOTLINE_CONFIG or built-in defaults)\n"
        "  -v          debug logging\n", name);
}

hl_service_t *
hl_service_new (const char *name, int argc, char *argv [])
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "-c") && i + 1 < argc)
            config_path = argv [++i];
        else
        if (streq (argv [i], "-v"))
            setenv ("HOTLINE_LOG_LEVEL", "debug", 1);
        else {
            s_usage (name);
            return NULL;
        }
    }
    zsys_init ();
    zsys_set_logident (name);
    hl_log_init (name);
    hl_service_t *self = (hl_service_t *) zmalloc (sizeof (hl_service_t));
    self->name = hl_strdup (name);
    self->endpoints = zhashx_new ();
    zhashx_set_destructor (self->endpoints, (zhashx_destructor_fn *) zstr_free);
    self->config = hl_config_load (config_path);
    if (!self->config) {
        hl_service_destroy (&self);
        return NULL;
    }
    const char *role = hl_service_role (self);
    if (strneq (role, "ward") && strneq (role, "city")) {
        fprintf (stderr, "hotline-%s: node/role must be ward or city, not '%s'\n", name, role);
        hl_service_destroy (&self);
        return NULL;
    }
    const char *ward = hl_service_ward (self);
    if (streq (role, "ward")) {
        bool ok = *ward && strlen (ward) <= 10;
        for (const char *p = ward; *p; p++)
            ok = ok && isdigit ((unsigned char) *p);
        if (!ok) {
            fprintf (stderr, "hotline-%s: node/ward_code must be 1 to 10 digits, not '%s'\n", name, ward);
            hl_service_destroy (&self);
            return NULL;
        }
    }
    self->base_port = (int) hl_config_int (self->config, "node/base_port",
                                           streq (role, "city")? 7000: 7100);
    const char *node = hl_config_get (self->config, "node/name", NULL);
    self->node = node? hl_strdup (node):
                 streq (role, "city")? hl_strdup ("city"): zsys_sprintf ("ward-%s", ward);
    hl_msg_set_node (self->node, ward);

    //  Data directory
    const char *data_dir = hl_config_get (self->config, "node/data_dir", NULL);
    if (data_dir)
        self->data_dir = hl_config_resolve (self->config, data_dir);
    else
        self->data_dir = zsys_sprintf ("./var/%s", self->node);
    //  Services of one node start together: another may create it first
    if (zsys_dir_create ("%s", self->data_dir) && !zsys_file_exists (self->data_dir)) {
        fprintf (stderr, "hotline-%s: cannot create data directory %s: %s\n",
                 name, self->data_dir, strerror (errno));
        hl_service_destroy (&self);
        return NULL;
    }
    //  The node's time zone, for everything a person sees or types (case
    //  numbers' years, deadlines, report days, e-mail): the machine's TZ is
    //  UTC in containers. Set here, once, before the service starts threads
    //  that format times (see hl_clock.h)
    char zone_error [256];
    if (hl_clock_set_zone (hl_config_get (self->config, "node/timezone", HL_CLOCK_ZONE_DEFAULT),
                           zone_error, sizeof zone_error)) {
        fprintf (stderr, "hotline-%s: node/timezone: %s\n", name, zone_error);
        hl_service_destroy (&self);
        return NULL;
    }
    //  Procedure
    char *procedure_path = hl_config_file (self->config, "node/procedure", "procedure.conf");
    char err [512];
    self->procedure = hl_procedure_load (procedure_path, err, sizeof err);
    if (!self->procedure) {
        fprintf (stderr, "hotline-%s: invalid procedure: %s\n", name, err);
        free (procedure_path);
        hl_service_destroy (&self);
        return NULL;
    }
    hl_info ("node=%s role=%s procedure=%s version=%s timezone=%s", self->node, role,
             hl_procedure_name (self->procedure), hl_procedure_version (self->procedure),
             hl_clock_zone ());
    free (procedure_path);
    self->loop = zloop_new ();

    //  Health, readiness, status and metrics over HTTP
    self->metrics = hl_metrics_new (name, self->node);
    hl_metrics_set_info (self->metrics, role, HOTLINE_VERSION);
    hl_metrics_set_stale_ms (self->metrics, hl_config_int (self->config, "health/stale_ms", 5000));
    hl_metrics_set_default (self->metrics);
    char http_key [64];
    snprintf (http_key, sizeof http_key, "http_%s", name);
    const char *http = hl_service_bind_endpoint (self, http_key);
    if (http && *http && strneq (http, "off") && strneq (http, "none")
    &&  hl_metrics_serve (self->metrics, http) == 0)
        hl_info ("health and metrics on http://%s/metrics", strstr (http, "://")? strstr (http, "://") + 3: http);
    int64_t heartbeat_ms = hl_config_int (self->config, "health/heartbeat_ms", 1000);
    self->heartbeat_timer = zloop_timer (self->loop, (size_t) (heartbeat_ms > 0? heartbeat_ms: 1000),
                                         0, s_heartbeat, self);
    return self;
}

void
hl_service_destroy (hl_service_t **self_p)
{
    assert (self_p);
    hl_service_t *self = *self_p;
    if (self) {
        hl_metrics_destroy (&self->metrics);
        zloop_destroy (&self->loop);
        hl_procedure_destroy (&self->procedure);
        hl_config_destroy (&self->config);
        zhashx_destroy (&self->endpoints);
        free (self->data_dir);
        free (self->node);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

hl_config_t *hl_service_config (hl_service_t *self) { return self->config; }
hl_procedure_t *hl_service_procedure (hl_service_t *self) { return self->procedure; }
zloop_t *hl_service_loop (hl_service_t *self) { return self->loop; }
const char *hl_service_name (hl_service_t *self) { return self->name; }
const char *hl_service_node (hl_service_t *self) { return self->node; }

const char *
hl_service_role (hl_service_t *self)
{
    return hl_config_get (self->config, "node/role", "ward");
}

const char *
hl_service_ward (hl_service_t *self)
{
    if (streq (hl_service_role (self), "city"))
        return "";
    return hl_config_get (self->config, "node/ward_code", "31001");
}

const char *
hl_service_endpoint (hl_service_t *self, const char *key)
{
    const char *cached = (const char *) zhashx_lookup (self->endpoints, key);
    if (cached)
        return cached;
    char path [64];
    snprintf (path, sizeof path, "endpoints/%s", key);
    char buf [128];
    const char *value = hl_config_get (self->config, path,
        hl_service_default_endpoint (key, self->base_port, buf, sizeof buf));
    if (!value)
        return NULL;
    zhashx_insert (self->endpoints, key, hl_strdup (value));
    return (const char *) zhashx_lookup (self->endpoints, key);
}

const char *
hl_service_bind_endpoint (hl_service_t *self, const char *key)
{
    char path [80];
    snprintf (path, sizeof path, "bind/%s", key);
    const char *cached = (const char *) zhashx_lookup (self->endpoints, path);
    if (cached)
        return cached;
    const char *value = hl_config_get (self->config, path, NULL);
    if (!value || !*value)
        return hl_service_endpoint (self, key);
    zhashx_insert (self->endpoints, path, hl_strdup (value));
    return (const char *) zhashx_lookup (self->endpoints, path);
}

hl_metrics_t *
hl_service_metrics (hl_service_t *self)
{
    return self->metrics;
}

void
hl_service_set_ready (hl_service_t *self, hl_metrics_ready_fn *fn, void *arg)
{
    hl_metrics_set_ready_fn (self->metrics, fn, arg);
}

char *
hl_service_path (hl_service_t *self, const char *file)
{
    return zsys_sprintf ("%s/%s", self->data_dir, file);
}

int
hl_service_run (hl_service_t *self)
{
    hl_info ("started, version %s", HOTLINE_VERSION);
    hl_metrics_set_state (self->metrics, "running");
    hl_metrics_refresh (self->metrics);
    zloop_start (self->loop);       //  returns on SIGINT/SIGTERM (czmq handler)
    hl_metrics_set_state (self->metrics, "stopping");
    hl_info ("stopping");
    return 0;
}

void
hl_service_test (bool verbose)
{
    printf (" * hl_service: ");
    char buf [64];
    assert (streq (hl_service_default_endpoint ("archive", 7100, buf, sizeof buf),
                   "tcp://127.0.0.1:7103"));
    assert (hl_service_default_endpoint ("nope", 7100, buf, sizeof buf) == NULL);
    assert (streq (hl_service_default_endpoint ("http_intake", 7100, buf, sizeof buf),
                   "tcp://127.0.0.1:7111"));
    assert (streq (hl_service_default_endpoint ("http_deadline-watcher", 7100, buf, sizeof buf),
                   "tcp://127.0.0.1:7114"));
    assert (streq (hl_service_default_endpoint ("web", 7100, buf, sizeof buf),
                   "tcp://127.0.0.1:7110"));
    assert (streq (hl_service_default_endpoint ("http_web", 7100, buf, sizeof buf),
                   "tcp://127.0.0.1:7116"));
    char dir [] = "/tmp/hl_service_XXXXXX";
    assert (mkdtemp (dir));
    char cfg [128];
    snprintf (cfg, sizeof cfg, "%s/node.cfg", dir);
    FILE *file = fopen (cfg, "w");
    fprintf (file, "node\n    role = ward\n    ward_code = 42\n    data_dir = data\n"
                   "    procedure = %s/deploy/config/procedure.conf\n", getcwd (buf, sizeof buf));
    fclose (file);
    char *argv [] = { "test", "-c", cfg, NULL };
    hl_service_t *service = hl_service_new ("test", 3, argv);
    assert (service);
    assert (streq (hl_service_node (service), "ward-42"));
    assert (streq (hl_clock_zone (), HL_CLOCK_ZONE_DEFAULT));    //  whatever the machine's TZ
    assert (streq (hl_service_endpoint (service, "intake"), "tcp://127.0.0.1:7101"));
    //  Binds the endpoint itself, unless bind/<key> says otherwise
    assert (streq (hl_service_bind_endpoint (service, "intake"), "tcp://127.0.0.1:7101"));
    setenv ("HOTLINE_BIND_ARCHIVE", "tcp://*:7103", 1);
    assert (streq (hl_service_bind_endpoint (service, "archive"), "tcp://*:7103"));
    assert (streq (hl_service_endpoint (service, "archive"), "tcp://127.0.0.1:7103"));
    unsetenv ("HOTLINE_BIND_ARCHIVE");
    assert (hl_service_metrics (service) == hl_metrics_default ());
    hl_metrics_add (hl_service_metrics (service), "hotline_cases_received_total", 1);
    assert (hl_metrics_value (hl_service_metrics (service), "hotline_cases_received_total") == 1);
    char *path = hl_service_path (service, "x.db");
    assert (strstr (path, "/data/x.db"));
    free (path);
    hl_service_destroy (&service);
    //  A zone this machine does not know is refused at start
    setenv ("HOTLINE_NODE_TIMEZONE", "Asia/Saigon_City", 1);
    assert (hl_service_new ("test", 3, argv) == NULL);
    unsetenv ("HOTLINE_NODE_TIMEZONE");
    //  A bad ward code is refused
    file = fopen (cfg, "w");
    fprintf (file, "node\n    ward_code = abc\n");
    fclose (file);
    assert (hl_service_new ("test", 3, argv) == NULL);
    char cmd [160];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", dir);
    printf ("OK\n");
}
