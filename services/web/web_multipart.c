/*  web_multipart — a strict, streaming multipart/form-data parser (see
 *  web_multipart.h).
 *
 *  How to read this file: the Content-Type's boundary; the part headers;
 *  the state machine (_feed), which keeps in its buffer only what may
 *  still be the start of a delimiter; the selftest.
 */
#include "hotline.h"
#include "web_multipart.h"

#define S_HEADERS_MAX   8192

typedef enum { S_PREAMBLE, S_AFTER_DELIM, S_HEADERS, S_BODY, S_DONE, S_FAILED } s_state_t;

struct _web_multipart_t {
    web_multipart_handler_t handler;
    void *arg;
    char delim [80];            //  "\r\n--" boundary
    size_t delim_len;
    char *buf;
    size_t len, capacity;
    s_state_t state;
    char error [128];
};

static int
s_fail (web_multipart_t *self, const char *error)
{
    if (self->state != S_FAILED)
        snprintf (self->error, sizeof self->error, "%s", error);
    self->state = S_FAILED;
    return -1;
}

//  A parameter of a header value: name="value" or name=token, into out
static bool
s_param (const char *value, const char *name, char *out, size_t size)
{
    size_t name_len = strlen (name);
    const char *p = value;
    while ((p = strchr (p, ';'))) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp (p, name, name_len) || p [name_len] != '=')
            continue;
        p += name_len + 1;
        size_t n;
        if (*p == '"') {
            p++;
            const char *close = strchr (p, '"');
            if (!close)
                return false;
            n = (size_t) (close - p);
        }
        else
            n = strcspn (p, "; \t");
        if (n >= size)
            return false;
        memcpy (out, p, n);
        out [n] = 0;
        return true;
    }
    return false;
}

web_multipart_t *
web_multipart_new (const char *content_type, const web_multipart_handler_t *handler, void *arg)
{
    if (!content_type || strncasecmp (content_type, "multipart/form-data", 19)
    ||  (content_type [19] && content_type [19] != ';' && content_type [19] != ' '))
        return NULL;
    char boundary [80];
    if (!s_param (content_type + 19, "boundary", boundary, sizeof boundary)
    ||  strlen (boundary) < 1 || strlen (boundary) > 70)
        return NULL;
    web_multipart_t *self = (web_multipart_t *) zmalloc (sizeof (web_multipart_t));
    self->handler = *handler;
    self->arg = arg;
    self->delim_len = (size_t) snprintf (self->delim, sizeof self->delim, "\r\n--%s", boundary);
    //  The first delimiter has no CR LF before it: pretend it had one
    self->capacity = 65536;
    self->buf = (char *) zmalloc (self->capacity);
    memcpy (self->buf, "\r\n", 2);
    self->len = 2;
    self->state = S_PREAMBLE;
    return self;
}

void
web_multipart_destroy (web_multipart_t **self_p)
{
    assert (self_p);
    web_multipart_t *self = *self_p;
    if (self) {
        free (self->buf);
        free (self);
        *self_p = NULL;
    }
}

const char *
web_multipart_error (web_multipart_t *self)
{
    return self->error;
}

//  One part's headers (lines separated by CR LF, without the blank line)
static int
s_headers (web_multipart_t *self, char *text)
{
    char name [256] = "", filename [1024] = "", type [256] = "";
    bool disposition = false, has_filename = false;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        size_t n = strlen (line);
        if (n == 0 || line [n - 1] != '\r')
            return s_fail (self, "a part header line without CR LF");
        line [n - 1] = 0;
        char *colon = strchr (line, ':');
        if (!colon)
            return s_fail (self, "a part header without ':'");
        *colon = 0;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (strcasecmp (line, "Content-Disposition") == 0) {
            if (disposition || strncasecmp (value, "form-data", 9)
            ||  (value [9] && value [9] != ';' && value [9] != ' '))
                return s_fail (self, "Content-Disposition must be form-data, once");
            disposition = true;
            if (!s_param (value + 9, "name", name, sizeof name) || !*name)
                return s_fail (self, "a part without a name");
            if (strstr (value, "filename*"))
                return s_fail (self, "filename* is not accepted");
            has_filename = s_param (value + 9, "filename", filename, sizeof filename);
            if (!has_filename && strcasestr (value, "filename="))
                return s_fail (self, "a malformed filename");
        }
        else
        if (strcasecmp (line, "Content-Type") == 0)
            snprintf (type, sizeof type, "%s", value);
    }
    if (!disposition)
        return s_fail (self, "a part without Content-Disposition");
    if (self->handler.begin (self->arg, name, has_filename? filename: NULL, type))
        return s_fail (self, "refused by the handler");
    return 0;
}

