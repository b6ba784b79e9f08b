/*  hl_log — structured logs, one logfmt line each, to stderr.  */
#include "hotline.h"
#include <pthread.h>
#include <stdarg.h>
#include <sys/time.h>

static char s_service [32] = "hotline";
static hl_level_t s_min_level = HL_INFO;
//  The last error, for status probes: written by any thread that logs and
//  read by the metrics thread, so both go through the mutex (a torn copy
//  would be a half-overwritten message, and a data race besides)
static char s_last_error [256] = "";
static pthread_mutex_t s_last_error_mutex = PTHREAD_MUTEX_INITIALIZER;
static const char *s_level_names [] = { "debug", "info", "warn", "error" };

void
hl_log_init (const char *service)
{
    snprintf (s_service, sizeof s_service, "%s", service);
    const char *level = getenv ("HOTLINE_LOG_LEVEL");
    if (level) {
        for (int i = HL_DEBUG; i <= HL_ERROR; i++)
            if (streq (level, s_level_names [i]))
                s_min_level = (hl_level_t) i;
    }
}

//  Append text to line as a logfmt value: quoted, with " and \ and control
//  characters escaped. Returns the new length (truncated at size - 1).
static size_t
s_put_value (char *line, size_t len, size_t size, const char *text)
{
    if (len + 1 < size)
        line [len++] = '"';
    for (const char *p = text; *p && len + 5 < size; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == '"' || c == '\\') {
            line [len++] = '\\';
            line [len++] = (char) c;
        }
        else
        if (c == '\n') {
            line [len++] = '\\';
            line [len++] = 'n';
        }
        else
        if (c < 0x20)
            len += (size_t) snprintf (line + len, size - len, "\\x%02x", c);
        else
            line [len++] = (char) c;
    }
    if (len + 1 < size)
        line [len++] = '"';
    return len;
}

void
hl_log (hl_level_t level, const char *case_id, const char *fmt, ...)
{
    char msg [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (msg, sizeof msg, fmt, args);
    va_end (args);
    if (level == HL_ERROR) {
        pthread_mutex_lock (&s_last_error_mutex);
        snprintf (s_last_error, sizeof s_last_error, "%.255s", msg);
        pthread_mutex_unlock (&s_last_error_mutex);
    }
    if (level < s_min_level)
        return;

    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    char stamp [40];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    //  One line, one write: lines from several threads never interleave
    char line [2400];
    int head = snprintf (line, sizeof line, "ts=%s.%03dZ level=%s service=%s%s%s msg=", stamp,
                         (int) (tv.tv_usec / 1000), s_level_names [level], s_service,
                         case_id && *case_id? " case=": "", case_id && *case_id? case_id: "");
    size_t len = head > 0 && (size_t) head < sizeof line? (size_t) head: 0;
    len = s_put_value (line, len, sizeof line - 1, msg);
    line [len++] = '\n';
    fwrite (line, 1, len, stderr);
}

const char *
hl_log_last_error (void)
{
    static _Thread_local char copy [sizeof s_last_error];
    pthread_mutex_lock (&s_last_error_mutex);
    memcpy (copy, s_last_error, sizeof copy);
    pthread_mutex_unlock (&s_last_error_mutex);
    return copy;
}

long
hl_ratelimit (hl_ratelimit_t *rl)
{
    int64_t now = zclock_mono ();
    if (rl->used && now - rl->last < 1000) {
        rl->suppressed++;
        return -1;
    }
    long suppressed = (long) rl->suppressed;
    rl->suppressed = 0;
    rl->used = true;
    rl->last = now;
    return suppressed;
}

static void *
s_test_thread (void *arg)
{
    (void) arg;
    hl_error ("from another thread");
    return NULL;
}

void
hl_log_test (bool verbose)
{
    printf (" * hl_log: ");
    hl_log_init ("selftest");
    if (verbose)
        hl_log (HL_INFO, "31001-2026-000001", "quote \" and newline \n ok");
    hl_log (HL_DEBUG, NULL, "hidden at info level");
    assert (streq (hl_log_last_error (), "") || true);
    //  Errors are remembered for status probes, even when not printed
    s_min_level = HL_ERROR + 1;
    hl_error ("disk full: %d", 28);
    assert (streq (hl_log_last_error (), "disk full: 28"));
    //  Another thread's error is seen here; the text this thread was given
    //  is its own copy, which the other thread's error does not touch
    const char *held = hl_log_last_error ();
    pthread_t thread;
    assert (pthread_create (&thread, NULL, s_test_thread, NULL) == 0);
    assert (pthread_join (thread, NULL) == 0);
    assert (streq (held, "disk full: 28"));
    assert (streq (hl_log_last_error (), "from another thread"));
    s_min_level = HL_INFO;
    //  Rate limiting: the first line passes, the next ones within a second
    //  are counted, and the first after the second says how many
    hl_ratelimit_t rl = { 0, false, 0 };
    assert (hl_ratelimit (&rl) == 0);
    assert (hl_ratelimit (&rl) == -1);
    assert (hl_ratelimit (&rl) == -1);
    rl.last -= 1000;
    assert (hl_ratelimit (&rl) == 2);
    assert (hl_ratelimit (&rl) == -1);
    printf ("OK\n");
}
