/*  web_api — the JSON API's handlers (see web_api.h and API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the object, the web section of the config, and each worker
 *       thread's own clients and store (s_local)
 *    2. answers: JSON, errors, a node's refusal mapped to HTTP
 *    3. parsing: the body as a JSON object with known fields only, typed
 *       getters that name the field at fault
 *    4. checks: the session, the CSRF token, roles, who sees a reporter
 *    5. the handlers, one per route, each "parse, check, call, answer":
 *       session, me, procedure, cases (list, submit, get, action), report
 *       (JSON, CSV, prose), users, dead letters
 *    6. the router (web_api_handle) and the first admin
 */
#include "hotline.h"
#include "hl_accounts.h"
#include "web_api.h"
#include "web_report.h"
#include <pthread.h>
#include <math.h>
#include <sys/random.h>
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
    pthread_key_t key;              //  -> s_local_t of the calling thread
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

static hl_accounts_t *
s_accounts (web_api_t *self)
{
    s_local_t *local = s_local (self);
    if (!local->accounts)
        local->accounts = hl_accounts_new (self->db_path);
    return local->accounts;
}

web_api_t *
web_api_new (hl_service_t *service)
{
    web_api_t *self = (web_api_t *) zmalloc (sizeof (web_api_t));
    hl_config_t *config = hl_service_config (service);
    self->service = service;
    self->procedure = hl_service_procedure (service);
    self->db_path = hl_service_path (service, "web.db");
    self->intake = strdup (hl_service_endpoint (service, "intake"));
    self->notification = strdup (hl_service_endpoint (service, "notification"));
    self->timeout_ms = (int) hl_config_int (config, "web/node_timeout_ms", 3000);
    self->tries = (int) hl_config_int (config, "web/node_tries", 3);
    self->idle_ms = hl_config_int (config, "web/session_idle_s", 1800) * 1000;
    self->max_ms = hl_config_int (config, "web/session_max_s", 43200) * 1000;
    self->max_failures = (int) hl_config_int (config, "web/login_max_failures", 5);
    self->max_failures_ip = (int) hl_config_int (config, "web/login_max_failures_ip", 20);
    self->window_ms = hl_config_int (config, "web/login_window_s", 900) * 1000;
    self->city = streq (hl_service_role (service), "city");
    self->node = strdup (hl_service_node (service));
    self->ward_code = strdup (hl_service_ward (service));
    self->ward_name = strdup (hl_config_get (config, "node/ward_name", ""));
    self->city_name = strdup (hl_config_get (config, "node/city", ""));
    pthread_key_create (&self->key, s_local_free);
    if (self->idle_ms <= 0 || self->max_ms <= 0 || self->window_ms <= 0
    ||  self->timeout_ms <= 0 || self->tries <= 0 || self->max_failures <= 0
    ||  self->max_failures_ip <= 0) {
        fprintf (stderr, "hotline-web: web/session_idle_s, session_max_s, login_window_s, "
                         "login_max_failures(_ip), node_timeout_ms and node_tries must be positive\n");
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
        free (self->db_path);
        free (self->intake);
        free (self->notification);
        free (self->node);
        free (self->ward_code);
        free (self->ward_name);
        free (self->city_name);
        free (self);
        *self_p = NULL;
    }
}

// ------------------------------------------------------------- 2. answers

void
web_answer_json (web_request_t *request, int status, json_t *json)
{
    free (request->answer);
    request->answer = json_dumps (json, JSON_COMPACT);
    request->answer_size = request->answer? strlen (request->answer): 0;
    request->content_type = "application/json; charset=utf-8";
    request->status = status;
    json_decref (json);
}

void
web_answer_error (web_request_t *request, int status, const char *field, const char *fmt, ...)
{
    char message [512];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);
    hl_utf8_scrub (message);        //  a quoted input may have been cut mid-character
    json_t *json = json_object ();
    json_object_set_new (json, "error", json_string (message));
    if (field)
        json_object_set_new (json, "field", json_string (field));
    web_answer_json (request, status, json);
}

//  The node's refusal (Reply.code != 0) as an HTTP answer
static void
s_answer_refusal (web_request_t *request, Hotline__Reply *reply)
{
    int status = reply->code >= 400 && reply->code <= 599? reply->code: 400;
    json_t *json = json_object ();
    json_object_set_new (json, "error", json_string (reply->error && *reply->error?
                                                     reply->error: "refused"));
    if (reply->n_field_errors) {
        json_t *errors = json_array ();
        for (size_t i = 0; i < reply->n_field_errors; i++) {
            json_t *item = json_object ();
            json_object_set_new (item, "field", json_string (reply->field_errors [i]->field));
            json_object_set_new (item, "message", json_string (reply->field_errors [i]->message));
            json_array_append_new (errors, item);
        }
        json_object_set_new (json, "field_errors", errors);
        json_object_set_new (json, "field", json_string (reply->field_errors [0]->field));
        if (!reply->error || !*reply->error)
            json_object_set_new (json, "error", json_string (reply->field_errors [0]->message));
    }
    if (reply->n_allowed) {
        json_t *allowed = json_array ();
        for (size_t i = 0; i < reply->n_allowed; i++)
            json_array_append_new (allowed, json_string (reply->allowed [i]));
        json_object_set_new (json, "allowed", allowed);
    }
    web_answer_json (request, status, json);
}

static void
s_answer_unavailable (web_request_t *request)
{
    web_answer_error (request, 503, NULL,
        "Hệ thống không phản hồi, chưa lưu gì (the node did not answer; nothing was stored)");
}

//  Send a request to the node (intake's front door, or the notification
//  service) with the user's actor. The reply, or NULL when the node did
//  not answer (answered 503).
static Hotline__Envelope *
s_call (web_api_t *self, web_request_t *request, Hotline__Request *message,
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
        s_answer_unavailable (request);
        return NULL;
    }
    return reply;
}

