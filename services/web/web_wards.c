/*  web_wards — the city dashboard's figures (see web_wards.h, API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the cache: the archive's answers by query, served while the stream
 *       has no newer event or for a bounded time during a burst; one flight
 *       to the archive per key
 *    2. the period: from/to, by default the last 30 days
 *    3. the routes: wards (list, one), charts, map
 *    4. the selftest
 */
#include "hotline.h"
#include "web_wards.h"
#include "web_stream.h"
#include <pthread.h>

// ------------------------------------------------------------- 1. cache
//
//  An answer asked when the stream's last event was S is "as of S". It is
//  served again while the stream is still at S, or while it is younger
//  than web/dashboard_burst_ms (newer events came: during a burst every
//  dashboard asks again after each event, and without this each request
//  would be an archive query, ~15 ms of the archive's CPU for 3,321 wards,
//  the CPU its ingest needs), and never past web/dashboard_cache_ms.
//  The answer says its S (as_of), so a page that saw a newer event asks
//  again later: the staleness is bounded by dashboard_burst_ms.
//
//  One flight per key: while one thread asks the archive for a key, the
//  others that miss on it wait for its answer (at most S_WAIT_MS, then
//  they ask too) instead of asking the same thing at once.

typedef struct {
    char *key;
    json_t *result;             //  the archive's answer
    uint64_t seq;               //  the stream's last event when it was asked
    int64_t asked;              //  zclock_mono when it was asked
} s_cached_t;

typedef struct {
    char key [640];             //  "" when the slot is free
    uint64_t seq;               //  the stream's last event when it was asked
} s_flight_t;

#define S_FLIGHTS 64            //  more keys in flight at once: no sharing
#define S_WAIT_MS 5000          //  above the archive's answer under load

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_landed;                 //  a flight ended
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static s_cached_t *s_cache = NULL;
static size_t s_cache_size = 0;
static int64_t s_cache_ms = 10000;
static int64_t s_burst_ms = 1000;
static s_flight_t s_flights [S_FLIGHTS];
static size_t s_waiters = 0;                    //  threads waiting on a flight (the selftest)

//  The condition waits on the monotonic clock: a wall clock step must not
//  stretch a wait
static void
s_cond_init (void)
{
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&s_landed, &attr);
    pthread_condattr_destroy (&attr);
}

int
web_wards_init (hl_service_t *service)
{
    hl_config_t *config = hl_service_config (service);
    int64_t entries = hl_config_int (config, "web/dashboard_cache", 32);
    int64_t ms = hl_config_int (config, "web/dashboard_cache_ms", 10000);
    int64_t burst_ms = hl_config_int (config, "web/dashboard_burst_ms", 1000);
    if (entries < 0 || entries > 4096 || ms < 0 || ms > 3600 * 1000 || burst_ms < 0 || burst_ms > 60000) {
        fprintf (stderr, "hotline-web: web/dashboard_cache (0-4096), dashboard_cache_ms (0-3600000)"
                         " and dashboard_burst_ms (0-60000) are out of range\n");
        return -1;
    }
    pthread_once (&s_once, s_cond_init);
    pthread_mutex_lock (&s_mutex);
    s_cache_size = (size_t) entries;
    s_cache_ms = ms;
    s_burst_ms = burst_ms;
    s_cache = s_cache_size? (s_cached_t *) zmalloc (s_cache_size * sizeof (s_cached_t)): NULL;
    pthread_mutex_unlock (&s_mutex);
    hl_metrics_add (hl_metrics_default (), "hotline_web_dashboard_cache_hits_total", 0);
    hl_metrics_add (hl_metrics_default (), "hotline_web_dashboard_cache_misses_total", 0);
    return 0;
}

void
web_wards_shutdown (void)
{
    pthread_mutex_lock (&s_mutex);
    for (size_t i = 0; i < s_cache_size; i++) {
        free (s_cache [i].key);
        json_decref (s_cache [i].result);
    }
    free (s_cache);
    s_cache = NULL;
    s_cache_size = 0;
    pthread_mutex_unlock (&s_mutex);
}

