/*  hl_clock — the node clock, with a test offset read from a file, and the
 *  node's time zone.
 *
 *  Read top to bottom: the clock; the zone (check and set); formatting; the
 *  parser (s_scan_* read one piece each and say what was wrong); JSON twins;
 *  the selftest.
 */
#include "hotline.h"
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>

//  The test offset (HOTLINE_CLOCK_FILE). hl_clock_now is on every hot path
//  (each event, each deadline, the web's every answer) and on several
//  threads, so it neither calls getenv nor stats the file on every call:
//  the file is looked at again at most once every S_CLOCK_CHECK_NS (on the
//  monotonic clock), and re-read only when its mtime, inode or size changed.
//  One millisecond is far below anything a test does between moving the
//  clock and asking a service (conftest.py's advance() renames a new file
//  over the old one; hl_accounts' selftest rewrites it in place and waits
//  2 ms), and still turns a million calls a second into a thousand stats.
#define S_CLOCK_CHECK_NS    1000000

static _Atomic int64_t s_offset = 0;
static _Atomic int64_t s_next_check_ns = 0;
static pthread_mutex_t s_clock_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct stat s_clock_stat;            //  of the file last read (under the mutex)
static char s_zone [72] = "";

static int64_t
s_real_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
s_monotonic_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Look at the clock file again (one thread at a time; a thread that finds
//  another one checking uses the offset it has, at most a check old)
static void
s_clock_check (int64_t mono)
{
    if (pthread_mutex_trylock (&s_clock_mutex))
        return;
    const char *path = getenv ("HOTLINE_CLOCK_FILE");
    struct stat st;
    if (path && *path && stat (path, &st) == 0
    &&  (st.st_mtim.tv_sec != s_clock_stat.st_mtim.tv_sec
      || st.st_mtim.tv_nsec != s_clock_stat.st_mtim.tv_nsec
      || st.st_ino != s_clock_stat.st_ino || st.st_size != s_clock_stat.st_size)) {
        FILE *file = fopen (path, "r");
        if (file) {
            long long offset;
            if (fscanf (file, "%lld", &offset) == 1) {
                atomic_store (&s_offset, (int64_t) offset);
                s_clock_stat = st;
            }
            fclose (file);
        }
    }
    atomic_store (&s_next_check_ns, mono + S_CLOCK_CHECK_NS);
    pthread_mutex_unlock (&s_clock_mutex);
}

//  Selftests: forget the file, so the next call looks at once
static void
s_clock_forget (void)
{
    pthread_mutex_lock (&s_clock_mutex);
    memset (&s_clock_stat, 0, sizeof s_clock_stat);
    atomic_store (&s_offset, 0);
    atomic_store (&s_next_check_ns, 0);
    pthread_mutex_unlock (&s_clock_mutex);
}

int64_t
hl_clock_now (void)
{
    int64_t mono = s_monotonic_ns ();
    if (mono >= atomic_load (&s_next_check_ns))
        s_clock_check (mono);
    return s_real_now () + atomic_load (&s_offset);
}

// ---------------------------------------------------------------- the zone

int
hl_clock_zone_check (const char *name, char *error, size_t size)
{
    //  A name, not a path: it is joined to the zoneinfo directory, so no
    //  "..", no leading '/' and nothing a POSIX TZ rule would take instead
    //  ("UTC0", "<+07>-7", ":/etc/localtime" would all set some zone silently)
    bool ok = name && *name && strlen (name) < 64 && *name != '/' && !strstr (name, "..");
    for (const char *p = name? name: ""; ok && *p; p++)
        ok = isalnum ((unsigned char) *p) || *p == '/' || *p == '_' || *p == '+' || *p == '-';
    if (!ok) {
        snprintf (error, size, "'%.64s' is not a time zone name (an IANA name such as %s)",
                  name? name: "", HL_CLOCK_ZONE_DEFAULT);
        return -1;
    }
    const char *dir = getenv ("TZDIR");
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir? dir: "/usr/share/zoneinfo", name);
    struct stat st;
    char magic [4] = "";
    FILE *file = stat (path, &st) == 0 && S_ISREG (st.st_mode)? fopen (path, "rb"): NULL;
    bool tzif = file && fread (magic, 1, 4, file) == 4 && memcmp (magic, "TZif", 4) == 0;
    if (file)
        fclose (file);
    if (!tzif) {
        snprintf (error, size, "time zone '%s' is unknown: %s is not a zone file "
                  "(is the tzdata package installed?)", name, path);
        return -1;
    }
    return 0;
}

