/*  cli_status — hotline status and hotline probe: a node's services seen
 *  through their HTTP endpoints (hl_metrics).
 *
 *      hotline [--endpoint E | --node NAME] status [--http-base PORT]
 *              [--url SERVICE=URL]... [--services "intake archive ..."] [--json]
 *      hotline probe URL [-q]
 *
 *  status fetches /status of every service of the node and prints one row
 *  each: state (up, down, unready), version, uptime, queue depths, last
 *  error. Where each service answers, first match wins:
 *      --url SERVICE=URL       e.g. --url routing=http://10.0.0.5:7113
 *      $HOTLINE_ENDPOINTS_HTTP_<SERVICE>   (as the services read it, e.g.
 *                              HOTLINE_ENDPOINTS_HTTP_INTAKE=tcp://intake-31001:7111)
 *      the front door's host, port --http-base + offset (intake +0,
 *      archive +1, routing +2, deadline-watcher +3, notification +4);
 *      --http-base defaults to the front door's port - 1 + 11 (the node's
 *      base port + 11, as the services default)
 *  Exit 0 when every service is up and ready, 3 otherwise.
 *
 *  probe GETs one URL (a health check where curl is not installed, e.g. the
 *  container image): prints the body unless -q; exit 0 on a 2xx answer,
 *  3 otherwise.
 */
#include "hotline.h"
#include "cli.h"
#include <curl/curl.h>

static const char *s_services [] = {
    "intake", "archive", "routing", "deadline-watcher", "notification", NULL
};

static size_t
s_write (char *data, size_t size, size_t nmemb, void *arg)
{
    zchunk_t *chunk = (zchunk_t *) arg;
    if (zchunk_size (chunk) < 4 * 1024 * 1024)
        zchunk_extend (chunk, data, size * nmemb);
    return size * nmemb;
}

//  GET url: HTTP code (0 when unreachable, error in error), body (caller frees)
static long
s_get (const char *url, int timeout_ms, char **body, char *error, size_t size)
{
    CURL *curl = curl_easy_init ();
    if (!curl) {
        snprintf (error, size, "libcurl failed to start");
        *body = hl_strdup ("");
        return 0;
    }
    zchunk_t *chunk = zchunk_new (NULL, 4096);
    char curl_error [CURL_ERROR_SIZE] = "";
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, chunk);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    long code = 0;
    CURLcode rc = curl_easy_perform (curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
    else
        snprintf (error, size, "%s", *curl_error? curl_error: curl_easy_strerror (rc));
    curl_easy_cleanup (curl);
    zchunk_extend (chunk, "", 1);
    *body = hl_strdup ((const char *) zchunk_data (chunk));
    zchunk_destroy (&chunk);
    return code;
}

//  "tcp://host:port" or "http://host:port[/...]" -> "http://host:port"
static void
s_http_base (const char *endpoint, char *out, size_t size)
{
    const char *p = strstr (endpoint, "://");
    p = p? p + 3: endpoint;
    size_t len = strcspn (p, "/");
    char hostport [256];
    snprintf (hostport, sizeof hostport, "%.*s", (int) len, p);
    //  A wildcard bind address is no place to connect to
    if (hostport [0] == '*')
        snprintf (out, size, "http://127.0.0.1%s", hostport + 1);
    else
    if (strncmp (hostport, "0.0.0.0:", 8) == 0)
        snprintf (out, size, "http://127.0.0.1%s", hostport + 7);
    else
        snprintf (out, size, "http://%s", hostport);
}

//  Host and port of a tcp:// endpoint; 0 or -1
static int
s_host_port (const char *endpoint, char *host, size_t size, int *port)
{
    const char *p = strstr (endpoint, "://");
    p = p? p + 3: endpoint;
    const char *colon = strrchr (p, ':');
    if (!colon)
        return -1;
    snprintf (host, size, "%.*s", (int) (colon - p), p);
    if (streq (host, "*") || streq (host, "0.0.0.0"))
        snprintf (host, size, "127.0.0.1");
    *port = atoi (colon + 1);
    return *port > 0? 0: -1;
}

//  A short label for a queue gauge
static const char *
s_queue_label (const char *name, char *buf, size_t size)
{
    static const char *labels [][2] = {
        { "hotline_outbox_backlog", "backlog" },
        { "hotline_oldest_unacked_age_seconds", "oldest_unacked_s" },
        { "hotline_open_cases", "open_cases" },
        { "hotline_federation_backlog", "city_backlog" },
        { "hotline_federation_oldest_unacked_age_seconds", "city_oldest_s" },
        { "hotline_federation_evidence_backlog", "city_evidence_pieces" },
        { "hotline_consumer_lag", "lag" },
        { "hotline_deadline_pending_firings", "firings" },
        { "hotline_notifications_pending", "pending" },
        { "hotline_notifications_dead", "dead" },
        { NULL, NULL }
    };
    for (int i = 0; labels [i][0]; i++)
        if (streq (labels [i][0], name))
            return labels [i][1];
    snprintf (buf, size, "%s", strncmp (name, "hotline_", 8) == 0? name + 8: name);
    return buf;
}

