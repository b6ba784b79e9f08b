/*  web_api — the router and the session routes of the JSON API, and what
 *  every handler shares (see web_api.h and API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the object, the web section of the config, and each worker
 *       thread's own clients and store (s_local)
 *    2. the node: a command or query through intake's front door (or the
 *       notification service), as the user's actor
 *    3. checks: the session, the CSRF token, roles, who sees a reporter
 *    4. the session's handlers: login, logout, me, the procedure
 *    5. the router (web_api_handle): the route, the session and CSRF
 *       check, then the handler (here, or web_cases, web_report,
 *       web_admin)
 *    6. the selftest
 */
#include "hotline.h"
#include "web_api.h"
#include "web_cases.h"
#include "web_report.h"
#include "web_admin.h"
#include "web_stream.h"
#include "web_wards.h"
#include "web_public.h"
#include "web_open311.h"
#include <pthread.h>
#include <math.h>
#include <microhttpd.h>

// ------------------------------------------------------------- 1. object

struct _web_api_t {
    hl_service_t *service;
    hl_procedure_t *procedure;
    char *db_path;
    char *intake;                   //  the node's front door
    char *notification;             //  its notification service (dead letters)
    int timeout_ms, tries;          //  per try, tries, towards the node
    int64_t idle_ms, max_ms;        //  session expiry
    int max_failures;               //  per account in window_ms
    int max_failures_ip;            //  per IP in window_ms
    int64_t window_ms;
    bool city;
    char *node, *ward_code, *ward_name, *city_name;
    //  The map the pages draw (/me's "map") and the tile origin the CSP allows
    char *tile_url, *tile_attribution, *tile_origin;
    double center [2];              //  lat, lon
    int zoom;
    pthread_key_t key;              //  -> s_local_t of the calling thread
    web_public_t *pub;              //  citizens and evidence files (web_public)
    web_open311_t *open311;         //  /open311/v2/ (no session: api_key)
    hl_areas_t *areas;              //  city: the wards it files at (web/ward_areas)
};

//  What each worker thread owns
typedef struct {
    hl_client_t *intake;
    hl_client_t *notification;
    hl_accounts_t *accounts;
} s_local_t;

static void
s_local_free (void *arg)
{
    s_local_t *local = (s_local_t *) arg;
    if (local) {
        hl_client_destroy (&local->intake);
        hl_client_destroy (&local->notification);
        hl_accounts_destroy (&local->accounts);
        free (local);
    }
}

static s_local_t *
s_local (web_api_t *self)
{
    s_local_t *local = (s_local_t *) pthread_getspecific (self->key);
    if (!local) {
        local = (s_local_t *) zmalloc (sizeof (s_local_t));
        pthread_setspecific (self->key, local);
    }
    return local;
}

hl_accounts_t *
web_api_accounts (web_api_t *self)
{
    s_local_t *local = s_local (self);
    if (!local->accounts)
        local->accounts = hl_accounts_new (self->db_path);
    return local->accounts;
}