int
hl_clock_set_zone (const char *name, char *error, size_t size)
{
    if (hl_clock_zone_check (name, error, size))
        return -1;
    //  setenv is not thread-safe against getenv: callers set the zone once,
    //  at start (see the header)
    setenv ("TZ", name, 1);
    tzset ();
    snprintf (s_zone, sizeof s_zone, "%s", name);
    return 0;
}

const char *
hl_clock_zone (void)
{
    return s_zone;
}

// ---------------------------------------------------------------- formatting

//  Seconds of ms, rounded down (ms may be negative: before 1970)
static time_t
s_seconds (int64_t ms)
{
    return (time_t) (ms >= 0? ms / 1000: -((-ms + 999) / 1000));
}

const char *
hl_clock_format (int64_t ms, char *buf, size_t size)
{
    time_t secs = s_seconds (ms);
    struct tm tm;
    if (!localtime_r (&secs, &tm))
        snprintf (buf, size, "?");
    else
        strftime (buf, size, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

const char *
hl_clock_format_iso (int64_t ms, char *buf, size_t size)
{
    time_t secs = s_seconds (ms);
    struct tm tm;
    if (!localtime_r (&secs, &tm)) {
        snprintf (buf, size, "?");
        return buf;
    }
    char stamp [32];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    long offset = tm.tm_gmtoff / 60;
    snprintf (buf, size, "%s%c%02ld:%02ld", stamp, offset < 0? '-': '+',
              labs (offset) / 60, labs (offset) % 60);
    return buf;
}

int
hl_clock_year (int64_t ms)
{
    time_t secs = s_seconds (ms);
    struct tm tm;
    localtime_r (&secs, &tm);
    return tm.tm_year + 1900;
}

int64_t
hl_clock_next_day (int64_t ms)
{
    time_t secs = s_seconds (ms);
    struct tm tm;
    localtime_r (&secs, &tm);
    tm.tm_mday++;
    tm.tm_isdst = -1;
    time_t next = mktime (&tm);
    return (int64_t) next * 1000 + (ms - (int64_t) secs * 1000);
}

// ---------------------------------------------------------------- parsing

//  Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
//  days_from_civil): the instant of a time with an explicit offset needs no
//  zone, so it is computed, not asked of mktime
static int64_t
s_days_from_civil (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0? y: y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
s_days_in_month (int year, int month)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap? 29: days [month - 1];
}

//  Exactly n digits at *p; advances. -1 if not.
static int
s_digits (const char **p, int n)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) (*p) [i]))
            return -1;
        value = value * 10 + ((*p) [i] - '0');
    }
    *p += n;
    return value;
}

static void
s_skip_spaces (const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

//  Quote at most 40 bytes of what was not understood, cut on a character
static void
s_why_unread (char *why, size_t size, const char *rest, const char *after)
{
    char quoted [48];
    snprintf (quoted, sizeof quoted, "%.40s", rest);
    hl_utf8_scrub (quoted);
    snprintf (why, size, "'%s%s' after the %s is not understood",
              quoted, strlen (rest) > 40? "...": "", after);
}

//  A zone after the time: Z, +HH[:MM], +HHMM, UTC, UTC+H[:MM], GMT+H ...
//  Returns 1 and sets *offset_min if one is there, 0 if none, -1 if bad.
static int
s_scan_zone (const char **p, int *offset_min, char *why, size_t size)
{
    const char *start = *p;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *offset_min = 0;
        return 1;
    }
    bool named = strncmp (*p, "UTC", 3) == 0 || strncmp (*p, "GMT", 3) == 0;
    if (named) {
        *p += 3;
        if (**p != '+' && **p != '-') {
            *offset_min = 0;
            return 1;
        }
    }
    if (**p != '+' && **p != '-')
        return 0;
    int sign = **p == '-'? -1: 1;
    (*p)++;
    //  Hours: two digits; after UTC/GMT one digit also ("GMT+7")
    int hours = -1;
    if (isdigit ((unsigned char) (*p) [0]) && isdigit ((unsigned char) (*p) [1]))
        hours = s_digits (p, 2);
    else
    if (named && isdigit ((unsigned char) (*p) [0]))
        hours = s_digits (p, 1);
    if (hours < 0) {
        snprintf (why, size, "the offset '%.8s' is not understood (like +07:00 or Z)", start);
        hl_utf8_scrub (why);
        return -1;
    }
    int minutes = 0;
    if (**p == ':' && isdigit ((unsigned char) (*p) [1]))
        (*p)++;
    if (isdigit ((unsigned char) **p)) {
        minutes = s_digits (p, 2);
        if (minutes < 0) {
            snprintf (why, size, "the offset '%.8s' is not understood (like +07:00 or Z)", start);
            hl_utf8_scrub (why);
            return -1;
        }
    }
    if (hours > 14 || minutes > 59 || hours * 60 + minutes > 14 * 60) {
        snprintf (why, size, "the offset %c%02d:%02d is out of range (at most 14 hours)",
                  sign < 0? '-': '+', hours, minutes);
        return -1;
    }
    *offset_min = sign * (hours * 60 + minutes);
    return 1;
}

