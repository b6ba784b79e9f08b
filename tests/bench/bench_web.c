/*  bench_web — the web API's figures (row 12): an HTTP/1.1
 *  keep-alive client in C (libcurl multi), so that the client is not what
 *  is measured, above all on the submit side (16 connections in flight on
 *  2 cores shared with the service). On the list, a Python client
 *  (http.client, one connection, JSON decoded; row 12 times it too,
 *  "python_list" in the JSON) came within -0.5/+1.0 ms of this client's
 *  p50 of 4.2-4.5 ms over three runs: not what limits the list either.
 *
 *  hotline-bench web-list --url URL --cookie C [--queries N] [--conns K]
 *                         [--per-page 50] [--pages 10]
 *      N GET URL?page=P&per_page=50 over K keep-alive connections, one
 *      request at a time on each (K = 1: as one officer's page; K = 4: four
 *      at once), P a random page among the first --pages; each timed from
 *      hand-off to libcurl to the whole JSON body decoded (row 8's client
 *      also decodes the JSON it gets).
 *  hotline-bench web-submit --url URL --cookie C --csrf T [--tag T]
 *                           [--conns K] [--seconds S] [--warmup W]
 *      closed loop: K keep-alive connections, one POST in flight on each
 *      (HTTP/1.1 without pipelining: K connections are K in flight), the
 *      body row 1's submit carries (bench_submit_frame) as the API's JSON,
 *      each with a unique request_id "<tag>:<n>"; 201s that arrive in
 *      [W, W+S) after the first send counted, latency of those (as drive).
 *  Both print {"n", "p50_ms", "p99_ms", ..., "per_s", "codes", ...}.
 */
#include "bench.h"
#include <curl/curl.h>

typedef struct {
    CURL *easy;
    char *buf;
    size_t len, cap;
    int64_t start;
    char body [1024];
    char url [512];
} s_conn_t;

static size_t
s_write (char *data, size_t size, size_t nmemb, void *arg)
{
    s_conn_t *conn = (s_conn_t *) arg;
    size_t bytes = size * nmemb;
    if (conn->len + bytes + 1 > conn->cap) {
        conn->cap = (conn->len + bytes + 1) * 2;
        conn->buf = (char *) realloc (conn->buf, conn->cap);
        assert (conn->buf);
    }
    memcpy (conn->buf + conn->len, data, bytes);
    conn->len += bytes;
    conn->buf [conn->len] = 0;
    return bytes;
}