//  May an entry asked at entry->seq be served to a request made at seq?
static bool
s_servable (const s_cached_t *entry, uint64_t seq, int64_t now)
{
    int64_t age = now - entry->asked;
    return age < s_cache_ms && (entry->seq >= seq || age < s_burst_ms);
}

//  A copy of the cached answer to key if it may be served, and its as_of;
//  NULL if not. Under s_mutex
static json_t *
s_cache_get (const char *key, uint64_t seq, uint64_t *as_of)
{
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < s_cache_size; i++)
        if (s_cache [i].key && streq (s_cache [i].key, key) && s_servable (&s_cache [i], seq, now)) {
            *as_of = s_cache [i].seq;
            return json_deep_copy (s_cache [i].result);
        }
    return NULL;
}

//  Keep a copy of result for key (in the slot of the same key, or the
//  oldest), unless the slot holds a newer answer. Under s_mutex
static void
s_cache_put (const char *key, uint64_t seq, int64_t asked, json_t *result)
{
    size_t slot = 0;
    for (size_t i = 0; i < s_cache_size; i++) {
        if (s_cache [i].key && streq (s_cache [i].key, key)) {
            slot = i;
            break;
        }
        if (s_cache [i].asked < s_cache [slot].asked)
            slot = i;
    }
    if (s_cache_size == 0
    || (s_cache [slot].key && streq (s_cache [slot].key, key) && s_cache [slot].asked > asked))
        return;
    s_cached_t *entry = &s_cache [slot];
    free (entry->key);
    json_decref (entry->result);
    entry->key = hl_strdup (key);
    entry->result = json_deep_copy (result);
    entry->seq = seq;
    entry->asked = asked;
}

//  The flight asking for key, or NULL. Under s_mutex
static s_flight_t *
s_flight_find (const char *key)
{
    for (size_t i = 0; i < S_FLIGHTS; i++)
        if (streq (s_flights [i].key, key))
            return &s_flights [i];
    return NULL;
}

//  The cached answer to key for a request made at seq (a reference the
//  caller owns, its as_of set), waiting for another thread's flight on the
//  same key when its answer will do; else NULL, and *flight is the slot
//  the caller now flies under (NULL when none is free or there is no
//  cache), which it ends with s_land
static json_t *
s_claim (const char *key, uint64_t seq, uint64_t *as_of, s_flight_t **flight)
{
    *flight = NULL;
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += S_WAIT_MS / 1000;
    pthread_mutex_lock (&s_mutex);
    json_t *result = s_cache_get (key, seq, as_of);
    while (!result && s_cache_size) {
        s_flight_t *other = s_flight_find (key);
        if (!other || (other->seq < seq && s_burst_ms == 0))
            break;
        s_waiters++;
        int rc = pthread_cond_timedwait (&s_landed, &s_mutex, &deadline);
        s_waiters--;
        if (rc == ETIMEDOUT)
            break;
        result = s_cache_get (key, seq, as_of);
    }
    if (!result && s_cache_size) {
        *flight = s_flight_find ("");
        if (*flight) {
            snprintf ((*flight)->key, sizeof (*flight)->key, "%s", key);
            (*flight)->seq = seq;
        }
    }
    pthread_mutex_unlock (&s_mutex);
    return result;
}

//  The flight ends: its answer (NULL: none) is kept, and the waiters look
static void
s_land (s_flight_t *flight, const char *key, uint64_t seq, int64_t asked, json_t *result)
{
    pthread_mutex_lock (&s_mutex);
    if (result)
        s_cache_put (key, seq, asked, result);
    if (flight)
        flight->key [0] = 0;
    pthread_cond_broadcast (&s_landed);
    pthread_mutex_unlock (&s_mutex);
}