static const char *
s_str (json_t *object, const char *key, const char *dflt)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: dflt;
}

static void
s_uptime (json_int_t secs, char *buf, size_t size)
{
    if (secs < 60)
        snprintf (buf, size, "%llds", (long long) secs);
    else
    if (secs < 3600)
        snprintf (buf, size, "%lldm%02llds", (long long) (secs / 60), (long long) (secs % 60));
    else
    if (secs < 86400)
        snprintf (buf, size, "%lldh%02lldm", (long long) (secs / 3600), (long long) (secs % 3600 / 60));
    else
        snprintf (buf, size, "%lldd%02lldh", (long long) (secs / 86400), (long long) (secs % 86400 / 3600));
}

int
cli_status (cli_t *cli, int argc, char **argv)
{
    int http_base = 0;
    bool http_base_given = false;       //  --http-base: the ports it says, not the config's
    bool as_json = false;
    const char *only = NULL;
    zhashx_t *urls = zhashx_new ();
    int rc = CLI_OK;
    for (int i = 0; i < argc && rc == CLI_OK; i++) {
        bool has_value = i + 1 < argc;
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (streq (argv [i], "--http-base") && has_value) {
            http_base = atoi (argv [++i]);
            http_base_given = true;
            if (http_base <= 0 || http_base > 65535 - 4) {
                fprintf (stderr, "hotline status: --http-base needs a port number\n");
                rc = CLI_BAD_INPUT;
            }
        }
        else
        if (streq (argv [i], "--services") && has_value)
            only = argv [++i];
        else
        if (streq (argv [i], "--url") && has_value) {
            const char *value = argv [++i];
            const char *equals = strchr (value, '=');
            if (!equals || equals == value) {
                fprintf (stderr, "hotline status: --url takes SERVICE=URL\n");
                rc = CLI_BAD_INPUT;
            }
            else {
                char service [64];
                snprintf (service, sizeof service, "%.*s", (int) (equals - value), value);
                zhashx_update (urls, service, (void *) (equals + 1));
            }
        }
        else {
            fprintf (stderr, "hotline status: unknown option '%s' (--http-base PORT, --url SERVICE=URL,"
                             " --services LIST, --json)\n", argv [i]);
            rc = CLI_BAD_INPUT;
        }
    }
    char host [256] = "127.0.0.1";
    int port = 0;
    if (rc == CLI_OK && !http_base) {
        if (s_host_port (cli->endpoint, host, sizeof host, &port)) {
            fprintf (stderr, "hotline status: cannot derive HTTP ports from %s (use --http-base)\n",
                     cli->endpoint);
            rc = CLI_BAD_INPUT;
        }
        else
            http_base = port - 1 + 11;
    }
    else
    if (rc == CLI_OK)
        s_host_port (cli->endpoint, host, sizeof host, &port);
    if (rc != CLI_OK) {
        zhashx_destroy (&urls);
        return rc;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    json_t *rows = json_array ();
    bool all_up = true;
    char node [128] = "";
    for (int i = 0; s_services [i]; i++) {
        const char *service = s_services [i];
        if (only) {
            char padded [512], word [80];
            snprintf (padded, sizeof padded, " %s ", only);
            for (char *p = padded; *p; p++)
                if (*p == ',')
                    *p = ' ';
            snprintf (word, sizeof word, " %s ", service);
            if (!strstr (padded, word))
                continue;
        }
        //  Where it answers
        char base [300], env [80];
        const char *url = (const char *) zhashx_lookup (urls, service);
        snprintf (env, sizeof env, "HOTLINE_ENDPOINTS_HTTP_%s", service);
        for (char *p = env; *p; p++)
            *p = *p == '-'? '_': (char) toupper ((unsigned char) *p);
        if (!url)
            url = getenv (env);
        //  Beside a node (-c, $HOTLINE_CONFIG): its endpoints/http_SERVICE,
        //  the address its own services publish, not one derived from the
        //  front door's host (intake-city is not archive-city)
        char http_key [64], from_config [256];
        snprintf (http_key, sizeof http_key, "http_%s", service);
        if (!url && !http_base_given && cli_config_endpoint (cli, http_key, from_config, sizeof from_config) == 0)
            url = from_config;
        if (url)
            s_http_base (url, base, sizeof base);
        else
            snprintf (base, sizeof base, "http://%s:%d", host, http_base + i);
        char status_url [400];
        snprintf (status_url, sizeof status_url, "%s/status", base);
        char error [CURL_ERROR_SIZE + 512] = "";
        char *body = NULL;
        long code = s_get (status_url, cli->timeout_ms > 0? cli->timeout_ms: 3000, &body, error, sizeof error);
        json_t *row = json_object ();
        json_object_set_new (row, "service", json_string (service));
        json_object_set_new (row, "url", json_string (base));
        json_t *status = code == 200? json_loads (body, 0, NULL): NULL;
        free (body);
        if (!status) {
            all_up = false;
            json_object_set_new (row, "state", json_string ("down"));
            if (!*error)
                snprintf (error, sizeof error, "HTTP %ld from %s", code, status_url);
            json_object_set_new (row, "error", json_string (error));
        }
        else {
            bool ready = json_is_true (json_object_get (status, "ready"));
            all_up = all_up && ready;
            json_object_set_new (row, "state", json_string (ready? "up": "unready"));
            const char *name = json_string_value (json_object_get (status, "node"));
            if (name && !*node)
                snprintf (node, sizeof node, "%s", name);
            json_object_set (row, "status", status);
            json_decref (status);
        }
        json_array_append_new (rows, row);
    }
    if (as_json) {
        char *text = json_dumps (rows, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    else {
        printf ("node %s (%s)\n", *node? node: "?", cli->endpoint);
        printf ("%-17s %-8s %-8s %-8s %-40s %s\n", "SERVICE", "STATE", "VERSION", "UPTIME",
                "QUEUES", "LAST ERROR");
        size_t index;
        json_t *row;
        json_array_foreach (rows, index, row) {
            json_t *status = json_object_get (row, "status");
            char version [32] = "-", uptime [32] = "-", queues [512] = "", last [300] = "-";
            if (status) {
                snprintf (version, sizeof version, "%s", s_str (status, "version", "?"));
                s_uptime (json_integer_value (json_object_get (status, "uptime_s")), uptime, sizeof uptime);
                const char *key;
                json_t *value;
                json_object_foreach (json_object_get (status, "queues"), key, value) {
                    char label [96], item [128];
                    snprintf (item, sizeof item, "%s%s=%g", *queues? " ": "",
                              s_queue_label (key, label, sizeof label), json_number_value (value));
                    strncat (queues, item, sizeof queues - strlen (queues) - 1);
                }
                const char *error = json_string_value (json_object_get (status, "last_error"));
                const char *reason = json_string_value (json_object_get (status, "ready_reason"));
                if (reason && *reason && !json_is_true (json_object_get (status, "ready")))
                    snprintf (last, sizeof last, "not ready: %s", reason);
                else
                if (error && *error)
                    snprintf (last, sizeof last, "%s", error);
            }
            else
                snprintf (last, sizeof last, "%s", s_str (row, "error", ""));
            printf ("%-17s %-8s %-8s %-8s %-40s %s\n",
                    json_string_value (json_object_get (row, "service")),
                    json_string_value (json_object_get (row, "state")),
                    version, uptime, *queues? queues: "-", last);
        }
    }
    json_decref (rows);
    zhashx_destroy (&urls);
    curl_global_cleanup ();
    return all_up? CLI_OK: CLI_UNAVAILABLE;
}

int
cli_probe (cli_t *cli, int argc, char **argv)
{
    const char *url = NULL;
    bool quiet = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "-q") || streq (argv [i], "--quiet"))
            quiet = true;
        else
        if (!url && strncmp (argv [i], "-", 1) != 0)
            url = argv [i];
        else {
            fprintf (stderr, "hotline probe: unexpected argument '%s' (hotline probe URL [-q])\n", argv [i]);
            return CLI_BAD_INPUT;
        }
    }
    if (!url) {
        fprintf (stderr, "hotline probe: which URL? (e.g. http://127.0.0.1:7111/readyz)\n");
        return CLI_BAD_INPUT;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    char error [CURL_ERROR_SIZE + 64] = "";
    char *body = NULL;
    long code = s_get (url, cli->timeout_ms > 0? cli->timeout_ms: 3000, &body, error, sizeof error);
    if (!quiet)
        fputs (body, stdout);
    if (code == 0)
        fprintf (stderr, "hotline probe: %s: %s\n", url, error);
    else
    if (code < 200 || code > 299)
        fprintf (stderr, "hotline probe: %s: HTTP %ld\n", url, code);
    free (body);
    curl_global_cleanup ();
    return code >= 200 && code <= 299? CLI_OK: CLI_UNAVAILABLE;
}
