/*  web_multipart — a strict, streaming multipart/form-data parser
 *  (RFC 7578): a body of any size is fed in pieces as it arrives and the
 *  parts come out through three callbacks, so a file is never held in
 *  memory and a limit can refuse it while it is still arriving.
 *
 *  Strict: each part must have a Content-Disposition: form-data with a
 *  name; part headers at most 8 KiB; the body must end with the closing
 *  delimiter (a truncated body is an error at _finish); no transport
 *  padding after a delimiter.
 *
 *  Rules for callers:
 *  - A callback returns 0 to go on, -1 to stop: the parser then refuses
 *    everything after (every _feed and _finish return -1), and its error
 *    is "refused by the handler".
 *  - filename is NULL for a part without one, "" for filename="".
 */
#ifndef WEB_MULTIPART_H_INCLUDED
#define WEB_MULTIPART_H_INCLUDED

typedef struct _web_multipart_t web_multipart_t;

typedef struct {
    int (*begin) (void *arg, const char *name, const char *filename, const char *content_type);
    int (*data) (void *arg, const char *data, size_t size);
    int (*end) (void *arg);
} web_multipart_handler_t;

//  A parser for a body of this Content-Type: NULL unless it is
//  multipart/form-data with a boundary of 1-70 characters
web_multipart_t *web_multipart_new (const char *content_type, const web_multipart_handler_t *handler,
                                    void *arg);
void web_multipart_destroy (web_multipart_t **self_p);
//  The next piece of the body: 0, or -1 (malformed, or a callback said
//  stop)
int web_multipart_feed (web_multipart_t *self, const char *data, size_t size);
//  The body is all in: 0 if it ended with the closing delimiter, else -1
int web_multipart_finish (web_multipart_t *self);
//  What went wrong (English, for the log), or ""
const char *web_multipart_error (web_multipart_t *self);

void web_multipart_test (bool verbose);
#endif