//  The archive's answer to query: a reference the caller owns, from the
//  cache if it may be served, else asked (and kept), with its as_of;
//  NULL (answered)
static json_t *
s_query (web_api_t *api, web_request_t *request, hl_session_info_t *session, Hotline__Query *query,
         uint64_t *as_of)
{
    char key [640];
    snprintf (key, sizeof key, "%s|%lld|%lld|%s|%u|%u|%s|%s", query->kind, (long long) query->since_ms,
              (long long) query->until_ms, query->order? query->order: "", query->limit, query->offset,
              query->ward? query->ward: "", query->text? query->text: "");
    //  The event count first: an answer asked after it saw at least that
    uint64_t seq = web_stream_last (web_stream_default ());
    s_flight_t *flight;
    json_t *result = s_claim (key, seq, as_of, &flight);
    if (result) {
        hl_metrics_add (hl_metrics_default (), "hotline_web_dashboard_cache_hits_total", 1);
        return result;
    }
    hl_metrics_add (hl_metrics_default (), "hotline_web_dashboard_cache_misses_total", 1);
    int64_t asked = zclock_mono ();
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    result = web_api_query (api, request, query, actor, false);
    if (result && !json_is_object (result)) {
        json_decref (result);
        result = NULL;
        web_request_unavailable (request);
    }
    s_land (flight, key, seq, asked, result);
    *as_of = seq;
    return result;
}

// ------------------------------------------------------------- 2. period

//  YYYY-MM-DD of ms in the node's zone
static void
s_date (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    localtime_r (&secs, &tm);
    strftime (out, size, "%Y-%m-%d", &tm);
}

//  The period: from and to, to inclusive; by default the 30 days up to
//  today. 0, or -1 (answered 400 naming the field)
static int
s_period (web_request_t *request, int64_t *since, int64_t *until, char *from_text, char *to_text)
{
    int64_t from = 0, to = 0;
    int rc_from = web_request_date (request, "from", &from);
    if (rc_from < 0)
        return -1;
    int rc_to = web_request_date (request, "to", &to);
    if (rc_to < 0)
        return -1;
    if (rc_to) {
        char today [16];
        s_date (hl_clock_now (), today, sizeof today);
        hl_clock_parse (today, &to);
    }
    if (rc_from) {
        time_t secs = (time_t) (to / 1000);
        struct tm tm;
        localtime_r (&secs, &tm);
        tm.tm_mday -= 29;
        tm.tm_isdst = -1;
        from = (int64_t) mktime (&tm) * 1000;
    }
    if (to < from) {
        web_request_error (request, 400, "to", "'to' trước 'from' (to is before from)");
        return -1;
    }
    *since = from;
    *until = hl_clock_next_day (to);
    s_date (from, from_text, 16);
    s_date (to, to_text, 16);
    return 0;
}

//  Only at the city; false (answered 404) elsewhere
static bool
s_city (web_api_t *api, web_request_t *request)
{
    if (web_api_city (api))
        return true;
    web_request_error (request, 404, NULL, "Chỉ có ở nút thành phố (the city's dashboard)");
    return false;
}

static void
s_stamp (json_t *answer, const char *from, const char *to, uint64_t as_of)
{
    json_object_set_new (answer, "as_of", json_integer ((json_int_t) as_of));
    json_object_set_new (answer, "from", json_string (from));
    json_object_set_new (answer, "to", json_string (to));
    json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
}

// ------------------------------------------------------------- 3. routes

static const char *s_sorts [] = {
    "rank", "ward", "name", "received", "open", "overdue", "verified", "on_time",
    "late", "forwarded", "informed", "last_event", NULL
};