//  A query: its JSON result, or NULL (answered)
static json_t *
s_query (web_api_t *self, web_request_t *request, Hotline__Query *query, const char *actor,
         bool notification)
{
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    message.query = query;
    Hotline__Envelope *reply = s_call (self, request, &message, actor, notification);
    if (!reply)
        return NULL;
    json_t *result = NULL;
    if (reply->reply->code != HL_OK)
        s_answer_refusal (request, reply->reply);
    else {
        result = json_loads (reply->reply->json? reply->reply->json: "null", 0, NULL);
        if (!result)
            s_answer_unavailable (request);
    }
    hl_msg_free (&reply);
    return result;
}

// ------------------------------------------------------------- 3. parsing

static const char *
s_arg (web_request_t *request, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                        MHD_GET_ARGUMENT_KIND, name);
}

static const char *
s_header (web_request_t *request, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                        MHD_HEADER_KIND, name);
}

//  The body as a JSON object whose keys are all in fields (NULL-terminated).
//  NULL when it is not (answered 400, naming the field).
static json_t *
s_body (web_request_t *request, const char **fields)
{
    if (!request->body || request->body_size == 0) {
        web_answer_error (request, 400, "body", "Thiếu nội dung JSON (a JSON object is required)");
        return NULL;
    }
    if (!hl_utf8_valid (request->body, request->body_size)
    ||  memchr (request->body, 0, request->body_size)) {
        web_answer_error (request, 400, "body", "Nội dung không phải UTF-8 hợp lệ (invalid UTF-8)");
        return NULL;
    }
    json_error_t error;
    json_t *json = json_loadb (request->body, request->body_size, JSON_REJECT_DUPLICATES, &error);
    if (!json) {
        web_answer_error (request, 400, "body", "JSON không hợp lệ (malformed JSON), line %d column %d: %s",
                          error.line, error.column, error.text);
        return NULL;
    }
    if (!json_is_object (json)) {
        json_decref (json);
        web_answer_error (request, 400, "body", "Cần một đối tượng JSON (a JSON object is required)");
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value) {
        bool known = false;
        for (size_t i = 0; fields [i] && !known; i++)
            known = streq (fields [i], key);
        if (!known) {
            web_answer_error (request, 400, key, "Trường không được hỗ trợ (unknown field) '%.64s'", key);
            json_decref (json);
            return NULL;
        }
    }
    return json;
}

//  Typed getters: 0 and the value (NULL/false/0 when absent or null), or
//  -1 (answered 400 naming the field) on a wrong type or bad text
static int
s_get_string (web_request_t *request, json_t *object, const char *key, size_t max,
              const char **out)
{
    json_t *value = json_object_get (object, key);
    *out = NULL;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_string (value)) {
        web_answer_error (request, 400, key, "'%s' phải là chuỗi (must be a string)", key);
        return -1;
    }
    const char *problem = hl_text_check (json_string_value (value), max);
    if (problem) {
        web_answer_error (request, 400, key, "'%s': %s", key, problem);
        return -1;
    }
    *out = json_string_value (value);
    return 0;
}

static int
s_get_bool (web_request_t *request, json_t *object, const char *key, protobuf_c_boolean *out)
{
    json_t *value = json_object_get (object, key);
    *out = false;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_boolean (value)) {
        web_answer_error (request, 400, key, "'%s' phải là true/false (must be a boolean)", key);
        return -1;
    }
    *out = json_is_true (value);
    return 0;
}

static int
s_get_number (web_request_t *request, json_t *object, const char *key, bool *present,
              double *out)
{
    json_t *value = json_object_get (object, key);
    *present = false;
    *out = 0;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_number (value)) {
        web_answer_error (request, 400, key, "'%s' phải là số (must be a number)", key);
        return -1;
    }
    *present = true;
    *out = json_number_value (value);
    return 0;
}

//  A date argument YYYY-MM-DD: 0 and ms (midnight), 1 if absent, -1 answered
static int
s_arg_date (web_request_t *request, const char *name, int64_t *ms)
{
    const char *text = s_arg (request, name);
    if (!text || !*text)
        return 1;
    if (strlen (text) != 10 || !hl_utf8_valid (text, strlen (text)) || hl_clock_parse (text, ms)) {
        web_answer_error (request, 400, name, "'%s' phải là ngày YYYY-MM-DD (must be a date)", name);
        return -1;
    }
    return 0;
}

//  A positive integer argument within [1, max]: 0, 1 if absent, -1 answered
static int
s_arg_int (web_request_t *request, const char *name, long max, long *out)
{
    const char *text = s_arg (request, name);
    if (!text || !*text)
        return 1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (*end || errno || value < 1 || value > max) {
        web_answer_error (request, 400, name, "'%s' phải là số nguyên từ 1 đến %ld (an integer 1-%ld)",
                          name, max, max);
        return -1;
    }
    *out = value;
    return 0;
}

// ------------------------------------------------------------- 4. checks

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
    const char *token = MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                                     MHD_COOKIE_KIND, "hl_session");
    hl_accounts_t *accounts = s_accounts (self);
    if (!accounts) {
        s_answer_unavailable (request);
        return -1;
    }
    if (!s_token_ok (token)
    ||  hl_accounts_session_check (accounts, token, self->idle_ms, self->max_ms, session)) {
        web_answer_error (request, 401, NULL,
            "Chưa đăng nhập hoặc phiên đã hết hạn (not logged in, or the session expired)");
        return -1;
    }
    if (s_state_changing (request)) {
        const char *csrf = s_header (request, "X-CSRF-Token");
        if (!csrf || !s_same (csrf, session->csrf)) {
            web_answer_error (request, 403, "X-CSRF-Token",
                "Thiếu hoặc sai mã chống giả mạo (missing or wrong X-CSRF-Token)");
            return -1;
        }
    }
    return 0;
}