//  One easy handle per connection: libcurl keeps its connection alive and
//  reuses it for the handle's next request
static void
s_conn_init (s_conn_t *conn, const char *cookie, struct curl_slist *headers)
{
    conn->easy = curl_easy_init ();
    assert (conn->easy);
    curl_easy_setopt (conn->easy, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (conn->easy, CURLOPT_WRITEDATA, conn);
    curl_easy_setopt (conn->easy, CURLOPT_PRIVATE, conn);
    curl_easy_setopt (conn->easy, CURLOPT_COOKIE, cookie);
    curl_easy_setopt (conn->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (conn->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt (conn->easy, CURLOPT_TIMEOUT_MS, 30000L);
}

static void
s_count_code (json_t *codes, long code)
{
    char key [16];
    snprintf (key, sizeof key, "%ld", code);
    json_t *n = json_object_get (codes, key);
    json_object_set_new (codes, key, json_integer (n? json_integer_value (n) + 1: 1));
}

//  Run the multi handle until one transfer ends; returns that connection
static s_conn_t *
s_next_done (CURLM *multi, long *code, int *curl_result)
{
    while (true) {
        int running = 0;
        curl_multi_perform (multi, &running);
        int left = 0;
        CURLMsg *msg = curl_multi_info_read (multi, &left);
        if (msg && msg->msg == CURLMSG_DONE) {
            s_conn_t *conn = NULL;
            curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &conn);
            curl_easy_getinfo (msg->easy_handle, CURLINFO_RESPONSE_CODE, code);
            *curl_result = (int) msg->data.result;
            curl_multi_remove_handle (multi, msg->easy_handle);
            return conn;
        }
        if (running == 0)
            return NULL;
        curl_multi_poll (multi, NULL, 0, 100, NULL);
    }
}

static json_t *
s_result (bench_samples_t *samples, json_t *codes, long curl_errors, double cpu0)
{
    json_t *result = bench_percentiles (samples);
    json_object_set_new (result, "codes", codes);
    json_object_set_new (result, "curl_errors", json_integer (curl_errors));
    json_object_set_new (result, "generator_cpu_s", json_real (bench_cpu_s () - cpu0));
    return result;
}

int
bench_web_list (int argc, char **argv)
{
    const char *url = bench_opt (argc, argv, "--url", NULL);
    const char *cookie = bench_opt (argc, argv, "--cookie", NULL);
    int64_t queries = bench_opt_int (argc, argv, "--queries", 1000);
    int64_t nconns = bench_opt_int (argc, argv, "--conns", 1);
    int64_t per_page = bench_opt_int (argc, argv, "--per-page", 50);
    int64_t pages = bench_opt_int (argc, argv, "--pages", 10);
    if (!url || !cookie || nconns < 1 || nconns > 256 || pages < 1) {
        fprintf (stderr, "web-list: --url and --cookie are required; --conns 1-256\n");
        return 2;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    double cpu0 = bench_cpu_s ();
    CURLM *multi = curl_multi_init ();
    s_conn_t *conns = (s_conn_t *) zmalloc ((size_t) nconns * sizeof (s_conn_t));
    bench_samples_t samples = { 0 };
    json_t *codes = json_object ();
    long curl_errors = 0;
    size_t rows = 0, bytes = 0;
    int64_t sent = 0, done = 0;
    int64_t t0 = bench_us ();
    for (int64_t i = 0; i < nconns; i++)
        s_conn_init (&conns [i], cookie, NULL);
    while (done < queries) {
        for (int64_t i = 0; i < nconns && sent < queries; i++) {
            s_conn_t *conn = &conns [i];
            if (conn->start)
                continue;
            snprintf (conn->url, sizeof conn->url, "%s?page=%" PRId64 "&per_page=%" PRId64,
                      url, 1 + random () % pages, per_page);
            curl_easy_setopt (conn->easy, CURLOPT_URL, conn->url);
            conn->len = 0;
            conn->start = bench_us ();
            curl_multi_add_handle (multi, conn->easy);
            sent++;
        }
        long code = 0;
        int result = 0;
        s_conn_t *conn = s_next_done (multi, &code, &result);
        assert (conn);
        int64_t elapsed;
        json_t *json = result == CURLE_OK && code == 200 && conn->buf?
                       json_loads (conn->buf, 0, NULL): NULL;
        elapsed = bench_us () - conn->start;
        conn->start = 0;
        done++;
        if (result != CURLE_OK) {
            if (curl_errors++ == 0)
                fprintf (stderr, "web-list: %s\n", curl_easy_strerror ((CURLcode) result));
            continue;
        }
        s_count_code (codes, code);
        if (!json) {
            if (json_integer_value (json_object_get (codes, "200")) == 0)
                fprintf (stderr, "web-list: HTTP %ld: %.200s\n", code, conn->buf? conn->buf: "");
            continue;
        }
        bench_samples_add (&samples, elapsed);
        rows = json_array_size (json_object_get (json, "cases"));
        bytes = conn->len;
        json_decref (json);
    }
    double seconds = (bench_us () - t0) / 1e6;
    for (int64_t i = 0; i < nconns; i++) {
        curl_easy_cleanup (conns [i].easy);
        free (conns [i].buf);
    }
    free (conns);
    curl_multi_cleanup (multi);
    json_t *out = s_result (&samples, codes, curl_errors, cpu0);
    json_object_set_new (out, "conns", json_integer (nconns));
    json_object_set_new (out, "rows", json_integer ((json_int_t) rows));
    json_object_set_new (out, "page_bytes", json_integer ((json_int_t) bytes));
    json_object_set_new (out, "per_s", json_real (queries / seconds));
    bool short_of = (int64_t) samples.n < queries;
    bench_samples_free (&samples);
    bench_emit (out);
    curl_global_cleanup ();
    return curl_errors || short_of? 1: 0;
}

//  The API's form of bench_submit_frame's report
static void
s_submit_body (s_conn_t *conn, const char *tag, uint64_t n)
{
    snprintf (conn->body, sizeof conn->body,
              "{\"request_id\":\"%s:%" PRIu64 "\",\"type\":\"waste_water\",\"channel\":\"phone\","
              "\"scope\":\"within_ward\",\"location\":\"Kênh Xáng, tổ 5\","
              "\"description\":\"Nước thải đen chảy ra kênh từ cơ sở sản xuất, mùi hôi nồng nặc"
              " vào buổi tối, người dân khu vực phản ánh nhiều lần.\","
              "\"reporter\":{\"name\":\"Nguyễn Văn An\",\"phone\":\"0912345678\"}}", tag, n);
}

int
bench_web_submit (int argc, char **argv)
{
    const char *url = bench_opt (argc, argv, "--url", NULL);
    const char *cookie = bench_opt (argc, argv, "--cookie", NULL);
    const char *csrf = bench_opt (argc, argv, "--csrf", NULL);
    const char *tag = bench_opt (argc, argv, "--tag", "web");
    int64_t nconns = bench_opt_int (argc, argv, "--conns", 16);
    double seconds = bench_opt_double (argc, argv, "--seconds", 5);
    double warmup = bench_opt_double (argc, argv, "--warmup", 1);
    if (!url || !cookie || !csrf || nconns < 1 || nconns > 256) {
        fprintf (stderr, "web-submit: --url, --cookie and --csrf are required; --conns 1-256\n");
        return 2;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    double cpu0 = bench_cpu_s ();
    char header [300];
    snprintf (header, sizeof header, "X-CSRF-Token: %s", csrf);
    struct curl_slist *headers = curl_slist_append (NULL, header);
    headers = curl_slist_append (headers, "Content-Type: application/json");
    headers = curl_slist_append (headers, "Expect:");
    CURLM *multi = curl_multi_init ();
    s_conn_t *conns = (s_conn_t *) zmalloc ((size_t) nconns * sizeof (s_conn_t));
    for (int64_t i = 0; i < nconns; i++) {
        s_conn_init (&conns [i], cookie, headers);
        curl_easy_setopt (conns [i].easy, CURLOPT_URL, url);
        curl_easy_setopt (conns [i].easy, CURLOPT_POST, 1L);
    }
    bench_samples_t samples = { 0 };
    json_t *codes = json_object ();
    long curl_errors = 0;
    uint64_t next = 0, in_window = 0, errors_in_window = 0;
    int64_t t0 = bench_us ();
    int64_t t_warm = t0 + (int64_t) (warmup * 1e6);
    int64_t t_end = t_warm + (int64_t) (seconds * 1e6);
    int64_t outstanding = 0;
    while (true) {
        int64_t now = bench_us ();
        for (int64_t i = 0; i < nconns && now < t_end; i++) {
            s_conn_t *conn = &conns [i];
            if (conn->start)
                continue;
            s_submit_body (conn, tag, next++);
            curl_easy_setopt (conn->easy, CURLOPT_POSTFIELDS, conn->body);
            conn->len = 0;
            conn->start = bench_us ();
            curl_multi_add_handle (multi, conn->easy);
            outstanding++;
        }
        if (outstanding == 0)
            break;
        long code = 0;
        int result = 0;
        s_conn_t *conn = s_next_done (multi, &code, &result);
        assert (conn);
        int64_t done = bench_us ();
        bool counted = done >= t_warm && done < t_end;
        int64_t elapsed = done - conn->start;
        conn->start = 0;
        outstanding--;
        if (result != CURLE_OK) {
            if (curl_errors++ == 0)
                fprintf (stderr, "web-submit: %s\n", curl_easy_strerror ((CURLcode) result));
            continue;
        }
        s_count_code (codes, code);
        if (code != 201) {
            if (json_integer_value (json_object_get (codes, "201")) == 0)
                fprintf (stderr, "web-submit: HTTP %ld: %.200s\n", code, conn->buf? conn->buf: "");
            errors_in_window += counted;
            continue;
        }
        if (counted) {
            bench_samples_add (&samples, elapsed);
            in_window++;
        }
    }
    for (int64_t i = 0; i < nconns; i++) {
        curl_easy_cleanup (conns [i].easy);
        free (conns [i].buf);
    }
    free (conns);
    curl_multi_cleanup (multi);
    curl_slist_free_all (headers);
    json_t *out = s_result (&samples, codes, curl_errors, cpu0);
    json_object_set_new (out, "conns", json_integer (nconns));
    json_object_set_new (out, "sent", json_integer ((json_int_t) next));
    json_object_set_new (out, "refused_in_window", json_integer ((json_int_t) errors_in_window));
    json_object_set_new (out, "window_s", json_real (seconds));
    json_object_set_new (out, "per_s", json_real (in_window / seconds));
    bench_samples_free (&samples);
    bench_emit (out);
    curl_global_cleanup ();
    return curl_errors || in_window == 0? 1: 0;
}
