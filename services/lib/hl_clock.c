/*  hl_clock — the node clock, with a test offset read from a file.  */
#include "hotline.h"
#include <sys/stat.h>
#include <time.h>

static int64_t s_offset = 0;
static struct timespec s_mtime;

static int64_t
s_real_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hl_clock_now (void)
{
    int64_t now = s_real_now ();
    const char *path = getenv ("HOTLINE_CLOCK_FILE");
    //  Tests only: checked on every call, so a jump is seen at once
    if (path && *path) {
        struct stat st;
        if (stat (path, &st) == 0
        &&  (st.st_mtim.tv_sec != s_mtime.tv_sec || st.st_mtim.tv_nsec != s_mtime.tv_nsec)) {
            FILE *file = fopen (path, "r");
            if (file) {
                long long offset;
                if (fscanf (file, "%lld", &offset) == 1) {
                    s_offset = offset;
                    s_mtime = st.st_mtim;
                }
                fclose (file);
            }
        }
    }
    return now + s_offset;
}

const char *
hl_clock_format (int64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    localtime_r (&secs, &tm);
    strftime (buf, size, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

int
hl_clock_parse (const char *text, int64_t *ms)
{
    if (!text)
        return -1;
    struct tm tm = { 0 };
    int year, month, day, hour = 0, minute = 0, second = 0;
    char sep = 0, tail = 0;
    int n = sscanf (text, "%4d-%2d-%2d%c%2d:%2d:%2d%c",
                    &year, &month, &day, &sep, &hour, &minute, &second, &tail);
    if (n == 3 || (n == 6 && (sep == ' ' || sep == 'T')) || (n == 7 && (sep == ' ' || sep == 'T'))) {
        if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31
        ||  hour > 23 || minute > 59 || second > 60 || hour < 0 || minute < 0 || second < 0)
            return -1;
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        tm.tm_isdst = -1;
        time_t secs = mktime (&tm);
        if (secs == (time_t) -1 || tm.tm_mday != day)
            return -1;          //  e.g. 2026-02-30
        *ms = (int64_t) secs * 1000;
        return 0;
    }
    return -1;
}

int
hl_clock_parse_duration (const char *text, int64_t *ms)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno || end == text || value < 0 || value > 1000000000LL)
        return -1;
    int64_t unit;
    if (*end == 0)
        unit = value == 0? 0: -1;       //  only "0" may omit the unit
    else
    if (streq (end, "ms"))
        unit = 1;
    else
    if (streq (end, "s"))
        unit = 1000;
    else
    if (streq (end, "m"))
        unit = 60 * 1000;
    else
    if (streq (end, "h"))
        unit = 3600 * 1000;
    else
    if (streq (end, "d"))
        unit = 24 * 3600 * 1000LL;
    else
        unit = -1;
    if (unit < 0)
        return -1;
    *ms = value * unit;
    return 0;
}

void
hl_clock_test (bool verbose)
{
    printf (" * hl_clock: ");
    int64_t ms;
    assert (hl_clock_parse_duration ("24h", &ms) == 0 && ms == 86400000);
    assert (hl_clock_parse_duration ("15m", &ms) == 0 && ms == 900000);
    assert (hl_clock_parse_duration ("0", &ms) == 0 && ms == 0);
    assert (hl_clock_parse_duration ("12", &ms) == -1);
    assert (hl_clock_parse_duration ("-1h", &ms) == -1);
    assert (hl_clock_parse_duration ("3x", &ms) == -1);
    assert (hl_clock_parse ("2026-11-29", &ms) == 0);
    int64_t day = ms;
    assert (hl_clock_parse ("2026-11-29 12:30", &ms) == 0 && ms - day == 45000000);
    assert (hl_clock_parse ("2026-11-29T12:30:10", &ms) == 0 && ms - day == 45010000);
    assert (hl_clock_parse ("2026-02-30", &ms) == -1);
    assert (hl_clock_parse ("yesterday", &ms) == -1);
    char buf [32];
    hl_clock_format (day, buf, sizeof buf);
    assert (streq (buf, "2026-11-29 00:00"));

    //  The test clock: an offset in a file moves every reader's clock
    char path [] = "/tmp/hl_clock_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    assert (write (fd, "86400000\n", 9) == 9);
    close (fd);
    setenv ("HOTLINE_CLOCK_FILE", path, 1);
    int64_t shifted = hl_clock_now ();
    assert (shifted - s_real_now () > 86399000);
    unsetenv ("HOTLINE_CLOCK_FILE");
    unlink (path);
    s_offset = 0;
    if (verbose)
        printf ("(now %s) ", hl_clock_format (hl_clock_now (), buf, sizeof buf));
    printf ("OK\n");
}