int
web_multipart_feed (web_multipart_t *self, const char *data, size_t size)
{
    if (self->state == S_FAILED)
        return -1;
    if (self->state == S_DONE)
        return 0;                   //  the epilogue is ignored
    if (self->len + size > self->capacity) {
        self->capacity = self->len + size;
        self->buf = (char *) hl_realloc (self->buf, self->capacity);
    }
    memcpy (self->buf + self->len, data, size);
    self->len += size;
    size_t at = 0;                  //  consumed
    while (self->state != S_DONE && self->state != S_FAILED) {
        char *start = self->buf + at;
        size_t left = self->len - at;
        if (self->state == S_PREAMBLE || self->state == S_BODY) {
            char *found = (char *) memmem (start, left, self->delim, self->delim_len);
            size_t take = found? (size_t) (found - start):
                          left > self->delim_len - 1? left - (self->delim_len - 1): 0;
            if (self->state == S_BODY && take && self->handler.data (self->arg, start, take))
                return s_fail (self, "refused by the handler");
            at += take;
            if (!found)
                break;
            if (self->state == S_BODY && self->handler.end (self->arg))
                return s_fail (self, "refused by the handler");
            at += self->delim_len;
            self->state = S_AFTER_DELIM;
        }
        else
        if (self->state == S_AFTER_DELIM) {
            if (left < 2)
                break;
            if (memcmp (start, "--", 2) == 0)
                self->state = S_DONE;
            else
            if (memcmp (start, "\r\n", 2) == 0)
                self->state = S_HEADERS;
            else
                return s_fail (self, "garbage after a delimiter");
            at += 2;
        }
        else
        if (self->state == S_HEADERS) {
            char *end = (char *) memmem (start, left < S_HEADERS_MAX? left: S_HEADERS_MAX, "\r\n\r\n", 4);
            if (!end) {
                if (left >= S_HEADERS_MAX || (left >= 2 && memcmp (start, "\r\n", 2) == 0))
                    return s_fail (self, "part headers missing or over 8 KiB");
                break;
            }
            size_t n = (size_t) (end - start) + 2;          //  with the last line's CR LF
            char *text = (char *) zmalloc (n + 1);
            memcpy (text, start, n);
            text [n] = 0;
            bool nul = memchr (start, 0, n) != NULL;
            int rc = nul? s_fail (self, "a NUL in part headers"): s_headers (self, text);
            free (text);
            if (rc)
                return -1;
            at += n + 2;
            self->state = S_BODY;
        }
    }
    memmove (self->buf, self->buf + at, self->len - at);
    self->len -= at;
    return self->state == S_FAILED? -1: 0;
}

int
web_multipart_finish (web_multipart_t *self)
{
    if (self->state == S_FAILED)
        return -1;
    if (self->state != S_DONE)
        return s_fail (self, "the body ends before the closing delimiter");
    return 0;
}

// ------------------------------------------------------------- selftest

typedef struct {
    char log [1024];
    int refuse_at;              //  refuse the part with this name
} s_test_t;

static int
s_test_begin (void *arg, const char *name, const char *filename, const char *type)
{
    s_test_t *test = (s_test_t *) arg;
    size_t n = strlen (test->log);
    snprintf (test->log + n, sizeof test->log - n, "[%s|%s|%s]", name, filename? filename: "-", type);
    return test->refuse_at && streq (name, "bad")? -1: 0;
}

