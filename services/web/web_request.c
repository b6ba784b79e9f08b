/*  web_request — reading a request under /api/v1/ and writing its answer
 *  (see web_request.h).
 *
 *  How to read this file, top to bottom:
 *    1. answers: JSON, an error naming the field, the node's refusal, 503
 *    2. the query string, headers and cookies, and the typed arguments
 *       (a date, an integer, a ward code)
 *    3. the body: a JSON object with known fields only, and typed getters
 *       that name the field at fault
 *    4. the selftest
 */
#include "hotline.h"
#include "web_request.h"
#include <microhttpd.h>

// ------------------------------------------------------------- 1. answers

void
web_request_json (web_request_t *request, int status, json_t *json)
{
    free (request->answer);
    request->answer = json_dumps (json, JSON_COMPACT);
    request->answer_size = request->answer? strlen (request->answer): 0;
    request->content_type = "application/json; charset=utf-8";
    request->status = status;
    json_decref (json);
}

void
web_request_error (web_request_t *request, int status, const char *field, const char *fmt, ...)
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
    web_request_json (request, status, json);
}

void
web_request_refusal (web_request_t *request, Hotline__Reply *reply)
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
    web_request_json (request, status, json);
}

void
web_request_unavailable (web_request_t *request)
{
    web_request_error (request, 503, NULL,
        "Hệ thống không phản hồi, chưa lưu gì (the node did not answer; nothing was stored)");
}

// ------------------------------------------------------------- 2. arguments

const char *
web_request_arg (web_request_t *request, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                        MHD_GET_ARGUMENT_KIND, name);
}

const char *
web_request_header (web_request_t *request, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                        MHD_HEADER_KIND, name);
}

const char *
web_request_cookie (web_request_t *request, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) request->connection,
                                        MHD_COOKIE_KIND, name);
}

int
web_request_date (web_request_t *request, const char *name, int64_t *ms)
{
    const char *text = web_request_arg (request, name);
    if (!text || !*text)
        return 1;
    if (strlen (text) != 10 || !hl_utf8_valid (text, strlen (text)) || hl_clock_parse (text, ms)) {
        web_request_error (request, 400, name, "'%s' phải là ngày YYYY-MM-DD (must be a date)", name);
        return -1;
    }
    return 0;
}

int
web_request_int (web_request_t *request, const char *name, long max, long *out)
{
    const char *text = web_request_arg (request, name);
    if (!text || !*text)
        return 1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (*end || errno || value < 1 || value > max) {
        web_request_error (request, 400, name, "'%s' phải là số nguyên từ 1 đến %ld (an integer 1-%ld)",
                           name, max, max);
        return -1;
    }
    *out = value;
    return 0;
}

int
web_request_ward (web_request_t *request, const char **ward)
{
    const char *text = web_request_arg (request, "ward");
    *ward = NULL;
    if (!text || !*text)
        return 0;
    if (strlen (text) > 10 || strspn (text, "0123456789") != strlen (text)) {
        web_request_error (request, 400, "ward", "'ward' là mã phường (a ward code)");
        return -1;
    }
    *ward = text;
    return 0;
}

// ------------------------------------------------------------- 3. the body

