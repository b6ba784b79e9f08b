/*  web_request — one HTTP request under /api/v1/ and its answer: reading
 *  what the client sent (the query string, headers, the JSON body, strictly)
 *  and writing the answer (JSON, an error naming the field, the node's
 *  refusal).
 *
 *  Rules for callers:
 *  - Every reader that can refuse answers the request itself (a 400 naming
 *    the field) and returns -1 or NULL: the handler then returns at once,
 *    having stored nothing. A handler never writes a second answer over a
 *    refusal.
 *  - Strings handed out (web_request_arg, web_request_string ...) belong to
 *    the connection or to the JSON they came from: valid while the request
 *    or that JSON lives, never freed by the caller.
 *  - An answer replaces any earlier one (the body is freed first), so the
 *    last answer written is the one sent.
 *  - Never a 500 for anything a client sends.
 */
#ifndef WEB_REQUEST_H_INCLUDED
#define WEB_REQUEST_H_INCLUDED

//  One HTTP request and its answer
typedef struct {
    //  In
    const char *method;             //  "GET", "POST" ...
    const char *path;               //  decoded path, e.g. /api/v1/cases
    void *connection;               //  struct MHD_Connection *: query, headers, cookies
    const char *body;               //  the whole body (NUL-terminated), may be NULL
    size_t body_size;
    const char *body_type;          //  its Content-Type header, may be NULL
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
    void *response;                 //  struct MHD_Response *: a handler's own response (the
                                    //  live stream), sent instead of answer with the same headers
} web_request_t;

//  --- Answers
//  A JSON answer (steals json)
void web_request_json (web_request_t *request, int status, json_t *json);
//  An error answer {"error": message[, "field": field]}
void web_request_error (web_request_t *request, int status, const char *field,
                        const char *fmt, ...);
//  The node's refusal (Reply.code != 0): its code when it is 4xx/5xx (else
//  400), {"error", "field", "field_errors", "allowed"} as the node gave them
void web_request_refusal (web_request_t *request, Hotline__Reply *reply);
//  503: the node did not answer, nothing was stored
void web_request_unavailable (web_request_t *request);

//  --- The query string, headers, cookies (NULL when absent)
const char *web_request_arg (web_request_t *request, const char *name);
const char *web_request_header (web_request_t *request, const char *name);
const char *web_request_cookie (web_request_t *request, const char *name);
//  A date argument YYYY-MM-DD in the node's zone: 0 and ms (its midnight),
//  1 if absent or empty, -1 (answered 400)
int web_request_date (web_request_t *request, const char *name, int64_t *ms);
//  An integer argument within [1, max]: 0 and the value, 1 if absent or
//  empty (out untouched), -1 (answered 400)
int web_request_int (web_request_t *request, const char *name, long max, long *out);
//  The city's &ward=CODE (1-10 digits): 0 and the code or NULL when absent,
//  -1 (answered 400)
int web_request_ward (web_request_t *request, const char **ward);

//  --- The body
//  The body as a JSON object whose keys are all in fields (NULL-terminated):
//  the object (caller decrefs), or NULL (answered 400 naming the field: no
//  body, invalid UTF-8, a NUL, malformed JSON, a duplicate key, not an
//  object, an unknown field; or 415 naming Content-Type when the body is
//  not declared application/json)
json_t *web_request_body (web_request_t *request, const char **fields);
//  Typed getters on a member of object: 0 and the value (NULL, false or 0
//  when absent or null), or -1 (answered 400 naming the field) on a wrong
//  type, or text that fails hl_text_check for max characters
int web_request_string (web_request_t *request, json_t *object, const char *key,
                        size_t max, const char **out);
int web_request_bool (web_request_t *request, json_t *object, const char *key,
                      protobuf_c_boolean *out);
int web_request_number (web_request_t *request, json_t *object, const char *key,
                        bool *present, double *out);

void web_request_test (bool verbose);
#endif