//  The origin of a tile URL template, for the CSP's img-src: "https://HOST[:PORT]",
//  with Leaflet's "{s}." subdomain placeholder as the CSP wildcard "*.". 0,
//  or -1 when url is not an http(s) URL whose host a CSP source can name
static int
s_tile_origin (const char *url, char *origin, size_t size)
{
    const char *host = strncmp (url, "https://", 8) == 0? url + 8:
                       strncmp (url, "http://", 7) == 0? url + 7: NULL;
    if (!host)
        return -1;
    size_t scheme = (size_t) (host - url);
    size_t len = strcspn (host, "/?#");
    bool wildcard = strncmp (host, "{s}.", 4) == 0;
    const char *rest = wildcard? host + 4: host;
    size_t rest_len = len - (wildcard? 4: 0);
    if (len == 0 || rest_len == 0
    ||  strspn (rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") < rest_len
    ||  scheme + 2 + rest_len + 1 > size)
        return -1;
    snprintf (origin, size, "%.*s%s%.*s", (int) scheme, url, wildcard? "*.": "", (int) rest_len, rest);
    return 0;
}

//  "lat,lon" into center; 0, or -1 if it is not two numbers on the globe
static int
s_center (const char *text, double *center)
{
    char *end;
    errno = 0;
    center [0] = strtod (text, &end);
    if (end == text || *end != ',')
        return -1;
    const char *lon = end + 1;
    center [1] = strtod (lon, &end);
    while (*end == ' ')
        end++;
    if (end == lon || *end || errno || !isfinite (center [0]) || !isfinite (center [1])
    ||  center [0] < -90 || center [0] > 90 || center [1] < -180 || center [1] > 180)
        return -1;
    return 0;
}

//  The map's config (web/tile_url, tile_attribution, tile_host, map_center,
//  map_zoom); 0, or -1 (printed)
static int
s_map_config (web_api_t *self, hl_config_t *config)
{
    self->tile_url = hl_strdup (hl_config_get (config, "web/tile_url", ""));
    self->tile_attribution = hl_strdup (hl_config_get (config, "web/tile_attribution", ""));
    char origin [256] = "";
    if (*self->tile_url
    &&  (strpbrk (self->tile_url, " ;,'\"\r\n\t") || s_tile_origin (self->tile_url, origin, sizeof origin))) {
        fprintf (stderr, "hotline-web: web/tile_url must be an http(s) URL template, like "
                         "https://tile.openstreetmap.org/{z}/{x}/{y}.png\n");
        return -1;
    }
    //  The CSP's img-src allows web/tile_host when it is set, else the
    //  tile URL's own origin: without it the browser would block every tile
    const char *tile_host = hl_config_get (config, "web/tile_host", "");
    if (strpbrk (tile_host, " ;,'\"\r\n\t")) {
        fprintf (stderr, "hotline-web: web/tile_host must be one origin, like https://tile.openstreetmap.org\n");
        return -1;
    }
    if (*tile_host && *origin && strneq (tile_host, origin) && !strchr (tile_host, '*'))
        hl_warn ("web: web/tile_host %s is not the origin of web/tile_url (%s): the browser will "
                 "block the tiles", tile_host, origin);
    self->tile_origin = hl_strdup (*tile_host? tile_host: origin);
    //  Hải Phòng, the city of the wards this project was written for
    const char *center = hl_config_get (config, "web/map_center", "20.86,106.68");
    if (s_center (center, self->center)) {
        fprintf (stderr, "hotline-web: web/map_center must be \"LAT,LON\" in degrees, like 20.86,106.68\n");
        return -1;
    }
    self->zoom = (int) hl_config_int (config, "web/map_zoom", 14);
    if (self->zoom < 1 || self->zoom > 19) {
        fprintf (stderr, "hotline-web: web/map_zoom must be 1-19\n");
        return -1;
    }
    return 0;
}

web_api_t *
web_api_new (hl_service_t *service)
{
    web_api_t *self = (web_api_t *) zmalloc (sizeof (web_api_t));
    hl_config_t *config = hl_service_config (service);
    self->service = service;
    self->procedure = hl_service_procedure (service);
    self->db_path = hl_service_path (service, "web.db");
    self->intake = hl_strdup (hl_service_endpoint (service, "intake"));
    self->notification = hl_strdup (hl_service_endpoint (service, "notification"));
    self->timeout_ms = (int) hl_config_int (config, "web/node_timeout_ms", 3000);
    self->tries = (int) hl_config_int (config, "web/node_tries", 3);
    self->idle_ms = hl_config_int (config, "web/session_idle_s", 1800) * 1000;
    self->max_ms = hl_config_int (config, "web/session_max_s", 43200) * 1000;
    self->max_failures = (int) hl_config_int (config, "web/login_max_failures", 5);
    self->max_failures_ip = (int) hl_config_int (config, "web/login_max_failures_ip", 20);
    self->window_ms = hl_config_int (config, "web/login_window_s", 900) * 1000;
    self->city = streq (hl_service_role (service), "city");
    self->node = hl_strdup (hl_service_node (service));
    self->ward_code = hl_strdup (hl_service_ward (service));
    self->ward_name = hl_strdup (hl_config_get (config, "node/ward_name", ""));
    self->city_name = hl_strdup (hl_config_get (config, "node/city", ""));
    pthread_key_create (&self->key, s_local_free);
    if (self->idle_ms <= 0 || self->max_ms <= 0 || self->window_ms <= 0
    ||  self->timeout_ms <= 0 || self->tries <= 0 || self->max_failures <= 0
    ||  self->max_failures_ip <= 0) {
        fprintf (stderr, "hotline-web: web/session_idle_s, session_max_s, login_window_s, "
                         "login_max_failures(_ip), node_timeout_ms and node_tries must be positive\n");
        web_api_destroy (&self);
        return NULL;
    }
    if (s_map_config (self, config)) {
        web_api_destroy (&self);
        return NULL;
    }
    //  The city's wards and their areas (a file; none: the demo wards)
    const char *areas = hl_config_get (config, "web/ward_areas", "");
    if (self->city && *areas) {
        char *path = hl_config_resolve (config, areas);
        char why [300];
        self->areas = hl_areas_load (path, why, sizeof why);
        free (path);
        if (!self->areas) {
            fprintf (stderr, "hotline-web: web/ward_areas: %s\n", why);
            web_api_destroy (&self);
            return NULL;
        }
    }
    else
    if (self->city)
        self->areas = hl_areas_default ();
    //  web.db is migrated now, at start-up, or refused (a newer release
    //  wrote it: logged), not at the first request
    if (!web_api_accounts (self)) {
        web_api_destroy (&self);
        return NULL;
    }
    self->pub = web_public_new (service, self);
    if (!self->pub) {
        web_api_destroy (&self);
        return NULL;
    }
    self->open311 = web_open311_new (self, config);
    if (!self->open311) {
        web_api_destroy (&self);
        return NULL;
    }
    return self;
}

void
web_api_destroy (web_api_t **self_p)
{
    assert (self_p);
    web_api_t *self = *self_p;
    if (self) {
        //  The calling thread's own (the worker threads' went with them)
        s_local_free (pthread_getspecific (self->key));
        pthread_setspecific (self->key, NULL);
        pthread_key_delete (self->key);
        web_public_destroy (&self->pub);
        web_open311_destroy (&self->open311);
        hl_areas_destroy (&self->areas);
        free (self->db_path);
        free (self->intake);
        free (self->notification);
        free (self->node);
        free (self->ward_code);
        free (self->ward_name);
        free (self->city_name);
        free (self->tile_url);
        free (self->tile_attribution);
        free (self->tile_origin);
        free (self);
        *self_p = NULL;
    }
}

hl_procedure_t *
web_api_procedure (web_api_t *self)
{
    return self->procedure;
}

web_public_t *
web_api_public (web_api_t *self)
{
    return self->pub;
}

hl_areas_t *
web_api_areas (web_api_t *self)
{
    return self->areas;
}

bool
web_api_city (web_api_t *self)
{
    return self->city;
}

const char *
web_api_ward_code (web_api_t *self)
{
    return self->ward_code;
}

const char *
web_api_db_path (web_api_t *self)
{
    return self->db_path;
}

const char *
web_api_tile_origin (web_api_t *self)
{
    return self->tile_origin;
}

// ------------------------------------------------------------- 2. the node

//  Send a request to the node (intake's front door, or the notification
//  service) with the user's actor. The reply, or NULL when the node did
//  not answer (answered 503).
Hotline__Envelope *
web_api_call (web_api_t *self, web_request_t *request, Hotline__Request *message,
              const char *actor, bool notification)
{
    s_local_t *local = s_local (self);
    hl_client_t **client = notification? &local->notification: &local->intake;
    if (!*client)
        *client = hl_client_new (notification? self->notification: self->intake,
                                 self->timeout_ms, self->tries);
    message->actor = (char *) actor;
    Hotline__Envelope *reply = hl_client_call (*client, message);
    if (!reply || !reply->reply) {
        hl_msg_free (&reply);
        web_request_unavailable (request);
        return NULL;
    }
    return reply;
}

//  A query: its JSON result, or NULL (answered)
json_t *
web_api_query (web_api_t *self, web_request_t *request, Hotline__Query *query, const char *actor,
               bool notification)
{
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    message.query = query;
    Hotline__Envelope *reply = web_api_call (self, request, &message, actor, notification);
    if (!reply)
        return NULL;
    json_t *result = NULL;
    if (reply->reply->code != HL_OK)
        web_request_refusal (request, reply->reply);
    else {
        result = json_loads (reply->reply->json? reply->reply->json: "null", 0, NULL);
        if (!result)
            web_request_unavailable (request);
    }
    hl_msg_free (&reply);
    return result;
}

// ------------------------------------------------------------- 3. checks

//  A well-formed token: 64 lowercase hex digits
static bool
s_token_ok (const char *token)
{
    if (!token || strlen (token) != HL_TOKEN_HEX - 1)
        return false;
    return strspn (token, "0123456789abcdef") == HL_TOKEN_HEX - 1;
}

//  Constant-time comparison of two tokens of the same length
static bool
s_same (const char *a, const char *b)
{
    size_t len = strlen (a);
    if (len != strlen (b))
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char) (a [i] ^ b [i]);
    return diff == 0;
}