//  Roles a web user may have: the procedure's people (not its "system"),
//  viewer and admin
static bool
s_role_valid (web_api_t *self, const char *role)
{
    if (!role)
        return false;
    if (streq (role, "viewer") || streq (role, "admin"))
        return true;
    return strneq (role, "system") && hl_procedure_role_exists (self->procedure, role);
}

//  May this role take actions at all (the procedure still decides which)
static bool
s_can_act (web_api_t *self, const char *role)
{
    return strneq (role, "viewer") && strneq (role, "admin") && strneq (role, "system")
        && hl_procedure_role_exists (self->procedure, role);
}

//  Who sees a reporter's identity: at a ward the officer, the division and
//  the leaders; at the city only the Department, and only on the city's
//  own cases (those a ward forwarded: they carry origin_case). Never viewer
//  or admin. case_json NULL: "in general", for /me.
static bool
s_can_see_reporter (web_api_t *self, const char *role, json_t *case_json)
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

static void
s_actor (hl_session_info_t *session, char *actor, size_t size)
{
    snprintf (actor, size, "%s:%s", session->role, session->user);
}

static bool
s_is_admin (web_request_t *request, hl_session_info_t *session)
{
    if (streq (session->role, "admin"))
        return true;
    web_answer_error (request, 403, NULL, "Chỉ quản trị viên (admin only)");
    return false;
}

// ------------------------------------------------------------- 5. handlers

//  POST /api/v1/session {"user", "password"[, "otp"]}
static void
s_session_login (web_api_t *self, web_request_t *request)
{
    static const char *fields [] = { "user", "password", "otp", NULL };
    json_t *body = s_body (request, fields);
    if (!body)
        return;
    const char *user, *password, *otp;
    if (s_get_string (request, body, "user", 64, &user)
    ||  s_get_string (request, body, "otp", 16, &otp))
        goto done;
    json_t *value = json_object_get (body, "password");
    if (value && !json_is_string (value)) {
        web_answer_error (request, 400, "password", "'password' phải là chuỗi (must be a string)");
        goto done;
    }
    password = json_string_value (value);
    if (!user || !*user) {
        web_answer_error (request, 400, "user", "Thiếu tên đăng nhập (user is required)");
        goto done;
    }
    if (!password || !*password) {
        web_answer_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
        goto done;
    }
    hl_accounts_t *accounts = s_accounts (self);
    if (!accounts) {
        s_answer_unavailable (request);
        goto done;
    }
    int64_t since = hl_clock_now () - self->window_ms;
    if (hl_accounts_failures (accounts, user, NULL, since) >= self->max_failures
    ||  hl_accounts_failures (accounts, NULL, request->ip, since) >= self->max_failures_ip) {
        hl_accounts_audit (accounts, user, request->ip, false, "throttled");
        hl_metrics_add (hl_metrics_default (), "hotline_web_login_failures_total", 1);
        snprintf (request->retry_after, sizeof request->retry_after, "%lld",
                  (long long) (self->window_ms / 1000));
        web_answer_error (request, 429, NULL,
            "Đăng nhập sai quá nhiều lần, thử lại sau (too many failed logins, try again later)");
        goto done;
    }
    hl_account_t account;
    char err [256] = "";
    if (hl_accounts_verify (accounts, user, password, otp, &account, err, sizeof err)) {
        hl_accounts_audit (accounts, user, request->ip, false, "bad credentials");
        hl_metrics_add (hl_metrics_default (), "hotline_web_login_failures_total", 1);
        hl_info ("web: failed login for '%.64s' from %s", user, request->ip);
        web_answer_error (request, 401, NULL,
            "Sai tên đăng nhập, mật khẩu hoặc mã (wrong user, password or code)");
        goto done;
    }
    if (!s_role_valid (self, account.role)) {
        hl_accounts_audit (accounts, user, request->ip, false, "role not on this node");
        web_answer_error (request, 403, NULL, "Vai trò '%s' không dùng được ở nút này (role not valid here)",
                          account.role);
        goto done;
    }
    char token [HL_TOKEN_HEX], csrf [HL_TOKEN_HEX];
    if (hl_accounts_session_new (accounts, account.name, account.role, token, csrf)) {
        s_answer_unavailable (request);
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
    web_answer_json (request, 200, answer);
done:
    json_decref (body);
}

//  DELETE /api/v1/session
static void
s_session_logout (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    (void) session;
    const char *token = MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                                     MHD_COOKIE_KIND, "hl_session");
    hl_accounts_session_end (s_accounts (self), token);
    snprintf (request->set_cookie, sizeof request->set_cookie,
              "hl_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", request->tls? "; Secure": "");
    web_answer_json (request, 200, json_object ());
}

//  GET /api/v1/me
static void
s_me (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    char actor [128];
    s_actor (session, actor, sizeof actor);
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
                         json_boolean (s_can_see_reporter (self, session->role, NULL)));
    json_object_set_new (answer, "can_act", json_boolean (s_can_act (self, session->role)));
    json_object_set_new (answer, "is_admin", json_boolean (streq (session->role, "admin")));
    web_answer_json (request, 200, answer);
}

//  GET /api/v1/procedure
static void
s_procedure (web_api_t *self, web_request_t *request)
{
    web_answer_json (request, 200, hl_procedure_json (self->procedure));
}

