/*  web_server — HTTP for the web service (see web_server.h).
 *
 *  How to read this file, top to bottom:
 *    1. the object and the per-route, per-code request counters
 *    2. answers: security headers, JSON and file responses
 *    3. static files: the folder check and content types
 *    4. the MHD access handler: read the body (bounded), dispatch to the
 *       API, the health and metrics, or the static files; count and time
 *    5. start: config, TLS, the loopback rule, the daemon
 */
#include "hotline.h"
#include "web_api.h"
#include "web_server.h"
#include "web_public.h"
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>

// ------------------------------------------------------------- 1. object

static const char *s_routes [] = {
    "session", "me", "procedure", "cases", "case", "case_action", "report", "report_text",
    "users", "user", "deadletters", "other", "static", "metrics", "health",
    "public_report", "public_track", "case_evidence",
    "stream", "wards", "ward", "charts", "map", NULL
};
#define S_ROUTES    23
static const int s_codes [] = {
    200, 201, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431, 500, 503, 0
};
#define S_CODES     17          //  the last, 0, counts every other code

struct _web_server_t {
    hl_service_t *service;
    web_api_t *api;
    struct MHD_Daemon *daemon;
    int port;
    bool tls;
    size_t max_body;
    size_t max_headers;
    int nice;                   //  added to the HTTP threads' nice (web/stream_nice)
    char *root;                 //  realpath of the pages' folder, or NULL
    char *vendor_leaflet;       //  realpath of /usr/share/javascript/leaflet, or NULL
    char *vendor_chart;
    char *csp;
    char *cert_pem, *key_pem;   //  kept while the daemon runs
    _Atomic uint64_t requests [S_ROUTES][S_CODES];
};

//  One request in progress: its body, bounded
typedef struct {
    char *body;
    size_t size, capacity;
    int64_t started_us;
    //  A multipart upload (web_public): streamed piece by piece, never
    //  held in memory, its limits checked as it arrives
    web_upload_t *upload;
} s_request_t;

static size_t
s_route_index (const char *route)
{
    for (size_t i = 0; s_routes [i]; i++)
        if (streq (s_routes [i], route))
            return i;
    return 11;                  //  "other"
}

static size_t
s_code_index (int code)
{
    for (size_t i = 0; s_codes [i]; i++)
        if (s_codes [i] == code)
            return i;
    return S_CODES - 1;
}

static void
s_count (web_server_t *self, const char *route, int code, int64_t started_us)
{
    atomic_fetch_add (&self->requests [s_route_index (route)][s_code_index (code)], 1);
    hl_metrics_observe (hl_service_metrics (self->service), "hotline_web_request_seconds",
                        (double) (zclock_usecs () - started_us) / 1e6, 1);
}