static bool
s_state_changing (web_request_t *request)
{
    return strneq (request->method, "GET") && strneq (request->method, "HEAD");
}

//  The logged-in user: 0, or -1 (answered 401, or 403 without the CSRF
//  token on a state-changing request)
static int
s_auth (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    const char *token = web_request_cookie (request, "hl_session");
    hl_accounts_t *accounts = web_api_accounts (self);
    if (!accounts) {
        web_request_unavailable (request);
        return -1;
    }
    if (!s_token_ok (token)
    ||  hl_accounts_session_check (accounts, token, self->idle_ms, self->max_ms, session)) {
        web_request_error (request, 401, NULL,
            "Chưa đăng nhập hoặc phiên đã hết hạn (not logged in, or the session expired)");
        return -1;
    }
    if (s_state_changing (request)) {
        const char *csrf = web_request_header (request, "X-CSRF-Token");
        if (!csrf || !s_same (csrf, session->csrf)) {
            web_request_error (request, 403, "X-CSRF-Token",
                "Thiếu hoặc sai mã chống giả mạo (missing or wrong X-CSRF-Token)");
            return -1;
        }
    }
    return 0;
}

int
web_api_auth (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    return s_auth (self, request, session);
}

//  Roles a web user may have: the procedure's people (not its "system"),
//  viewer and admin
bool
web_api_role_valid (web_api_t *self, const char *role)
{
    if (!role)
        return false;
    if (streq (role, "viewer") || streq (role, "admin"))
        return true;
    //  "citizen" is the web's reporter acting from a tracking link, never an account
    return strneq (role, "system") && strneq (role, "citizen") && hl_procedure_role_exists (self->procedure, role);
}