//  GET /api/v1/cases?state=&type=&overdue=1&from=&to=&q=&page=&per_page=
static void
s_cases_list (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    const char *state = s_arg (request, "state");
    if (state && *state) {
        if (!hl_procedure_state_exists (self->procedure, state)) {
            web_answer_error (request, 400, "state", "Trạng thái không có (unknown state) '%.64s'", state);
            return;
        }
        query.status = (char *) state;
    }
    const char *type = s_arg (request, "type");
    if (type && *type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            web_answer_error (request, 400, "type", "Loại ô nhiễm không có (unknown type)");
            return;
        }
        query.type = (Hotline__PollutionType) value;
    }
    const char *overdue = s_arg (request, "overdue");
    if (overdue && *overdue && strneq (overdue, "0") && strneq (overdue, "1")
    &&  strneq (overdue, "true") && strneq (overdue, "false")) {
        web_answer_error (request, 400, "overdue", "'overdue' là 0 hoặc 1 (must be 0 or 1)");
        return;
    }
    query.overdue = overdue && (streq (overdue, "1") || streq (overdue, "true"));
    int rc = s_arg_date (request, "from", &query.since_ms);
    if (rc < 0)
        return;
    rc = s_arg_date (request, "to", &query.until_ms);
    if (rc < 0)
        return;
    if (rc == 0)
        query.until_ms += 24 * 3600 * 1000LL;       //  inclusive: the whole day
    const char *text = s_arg (request, "q");
    if (text && *text) {
        const char *problem = hl_text_check (text, HL_MAX_FIELD);
        if (problem) {
            web_answer_error (request, 400, "q", "'q': %s", problem);
            return;
        }
        query.text = (char *) text;
    }
    long page = 1, per_page = 50;
    if (s_arg_int (request, "page", 100000, &page) < 0
    ||  s_arg_int (request, "per_page", 500, &per_page) < 0)
        return;
    const char *ward = self->city? s_arg (request, "ward"): NULL;
    if (ward && *ward) {
        if (strlen (ward) > 10 || strspn (ward, "0123456789") != strlen (ward)) {
            web_answer_error (request, 400, "ward", "'ward' là mã phường (a ward code)");
            return;
        }
        query.ward = (char *) ward;
    }
    char actor [128];
    s_actor (session, actor, sizeof actor);
    //  The total, then the page
    query.kind = "count";
    json_t *count = s_query (self, request, &query, actor, false);
    if (!count)
        return;
    json_int_t total = json_integer_value (json_object_get (count, "count"));
    json_decref (count);
    query.kind = "list";
    query.limit = (uint32_t) per_page;
    query.offset = (uint32_t) ((page - 1) * per_page);
    query.order = "due";             //  overdue first, then by next due time
    json_t *rows = s_query (self, request, &query, actor, false);
    if (!rows)
        return;
    if (!json_is_array (rows)) {
        json_decref (rows);
        s_answer_unavailable (request);
        return;
    }
    json_t *answer = json_object ();
    json_object_set_new (answer, "cases", rows);
    json_object_set_new (answer, "page", json_integer (page));
    json_object_set_new (answer, "per_page", json_integer (per_page));
    json_object_set_new (answer, "total", json_integer (total));
    web_answer_json (request, 200, answer);
}

//  POST /api/v1/cases: the report's fields, as in hotline show --json
static void
s_cases_submit (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "type", "location", "description", "channel", "scope", "urgent",
        "sudden", "polluter", "polluter_category", "occurred_ms", "latitude", "longitude",
        "evidence", "reporter", "request_id", NULL };
    static const char *reporter_fields [] = { "name", "phone", "email", "address", "anonymous", NULL };
    if (!s_can_act (self, session->role)) {
        web_answer_error (request, 403, NULL, "Vai trò '%s' không tiếp nhận được (role may not submit)",
                          session->role);
        return;
    }
    json_t *body = s_body (request, fields);
    if (!body)
        return;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    report.reporter = &reporter;
    char *evidence [HL_MAX_EVIDENCE];
    const char *type, *channel, *scope, *request_id;
    if (s_get_string (request, body, "type", HL_MAX_FIELD, &type)
    ||  s_get_string (request, body, "channel", HL_MAX_FIELD, &channel)
    ||  s_get_string (request, body, "scope", HL_MAX_FIELD, &scope)
    ||  s_get_string (request, body, "request_id", 64, &request_id)
    ||  s_get_string (request, body, "location", HL_MAX_TEXT, (const char **) &report.location)
    ||  s_get_string (request, body, "description", HL_MAX_TEXT, (const char **) &report.description)
    ||  s_get_string (request, body, "polluter", HL_MAX_TEXT, (const char **) &report.polluter)
    ||  s_get_string (request, body, "polluter_category", HL_MAX_TEXT,
                      (const char **) &report.polluter_category)
    ||  s_get_bool (request, body, "urgent", &report.urgent)
    ||  s_get_bool (request, body, "sudden", &report.sudden))
        goto done;
    if (type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            web_answer_error (request, 400, "type", "Loại ô nhiễm không có (unknown type) '%.40s'", type);
            goto done;
        }
        report.type = (Hotline__PollutionType) value;
    }
    int value = hl_channel_parse (channel? channel: "phone");
    if (value < 0) {
        web_answer_error (request, 400, "channel", "Kênh không có (unknown channel) '%.40s'", channel);
        goto done;
    }
    report.channel = (Hotline__Channel) value;
    value = hl_scope_parse (scope? scope: "within_ward");
    if (value < 0) {
        web_answer_error (request, 400, "scope", "Phạm vi không có (unknown scope) '%.40s'", scope);
        goto done;
    }
    report.scope = (Hotline__Scope) value;
    bool present, lat_present, lon_present;
    double number;
    if (s_get_number (request, body, "occurred_ms", &present, &number))
        goto done;
    if (present) {
        if (number != floor (number) || number < 0 || number > 9e15) {
            web_answer_error (request, 400, "occurred_ms", "'occurred_ms' là mili giây (integer milliseconds)");
            goto done;
        }
        report.occurred_ms = (int64_t) number;
    }
    if (s_get_number (request, body, "latitude", &lat_present, &report.latitude)
    ||  s_get_number (request, body, "longitude", &lon_present, &report.longitude))
        goto done;
    if (lat_present != lon_present) {
        web_answer_error (request, 400, lat_present? "longitude": "latitude",
                          "'latitude' và 'longitude' đi cùng nhau (go together)");
        goto done;
    }
    report.has_coordinates = lat_present;
    json_t *list = json_object_get (body, "evidence");
    if (list && !json_is_null (list)) {
        if (!json_is_array (list) || json_array_size (list) > HL_MAX_EVIDENCE) {
            web_answer_error (request, 400, "evidence",
                              "'evidence' là danh sách tối đa %d chuỗi (a list of at most %d strings)",
                              HL_MAX_EVIDENCE, HL_MAX_EVIDENCE);
            goto done;
        }
        size_t i;
        json_t *item;
        json_array_foreach (list, i, item) {
            if (!json_is_string (item)) {
                web_answer_error (request, 400, "evidence", "'evidence' chỉ chứa chuỗi (strings only)");
                goto done;
            }
            evidence [i] = (char *) json_string_value (item);
        }
        report.evidence = evidence;
        report.n_evidence = json_array_size (list);
    }
    json_t *who = json_object_get (body, "reporter");
    if (who && !json_is_null (who)) {
        if (!json_is_object (who)) {
            web_answer_error (request, 400, "reporter", "'reporter' là một đối tượng (must be an object)");
            goto done;
        }
        const char *key;
        json_t *item;
        json_object_foreach (who, key, item) {
            bool known = false;
            for (size_t i = 0; reporter_fields [i] && !known; i++)
                known = streq (reporter_fields [i], key);
            if (!known) {
                char field [100];
                snprintf (field, sizeof field, "reporter.%.64s", key);
                web_answer_error (request, 400, field, "Trường không được hỗ trợ (unknown field) '%s'", field);
                goto done;
            }
        }
        if (s_get_string (request, who, "name", HL_MAX_TEXT, (const char **) &reporter.name)
        ||  s_get_string (request, who, "phone", HL_MAX_TEXT, (const char **) &reporter.phone)
        ||  s_get_string (request, who, "email", HL_MAX_TEXT, (const char **) &reporter.email)
        ||  s_get_string (request, who, "address", HL_MAX_TEXT, (const char **) &reporter.address)
        ||  s_get_bool (request, who, "anonymous", &reporter.anonymous))
            goto done;
    }
    //  What the node would refuse anyway, before using the network
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (&report, errs, 16);
    if (count) {
        json_t *answer = json_object ();
        json_t *errors = json_array ();
        for (size_t i = 0; i < count && i < 16; i++) {
            json_t *item = json_object ();
            json_object_set_new (item, "field", json_string (errs [i].field));
            json_object_set_new (item, "message", json_string (errs [i].message));
            json_array_append_new (errors, item);
        }
        json_object_set_new (answer, "error", json_string (errs [0].message));
        json_object_set_new (answer, "field", json_string (errs [0].field));
        json_object_set_new (answer, "field_errors", errors);
        web_answer_json (request, 400, answer);
        goto done;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "submit";
    command.report = &report;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) (request_id && *request_id? request_id: NULL);
    char actor [128];
    s_actor (session, actor, sizeof actor);
    Hotline__Envelope *reply = s_call (self, request, &message, actor, false);
    if (reply) {
        if (reply->reply->code != HL_OK)
            s_answer_refusal (request, reply->reply);
        else {
            //  Intake replies only after its commit: the case is durable
            json_t *answer = json_object ();
            json_object_set_new (answer, "case_id", json_string (reply->reply->case_id));
            web_answer_json (request, 201, answer);
        }
        hl_msg_free (&reply);
    }