//  GET /api/v1/wards?from=&to=&page=&per_page=&sort=&q=
void
web_wards_list (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (!s_city (api, request))
        return;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    uint64_t as_of = 0;
    char from [16], to [16];
    if (s_period (request, &query.since_ms, &query.until_ms, from, to))
        return;
    long page = 1, per_page = 50;
    if (web_request_int (request, "page", 100000, &page) < 0
    ||  web_request_int (request, "per_page", 500, &per_page) < 0)
        return;
    const char *sort = web_request_arg (request, "sort");
    if (sort && *sort) {
        bool known = false;
        for (int i = 0; s_sorts [i]; i++)
            known |= streq (sort + (*sort == '-'), s_sorts [i]);
        if (!known) {
            web_request_error (request, 400, "sort", "'sort' là một trong (one of) rank, ward, name, received,"
                               " open, overdue, verified, on_time, late, forwarded, informed, last_event;"
                               " -KEY: giảm dần (descending)");
            return;
        }
    }
    else
        sort = "rank";
    const char *text = web_request_arg (request, "q");
    if (text && *text) {
        const char *problem = hl_text_check (text, 100);
        if (problem) {
            web_request_error (request, 400, "q", "'q': %s", problem);
            return;
        }
        query.text = (char *) text;
    }
    query.kind = "wards";
    query.order = (char *) sort;
    query.limit = (uint32_t) per_page;
    query.offset = (uint32_t) ((page - 1) * per_page);
    json_t *answer = s_query (api, request, session, &query, &as_of);
    if (!answer)
        return;
    json_object_set_new (answer, "page", json_integer (page));
    json_object_set_new (answer, "per_page", json_integer (per_page));
    json_object_set_new (answer, "sort", json_string (sort));
    s_stamp (answer, from, to, as_of);
    web_request_json (request, 200, answer);
}