static int
s_test_data (void *arg, const char *data, size_t size)
{
    s_test_t *test = (s_test_t *) arg;
    size_t n = strlen (test->log);
    snprintf (test->log + n, sizeof test->log - n, "%.*s", (int) size, data);
    return 0;
}

static int
s_test_end (void *arg)
{
    s_test_t *test = (s_test_t *) arg;
    size_t n = strlen (test->log);
    snprintf (test->log + n, sizeof test->log - n, "/");
    return 0;
}

static int
s_test_run (const char *body, size_t step, s_test_t *test, int refuse)
{
    static const web_multipart_handler_t handler = { s_test_begin, s_test_data, s_test_end };
    memset (test, 0, sizeof *test);
    test->refuse_at = refuse;
    web_multipart_t *parser = web_multipart_new ("multipart/form-data; boundary=XyZ", &handler, test);
    assert (parser);
    int rc = 0;
    size_t len = strlen (body);
    for (size_t at = 0; at < len && rc == 0; at += step)
        rc = web_multipart_feed (parser, body + at, len - at < step? len - at: step);
    if (rc == 0)
        rc = web_multipart_finish (parser);
    web_multipart_destroy (&parser);
    return rc;
}

void
web_multipart_test (bool verbose)
{
    printf (" * web_multipart: ");
    static const web_multipart_handler_t handler = { s_test_begin, s_test_data, s_test_end };
    s_test_t test;
    assert (!web_multipart_new ("application/json", &handler, &test));
    assert (!web_multipart_new ("multipart/form-data", &handler, &test));
    assert (!web_multipart_new ("multipart/form-dataX; boundary=a", &handler, &test));
    assert (!web_multipart_new ("multipart/form-data; boundary=\"\"", &handler, &test));
    const char *body =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"type\"\r\n\r\n"
        "solid_waste\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"evidence\"; filename=\"anh.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
        "\xFF\xD8\xFF\r\n--X-not-a-delimiter\r\n"
        "--XyZ--\r\n";
    const char *expect = "[type|-|]solid_waste/[evidence|anh.jpg|image/jpeg]\xFF\xD8\xFF\r\n--X-not-a-delimiter/";
    //  Whole, and byte by byte (a delimiter split across pieces)
    assert (s_test_run (body, 100000, &test, 0) == 0 && streq (test.log, expect));
    assert (s_test_run (body, 1, &test, 0) == 0 && streq (test.log, expect));
    assert (s_test_run (body, 7, &test, 0) == 0 && streq (test.log, expect));
    //  Truncated: in a part, and before the closing "--"
    char cut [512];
    snprintf (cut, sizeof cut, "%.*s", (int) (strlen (body) - 12), body);
    assert (s_test_run (cut, 5, &test, 0) == -1);
    snprintf (cut, sizeof cut, "%.*s", (int) (strlen (body) - 4), body);
    assert (s_test_run (cut, 5, &test, 0) == -1);
    assert (s_test_run ("", 5, &test, 0) == -1);
    //  Malformed parts
    assert (s_test_run ("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", 3, &test, 0) == -1);
    assert (s_test_run ("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", 3, &test, 0) == -1);
    assert (s_test_run ("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--", 3, &test, 0) == -1);
    assert (s_test_run ("--XyZ\r\n\r\nx\r\n--XyZ--", 3, &test, 0) == -1);
    assert (s_test_run ("--XyZ  \r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--", 3, &test, 0) == -1);
    assert (s_test_run ("--XyZ\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''x\r\n\r\nx\r\n--XyZ--",
                        3, &test, 0) == -1);
    //  A handler's refusal stops the parser
    assert (s_test_run ("--XyZ\r\nContent-Disposition: form-data; name=bad\r\n\r\nx\r\n--XyZ--", 3, &test, 1) == -1);
    //  An empty part, an unquoted name, a filename=""
    assert (s_test_run ("--XyZ\r\nContent-Disposition: form-data; name=a; filename=\"\"\r\n\r\n\r\n--XyZ--\r\n",
                        3, &test, 0) == 0);
    assert (streq (test.log, "[a||]/"));
    if (verbose)
        printf ("(streaming, strict) ");
    printf ("OK\n");
}
