/*  web_api — the handlers of the JSON API under /api/v1/ (services/web/API.md).
 *
 *  Each handler reads the same way: parse (the body, strictly), check (the
 *  session, the CSRF token, the role, against the procedure), call (the
 *  node through intake's front door with hl_client, or the web's own store
 *  hl_accounts), answer (JSON). The server decides what a role may see or
 *  do; the page shows what it gets.
 *
 *  Rules for callers:
 *  - web_api_handle runs in any of the HTTP server's worker threads. The
 *    object itself is read-only after web_api_new; each worker thread gets
 *    its own hl_client_t (intake, notification) and hl_accounts_t, made on
 *    first use and destroyed when the thread ends (hl_client and zsock are
 *    not thread-safe, nor is a SQLite connection shared between threads).
 *  - The request's body has been read whole (at most web/max_body bytes)
 *    before web_api_handle is called. The answer is written into the
 *    request: status, a malloc'ed body, its content type, and the extra
 *    headers (Set-Cookie, Retry-After, Content-Disposition).
 *  - Never a 500 for anything a client sends: bad input is a 4xx naming the
 *    field; a node that does not answer is a 503 and nothing was stored.
 */
#ifndef WEB_API_H_INCLUDED
#define WEB_API_H_INCLUDED

typedef struct _web_api_t web_api_t;

//  One HTTP request and its answer
typedef struct {
    //  In
    const char *method;             //  "GET", "POST" ...
    const char *path;               //  decoded path, e.g. /api/v1/cases
    void *connection;               //  struct MHD_Connection *: query, headers, cookies
    const char *body;               //  the whole body (NUL-terminated), may be NULL
    size_t body_size;
    const char *ip;                 //  peer address, for throttling and the audit
    bool tls;                       //  served over HTTPS (the cookie is Secure)
    //  Out
    int status;
    char *answer;                   //  malloc'ed
    size_t answer_size;
    const char *content_type;
    char set_cookie [256];
    char retry_after [24];
    char disposition [160];
    const char *route;              //  label for the metrics: "cases", "case", ...
} web_request_t;

//  Read the web section of the service's config. NULL on a config error
//  (printed).
web_api_t *web_api_new (hl_service_t *service);
void web_api_destroy (web_api_t **self_p);
//  Answer one request under /api/v1/
void web_api_handle (web_api_t *self, web_request_t *request);
//  Live sessions, for the gauge (the calling thread's own store); -1 on error
int web_api_session_count (web_api_t *self);
//  Create the first admin if web.db has no users: a random password,
//  written with the user name to path (mode 0600). 0 done, 1 users exist
//  already (nothing written), -1 error (printed).
int web_api_init_admin (web_api_t *self, const char *path);

//  Helpers shared with web_server
//  Set a JSON answer (steals json)
void web_answer_json (web_request_t *request, int status, json_t *json);
//  Set an error answer {"error": message[, "field": field]}
void web_answer_error (web_request_t *request, int status, const char *field,
                       const char *fmt, ...);

void web_api_test (bool verbose);
#endif