done:
    json_decref (body);
}

//  The actions this role may take now: [{"action", "variant", "requires"}]
static json_t *
s_allowed_actions (web_api_t *self, const char *state, const char *role)
{
    json_t *list = json_array ();
    if (!state || !s_can_act (self, role))
        return list;
    const char *allowed [64];
    size_t count = hl_procedure_allowed (self->procedure, state, role, allowed, 64);
    for (size_t i = 0; i < count; i++) {
        char name [128];
        snprintf (name, sizeof name, "%s", allowed [i]);
        char *space = strchr (name, ' ');
        const char *variant = "";
        if (space) {
            *space = 0;
            variant = space + 1;
        }
        json_t *item = json_object ();
        json_object_set_new (item, "action", json_string (name));
        json_object_set_new (item, "variant", json_string (variant));
        json_t *requires = json_array ();
        const char **names = hl_procedure_requires (self->procedure, name, variant);
        for (size_t r = 0; names && names [r]; r++)
            json_array_append_new (requires, json_string (names [r]));
        json_object_set_new (item, "requires", requires);
        json_array_append_new (list, item);
    }
    return list;
}

//  GET /api/v1/cases/{id}
static void
s_case_get (web_api_t *self, web_request_t *request, hl_session_info_t *session, const char *case_id)
{
    if (!hl_case_id_valid (case_id)) {
        web_answer_error (request, 404, "case_id", "Không có hồ sơ (no such case) '%.40s'", case_id);
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    char actor [128];
    s_actor (session, actor, sizeof actor);
    json_t *result = s_query (self, request, &query, actor, false);
    if (!result)
        return;
    if (!json_is_object (result)) {
        json_decref (result);
        s_answer_unavailable (request);
        return;
    }
    //  The server decides who sees the reporter
    json_t *report = json_object_get (result, "report");
    if (json_is_object (report) && !s_can_see_reporter (self, session->role, result)) {
        json_t *redacted = json_object ();
        json_object_set_new (redacted, "redacted", json_true ());
        json_object_set_new (report, "reporter", redacted);
    }
    json_object_set_new (result, "allowed_actions",
        s_allowed_actions (self, json_string_value (json_object_get (result, "state")), session->role));
    web_answer_json (request, 200, result);
}

//  An action's name or variant: [a-z_], 1-32
static bool
s_name_ok (const char *name)
{
    size_t len = strlen (name);
    return len >= 1 && len <= 32 && strspn (name, "abcdefghijklmnopqrstuvwxyz_") == len;
}

//  POST /api/v1/cases/{id}/actions/{action} {"variant", "note", "args", "request_id"}
static void
s_case_action (web_api_t *self, web_request_t *request, hl_session_info_t *session,
               const char *case_id, const char *action)
{
    static const char *fields [] = { "variant", "note", "args", "request_id", NULL };
    if (!s_can_act (self, session->role)) {
        web_answer_error (request, 403, NULL, "Vai trò '%s' không được thao tác hồ sơ (role may not act)",
                          session->role);
        return;
    }
    if (!hl_case_id_valid (case_id)) {
        web_answer_error (request, 404, "case_id", "Không có hồ sơ (no such case) '%.40s'", case_id);
        return;
    }
    if (!s_name_ok (action)) {
        web_answer_error (request, 404, "action", "Không có thao tác (no such action) '%.40s'", action);
        return;
    }
    json_t *body = s_body (request, fields);
    if (!body)
        return;
    Hotline__Command__ArgsEntry entries [16];
    Hotline__Command__ArgsEntry *entry_ptrs [16];
    const char *variant, *note, *request_id;
    if (s_get_string (request, body, "variant", 32, &variant)
    ||  s_get_string (request, body, "note", HL_MAX_TEXT, &note)
    ||  s_get_string (request, body, "request_id", 64, &request_id))
        goto done;
    if (variant && *variant && !s_name_ok (variant)) {
        web_answer_error (request, 400, "variant", "Biến thể không hợp lệ (bad variant) '%.40s'", variant);
        goto done;
    }
    //  Which action: one the procedure defines, that does not create a case
    //  (a report is submitted with POST /api/v1/cases)
    const char *to;
    int rc = hl_procedure_check (self->procedure, NULL, action, variant, session->role, &to);
    if (rc == HL_NOT_FOUND) {
        web_answer_error (request, 404, "action", "Quy trình không có thao tác (the procedure has no action) '%s%s%s'",
                          action, variant && *variant? " ": "", variant? variant: "");
        goto done;
    }
    if (rc == HL_OK || rc == HL_FORBIDDEN) {
        web_answer_error (request, 400, "action", "'%s' tạo hồ sơ mới: dùng POST /api/v1/cases "
                          "(creates a case: use POST /api/v1/cases)", action);
        goto done;
    }
    size_t n = 0;
    json_t *args = json_object_get (body, "args");
    if (args && !json_is_null (args)) {
        if (!json_is_object (args) || json_object_size (args) > 16) {
            web_answer_error (request, 400, "args", "'args' là đối tượng tối đa 16 chuỗi (an object of at most 16 strings)");
            goto done;
        }
        const char *key;
        json_t *value;
        json_object_foreach (args, key, value) {
            char field [100];
            snprintf (field, sizeof field, "args.%.64s", key);
            if (!s_name_ok (key)) {
                web_answer_error (request, 400, field, "Tên tham số không hợp lệ (bad argument name)");
                goto done;
            }
            if (!json_is_string (value)) {
                web_answer_error (request, 400, field, "'%s' phải là chuỗi (must be a string)", field);
                goto done;
            }
            const char *problem = hl_text_check (json_string_value (value), HL_MAX_TEXT);
            if (problem) {
                web_answer_error (request, 400, field, "'%s': %s", field, problem);
                goto done;
            }
            hotline__command__args_entry__init (&entries [n]);
            entries [n].key = (char *) key;
            entries [n].value = (char *) json_string_value (value);
            entry_ptrs [n] = &entries [n];
            n++;
        }
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) action;
    command.variant = (char *) (variant? variant: "");
    command.case_id = (char *) case_id;
    command.note = (char *) (note? note: "");
    command.args = entry_ptrs;
    command.n_args = n;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) (request_id && *request_id? request_id: NULL);
    char actor [128];
    s_actor (session, actor, sizeof actor);
    Hotline__Envelope *reply = s_call (self, request, &message, actor, false);
    if (reply) {
        if (reply->reply->code != HL_OK)
            s_answer_refusal (request, reply->reply);
        else {
            hl_info ("web: %s %s %s", actor, action, reply->reply->case_id);
            json_t *answer = json_object ();
            json_object_set_new (answer, "case_id", json_string (reply->reply->case_id));
            json_object_set_new (answer, "seq", json_integer ((json_int_t) reply->reply->seq));
            web_answer_json (request, 200, answer);
        }
        hl_msg_free (&reply);
    }
done:
    json_decref (body);
}

