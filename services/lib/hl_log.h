/*  hl_log — structured logs, one logfmt line each, to stderr.
 *
 *  ts=2026-11-29T08:00:00.123Z level=info service=intake case=31001-2026-000001 msg="case received"
 *
 *  No personal data at info level: callers log case ids, never reporters.
 */
#ifndef HL_LOG_H_INCLUDED
#define HL_LOG_H_INCLUDED

typedef enum { HL_DEBUG = 0, HL_INFO = 1, HL_WARN = 2, HL_ERROR = 3 } hl_level_t;

//  Set the service name printed on every line, and the minimum level
//  (HOTLINE_LOG_LEVEL=debug|info|warn|error overrides).
void hl_log_init (const char *service);
//  Log one line; case_id may be NULL. msg is printf-style.
void hl_log (hl_level_t level, const char *case_id, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
#define hl_debug(...) hl_log (HL_DEBUG, NULL, __VA_ARGS__)
#define hl_info(...)  hl_log (HL_INFO,  NULL, __VA_ARGS__)
#define hl_warn(...)  hl_log (HL_WARN,  NULL, __VA_ARGS__)
#define hl_error(...) hl_log (HL_ERROR, NULL, __VA_ARGS__)
//  The last error logged by any thread, for status probes ("" if none).
//  Thread-safe: the text is this thread's own copy, valid until its next call.
const char *hl_log_last_error (void);

//  At most one line a second from one limiter, so that a flood of bad
//  input cannot fill the disk with logs. Zero-initialise it; then
//      long suppressed = hl_ratelimit (&self->rl_bad);
//      if (suppressed >= 0)
//          hl_warn ("... (%ld similar suppressed)", suppressed);
//  Returns -1 if this line is to be left out, else how many were left out
//  since the last one logged.
typedef struct {
    int64_t last;
    bool used;
    size_t suppressed;
} hl_ratelimit_t;
long hl_ratelimit (hl_ratelimit_t *rl);

void hl_log_test (bool verbose);
#endif
