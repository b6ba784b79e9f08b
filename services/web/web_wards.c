/*  web_wards — the city dashboard's figures (see web_wards.h, API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the cache: the archive's answers by query, valid while the stream
 *       has no newer event
 *    2. the period: from/to, by default the last 30 days
 *    3. the routes: wards (list, one), charts, map
 *    4. the selftest
 */
#include "hotline.h"
#include "web_wards.h"
#include "web_stream.h"
#include <pthread.h>

// ------------------------------------------------------------- 1. cache

typedef struct {
    char *key;
    json_t *result;             //  the archive's answer
    uint64_t seq;               //  the stream's last event when it was asked
    int64_t made;               //  zclock_mono
} s_cached_t;

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static s_cached_t *s_cache = NULL;
static size_t s_cache_size = 0;
static int64_t s_cache_ms = 10000;

int
web_wards_init (hl_service_t *service)
{
    hl_config_t *config = hl_service_config (service);
    int64_t entries = hl_config_int (config, "web/dashboard_cache", 32);
    int64_t ms = hl_config_int (config, "web/dashboard_cache_ms", 10000);
    if (entries < 0 || entries > 4096 || ms < 0 || ms > 3600 * 1000) {
        fprintf (stderr, "hotline-web: web/dashboard_cache (0-4096) and dashboard_cache_ms (0-3600000)"
                         " are out of range\n");
        return -1;
    }
    pthread_mutex_lock (&s_mutex);
    s_cache_size = (size_t) entries;
    s_cache_ms = ms;
    s_cache = s_cache_size? (s_cached_t *) zmalloc (s_cache_size * sizeof (s_cached_t)): NULL;
    pthread_mutex_unlock (&s_mutex);
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

//  A copy of the cached answer to key, if it is still good; NULL if not
static json_t *
s_cache_get (const char *key, uint64_t seq)
{
    json_t *result = NULL;
    int64_t now = zclock_mono ();
    pthread_mutex_lock (&s_mutex);
    for (size_t i = 0; i < s_cache_size && !result; i++)
        if (s_cache [i].key && streq (s_cache [i].key, key)
        &&  s_cache [i].seq == seq && now - s_cache [i].made < s_cache_ms)
            result = json_deep_copy (s_cache [i].result);
    pthread_mutex_unlock (&s_mutex);
    return result;
}

//  Keep a copy of result for key (in the slot of the same key, or the oldest)
static void
s_cache_put (const char *key, uint64_t seq, json_t *result)
{
    pthread_mutex_lock (&s_mutex);
    size_t slot = 0;
    for (size_t i = 0; i < s_cache_size; i++) {
        if (s_cache [i].key && streq (s_cache [i].key, key)) {
            slot = i;
            break;
        }
        if (s_cache [i].made < s_cache [slot].made)
            slot = i;
    }
    if (s_cache_size) {
        s_cached_t *entry = &s_cache [slot];
        free (entry->key);
        json_decref (entry->result);
        entry->key = hl_strdup (key);
        entry->result = json_deep_copy (result);
        entry->seq = seq;
        entry->made = zclock_mono ();
    }
    pthread_mutex_unlock (&s_mutex);
}

//  The archive's answer to query: a reference the caller owns, from the
//  cache while no newer event came, else asked (and kept); NULL (answered)
static json_t *
s_query (web_api_t *api, web_request_t *request, hl_session_info_t *session, Hotline__Query *query)
{
    char key [640];
    snprintf (key, sizeof key, "%s|%lld|%lld|%s|%u|%u|%s|%s", query->kind, (long long) query->since_ms,
              (long long) query->until_ms, query->order? query->order: "", query->limit, query->offset,
              query->ward? query->ward: "", query->text? query->text: "");
    //  The event count first: an answer asked after it saw at least that
    uint64_t seq = web_stream_last (web_stream_default ());
    json_t *result = s_cache_get (key, seq);
    if (result)
        return result;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    result = web_api_query (api, request, query, actor, false);
    if (result && !json_is_object (result)) {
        json_decref (result);
        web_request_unavailable (request);
        return NULL;
    }
    if (result)
        s_cache_put (key, seq, result);
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
s_stamp (json_t *answer, const char *from, const char *to)
{
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
    json_t *answer = s_query (api, request, session, &query);
    if (!answer)
        return;
    json_object_set_new (answer, "page", json_integer (page));
    json_object_set_new (answer, "per_page", json_integer (per_page));
    json_object_set_new (answer, "sort", json_string (sort));
    s_stamp (answer, from, to);
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
    char from [16], to [16];
    if (s_period (request, &query.since_ms, &query.until_ms, from, to))
        return;
    query.kind = "wards";
    query.ward = (char *) ward;
    query.limit = 1;
    json_t *result = s_query (api, request, session, &query);
    if (!result)
        return;
    json_t *answer = json_object ();
    json_object_set (answer, "ward", json_array_get (json_object_get (result, "wards"), 0));
    json_object_set (answer, "focal_points", json_object_get (result, "focal_points"));
    json_object_set (answer, "department_ward", json_object_get (result, "department_ward"));
    json_object_set (answer, "since_ms", json_object_get (result, "since_ms"));
    json_object_set (answer, "until_ms", json_object_get (result, "until_ms"));
    json_decref (result);
    s_stamp (answer, from, to);
    web_request_json (request, 200, answer);
}

//  GET /api/v1/charts?from=&to=&ward=
void
web_wards_charts (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (!s_city (api, request))
        return;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    char from [16], to [16];
    const char *ward = NULL;
    if (s_period (request, &query.since_ms, &query.until_ms, from, to) || web_request_ward (request, &ward))
        return;
    query.kind = "charts";
    query.ward = (char *) ward;
    json_t *answer = s_query (api, request, session, &query);
    if (!answer)
        return;
    s_stamp (answer, from, to);
    web_request_json (request, 200, answer);
}

//  GET /api/v1/map?from=&to=&ward=&limit=
void
web_wards_map (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (!s_city (api, request))
        return;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    char from [16], to [16];
    const char *ward = NULL;
    long limit = 2000;
    if (s_period (request, &query.since_ms, &query.until_ms, from, to) || web_request_ward (request, &ward)
    ||  web_request_int (request, "limit", 5000, &limit) < 0)
        return;
    query.kind = "map";
    query.ward = (char *) ward;
    query.limit = (uint32_t) limit;
    json_t *answer = s_query (api, request, session, &query);
    if (!answer)
        return;
    s_stamp (answer, from, to);
    web_request_json (request, 200, answer);
}

// ------------------------------------------------------------- 4. selftest

void
web_wards_test (bool verbose)
{
    printf (" * web_wards: ");
    //  The cache: a hit only for the same key and the same last event
    pthread_mutex_lock (&s_mutex);
    s_cached_t *saved = s_cache;
    size_t saved_size = s_cache_size;
    s_cache = (s_cached_t *) zmalloc (2 * sizeof (s_cached_t));
    s_cache_size = 2;
    pthread_mutex_unlock (&s_mutex);
    json_t *value = json_pack ("{s:i}", "received", 3);
    s_cache_put ("wards|1", 7, value);
    json_t *hit = s_cache_get ("wards|1", 7);
    assert (hit && json_equal (hit, value) && hit != value);
    json_decref (hit);
    assert (!s_cache_get ("wards|1", 8));       //  a newer event: asked again
    assert (!s_cache_get ("wards|2", 7));
    s_cache_put ("wards|2", 7, value);
    s_cache_put ("wards|3", 7, value);          //  replaces the oldest
    json_t *third = s_cache_get ("wards|3", 7), *second = s_cache_get ("wards|2", 7);
    assert (third && second);
    json_decref (third);
    json_decref (second);
    json_decref (value);
    web_wards_shutdown ();
    pthread_mutex_lock (&s_mutex);
    s_cache = saved;
    s_cache_size = saved_size;
    pthread_mutex_unlock (&s_mutex);
    char date [16];
    s_date (0, date, sizeof date);
    assert (strlen (date) == 10);
    if (verbose)
        printf ("(cache) ");
    printf ("OK\n");
}