json_t *
web_request_body (web_request_t *request, const char **fields)
{
    if (!request->body || request->body_size == 0) {
        web_request_error (request, 400, "body", "Thiếu nội dung JSON (a JSON object is required)");
        return NULL;
    }
    //  JSON only, said so: a cross-site page can POST a form or text/plain
    //  without asking (no CORS preflight), but not application/json. The
    //  login carries no CSRF token, so this is what stops another site
    //  logging a browser in to an account of its choosing.
    const char *type = request->body_type;
    size_t len = strlen ("application/json");
    if (!type || strncasecmp (type, "application/json", len)
    ||  (type [len] && type [len] != ';' && type [len] != ' ')) {
        web_request_error (request, 415, "Content-Type",
                           "Nội dung phải là application/json (Content-Type must be application/json)");
        return NULL;
    }
    if (!hl_utf8_valid (request->body, request->body_size)
    ||  memchr (request->body, 0, request->body_size)) {
        web_request_error (request, 400, "body", "Nội dung không phải UTF-8 hợp lệ (invalid UTF-8)");
        return NULL;
    }
    json_error_t error;
    json_t *json = json_loadb (request->body, request->body_size, JSON_REJECT_DUPLICATES, &error);
    if (!json) {
        web_request_error (request, 400, "body", "JSON không hợp lệ (malformed JSON), line %d column %d: %s",
                           error.line, error.column, error.text);
        return NULL;
    }
    if (!json_is_object (json)) {
        json_decref (json);
        web_request_error (request, 400, "body", "Cần một đối tượng JSON (a JSON object is required)");
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value) {
        bool known = false;
        for (size_t i = 0; fields [i] && !known; i++)
            known = streq (fields [i], key);
        if (!known) {
            web_request_error (request, 400, key, "Trường không được hỗ trợ (unknown field) '%.64s'", key);
            json_decref (json);
            return NULL;
        }
    }
    return json;
}

int
web_request_string (web_request_t *request, json_t *object, const char *key, size_t max,
                    const char **out)
{
    json_t *value = json_object_get (object, key);
    *out = NULL;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_string (value)) {
        web_request_error (request, 400, key, "'%s' phải là chuỗi (must be a string)", key);
        return -1;
    }
    const char *problem = hl_text_check (json_string_value (value), max);
    if (problem) {
        web_request_error (request, 400, key, "'%s': %s", key, problem);
        return -1;
    }
    *out = json_string_value (value);
    return 0;
}

int
web_request_bool (web_request_t *request, json_t *object, const char *key, protobuf_c_boolean *out)
{
    json_t *value = json_object_get (object, key);
    *out = false;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_boolean (value)) {
        web_request_error (request, 400, key, "'%s' phải là true/false (must be a boolean)", key);
        return -1;
    }
    *out = json_is_true (value);
    return 0;
}

int
web_request_number (web_request_t *request, json_t *object, const char *key, bool *present,
                    double *out)
{
    json_t *value = json_object_get (object, key);
    *present = false;
    *out = 0;
    if (!value || json_is_null (value))
        return 0;
    if (!json_is_number (value)) {
        web_request_error (request, 400, key, "'%s' phải là số (must be a number)", key);
        return -1;
    }
    *present = true;
    *out = json_number_value (value);
    return 0;
}


// ------------------------------------------------------------- 4. selftest

//  The field an answer names ("" if none)
static const char *
s_field (web_request_t *request)
{
    static char field [128];
    json_t *json = json_loads (request->answer, 0, NULL);
    assert (json);
    const char *value = json_string_value (json_object_get (json, "field"));
    snprintf (field, sizeof field, "%s", value? value: "");
    json_decref (json);
    return field;
}

static void
s_request (web_request_t *request, const char *body)
{
    free (request->answer);
    memset (request, 0, sizeof *request);
    request->body = body;
    request->body_size = body? strlen (body): 0;
    request->body_type = "application/json";
}