int
hl_clock_parse_reason (const char *text, int64_t *ms, char *why, size_t size)
{
    char spare [8];
    if (!why || !size) {
        why = spare;
        size = sizeof spare;
    }
    *why = 0;
    if (!text || !*text) {
        snprintf (why, size, "is empty");
        return -1;
    }
    const char *p = text;
    s_skip_spaces (&p);
    int year = s_digits (&p, 4);
    int month = *p == '-'? (p++, s_digits (&p, 2)): -1;
    int day = month >= 0 && *p == '-'? (p++, s_digits (&p, 2)): -1;
    if (year < 0 || month < 0 || day < 0) {
        snprintf (why, size, "is not a date: expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM' "
                  "or ISO 8601 such as 2026-01-05T10:00+07:00");
        return -1;
    }
    if (year < 1000) {
        snprintf (why, size, "year %04d is out of range (1000 to 9999)", year);
        return -1;
    }
    if (month < 1 || month > 12) {
        snprintf (why, size, "month %02d is out of range (01 to 12)", month);
        return -1;
    }
    if (day < 1 || day > s_days_in_month (year, month)) {
        snprintf (why, size, "%04d-%02d-%02d: that month has %d days", year, month, day,
                  s_days_in_month (year, month));
        return -1;
    }
    //  A time: 'T' or spaces, then HH:MM[:SS[.fff]]
    int hour = 0, minute = 0, second = 0, millis = 0;
    const char *before_time = p;
    const char *q = p;
    if (*q == 'T' || *q == 't')
        q++;
    else
        s_skip_spaces (&q);
    if (q > p && isdigit ((unsigned char) q [0]) && isdigit ((unsigned char) q [1]) && q [2] == ':') {
        p = q;
        hour = s_digits (&p, 2);
        p++;
        minute = s_digits (&p, 2);
        if (minute < 0) {
            snprintf (why, size, "the time must be HH:MM (like 10:00)");
            return -1;
        }
        if (*p == ':') {
            p++;
            second = s_digits (&p, 2);
            if (second < 0) {
                snprintf (why, size, "the seconds must be two digits (like 10:00:30)");
                return -1;
            }
            if ((*p == '.' || *p == ',') && isdigit ((unsigned char) p [1])) {
                p++;
                int scale = 100;
                for (int i = 0; isdigit ((unsigned char) *p); i++, p++) {
                    if (i >= 9) {
                        snprintf (why, size, "the fraction of a second has more than 9 digits");
                        return -1;
                    }
                    millis += (*p - '0') * scale;
                    scale /= 10;
                }
            }
        }
        if (hour > 23) {
            snprintf (why, size, "hour %02d is out of range (00 to 23)", hour);
            return -1;
        }
        if (minute > 59) {
            snprintf (why, size, "minute %02d is out of range (00 to 59)", minute);
            return -1;
        }
        if (second > 59) {
            snprintf (why, size, "second %02d is out of range (00 to 59)", second);
            return -1;
        }
    }
    else
    if (*q == 'T' || *q == 't') {
        snprintf (why, size, "the time after 'T' must be HH:MM (like 10:00)");
        return -1;
    }
    //  A zone, then nothing but spaces
    const char *after = p == before_time? "date": "time";
    const char *z = p;
    s_skip_spaces (&z);
    int offset_min = 0;
    int zoned = s_scan_zone (&z, &offset_min, why, size);
    if (zoned < 0)
        return -1;
    if (zoned)
        p = z;
    s_skip_spaces (&p);
    if (*p) {
        s_why_unread (why, size, p, zoned? "offset": after);
        return -1;
    }
    int64_t secs;
    if (zoned)
        secs = s_days_from_civil (year, month, day) * 86400
             + hour * 3600 + minute * 60 + second - offset_min * 60;
    else {
        //  In the zone: mktime knows its rules and its history
        struct tm tm = { 0 };
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        tm.tm_isdst = -1;
        errno = 0;
        time_t local = mktime (&tm);
        if (local == (time_t) -1 && errno == EOVERFLOW) {
            snprintf (why, size, "is out of range");
            return -1;
        }
        if (tm.tm_mday != day || tm.tm_hour != hour || tm.tm_min != minute) {
            //  A wall time a clock change skipped (never in Vietnam)
            snprintf (why, size, "%02d:%02d on %04d-%02d-%02d does not exist in time zone %s "
                      "(the clocks moved past it)", hour, minute, year, month, day,
                      *s_zone? s_zone: "of this machine");
            return -1;
        }
        secs = (int64_t) local;
    }
    //  Every parsed time formats back as a four-digit year, in any zone
    if (secs < -30578688000LL || secs > 253370764800LL) {       //  1001-01-01, 9999-01-01 (UTC)
        snprintf (why, size, "is out of range (1001-01-01 to 9999-01-01)");
        return -1;
    }
    *ms = secs * 1000 + millis;
    return 0;
}

