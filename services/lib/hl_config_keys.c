/*  hl_config_keys — part of hl_config: the table of every configuration key
 *  a service or the CLI reads, with its default and one line of
 *  documentation. One place to look a key up; deploy/config/ward-31001.cfg
 *  (and city.cfg for the city's own keys) documents each one for an
 *  operator, in the file itself.
 *
 *  Kept true by tests/integration/test_config_keys.py: it reads this table
 *  and the C sources (every hl_config_get / _int / _file / _locate and
 *  hl_service_endpoint with a literal key) and fails when code reads a key
 *  that is not here, or that the .cfg files do not document. So: a new key
 *  is a line here, a line in ward-31001.cfg, and its read at the point of
 *  use (HACKING.md, "add a config key").
 *
 *  A path that ends in a slash and a star is a family whose names are data
 *  (endpoints/NAME, bind/NAME, contacts/NAME, contacts/staff/NAME);
 *  "focal_points" is a section of items.
 *  Defaults are written as text: "" means none (off, or derived: the
 *  documentation line says from what).
 */
#include "hotline.h"

const hl_config_key_t hl_config_keys [] = {
    //  node: who this node is
    { "node/role",            "ward",             "ward | city" },
    { "node/name",            "",                 "node name, unique in the city (the CLI's --node; default the data directory's name)" },
    { "node/ward_code",       "31001",            "this ward's code, the prefix of its case numbers (the CLI's default: 00000)" },
    { "node/ward_name",       "",                 "the ward's (or the Department's) name, in reports, e-mail and Open311 (default the ward code)" },
    { "node/city",            "",                 "the city's name (reports; Open311's default Department name)" },
    { "node/city_code",       "0",                "city: the prefix of the Department's case numbers" },
    { "node/case_prefix",     "",                 "case number prefix if not the ward code (the city: node/city_code)" },
    { "node/timezone",        "Asia/Ho_Chi_Minh", "the node's zone (IANA name, checked on load): case years, report days, deadlines, dates" },
    { "node/data_dir",        "",                 "where the SQLite files live (default var/NODE_NAME)" },
    { "node/procedure",       "procedure.conf",   "the lifecycle file; templates.conf and routing.conf default to beside it" },
    { "node/base_port",       "7100",             "default endpoints are base_port+1 ... +16 (the city's default: 7000)" },

    //  endpoints: where the others connect; bind: where the owner binds
    { "endpoints/*",          "",                 "a service's endpoint, default tcp://127.0.0.1:base_port+N (hl_service.c, s_ports)" },
    { "endpoints/city",       "",                 "ward: the city's federation endpoint; none: the ward runs on its own" },
    { "endpoints/city_return","",                 "ward: the city's return endpoint (default: two ports above endpoints/city)" },
    { "bind/*",               "",                 "where the service owning endpoints/NAME binds, if not that address (containers: tcp://*:PORT)" },

    //  focal points and contacts
    { "focal_points",         "",                 "section 1 of the report: the hotline's focal points, one item each" },
    { "contacts/*",           "",                 "addresses of a notify recipient (leaders, division_head, department, staff/NAME): e-mail or phone, comma separated" },

    //  federation (CurveZMQ link between wards and the city)
    { "federation/cert",      "",                 "this node's keypair (hotline keys init makes it)" },
    { "federation/city_cert", "",                 "ward: the city's public certificate" },
    { "federation/allow",     "",                 "city: directory of the ward certificates it admits" },
    { "federation/plaintext", "0",                "1 = no CurveZMQ (development only)" },
    { "federation/evidence_bytes_per_s", "0",     "ward: at most this many bytes a second of forwarded cases' evidence to the city; city: of filed reports' files to the wards, all together; 0 = no limit" },

    //  front: the remote front door (CurveZMQ, off by default)
    { "front/remote",         "",                 "endpoint of the remote front door; empty or off: none" },
    { "front/cert",           "",                 "the remote front door's keypair" },
    { "front/allow",          "",                 "directory of the client certificates it admits (metadata actor)" },

    //  health
    { "health/stale_ms",      "5000",             "/healthz fails when the service's loop has not run for this long" },
    { "health/heartbeat_ms",  "1000",             "how often the service's loop proves it runs (health/stale_ms counts from it)" },

    //  feeds
    { "feeds/coalesce_ms",    "5",                "a feed's sender waits this long after new events for more (0: at once)" },

    //  routing
    { "routing/rules",        "routing.conf",     "the routing rules (relative to this file; default beside the procedure)" },
    { "routing/timeout_ms",   "3000",             "per try, towards intake" },
    { "routing/tries",        "2",                "tries towards intake before the event is retried later" },

    //  deadlines (the deadline-watcher)
    { "deadlines/tick_ms",    "100",              "how often the watcher looks for due deadlines" },
    { "deadlines/budget_ms",  "50",               "at most this long firing deadlines per tick" },
    { "deadlines/retry_ms",   "1000",             "a firing intake did not take is retried after this" },
    { "deadlines/timeout_ms", "1000",             "per try, towards intake" },
    { "deadlines/tries",      "2",                "tries towards intake per firing" },

    //  notify (the notification service)
    { "notify/actor",         "system:notification", "the actor of the follow-up actions it records" },
    { "notify/foreign",       "0",                "1 = also notify events of cases from other nodes" },
    { "notify/smtp_url",      "",                 "SMTP server (smtp:// or smtps://); none: e-mail is off" },
    { "notify/smtp_user",     "",                 "SMTP login, if the server wants one" },
    { "notify/smtp_password", "",                 "SMTP password (prefer HOTLINE_NOTIFY_SMTP_PASSWORD to the file)" },
    { "notify/smtp_password_file", "",            "a file whose first line is the SMTP password (a mounted secret; wins over smtp_password)" },
    { "notify/smtp_tls",      "none",             "none | try | all: STARTTLS on smtp://" },
    { "notify/smtp_check_ms", "30000",            "how often the service checks that the SMTP server takes connections" },
    { "notify/from",          "hotline@localhost", "From: of e-mail (\"Name <address>\" or an address)" },
    { "notify/from_name",     "",                 "the From: display name, if notify/from has none" },
    { "notify/webhook_url",   "",                 "SMS gateway (JSON POST); none: SMS is off" },
    { "notify/webhook_token", "",                 "bearer token for the SMS gateway (prefer HOTLINE_NOTIFY_WEBHOOK_TOKEN)" },
    { "notify/webhook_token_file", "",            "a file whose first line is the webhook token (a mounted secret; wins over webhook_token)" },
    { "notify/send_timeout_ms", "5000",           "one SMTP or webhook delivery" },
    { "notify/workers",       "1",                "senders per channel (e-mail, SMS), 1-4" },
    { "notify/max_attempts",  "5",                "attempts before a message is a dead letter (hotline deadletter)" },
    { "notify/retry_ms",      "1000",             "first retry delay; doubles per attempt" },
    { "notify/retry_max_ms",  "300000",           "the retry delay's ceiling" },
    { "notify/retention_days", "90",              "sent messages are deleted after this many days (0: kept); dead letters stay" },
    { "notify/templates",     "templates.conf",   "the message templates (default beside the procedure)" },
    { "notify/intake_timeout_ms", "3000",         "per try, towards intake (follow-up actions)" },
    { "notify/tick_ms",       "200",              "how often due messages are handed to the senders" },

    //  web (services/web/API.md, "Configuration")
    { "web/threads",          "4",                "worker threads" },
    { "web/connection_limit", "256",              "open connections in all" },
    { "web/per_ip_limit",     "32",               "open connections from one address" },
    { "web/timeout_s",        "30",               "idle seconds before a connection is dropped" },
    { "web/max_body",         "1048576",          "request body bytes (413 above)" },
    { "web/header_memory",    "32768",            "bytes for the request line and headers of a connection" },
    { "web/max_headers",      "100",              "header lines per request (431 above)" },
    { "web/cert",             "",                 "PEM certificate: serve HTTPS (with web/key)" },
    { "web/key",              "",                 "PEM private key for web/cert" },
    { "web/insecure_http",    "0",                "1 allows plain HTTP beyond loopback (behind a TLS proxy)" },
    { "web/root",             "",                 "the pages (default services/web/static if present, else /usr/share/hotline/web)" },
    { "web/vendor_dir",       "/usr/share/javascript", "Debian's JavaScript (leaflet, chart.js)" },
    { "web/tile_url",         "",                 "the map's tile URL template (http or https); none: a coordinate grid" },
    { "web/tile_attribution", "",                 "the tiles' credit line" },
    { "web/tile_host",        "",                 "the one tile origin allowed in img-src (default web/tile_url's origin)" },
    { "web/map_center",       "20.86,106.68",     "where the intake page's map opens (LAT,LON)" },
    { "web/map_zoom",         "14",               "its zoom (1-19)" },
    { "web/session_idle_s",   "1800",             "a session expires after this idle" },
    { "web/session_max_s",    "43200",            "... and after this in all" },
    { "web/login_max_failures",    "5",           "login failures of one account within web/login_window_s" },
    { "web/login_max_failures_ip", "20",          "login failures from one address within web/login_window_s" },
    { "web/login_window_s",   "900",              "the login throttling window" },
    { "web/node_timeout_ms",  "3000",             "per try, towards the node's services" },
    { "web/node_tries",       "3",                "tries towards the node's services (the request id is kept)" },
    { "web/evidence_max_bytes", "10485760",       "one evidence file's bytes" },
    { "web/evidence_max_files", "5",              "evidence files in one request" },
    { "web/public_window_s",  "3600",             "the citizens' form's rate-limit window" },
    { "web/public_max_per_ip", "20",              "citizens' reports from one address per window" },
    { "web/public_max_per_phone", "5",            "citizens' reports from one phone per window" },
    { "web/stream_ring",      "65536",            "live stream: events kept for clients that reconnect (16-1000000)" },
    { "web/stream_recent",    "50",               "live stream: events a new client gets first (0-1000)" },
    { "web/stream_buffer",    "65536",            "live stream: bytes buffered per client before it is dropped" },
    { "web/stream_keepalive_s", "15",             "live stream: a comment line this often keeps proxies open" },
    { "web/stream_nice",      "19",               "city: added to the nice of the HTTP threads, which deliver the live stream, so ingest goes first (0-19)" },
    { "web/dashboard_cache",  "32",               "the city dashboard's cached answers (0-4096)" },
    { "web/dashboard_cache_ms", "10000",          "how long a cached dashboard answer is served" },
    { "web/dashboard_burst_ms", "1000",           "after newer events, how long a cached dashboard answer is still served" },
    { "web/ward_areas",       "",                 "city: file of the wards it files reports at and their areas (CODE | NAME | LAT LON, ...); none: the two demo wards" },

    //  open311 (services/web/API.md, "Open311")
    { "open311/department_name", "",              "the Department's name (default \"Sở Nông nghiệp và Môi trường\" + node/city)" },
    { "open311/rate_per_min", "60",               "POSTs one API key may make in a clock minute" },
    { NULL, NULL, NULL }
};

const hl_config_key_t *
hl_config_key (const char *path)
{
    if (!path)
        return NULL;
    //  A key of its own first: endpoints/city is not only endpoints/NAME
    for (const hl_config_key_t *key = hl_config_keys; key->path; key++)
        if (streq (key->path, path))
            return key;
    for (const hl_config_key_t *key = hl_config_keys; key->path; key++) {
        size_t len = strlen (key->path);
        //  A family: any name below its section (contacts/staff/NAME too)
        if (len >= 2 && streq (key->path + len - 2, "/*")
        &&  strncmp (key->path, path, len - 1) == 0 && path [len - 1])
            return key;
    }
    return NULL;
}