//  The registry's metrics, then the requests by route and code (the
//  registry has no labels of its own)
static char *
s_render_metrics (web_server_t *self)
{
    char *base = hl_metrics_render (hl_service_metrics (self->service));
    zchunk_t *out = zchunk_new (base, strlen (base));
    free (base);
    const char *head = "# HELP hotline_web_http_requests_total HTTP requests answered, by route and code.\n"
                       "# TYPE hotline_web_http_requests_total counter\n";
    zchunk_extend (out, head, strlen (head));
    for (size_t r = 0; r < S_ROUTES; r++)
        for (size_t c = 0; c < S_CODES; c++) {
            uint64_t value = atomic_load (&self->requests [r][c]);
            if (!value)
                continue;
            char code [16];
            snprintf (code, sizeof code, "%d", s_codes [c]);
            char line [256];
            int len = snprintf (line, sizeof line,
                "hotline_web_http_requests_total{service=\"web\",node=\"%s\",route=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                hl_service_node (self->service), s_routes [r], s_codes [c]? code: "other", value);
            zchunk_extend (out, line, (size_t) len < sizeof line? (size_t) len: sizeof line - 1);
        }
    char *text = (char *) zmalloc (zchunk_size (out) + 1);
    memcpy (text, zchunk_data (out), zchunk_size (out));
    text [zchunk_size (out)] = 0;
    zchunk_destroy (&out);
    return text;
}

// ------------------------------------------------------------- 2. answers

static void
s_security_headers (web_server_t *self, struct MHD_Response *response)
{
    MHD_add_response_header (response, "Content-Security-Policy", self->csp);
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (response, "X-Frame-Options", "DENY");
    if (self->tls)
        MHD_add_response_header (response, "Strict-Transport-Security", "max-age=31536000");
}

//  Queue the answer held in request (takes its body)
static enum MHD_Result
s_queue (web_server_t *self, struct MHD_Connection *connection, web_request_t *request)
{
    struct MHD_Response *response = (struct MHD_Response *) request->response;
    if (response) {
        //  A handler's own (the live stream: web_stream.h)
        free (request->answer);
        request->answer = NULL;
        request->response = NULL;
    }
    else {
        if (!request->answer) {
            request->answer = hl_strdup ("");
            request->answer_size = 0;
        }
        response = MHD_create_response_from_buffer (request->answer_size, request->answer,
                                                    MHD_RESPMEM_MUST_FREE);
        if (!response) {
            free (request->answer);
            request->answer = NULL;
            return MHD_NO;
        }
        request->answer = NULL;
    }
    s_security_headers (self, response);
    MHD_add_response_header (response, "Content-Type",
                             request->content_type? request->content_type: "application/json; charset=utf-8");
    MHD_add_response_header (response, "Cache-Control", "no-store");
    if (*request->set_cookie)
        MHD_add_response_header (response, "Set-Cookie", request->set_cookie);
    if (*request->retry_after)
        MHD_add_response_header (response, "Retry-After", request->retry_after);
    if (*request->disposition)
        MHD_add_response_header (response, "Content-Disposition", request->disposition);
    enum MHD_Result rc = MHD_queue_response (connection, (unsigned int) request->status, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_queue_error (web_server_t *self, struct MHD_Connection *connection, int status,
               const char *field, const char *message, const char *route, int64_t started_us)
{
    web_request_t request;
    memset (&request, 0, sizeof request);
    web_request_error (&request, status, field, "%s", message);
    s_count (self, route, status, started_us);
    return s_queue (self, connection, &request);
}

// ------------------------------------------------------------- 3. static files

static const char *
s_content_type (const char *path)
{
    static const struct { const char *ext, *type; } types [] = {
        { ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" }, { ".mjs", "text/javascript; charset=utf-8" },
        { ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".json", "application/json" },
        { ".ico", "image/x-icon" }, { ".woff2", "font/woff2" }, { ".map", "application/json" },
        { ".txt", "text/plain; charset=utf-8" }, { NULL, NULL }
    };
    const char *dot = strrchr (path, '.');
    const char *slash = strrchr (path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; types [i].ext; i++)
            if (streq (dot, types [i].ext))
                return types [i].type;
    return "application/octet-stream";
}

//  Resolve rel (starting with '/') under folder (a realpath) into out; 0 if
//  it is a regular file inside folder, -1 otherwise
static int
s_resolve (const char *folder, const char *rel, char *out)
{
    if (!folder || *rel != '/' || strlen (folder) + strlen (rel) + 16 >= PATH_MAX)
        return -1;
    //  No parent steps at all, even ones realpath would bring back inside
    if (strstr (rel, "/../") || (strlen (rel) >= 3 && streq (rel + strlen (rel) - 3, "/..")))
        return -1;
    char candidate [PATH_MAX];
    snprintf (candidate, sizeof candidate, "%s%s%s", folder, rel,
              rel [strlen (rel) - 1] == '/'? "index.html": "");
    if (!realpath (candidate, out))
        return -1;
    size_t len = strlen (folder);
    if (strncmp (out, folder, len) != 0 || out [len] != '/')
        return -1;
    struct stat info;
    if (stat (out, &info) || !S_ISREG (info.st_mode))
        return -1;
    return 0;
}

static enum MHD_Result
s_static (web_server_t *self, struct MHD_Connection *connection, const char *url,
          const char *method, int64_t started_us)
{
    if (strneq (method, "GET") && strneq (method, "HEAD"))
        return s_queue_error (self, connection, 405, NULL, "GET hoặc HEAD (GET or HEAD only)",
                              "static", started_us);
    const char *folder = self->root;
    const char *rel = url;
    if (strncmp (url, "/vendor/leaflet/", 16) == 0) {
        folder = self->vendor_leaflet;
        rel = url + 15;
    }
    else
    if (strncmp (url, "/vendor/chart.js/", 17) == 0) {
        folder = self->vendor_chart;
        rel = url + 16;
    }
    char path [PATH_MAX];
    if (s_resolve (folder, rel, path))
        return s_queue_error (self, connection, 404, "path", "Không có (not found)", "static", started_us);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat (fd, &info)) {
        if (fd >= 0)
            close (fd);
        return s_queue_error (self, connection, 404, "path", "Không có (not found)", "static", started_us);
    }
    struct MHD_Response *response = MHD_create_response_from_fd ((uint64_t) info.st_size, fd);
    if (!response) {
        close (fd);
        return MHD_NO;
    }
    s_security_headers (self, response);
    MHD_add_response_header (response, "Content-Type", s_content_type (path));
    MHD_add_response_header (response, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response (connection, MHD_HTTP_OK, response);
    MHD_destroy_response (response);
    s_count (self, "static", 200, started_us);
    return rc;
}

// ------------------------------------------------------------- 4. handler

static enum MHD_Result
s_health (web_server_t *self, struct MHD_Connection *connection, const char *url,
          int64_t started_us)
{
    web_request_t request;
    memset (&request, 0, sizeof request);
    request.content_type = "text/plain; charset=utf-8";
    if (streq (url, "/metrics")) {
        request.answer = s_render_metrics (self);
        request.content_type = "text/plain; version=0.0.4; charset=utf-8";
        request.status = 200;
    }
    else {
        json_t *status = hl_metrics_status (hl_service_metrics (self->service));
        bool ok = json_is_true (json_object_get (status, streq (url, "/healthz")? "healthy": "ready"));
        json_decref (status);
        request.answer = hl_strdup (ok? (streq (url, "/healthz")? "ok\n": "ready\n"): "not ready\n");
        request.status = ok? 200: 503;
    }
    request.answer_size = strlen (request.answer);
    s_count (self, streq (url, "/metrics")? "metrics": "health", request.status, started_us);
    return s_queue (self, connection, &request);
}

static void
s_peer (struct MHD_Connection *connection, char *ip, size_t size)
{
    snprintf (ip, size, "unknown");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    if (info->client_addr->sa_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) info->client_addr)->sin_addr, ip, (socklen_t) size);
    else
    if (info->client_addr->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) info->client_addr)->sin6_addr, ip, (socklen_t) size);
}