//  The period of a report: from and to both required; 0 or -1 (answered)
static int
s_period (web_request_t *request, int64_t *since, int64_t *until, char *period, size_t size)
{
    int rc_from = s_arg_date (request, "from", since);
    if (rc_from < 0)
        return -1;
    int rc_to = s_arg_date (request, "to", until);
    if (rc_to < 0)
        return -1;
    if (rc_from || rc_to) {
        web_answer_error (request, 400, rc_from? "from": "to",
                          "Cần 'from' và 'to' (YYYY-MM-DD) (from and to are required)");
        return -1;
    }
    *until += 24 * 3600 * 1000LL;       //  to is inclusive: the whole day
    if (*until <= *since) {
        web_answer_error (request, 400, "to", "'to' trước 'from' (to is before from)");
        return -1;
    }
    snprintf (period, size, "%s..%s", s_arg (request, "from"), s_arg (request, "to"));
    return 0;
}

static const char *
s_text (json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

//  GET /api/v1/report?from=&to=[&format=csv][&ward=]
static void
s_report (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "report";
    char period [64];
    if (s_period (request, &query.since_ms, &query.until_ms, period, sizeof period))
        return;
    const char *format = s_arg (request, "format");
    if (format && *format && strneq (format, "json") && strneq (format, "csv")) {
        web_answer_error (request, 400, "format", "'format' là json hoặc csv (json or csv)");
        return;
    }
    const char *ward = s_arg (request, "ward");
    if (ward && *ward) {
        if (strlen (ward) > 10 || strspn (ward, "0123456789") != strlen (ward)) {
            web_answer_error (request, 400, "ward", "'ward' là mã phường (a ward code)");
            return;
        }
        query.ward = (char *) ward;
    }
    char actor [128];
    s_actor (session, actor, sizeof actor);
    json_t *result = s_query (self, request, &query, actor, false);
    if (!result)
        return;
    if (format && streq (format, "csv")) {
        free (request->answer);
        request->answer = web_report_csv (result, &request->answer_size);
        request->content_type = "text/csv; charset=utf-8";
        request->status = 200;
        snprintf (request->disposition, sizeof request->disposition,
                  "attachment; filename=\"bao-cao-%s-%s-%s.csv\"",
                  *self->ward_code? self->ward_code: "city", s_arg (request, "from"), s_arg (request, "to"));
        json_decref (result);
    }
    else
        web_answer_json (request, 200, result);
}

//  GET|PUT /api/v1/report/text?from=&to=
static void
s_report_text (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "letter", "practice", "difficulties", "proposals", NULL };
    int64_t since, until;
    char period [64];
    if (s_period (request, &since, &until, period, sizeof period))
        return;
    hl_accounts_t *accounts = s_accounts (self);
    if (streq (request->method, "GET")) {
        json_t *text = accounts? hl_accounts_report_text (accounts, period): NULL;
        if (!text)
            s_answer_unavailable (request);
        else
            web_answer_json (request, 200, text);
        return;
    }
    if (strneq (session->role, "officer") && strneq (session->role, "leader")
    &&  strneq (session->role, "admin") && strneq (session->role, "department")) {
        web_answer_error (request, 403, NULL, "Vai trò '%s' không soạn được báo cáo (role may not write the report)",
                          session->role);
        return;
    }
    json_t *body = s_body (request, fields);
    if (!body)
        return;
    json_t *text = json_object ();
    for (size_t i = 0; fields [i]; i++) {
        json_t *value = json_object_get (body, fields [i]);
        if (value && !json_is_string (value)) {
            web_answer_error (request, 400, fields [i], "'%s' phải là chuỗi (must be a string)", fields [i]);
            goto done;
        }
        const char *problem = value? hl_text_check (json_string_value (value), 20000): NULL;
        if (problem) {
            web_answer_error (request, 400, fields [i], "'%s': %s", fields [i], problem);
            goto done;
        }
        json_object_set_new (text, fields [i], json_string (value? json_string_value (value): ""));
    }
    char err [256] = "";
    if (!accounts || hl_accounts_report_text_set (accounts, period, text, err, sizeof err))
        web_answer_error (request, 400, NULL, "%s", *err? err: "cannot save");
    else
        web_answer_json (request, 200, json_incref (text));
done:
    json_decref (text);
    json_decref (body);
}