void
web_request_test (bool verbose)
{
    printf (" * web_request: ");
    static const char *fields [] = { "name", "urgent", "latitude", NULL };
    web_request_t request;
    memset (&request, 0, sizeof request);
    json_t *body;

    //  The body: each way it can be wrong is a 400 naming "body" or the field
    const char *bad [] = { NULL, "", "{", "[1]", "{\"name\": 1, \"name\": 2}", "\"x\"", NULL };
    for (size_t i = 0; i < 6; i++) {
        s_request (&request, bad [i]);
        assert (web_request_body (&request, fields) == NULL);
        assert (request.status == 400 && streq (s_field (&request), "body"));
    }
    s_request (&request, "{\"name\": \"a\", \"age\": 3}");
    assert (web_request_body (&request, fields) == NULL);
    assert (request.status == 400 && streq (s_field (&request), "age"));
    const char invalid [] = "{\"name\": \"\xc3\x28\"}";
    s_request (&request, invalid);
    assert (web_request_body (&request, fields) == NULL && streq (s_field (&request), "body"));
    //  JSON said so, or 415: what a cross-site form cannot send unasked
    const char *types [] = { NULL, "text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/jsonx", NULL };
    for (size_t i = 0; i < 5; i++) {
        s_request (&request, "{\"name\": \"a\"}");
        request.body_type = types [i];
        assert (web_request_body (&request, fields) == NULL);
        assert (request.status == 415 && streq (s_field (&request), "Content-Type"));
    }
    s_request (&request, "{\"name\": \"a\"}");
    request.body_type = "Application/JSON; charset=utf-8";
    body = web_request_body (&request, fields);
    assert (body && !request.answer);
    json_decref (body);
    const char nul [] = "{\"name\": \"a\"}\0{}";
    s_request (&request, nul);
    request.body_size = sizeof nul - 1;
    assert (web_request_body (&request, fields) == NULL && streq (s_field (&request), "body"));

    //  Typed getters
    s_request (&request, "{\"name\": \"Lan\", \"urgent\": true, \"latitude\": 20.86}");
    body = web_request_body (&request, fields);
    assert (body && !request.answer);
    const char *text;
    protobuf_c_boolean flag;
    bool present;
    double number;
    assert (web_request_string (&request, body, "name", 64, &text) == 0 && streq (text, "Lan"));
    assert (web_request_string (&request, body, "absent", 64, &text) == 0 && text == NULL);
    assert (web_request_bool (&request, body, "urgent", &flag) == 0 && flag);
    assert (web_request_number (&request, body, "latitude", &present, &number) == 0
            && present && number > 20.8);
    assert (!request.answer);
    assert (web_request_string (&request, body, "urgent", 64, &text) == -1 && text == NULL);
    assert (request.status == 400 && streq (s_field (&request), "urgent"));
    assert (web_request_bool (&request, body, "name", &flag) == -1 && streq (s_field (&request), "name"));
    assert (web_request_number (&request, body, "name", &present, &number) == -1 && !present);
    assert (web_request_string (&request, body, "name", 2, &text) == -1);      //  too long
    json_decref (body);

    //  The node's refusal keeps its code, fields and allowed actions
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    Hotline__FieldError error = HOTLINE__FIELD_ERROR__INIT;
    Hotline__FieldError *errors [] = { &error };
    char *allowed [] = { "assign", "verify accurate" };
    reply.code = 409;
    reply.n_field_errors = 1;
    reply.field_errors = errors;
    error.field = "note";
    error.message = "required";
    reply.n_allowed = 2;
    reply.allowed = allowed;
    s_request (&request, NULL);
    web_request_refusal (&request, &reply);
    json_t *json = json_loads (request.answer, 0, NULL);
    assert (request.status == 409 && json);
    assert (streq (json_string_value (json_object_get (json, "error")), "required"));
    assert (json_array_size (json_object_get (json, "allowed")) == 2);
    assert (streq (json_string_value (json_object_get (json, "field")), "note"));
    json_decref (json);
    reply.code = 2;                 //  not an HTTP code: a 400
    web_request_refusal (&request, &reply);
    assert (request.status == 400);
    web_request_unavailable (&request);
    assert (request.status == 503 && strstr (request.answer, "nothing was stored"));

    //  An error quoting a cut character stays valid UTF-8 (and JSON)
    web_request_error (&request, 400, "q", "%.2s", "\xe1\xbb\x87");
    assert (request.answer && hl_utf8_valid (request.answer, request.answer_size));
    free (request.answer);
    if (verbose)
        printf ("(body, getters, refusal) ");
    printf ("OK\n");
}