//  May this role take actions at all (the procedure still decides which)
bool
web_api_can_act (web_api_t *self, const char *role)
{
    return strneq (role, "viewer") && strneq (role, "admin") && strneq (role, "system")
        && strneq (role, "citizen") && hl_procedure_role_exists (self->procedure, role);
}

//  Who sees a reporter's identity: at a ward the officer, the division and
//  the leaders; at the city only the Department, and only on the city's
//  own cases (those a ward forwarded: they carry origin_case). Never viewer
//  or admin. case_json NULL: "in general", for /me.
bool
web_api_can_see_reporter (web_api_t *self, const char *role, json_t *case_json)
{
    if (self->city) {
        if (strneq (role, "department"))
            return false;
        if (!case_json)
            return true;
        const char *origin = json_string_value (json_object_get (case_json, "origin_case"));
        return origin && *origin;
    }
    return streq (role, "officer") || streq (role, "division") || streq (role, "leader");
}

void
web_api_actor (hl_session_info_t *session, char *actor, size_t size)
{
    snprintf (actor, size, "%s:%s", session->role, session->user);
}

bool
web_api_is_admin (web_request_t *request, hl_session_info_t *session)
{
    if (streq (session->role, "admin"))
        return true;
    web_request_error (request, 403, NULL, "Chỉ quản trị viên (admin only)");
    return false;
}

// ------------------------------------------------------------- 4. session