//  GET|POST /api/v1/users
static void
s_users (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "name", "role", "password", NULL };
    if (!s_is_admin (request, session))
        return;
    hl_accounts_t *accounts = s_accounts (self);
    if (streq (request->method, "GET")) {
        json_t *list = accounts? hl_accounts_list (accounts): NULL;
        if (!list)
            s_answer_unavailable (request);
        else
            web_answer_json (request, 200, list);
        return;
    }
    json_t *body = s_body (request, fields);
    if (!body)
        return;
    const char *name, *role, *password;
    if (s_get_string (request, body, "name", 64, &name)
    ||  s_get_string (request, body, "role", 32, &role)
    ||  s_get_string (request, body, "password", 256, &password))
        goto done;
    if (!name || !*name) {
        web_answer_error (request, 400, "name", "Thiếu tên (name is required)");
        goto done;
    }
    if (!s_role_valid (self, role)) {
        web_answer_error (request, 400, "role", "Vai trò không hợp lệ (role must be one of the procedure's, "
                          "viewer or admin)");
        goto done;
    }
    if (!password) {
        web_answer_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
        goto done;
    }
    char err [256] = "";
    if (!accounts || hl_accounts_add (accounts, name, role, password, err, sizeof err))
        web_answer_error (request, 400, strstr (err, "assword")? "password": "name", "%s",
                          *err? err: "cannot add the user");
    else {
        hl_info ("web: %s added user %s (%s)", session->user, name, role);
        json_t *answer = json_object ();
        json_object_set_new (answer, "name", json_string (name));
        json_object_set_new (answer, "role", json_string (role));
        web_answer_json (request, 201, answer);
    }
done:
    json_decref (body);
}

//  POST /api/v1/users/{name}/password | /disable
static void
s_user_change (web_api_t *self, web_request_t *request, hl_session_info_t *session,
               const char *name, const char *what)
{
    static const char *password_fields [] = { "password", NULL };
    static const char *disable_fields [] = { "disabled", NULL };
    if (!s_is_admin (request, session))
        return;
    bool password = streq (what, "password");
    json_t *body = s_body (request, password? password_fields: disable_fields);
    if (!body)
        return;
    hl_accounts_t *accounts = s_accounts (self);
    hl_account_t account;
    char err [256] = "";
    if (!accounts || hl_accounts_get (accounts, name, &account)) {
        web_answer_error (request, 404, "name", "Không có người dùng (no such user)");
        goto done;
    }
    int rc;
    if (password) {
        const char *text;
        if (s_get_string (request, body, "password", 256, &text))
            goto done;
        if (!text) {
            web_answer_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
            goto done;
        }
        rc = hl_accounts_passwd (accounts, name, text, err, sizeof err);
    }
    else {
        json_t *value = json_object_get (body, "disabled");
        if (!json_is_boolean (value)) {
            web_answer_error (request, 400, "disabled", "'disabled' là true/false (must be a boolean)");
            goto done;
        }
        rc = hl_accounts_disable (accounts, name, json_is_true (value), err, sizeof err);
    }
    if (rc)
        web_answer_error (request, 400, password? "password": "disabled", "%s", *err? err: "refused");
    else {
        hl_info ("web: %s changed %s of user %s", session->user, what, name);
        web_answer_json (request, 200, json_object ());
    }
done:
    json_decref (body);
}