//  GET /api/v1/wards/{code}?from=&to=
void
web_wards_one (web_api_t *api, web_request_t *request, hl_session_info_t *session, const char *ward)
{
    if (!s_city (api, request))
        return;
    if (!*ward || strlen (ward) > 10 || strspn (ward, "0123456789") != strlen (ward)) {
        web_request_error (request, 404, "ward", "Không có phường này (no such ward)");
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    uint64_t as_of = 0;
    char from [16], to [16];
    if (s_period (request, &query.since_ms, &query.until_ms, from, to))
        return;
    query.kind = "wards";
    query.ward = (char *) ward;
    query.limit = 1;
    json_t *result = s_query (api, request, session, &query, &as_of);
    if (!result)
        return;
    json_t *answer = json_object ();
    json_object_set (answer, "ward", json_array_get (json_object_get (result, "wards"), 0));
    json_object_set (answer, "focal_points", json_object_get (result, "focal_points"));
    json_object_set (answer, "department_ward", json_object_get (result, "department_ward"));
    json_object_set (answer, "since_ms", json_object_get (result, "since_ms"));
    json_object_set (answer, "until_ms", json_object_get (result, "until_ms"));
    json_decref (result);
    s_stamp (answer, from, to, as_of);
    web_request_json (request, 200, answer);
}

//  GET /api/v1/charts?from=&to=&ward=
void
web_wards_charts (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (!s_city (api, request))
        return;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    uint64_t as_of = 0;
    char from [16], to [16];
    const char *ward = NULL;
    if (s_period (request, &query.since_ms, &query.until_ms, from, to) || web_request_ward (request, &ward))
        return;
    query.kind = "charts";
    query.ward = (char *) ward;
    json_t *answer = s_query (api, request, session, &query, &as_of);
    if (!answer)
        return;
    s_stamp (answer, from, to, as_of);
    web_request_json (request, 200, answer);
}

//  GET /api/v1/map?from=&to=&ward=&limit=
void
web_wards_map (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (!s_city (api, request))
        return;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    uint64_t as_of = 0;
    char from [16], to [16];
    const char *ward = NULL;
    long limit = 2000;
    if (s_period (request, &query.since_ms, &query.until_ms, from, to) || web_request_ward (request, &ward)
    ||  web_request_int (request, "limit", 5000, &limit) < 0)
        return;
    query.kind = "map";
    query.ward = (char *) ward;
    query.limit = (uint32_t) limit;
    json_t *answer = s_query (api, request, session, &query, &as_of);
    if (!answer)
        return;
    s_stamp (answer, from, to, as_of);
    web_request_json (request, 200, answer);
}

// ------------------------------------------------------------- 4. selftest

static void *
s_test_waiter (void *unused)
{
    (void) unused;
    uint64_t as_of = 0;
    s_flight_t *flight = NULL;
    json_t *result = s_claim ("charts|1", 8, &as_of, &flight);
    //  the other thread's answer, as of its seq, and no flight of its own
    assert (result && as_of == 7 && !flight);
    return result;
}

void
web_wards_test (bool verbose)
{
    printf (" * web_wards: ");
    pthread_once (&s_once, s_cond_init);
    pthread_mutex_lock (&s_mutex);
    s_cached_t *saved = s_cache;
    size_t saved_size = s_cache_size;
    int64_t saved_burst = s_burst_ms;
    s_cache = (s_cached_t *) zmalloc (2 * sizeof (s_cached_t));
    s_cache_size = 2;
    pthread_mutex_unlock (&s_mutex);

    //  Served while the stream is at its seq; after newer events only while
    //  younger than dashboard_burst_ms; never past dashboard_cache_ms
    s_cached_t entry = { NULL, NULL, 7, 100000 };
    s_burst_ms = 0;
    assert (s_servable (&entry, 7, 100500) && !s_servable (&entry, 8, 100000));
    s_burst_ms = 1000;
    assert (s_servable (&entry, 8, 100999) && !s_servable (&entry, 8, 101000));
    assert (s_servable (&entry, 7, 100000 + s_cache_ms - 1) && !s_servable (&entry, 7, 100000 + s_cache_ms));

    //  A miss flies; the answer is kept for that key only
    json_t *value = json_pack ("{s:i}", "received", 3);
    uint64_t as_of = 0;
    s_flight_t *flight = NULL;
    assert (!s_claim ("wards|1", 7, &as_of, &flight) && flight);
    s_land (flight, "wards|1", 7, zclock_mono (), value);
    json_t *hit = s_claim ("wards|1", 7, &as_of, &flight);
    assert (hit && json_equal (hit, value) && hit != value && as_of == 7 && !flight);
    json_decref (hit);
    assert (!s_claim ("wards|2", 7, &as_of, &flight) && flight);
    s_land (flight, "wards|2", 7, zclock_mono (), NULL);     //  the archive failed: nothing kept
    assert (!s_claim ("wards|2", 7, &as_of, &flight) && flight);
    s_land (flight, "wards|2", 7, zclock_mono (), value);
    assert (!s_claim ("wards|3", 7, &as_of, &flight) && flight);
    s_land (flight, "wards|3", 7, zclock_mono (), value);   //  replaces the oldest
    json_t *third = s_claim ("wards|3", 7, &as_of, &flight);
    json_t *second = s_claim ("wards|2", 7, &as_of, &flight);
    assert (third && second);
    json_decref (third);
    json_decref (second);
    assert (!s_claim ("wards|1", 7, &as_of, &flight) && flight);
    s_land (flight, "wards|1", 7, 0, value);    //  older than the newest cached for the key...
    s_land (NULL, "wards|1", 7, 1, value);      //  ...is not kept over it
    assert (s_cache [0].asked == 1 || s_cache [1].asked == 1);

    //  One flight per key: a thread missing on a key in flight waits for it
    assert (!s_claim ("charts|1", 7, &as_of, &flight) && flight);
    pthread_t waiter;
    pthread_create (&waiter, NULL, s_test_waiter, NULL);
    size_t waiting = 0;
    while (!waiting) {
        zclock_sleep (1);
        pthread_mutex_lock (&s_mutex);
        waiting = s_waiters;
        pthread_mutex_unlock (&s_mutex);
    }
    s_land (flight, "charts|1", 7, zclock_mono (), value);
    json_t *shared = NULL;
    pthread_join (waiter, (void **) &shared);
    assert (json_equal (shared, value));
    json_decref (shared);
    json_decref (value);

    web_wards_shutdown ();
    pthread_mutex_lock (&s_mutex);
    s_cache = saved;
    s_cache_size = saved_size;
    s_burst_ms = saved_burst;
    pthread_mutex_unlock (&s_mutex);
    char date [16];
    s_date (0, date, sizeof date);
    assert (strlen (date) == 10);
    if (verbose)
        printf ("(cache, one flight per key) ");
    printf ("OK\n");
}