//  At the city, MHD's threads deliver the live stream to every dashboard:
//  bytes times dashboards, two thirds of the CPU the archive spends on
//  ingesting the same events when 200 dashboards read a burst (tests/bench
//  row 11). On a node whose services share the CPU, ingest must come
//  first: each HTTP thread lowers its own priority (nice is per thread on
//  Linux) when it takes its first request, so the stream thread, which
//  must keep up with the archive's publisher, keeps the priority it started
//  with. Measured with the archive and the web on one core: ingest with 200
//  dashboards at 60-75% of ingest without at nice 0 or 10, 94-98% at 19:
//  the dashboards fall behind during a burst and get the rest from the
//  ring after it (web/stream_ring; past the ring, a "behind" snapshot:
//  web_stream.c, s_after_batch). A thread cannot raise it back without
//  privileges, and need not.
static _Thread_local bool s_niced;

static void
s_nice (web_server_t *self)
{
    s_niced = true;
    if (!self->nice)
        return;
    errno = 0;
    int now = getpriority (PRIO_PROCESS, (id_t) gettid ());
    int target = (errno? 0: now) + self->nice;
    if (setpriority (PRIO_PROCESS, (id_t) gettid (), target < 19? target: 19))
        hl_warn ("web: cannot lower an HTTP thread's priority (web/stream_nice = %d): %s",
                 self->nice, strerror (errno));
}