//  POST /api/v1/session {"user", "password"[, "otp"]}
static void
s_session_login (web_api_t *self, web_request_t *request)
{
    static const char *fields [] = { "user", "password", "otp", NULL };
    json_t *body = web_request_body (request, fields);
    if (!body)
        return;
    const char *user, *password, *otp;
    if (web_request_string (request, body, "user", 64, &user)
    ||  web_request_string (request, body, "otp", 16, &otp))
        goto done;
    json_t *value = json_object_get (body, "password");
    if (value && !json_is_string (value)) {
        web_request_error (request, 400, "password", "'password' phải là chuỗi (must be a string)");
        goto done;
    }
    password = json_string_value (value);
    if (!user || !*user) {
        web_request_error (request, 400, "user", "Thiếu tên đăng nhập (user is required)");
        goto done;
    }
    if (!password || !*password) {
        web_request_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
        goto done;
    }
    hl_accounts_t *accounts = web_api_accounts (self);
    if (!accounts) {
        web_request_unavailable (request);
        goto done;
    }
    int64_t since = hl_clock_now () - self->window_ms;
    int by_user = hl_accounts_failures (accounts, user, NULL, since);
    int by_ip = by_user < 0? -1: hl_accounts_failures (accounts, NULL, request->ip, since);
    if (by_user < 0 || by_ip < 0) {
        //  The throttle cannot count the failures: it fails closed. Letting
        //  the login through would give a password guesser as many tries
        //  as the store stays broken
        static _Thread_local hl_ratelimit_t s_throttle_rl;
        long suppressed = hl_ratelimit (&s_throttle_rl);
        if (suppressed >= 0)
            hl_error ("web: login refused: the login throttle cannot read web.db's audit "
                      "(%ld similar suppressed)", suppressed);
        snprintf (request->retry_after, sizeof request->retry_after, "%d", 5);
        web_request_error (request, 503, NULL, "Tạm thời không đăng nhập được, thử lại sau "
                           "(logins cannot be checked now; try again later)");
        goto done;
    }
    if (by_user >= self->max_failures || by_ip >= self->max_failures_ip) {
        hl_accounts_audit (accounts, user, request->ip, false, "throttled");
        hl_metrics_add (hl_metrics_default (), "hotline_web_login_failures_total", 1);
        snprintf (request->retry_after, sizeof request->retry_after, "%lld",
                  (long long) (self->window_ms / 1000));
        web_request_error (request, 429, NULL,
            "Đăng nhập sai quá nhiều lần, thử lại sau (too many failed logins, try again later)");
        goto done;
    }
    hl_account_t account;
    char err [256] = "";
    if (hl_accounts_verify (accounts, user, password, otp, &account, err, sizeof err)) {
        hl_accounts_audit (accounts, user, request->ip, false, "bad credentials");
        hl_metrics_add (hl_metrics_default (), "hotline_web_login_failures_total", 1);
        hl_info ("web: failed login for '%.64s' from %s", user, request->ip);
        web_request_error (request, 401, NULL,
            "Sai tên đăng nhập, mật khẩu hoặc mã (wrong user, password or code)");
        goto done;
    }
    if (!web_api_role_valid (self, account.role)) {
        hl_accounts_audit (accounts, user, request->ip, false, "role not on this node");
        web_request_error (request, 403, NULL, "Vai trò '%s' không dùng được ở nút này (role not valid here)",
                           account.role);
        goto done;
    }
    char token [HL_TOKEN_HEX], csrf [HL_TOKEN_HEX];
    if (hl_accounts_session_new (accounts, account.name, account.role, token, csrf)) {
        web_request_unavailable (request);
        goto done;
    }
    hl_accounts_audit (accounts, user, request->ip, true, "ok");
    hl_info ("web: %s logged in as %s from %s", account.name, account.role, request->ip);
    snprintf (request->set_cookie, sizeof request->set_cookie,
              "hl_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
              (long long) (self->max_ms / 1000), request->tls? "; Secure": "");
    json_t *answer = json_object ();
    json_object_set_new (answer, "csrf", json_string (csrf));
    json_object_set_new (answer, "user", json_string (account.name));
    json_object_set_new (answer, "role", json_string (account.role));
    web_request_json (request, 200, answer);
done:
    json_decref (body);
}

//  DELETE /api/v1/session
static void
s_session_logout (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    (void) session;
    const char *token = web_request_cookie (request, "hl_session");
    hl_accounts_session_end (web_api_accounts (self), token);
    snprintf (request->set_cookie, sizeof request->set_cookie,
              "hl_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", request->tls? "; Secure": "");
    web_request_json (request, 200, json_object ());
}

//  The map the pages draw: /me's "map", and the citizens' (web_public's
//  GET /api/v1/public/config), one builder so the two cannot drift apart
json_t *
web_api_map (web_api_t *self)
{
    return json_pack ("{s:s, s:s, s:[f, f], s:i}",
        "tiles", self->tile_url, "attribution", self->tile_attribution,
        "center", self->center [0], self->center [1], "zoom", self->zoom);
}