int
hl_clock_parse (const char *text, int64_t *ms)
{
    return hl_clock_parse_reason (text, ms, NULL, 0);
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

// ---------------------------------------------------------------- JSON twins

//  The keys that hold instants. A list, not "every *_ms": retry_ms,
//  heartbeat_age_ms, coalesce_ms are durations
static const char *s_time_keys [] = {
    "at_ms", "received_ms", "updated_ms", "occurred_ms", "due_ms", "met_ms", "started_ms",
    "warn_ms", "since_ms", "until_ms", "created_ms", "sent_ms", "next_attempt_ms", NULL
};

void
hl_clock_json_times (json_t *json)
{
    if (json_is_array (json)) {
        size_t index;
        json_t *item;
        json_array_foreach (json, index, item)
            hl_clock_json_times (item);
        return;
    }
    if (!json_is_object (json))
        return;
    const char *key;
    json_t *value;
    void *tmp;
    //  Twins are added after the walk: adding while iterating is undefined
    json_t *twins = json_object ();
    json_object_foreach_safe (json, tmp, key, value) {
        if (json_is_object (value) || json_is_array (value)) {
            hl_clock_json_times (value);
            continue;
        }
        for (int i = 0; s_time_keys [i]; i++)
            if (streq (key, s_time_keys [i]) && json_is_integer (value) && json_integer_value (value)) {
                char name [64], iso [48];
                if (streq (key, "at_ms"))
                    snprintf (name, sizeof name, "at");
                else
                    snprintf (name, sizeof name, "%.*s_at", (int) strlen (key) - 3, key);
                hl_clock_format_iso (json_integer_value (value), iso, sizeof iso);
                json_object_set_new (twins, name, json_string (iso));
            }
    }
    json_object_update (json, twins);
    json_decref (twins);
}

// ---------------------------------------------------------------- selftest

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

    //  Whatever zone the test runs in, the node's zone decides
    char *saved_tz = getenv ("TZ")? hl_strdup (getenv ("TZ")): NULL;
    char error [256], why [256];
    assert (hl_clock_zone_check ("Mars/Olympus_Mons", error, sizeof error) == -1);
    assert (strstr (error, "unknown"));
    assert (hl_clock_zone_check ("../../etc/passwd", error, sizeof error) == -1);
    assert (hl_clock_zone_check ("UTC0", error, sizeof error) == -1);
    assert (hl_clock_zone_check ("", error, sizeof error) == -1);
    assert (hl_clock_set_zone ("America/New_York", error, sizeof error) == 0);
    assert (hl_clock_set_zone (HL_CLOCK_ZONE_DEFAULT, error, sizeof error) == 0);
    assert (streq (hl_clock_zone (), HL_CLOCK_ZONE_DEFAULT));

    //  Plain local forms: in the zone (Vietnam: UTC+7, no clock changes)
    const int64_t utc_0300 = 1767582000000LL;              //  2026-01-05T03:00:00Z
    assert (hl_clock_parse ("2026-01-05 10:00", &ms) == 0 && ms == utc_0300);
    assert (hl_clock_parse ("2026-01-05T10:00:00", &ms) == 0 && ms == utc_0300);
    assert (hl_clock_parse ("  2026-01-05   10:00  ", &ms) == 0 && ms == utc_0300);
    assert (hl_clock_parse ("2026-01-05", &ms) == 0 && ms == utc_0300 - 10 * 3600000LL);
    //  Offsets honoured, in every spelling
    const char *same [] = { "2026-01-05 10:00 +07:00", "2026-01-05T10:00+07:00", "2026-01-05T10:00+0700",
                            "2026-01-05 10:00 +07", "2026-01-05 10:00 GMT+7", "2026-01-05 10:00 UTC+07:00",
                            "2026-01-05T03:00:00Z", "2026-01-05 03:00 UTC", "2026-01-04T22:00:00-05:00",
                            "2026-01-05T03:00:00.000Z", NULL };
    for (int i = 0; same [i]; i++) {
        ms = 0;
        assert (hl_clock_parse_reason (same [i], &ms, why, sizeof why) == 0);
        assert (ms == utc_0300);
    }
    assert (hl_clock_parse ("2026-01-05T03:00:00.25Z", &ms) == 0 && ms == utc_0300 + 250);
    //  The same instants in another zone: offsets do not depend on it
    assert (hl_clock_set_zone ("America/New_York", error, sizeof error) == 0);
    assert (hl_clock_parse ("2026-01-05 10:00 +07:00", &ms) == 0 && ms == utc_0300);
    assert (hl_clock_parse ("2026-01-05 10:00", &ms) == 0 && ms == utc_0300 + 12 * 3600000LL);
    //  A wall time that a clock change skips is refused, saying so
    assert (hl_clock_parse_reason ("2026-03-08 02:30", &ms, why, sizeof why) == -1);
    assert (strstr (why, "does not exist"));
    assert (hl_clock_year (1767222000000LL) == 2025);       //  2025-12-31T23:00Z: 18:00 in New York
    assert (hl_clock_set_zone (HL_CLOCK_ZONE_DEFAULT, error, sizeof error) == 0);
    assert (hl_clock_year (1767222000000LL) == 2026);       //  06:00 on 1 January in Hải Phòng

    //  Refusals say what is wrong
    struct { const char *text, *says; } bad [] = {
        { "2026-01-05 10:00 extra", "'extra' after the time" },
        { "2026-01-05 extra", "'extra' after the date" },
        { "2026-01-05 10:00 +07:00 x", "'x' after the offset" },
        { "2026-01-05 10", "'10' after the date" },
        { "2026-02-30", "that month has 28 days" },
        { "2026-13-01", "month 13" },
        { "2026-01-05 24:00", "hour 24" },
        { "2026-01-05 10:60", "minute 60" },
        { "2026-01-05 10:00:60", "second 60" },
        { "2026-01-05 10:00 +15:00", "out of range" },
        { "2026-01-05 10:00 +7", "offset '+7'" },
        { "0999-01-01", "year 0999" },
        { "yesterday", "is not a date" },
        { "05/01/2026", "is not a date" },
        { "", "is empty" },
        { NULL, NULL }
    };
    for (int i = 0; bad [i].text; i++) {
        assert (hl_clock_parse_reason (bad [i].text, &ms, why, sizeof why) == -1);
        if (!strstr (why, bad [i].says)) {
            printf ("'%s' -> '%s'\n", bad [i].text, why);
            assert (false);
        }
    }
    //  Long trailing text is quoted cut, on a character
    assert (hl_clock_parse_reason ("2026-01-05 Nước thải màu đen chảy ra kênh Xáng từ sáng nay",
                                   &ms, why, sizeof why) == -1);
    assert (hl_utf8_valid (why, strlen (why)) && strstr (why, "...'"));
    //  Dates before 1970 and 1900 parse: what may be refused is for the caller
    assert (hl_clock_parse ("1899-12-31", &ms) == 0 && ms < 0);
    assert (hl_clock_parse ("1970-01-01T00:00Z", &ms) == 0 && ms == 0);
    //  Saigon kept UTC+8 until 1975: the zone's history, not a fixed +7
    assert (hl_clock_parse ("1970-01-01 08:00", &ms) == 0 && ms == 0);

    char buf [48];
    assert (streq (hl_clock_format (utc_0300, buf, sizeof buf), "2026-01-05 10:00"));
    assert (streq (hl_clock_format_iso (utc_0300, buf, sizeof buf), "2026-01-05T10:00:00+07:00"));
    assert (streq (hl_clock_format_iso (-1, buf, sizeof buf), "1970-01-01T07:59:59+08:00"));
    assert (hl_clock_next_day (utc_0300) == utc_0300 + 86400000LL);

    //  JSON: an ISO twin beside each time, none for durations and zeros
    json_t *json = json_pack ("{s:I, s:I, s:I, s:[{s:I, s:n}]}", "received_ms", (json_int_t) utc_0300,
                              "until_ms", (json_int_t) 0, "retry_ms", (json_int_t) 5000,
                              "history", "at_ms", (json_int_t) utc_0300, "met_ms");
    hl_clock_json_times (json);
    assert (streq (json_string_value (json_object_get (json, "received_at")), "2026-01-05T10:00:00+07:00"));
    assert (!json_object_get (json, "until_at") && !json_object_get (json, "retry_at"));
    json_t *item = json_array_get (json_object_get (json, "history"), 0);
    assert (streq (json_string_value (json_object_get (item, "at")), "2026-01-05T10:00:00+07:00"));
    assert (!json_object_get (item, "met_at"));
    assert (json_integer_value (json_object_get (json, "received_ms")) == utc_0300);
    json_decref (json);

    //  The test clock: an offset in a file moves every reader's clock
    char path [] = "/tmp/hl_clock_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    assert (write (fd, "86400000\n", 9) == 9);
    close (fd);
    setenv ("HOTLINE_CLOCK_FILE", path, 1);
    s_clock_forget ();
    int64_t shifted = hl_clock_now ();
    assert (shifted - s_real_now () > 86399000);
    //  A rewrite is seen once the check interval has passed (in place, as
    //  hl_accounts' selftest does, or renamed over it, as conftest.py does),
    //  and not on every call before that
    fd = open (path, O_WRONLY | O_TRUNC);
    assert (fd >= 0);
    assert (write (fd, "172800000\n", 10) == 10);
    close (fd);
    int64_t before = atomic_load (&s_next_check_ns);
    while (s_monotonic_ns () < before)
        ;
    shifted = hl_clock_now ();
    assert (shifted - s_real_now () > 172799000);
    char renamed [64];
    snprintf (renamed, sizeof renamed, "%s.tmp", path);
    FILE *file = fopen (renamed, "w");
    assert (file);
    fprintf (file, "3600000\n");
    fclose (file);
    assert (rename (renamed, path) == 0);
    before = atomic_load (&s_next_check_ns);
    while (s_monotonic_ns () < before)
        ;
    shifted = hl_clock_now ();
    assert (shifted - s_real_now () > 3599000 && shifted - s_real_now () < 3601000);
    //  Between checks the file is not looked at: the cached offset stands
    atomic_store (&s_next_check_ns, INT64_MAX);
    unlink (path);
    assert (hl_clock_now () - s_real_now () > 3599000);
    unsetenv ("HOTLINE_CLOCK_FILE");
    s_clock_forget ();
    assert (hl_clock_now () - s_real_now () < 1000);
    if (verbose)
        printf ("(now %s) ", hl_clock_format_iso (hl_clock_now (), buf, sizeof buf));
    //  Leave the process's zone as it was
    if (saved_tz)
        setenv ("TZ", saved_tz, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (saved_tz);
    *s_zone = 0;
    printf ("OK\n");
}