static enum MHD_Result
s_handler (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    web_server_t *self = (web_server_t *) cls;
    if (!s_niced)
        s_nice (self);
    s_request_t *state = (s_request_t *) *con_cls;
    if (!state) {
        //  Headers are in: check what can be checked before any body
        state = (s_request_t *) zmalloc (sizeof (s_request_t));
        state->started_us = zclock_usecs ();
        *con_cls = state;
        int headers = MHD_get_connection_values (connection, MHD_HEADER_KIND, NULL, NULL);
        if (headers < 0 || (size_t) headers > self->max_headers)
            return s_queue_error (self, connection, 431, "headers",
                                  "Quá nhiều dòng tiêu đề (too many header lines)", "other", state->started_us);
        const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_LENGTH);
        web_public_t *pub = web_api_public (self->api);
        size_t limit = web_public_is_upload (method, url)? web_public_upload_max (pub): self->max_body;
        if (length) {
            char *end;
            errno = 0;
            unsigned long long value = strtoull (length, &end, 10);
            if (*end || errno || value > limit)
                return s_queue_error (self, connection, 413, "body",
                                      "Nội dung quá lớn (body too large)", "other", state->started_us);
        }
        if (web_public_is_upload (method, url))
            state->upload = web_upload_new (pub, MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                                             MHD_HTTP_HEADER_CONTENT_TYPE));
        return MHD_YES;
    }
    if (*upload_data_size && state->upload) {
        //  Counted as it passes; a chunked body past the limit is dropped
        if (state->size + *upload_data_size > web_public_upload_max (web_api_public (self->api)))
            return MHD_NO;
        state->size += *upload_data_size;
        web_upload_feed (state->upload, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        //  A chunked body that grows too large: stop reading, drop the
        //  connection (libmicrohttpd cannot answer in the middle of a body)
        if (state->size + *upload_data_size > self->max_body)
            return MHD_NO;
        if (state->size + *upload_data_size + 1 > state->capacity) {
            state->capacity = state->size + *upload_data_size + 1;
            state->body = (char *) hl_realloc (state->body, state->capacity);
        }
        memcpy (state->body + state->size, upload_data, *upload_data_size);
        state->size += *upload_data_size;
        state->body [state->size] = 0;
        *upload_data_size = 0;
        return MHD_YES;
    }
    //  The whole request is in: answer it
    if (streq (url, "/metrics") || streq (url, "/healthz") || streq (url, "/readyz"))
        return s_health (self, connection, url, state->started_us);
    if (strncmp (url, "/api/", 5) && strneq (url, "/api") && strncmp (url, "/open311/", 9))
        return s_static (self, connection, url, method, state->started_us);
    if (strncmp (url, "/api/v1/", 8) && strncmp (url, "/open311/", 9))
        return s_queue_error (self, connection, 404, NULL, "Không có (not found)", "other", state->started_us);
    char ip [INET6_ADDRSTRLEN + 1];
    s_peer (connection, ip, sizeof ip);
    web_request_t request;
    memset (&request, 0, sizeof request);
    request.method = method;
    request.path = url;
    request.connection = connection;
    request.body = state->body;
    request.body_size = state->size;
    request.body_type = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_TYPE);
    request.ip = ip;
    request.tls = self->tls;
    request.status = 500;
    request.route = "other";
    if (state->upload) {
        request.body = NULL;
        request.body_size = 0;
        web_public_upload_handle (web_api_public (self->api), &request, state->upload);
    }
    else
        web_api_handle (self->api, &request);
    if (!request.answer && !request.response)
        web_request_error (&request, 500, NULL, "no answer");
    s_count (self, request.route, request.status, state->started_us);
    return s_queue (self, connection, &request);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    (void) cls; (void) connection; (void) code;
    s_request_t *state = (s_request_t *) *con_cls;
    if (state) {
        web_upload_destroy (&state->upload);
        free (state->body);
        free (state);
        *con_cls = NULL;
    }
}

// ------------------------------------------------------------- 5. start

static char *
s_realpath (const char *path)
{
    char resolved [PATH_MAX];
    return path && realpath (path, resolved)? hl_strdup (resolved): NULL;
}

static char *
s_slurp (const char *path)
{
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk = file && zfile_input (file) == 0? zfile_read (file, 1024 * 1024, 0): NULL;
    char *text = NULL;
    if (chunk) {
        text = (char *) zmalloc (zchunk_size (chunk) + 1);
        memcpy (text, zchunk_data (chunk), zchunk_size (chunk));
        text [zchunk_size (chunk)] = 0;
    }
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
    return text;
}