//  GET /api/v1/me
static void
s_me (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    json_t *answer = json_object ();
    json_object_set_new (answer, "user", json_string (session->user));
    json_object_set_new (answer, "role", json_string (session->role));
    json_object_set_new (answer, "actor", json_string (actor));
    json_object_set_new (answer, "csrf", json_string (session->csrf));
    json_t *node = json_object ();
    json_object_set_new (node, "name", json_string (self->node));
    json_object_set_new (node, "role", json_string (self->city? "city": "ward"));
    json_object_set_new (node, "ward_code", json_string (self->ward_code));
    json_object_set_new (node, "ward_name", json_string (self->ward_name));
    json_object_set_new (node, "city", json_string (self->city_name));
    json_object_set_new (answer, "node", node);
    json_object_set_new (answer, "can_see_reporter",
                         json_boolean (web_api_can_see_reporter (self, session->role, NULL)));
    json_object_set_new (answer, "can_act", json_boolean (web_api_can_act (self, session->role)));
    json_object_set_new (answer, "is_admin", json_boolean (streq (session->role, "admin")));
    json_object_set_new (answer, "map", web_api_map (self));
    json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
    web_request_json (request, 200, answer);
}

//  GET /api/v1/procedure
static void
s_procedure (web_api_t *self, web_request_t *request)
{
    web_request_json (request, 200, hl_procedure_json (self->procedure));
}


// ------------------------------------------------------------- 5. router

//  Split path after /api/v1/ into at most 5 segments
static size_t
s_segments (const char *path, char *buf, size_t size, const char **segments, size_t max)
{
    snprintf (buf, size, "%s", path);
    size_t count = 0;
    char *save = NULL;
    for (char *part = strtok_r (buf, "/", &save); part; part = strtok_r (NULL, "/", &save)) {
        if (count == max)
            return max + 1;
        segments [count++] = part;
    }
    return count;
}

static void
s_method_not_allowed (web_request_t *request)
{
    web_request_error (request, 405, NULL, "Phương thức không hỗ trợ (method not allowed): %s", request->method);
}

void
web_api_handle (web_api_t *self, web_request_t *request)
{
    //  Open311 answers in its own shapes and authorises by api_key, not a session
    if (strncmp (request->path, "/open311/", 9) == 0) {
        web_open311_handle (self->open311, request);
        return;
    }
    const char *method = request->method;
    char buf [512];
    const char *seg [6];
    size_t n = s_segments (request->path + strlen ("/api/v1"), buf, sizeof buf, seg, 5);
    request->route = "other";
    if (n == 0 || n > 5 || strlen (request->path) >= sizeof buf) {
        web_request_error (request, 404, NULL, "Không có (not found)");
        return;
    }
    //  A citizen's tracking link: no session, the token is the key
    if (n >= 3 && n <= 4 && streq (seg [0], "public") && streq (seg [1], "track")) {
        request->route = "public_track";
        web_public_track (self->pub, request, seg [2], n == 4? seg [3]: NULL);
        return;
    }
    //  The citizens' pages' config: no session, nothing in it is secret
    if (n == 2 && streq (seg [0], "public") && streq (seg [1], "config")) {
        web_public_config (self->pub, request);
        return;
    }
    //  The login is the one request without a session
    if (n == 1 && streq (seg [0], "session") && streq (method, "POST")) {
        request->route = "session";
        s_session_login (self, request);
        return;
    }
    const char *route =
        n == 1 && streq (seg [0], "session")? "session":
        n == 1 && streq (seg [0], "me")? "me":
        n == 1 && streq (seg [0], "procedure")? "procedure":
        n == 1 && streq (seg [0], "cases")? "cases":
        n == 2 && streq (seg [0], "cases")? "case":
        n == 4 && streq (seg [0], "cases") && streq (seg [2], "actions")? "case_action":
        n == 4 && streq (seg [0], "cases") && streq (seg [2], "evidence")? "case_evidence":
        n == 1 && streq (seg [0], "report")? "report":
        n == 2 && streq (seg [0], "report") && streq (seg [1], "text")? "report_text":
        n == 1 && streq (seg [0], "users")? "users":
        n == 3 && streq (seg [0], "users")
               && (streq (seg [2], "password") || streq (seg [2], "disable"))? "user":
        n == 1 && streq (seg [0], "deadletters")? "deadletters":
        n == 1 && streq (seg [0], "stream")? "stream":
        n == 1 && streq (seg [0], "wards")? "wards":
        n == 2 && streq (seg [0], "wards")? "ward":
        n == 1 && streq (seg [0], "charts")? "charts":
        n == 1 && streq (seg [0], "map")? "map": NULL;
    if (!route) {
        web_request_error (request, 404, NULL, "Không có (not found): %.100s", request->path);
        return;
    }
    request->route = route;
    hl_session_info_t session;
    if (s_auth (self, request, &session))
        return;
    bool get = streq (method, "GET") || streq (method, "HEAD");
    bool post = streq (method, "POST");
    if (streq (route, "session"))
        streq (method, "DELETE")? s_session_logout (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "me"))
        get? s_me (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "procedure"))
        get? s_procedure (self, request): s_method_not_allowed (request);
    else
    if (streq (route, "cases"))
        get? web_cases_list (self, request, &session):
        post? web_cases_submit (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "case"))
        get? web_cases_get (self, request, &session, seg [1]): s_method_not_allowed (request);
    else
    if (streq (route, "case_action"))
        post? web_cases_action (self, request, &session, seg [1], seg [3]): s_method_not_allowed (request);
    else
    if (streq (route, "case_evidence"))
        get? web_public_evidence_get (self->pub, request, &session, seg [1], seg [3]): s_method_not_allowed (request);
    else
    if (streq (route, "report"))
        get? web_report_get (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "report_text"))
        get || streq (method, "PUT")? web_report_text (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "users"))
        get || post? web_admin_users (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "user"))
        post? web_admin_user (self, request, &session, seg [1], seg [2]): s_method_not_allowed (request);
    else
    if (streq (route, "deadletters"))
        get? web_admin_deadletters (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "stream"))
        streq (method, "GET")? web_stream_handle (web_stream_default (), request): s_method_not_allowed (request);
    else
    if (streq (route, "wards"))
        get? web_wards_list (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "ward"))
        get? web_wards_one (self, request, &session, seg [1]): s_method_not_allowed (request);
    else
    if (streq (route, "charts"))
        get? web_wards_charts (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "map"))
        get? web_wards_map (self, request, &session): s_method_not_allowed (request);
}