//  GET /api/v1/deadletters[?all=1&case=&limit=]: from the notification
//  service. A message to the reporter shows its address only to a role
//  that may see reporters.
static void
s_deadletters (web_api_t *self, web_request_t *request, hl_session_info_t *session)
{
    if (streq (session->role, "viewer")) {
        web_answer_error (request, 403, NULL, "Vai trò 'viewer' không xem được (viewer may not)");
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    const char *all = s_arg (request, "all");
    query.kind = all && streq (all, "1")? "outbox": "deadletter";
    const char *case_id = s_arg (request, "case");
    if (case_id && *case_id) {
        if (!hl_case_id_valid (case_id)) {
            web_answer_error (request, 400, "case", "'case' không phải số hồ sơ (not a case number)");
            return;
        }
        query.case_id = (char *) case_id;
    }
    long limit = 0;
    if (s_arg_int (request, "limit", 10000, &limit) < 0)
        return;
    query.limit = (uint32_t) limit;
    char actor [128];
    s_actor (session, actor, sizeof actor);
    json_t *rows = s_query (self, request, &query, actor, true);
    if (!rows)
        return;
    bool see = s_can_see_reporter (self, session->role, NULL);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        if (!see && streq (s_text (row, "recipient"), "reporter"))
            json_object_set_new (row, "address", json_string (""));
    web_answer_json (request, 200, rows);
}

// ------------------------------------------------------------- 6. router

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
    web_answer_error (request, 405, NULL, "Phương thức không hỗ trợ (method not allowed): %s", request->method);
}

void
web_api_handle (web_api_t *self, web_request_t *request)
{
    const char *method = request->method;
    char buf [512];
    const char *seg [6];
    size_t n = s_segments (request->path + strlen ("/api/v1"), buf, sizeof buf, seg, 5);
    request->route = "other";
    if (n == 0 || n > 5 || strlen (request->path) >= sizeof buf) {
        web_answer_error (request, 404, NULL, "Không có (not found)");
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
        n == 1 && streq (seg [0], "report")? "report":
        n == 2 && streq (seg [0], "report") && streq (seg [1], "text")? "report_text":
        n == 1 && streq (seg [0], "users")? "users":
        n == 3 && streq (seg [0], "users")
               && (streq (seg [2], "password") || streq (seg [2], "disable"))? "user":
        n == 1 && streq (seg [0], "deadletters")? "deadletters": NULL;
    if (!route) {
        web_answer_error (request, 404, NULL, "Không có (not found): %.100s", request->path);
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
        get? s_cases_list (self, request, &session):
        post? s_cases_submit (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "case"))
        get? s_case_get (self, request, &session, seg [1]): s_method_not_allowed (request);
    else
    if (streq (route, "case_action"))
        post? s_case_action (self, request, &session, seg [1], seg [3]): s_method_not_allowed (request);
    else
    if (streq (route, "report"))
        get? s_report (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "report_text"))
        get || streq (method, "PUT")? s_report_text (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "users"))
        get || post? s_users (self, request, &session): s_method_not_allowed (request);
    else
    if (streq (route, "user"))
        post? s_user_change (self, request, &session, seg [1], seg [2]): s_method_not_allowed (request);
    else
    if (streq (route, "deadletters"))
        get? s_deadletters (self, request, &session): s_method_not_allowed (request);
}

int
web_api_session_count (web_api_t *self)
{
    hl_accounts_t *accounts = s_accounts (self);
    return accounts? hl_accounts_session_count (accounts, self->idle_ms, self->max_ms): -1;
}

int
web_api_init_admin (web_api_t *self, const char *path)
{
    hl_accounts_t *accounts = s_accounts (self);
    if (!accounts) {
        fprintf (stderr, "hotline-web: cannot open %s\n", self->db_path);
        return -1;
    }
    int users = hl_accounts_count (accounts);
    if (users < 0) {
        fprintf (stderr, "hotline-web: cannot read %s\n", self->db_path);
        return -1;
    }
    if (users > 0)
        return 1;
    //  20 characters from a 32-letter alphabet without look-alikes: 100 bits
    static const char alphabet [] = "abcdefghjkmnpqrstuvwxyz23456789A";
    unsigned char random [20];
    if (getrandom (random, sizeof random, 0) != (ssize_t) sizeof random) {
        fprintf (stderr, "hotline-web: no randomness: %s\n", strerror (errno));
        return -1;
    }
    char password [21];
    for (size_t i = 0; i < 20; i++)
        password [i] = alphabet [random [i] & 31];
    password [20] = 0;
    char err [256] = "";
    if (hl_accounts_add (accounts, "admin", "admin", password, err, sizeof err)) {
        fprintf (stderr, "hotline-web: cannot add the first admin: %s\n", err);
        return -1;
    }
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *file = fd >= 0? fdopen (fd, "w"): NULL;
    if (!file) {
        fprintf (stderr, "hotline-web: cannot write %s: %s\n", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    fprintf (file, "user = admin\npassword = %s\n", password);
    fclose (file);
    return 0;
}

void
web_api_test (bool verbose)
{
    printf (" * web_api: ");
    assert (s_token_ok ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!s_token_ok ("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!s_token_ok ("short"));
    assert (!s_token_ok (NULL));
    assert (s_same ("abc", "abc") && !s_same ("abc", "abd") && !s_same ("abc", "ab"));
    assert (s_name_ok ("verify") && !s_name_ok ("Verify") && !s_name_ok ("") && !s_name_ok ("a b"));
    char buf [128];
    const char *seg [6];
    assert (s_segments ("/cases/31001-2026-000001/actions/assign", buf, sizeof buf, seg, 5) == 4);
    assert (streq (seg [3], "assign"));
    assert (s_segments ("/a/b/c/d/e/f", buf, sizeof buf, seg, 5) == 6);
    if (verbose)
        printf ("(tokens, segments) ");
    printf ("OK\n");
}