web_server_t *
web_server_new (hl_service_t *service, web_api_t *api)
{
    hl_config_t *config = hl_service_config (service);
    web_server_t *self = (web_server_t *) zmalloc (sizeof (web_server_t));
    self->service = service;
    self->api = api;
    int64_t threads = hl_config_int (config, "web/threads", 4);
    int64_t connections = hl_config_int (config, "web/connection_limit", 256);
    int64_t per_ip = hl_config_int (config, "web/per_ip_limit", 32);
    int64_t timeout_s = hl_config_int (config, "web/timeout_s", 30);
    int64_t max_body = hl_config_int (config, "web/max_body", 1024 * 1024);
    int64_t header_memory = hl_config_int (config, "web/header_memory", 32768);
    int64_t max_headers = hl_config_int (config, "web/max_headers", 100);
    //  The city's only: a ward's web streams nothing (s_nice)
    int64_t nice = web_api_city (api)? hl_config_int (config, "web/stream_nice", 19): 0;
    if (threads < 1 || threads > 256 || connections < 1 || per_ip < 1 || timeout_s < 1
    ||  max_body < 1 || max_body > 64 * 1024 * 1024 || header_memory < 4096 || max_headers < 1
    ||  nice < 0 || nice > 19) {
        fprintf (stderr, "hotline-web: web/threads (1-256), connection_limit, per_ip_limit, timeout_s, "
                         "max_body (up to 64 MiB), header_memory (>= 4096) and max_headers must be positive,"
                         " stream_nice 0-19\n");
        web_server_destroy (&self);
        return NULL;
    }
    self->max_body = (size_t) max_body;
    self->max_headers = (size_t) max_headers;
    self->nice = (int) nice;
    //  MHD writes a chunked body (the live stream) from a buffer carved from
    //  the connection's memory, about half of it: 13 KB sends with 32 KiB.
    //  Sending is most of what the stream costs (perf: the TCP stack per
    //  send), so at the city each connection has 96 KiB more, for 64 KB
    //  sends: a quarter less CPU per byte streamed (tests/bench row 11:
    //  1.0-1.1 -> 0.76-0.84 ms per MB to 200 dashboards)
    size_t memory = (size_t) header_memory + (web_api_city (api)? 96 * 1024: 0);

    //  Where to listen, and whether that is allowed without TLS
    const char *endpoint = hl_service_bind_endpoint (service, "web");
    struct sockaddr_in addr;
    //  An IPv4 address (or *, localhost), not a name: as the message says
    if (hl_metrics_listen_addr (endpoint, false, &addr)) {
        fprintf (stderr, "hotline-web: '%s' is not an address to listen on (tcp://IPv4:PORT)\n",
                 endpoint? endpoint: "");
        web_server_destroy (&self);
        return NULL;
    }
    const char *cert = hl_config_get (config, "web/cert", NULL);
    const char *key = hl_config_get (config, "web/key", NULL);
    if ((cert && *cert) != (key && *key)) {
        fprintf (stderr, "hotline-web: web/cert and web/key go together\n");
        web_server_destroy (&self);
        return NULL;
    }
    if (cert && *cert) {
        char *cert_path = hl_config_resolve (config, cert);
        char *key_path = hl_config_resolve (config, key);
        self->cert_pem = s_slurp (cert_path);
        self->key_pem = s_slurp (key_path);
        if (!self->cert_pem || !self->key_pem)
            fprintf (stderr, "hotline-web: cannot read web/cert %s or web/key %s\n", cert_path, key_path);
        free (cert_path);
        free (key_path);
        if (!self->cert_pem || !self->key_pem) {
            web_server_destroy (&self);
            return NULL;
        }
        self->tls = true;
    }
    bool loopback = (ntohl (addr.sin_addr.s_addr) >> 24) == 127;
    if (!loopback && !self->tls && hl_config_int (config, "web/insecure_http", 0) != 1) {
        fprintf (stderr, "hotline-web: refusing to serve plain HTTP beyond loopback on %s: passwords and "
                         "session cookies would cross the network in clear. Set web/cert and web/key "
                         "(HTTPS), or web/insecure_http = 1 behind a TLS proxy\n", endpoint);
        web_server_destroy (&self);
        return NULL;
    }

    //  The pages, and Debian's JavaScript
    const char *root = hl_config_get (config, "web/root", NULL);
    char *root_path = root && *root? hl_config_resolve (config, root):
                      hl_strdup (zsys_file_exists ("services/web/static/index.html")?
                              "services/web/static": "/usr/share/hotline/web");
    self->root = s_realpath (root_path);
    if (!self->root)
        hl_warn ("web: no pages at %s (web/root): the API runs, the pages answer 404", root_path);
    free (root_path);
    const char *vendor = hl_config_get (config, "web/vendor_dir", "/usr/share/javascript");
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/leaflet", vendor);
    self->vendor_leaflet = s_realpath (path);
    snprintf (path, sizeof path, "%s/chart.js", vendor);
    self->vendor_chart = s_realpath (path);
    //  web_api checked the map's config: one origin, no separators
    const char *tile_host = web_api_tile_origin (api);
    self->csp = zsys_sprintf ("default-src 'self'; script-src 'self'; style-src 'self'; "
                              "img-src 'self' data: blob:%s%s; connect-src 'self'; frame-ancestors 'none'; "
                              "base-uri 'none'; form-action 'self'", *tile_host? " ": "", tile_host);

    //  SIGINT/SIGTERM must reach the service's loop thread, not the HTTP
    //  threads: block them while MHD creates its threads (they inherit it)
    sigset_t block, saved;
    sigemptyset (&block);
    sigaddset (&block, SIGINT);
    sigaddset (&block, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &block, &saved);
    //  Suspend/resume: the live stream parks a dashboard's connection
    //  until the next event (web_stream.h), with no polling
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                       | (self->tls? MHD_USE_TLS: 0);
    //  Without TLS the options end before the key and certificate (there
    //  are none): one call for both, the varargs after an END are not read
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_handler, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        self->tls? MHD_OPTION_HTTPS_MEM_KEY: MHD_OPTION_END, self->key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, self->cert_pem,
        MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    if (!self->daemon) {
        fprintf (stderr, "hotline-web: cannot listen on %s%s: %s\n", endpoint,
                 self->tls? " (HTTPS: is the key/certificate pair valid PEM?)": "", strerror (errno));
        web_server_destroy (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info? (int) info->port: ntohs (addr.sin_port);
    hl_info ("web: console on %s://%s:%d/ (pages %s)", self->tls? "https": "http",
             inet_ntoa (addr.sin_addr), self->port, self->root? self->root: "none");
    return self;
}

void
web_server_destroy (web_server_t **self_p)
{
    assert (self_p);
    web_server_t *self = *self_p;
    if (self) {
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        free (self->root);
        free (self->vendor_leaflet);
        free (self->vendor_chart);
        free (self->csp);
        free (self->cert_pem);
        free (self->key_pem);
        free (self);
        *self_p = NULL;
    }
}

int
web_server_port (web_server_t *self)
{
    return self->port;
}

void
web_server_test (bool verbose)
{
    printf (" * web_server: ");
    char dir [] = "/tmp/web_server_XXXXXX";
    assert (mkdtemp (dir));
    char path [PATH_MAX], out [PATH_MAX];
    snprintf (path, sizeof path, "%s/pages", dir);
    assert (mkdir (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/pages/index.html", dir);
    FILE *file = fopen (path, "w");
    assert (file);
    fclose (file);
    snprintf (path, sizeof path, "%s/secret", dir);
    file = fopen (path, "w");
    assert (file);
    fclose (file);
    char link [PATH_MAX];
    snprintf (link, sizeof link, "%s/pages/link", dir);
    assert (symlink (path, link) == 0);
    snprintf (path, sizeof path, "%s/pages", dir);
    char *folder = s_realpath (path);
    assert (s_resolve (folder, "/", out) == 0 && strstr (out, "/pages/index.html"));
    assert (s_resolve (folder, "/index.html", out) == 0);
    assert (s_resolve (folder, "/../secret", out) == -1);
    assert (s_resolve (folder, "/link", out) == -1);            //  a symlink out
    assert (s_resolve (folder, "/nope.js", out) == -1);
    assert (s_resolve (folder, "index.html", out) == -1);
    assert (s_resolve (NULL, "/index.html", out) == -1);
    free (folder);
    assert (streq (s_content_type ("/a/b.mjs"), "text/javascript; charset=utf-8"));
    assert (streq (s_content_type ("/a.b/c"), "application/octet-stream"));
    struct sockaddr_in addr;
    assert (hl_metrics_listen_addr ("tcp://127.0.0.1:7110", false, &addr) == 0
         && ntohs (addr.sin_port) == 7110);
    assert (hl_metrics_listen_addr ("tcp://*:80", false, &addr) == 0
         && addr.sin_addr.s_addr == htonl (INADDR_ANY));
    assert (hl_metrics_listen_addr ("tcp://127.0.0.1:x", false, &addr) == -1);
    assert (hl_metrics_listen_addr ("nothing", false, &addr) == -1);
    assert (hl_metrics_listen_addr ("tcp://web.example:80", false, &addr) == -1);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", dir);
    printf ("OK\n");
}