int
web_api_session_count (web_api_t *self)
{
    hl_accounts_t *accounts = web_api_accounts (self);
    return accounts? hl_accounts_session_count (accounts, self->idle_ms, self->max_ms): -1;
}

// ------------------------------------------------------------- 6. selftest

void
web_api_test (bool verbose)
{
    printf (" * web_api: ");
    assert (s_token_ok ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!s_token_ok ("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!s_token_ok ("short"));
    assert (!s_token_ok (NULL));
    assert (s_same ("abc", "abc") && !s_same ("abc", "abd") && !s_same ("abc", "ab"));
    char buf [128];
    const char *seg [6];
    assert (s_segments ("/cases/31001-2026-000001/actions/assign", buf, sizeof buf, seg, 5) == 4);
    assert (streq (seg [3], "assign"));
    assert (s_segments ("/a/b/c/d/e/f", buf, sizeof buf, seg, 5) == 6);
    char origin [64];
    assert (s_tile_origin ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", origin, sizeof origin) == 0
            && streq (origin, "https://tile.openstreetmap.org"));
    assert (s_tile_origin ("http://{s}.tiles.example.vn:8080/{z}/{x}/{y}.png", origin, sizeof origin) == 0
            && streq (origin, "http://*.tiles.example.vn:8080"));
    assert (s_tile_origin ("https://tiles.example.vn", origin, sizeof origin) == 0
            && streq (origin, "https://tiles.example.vn"));
    assert (s_tile_origin ("javascript:alert(1)", origin, sizeof origin) == -1);
    assert (s_tile_origin ("https:///{z}.png", origin, sizeof origin) == -1);
    assert (s_tile_origin ("https://{z}.example.vn/x.png", origin, sizeof origin) == -1);
    assert (s_tile_origin ("https://a.example.vn/x.png", origin, 20) == -1);   //  too long
    double center [2];
    assert (s_center ("20.86,106.68", center) == 0 && center [0] > 20.85 && center [1] < 106.69);
    assert (s_center ("20.86, 106.68 ", center) == 0);
    assert (s_center ("91,0", center) == -1 && s_center ("0,181", center) == -1);
    assert (s_center ("20.86", center) == -1 && s_center ("a,b", center) == -1);
    assert (s_center ("20.86,106.68x", center) == -1 && s_center ("nan,0", center) == -1);
    if (verbose)
        printf ("(tokens, segments) ");
    printf ("OK\n");
}