/*  web_report — the report for a period (see web_report.h, API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the CSV: section 2's figures, then section 1's focal points, as
 *       `hotline report --format csv` prints them
 *    2. the routes: the period (from and to, both required, to inclusive),
 *       the report as JSON or CSV, the prose sections (GET, PUT)
 *    3. the selftest
 */
#include "hotline.h"
#include "web_report.h"

// ------------------------------------------------------------- 1. CSV

//  CSV: a quoted field, quotes doubled
static void
s_csv (zchunk_t *out, const char *text, bool last)
{
    zchunk_extend (out, "\"", 1);
    for (const char *p = text? text: ""; *p; p++) {
        if (*p == '"')
            zchunk_extend (out, "\"", 1);
        zchunk_extend (out, p, 1);
    }
    zchunk_extend (out, "\"", 1);
    zchunk_extend (out, last? "\n": ",", 1);
}

static void
s_csv_number (zchunk_t *out, json_t *row, const char *key, bool last)
{
    char text [32];
    int len = snprintf (text, sizeof text, "%lld%s",
                        (long long) json_integer_value (json_object_get (row, key)), last? "\n": ",");
    zchunk_extend (out, text, (size_t) len);
}

static const char *
s_text (json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

//  The same CSV as `hotline report --format csv`: figures, then focal points
char *
web_report_csv (json_t *result, size_t *size)
{
    static const char *figures [] = { "received", "verified", "accurate", "resolved", "informed",
                                      "forwarded", "verified_on_time", "verified_late", "open", NULL };
    static const char *headers [] = { "Tiếp nhận", "Đã xác minh", "Phản ánh đúng", "Đã giải quyết",
                                      "Đã thông tin lại", "Chuyển Sở", "Xác minh đúng hạn",
                                      "Xác minh trễ hạn", "Còn tồn", NULL };
    zchunk_t *out = zchunk_new (NULL, 4096);
    s_csv (out, "Mục", false);
    s_csv (out, streq (s_text (result, "by"), "ward")? "Phường/xã": "Loại ô nhiễm", false);
    for (int f = 0; figures [f]; f++)
        s_csv (out, headers [f], figures [f + 1] == NULL);
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get (result, "rows"), i, row) {
        s_csv (out, "2", false);
        s_csv (out, s_text (row, "label"), false);
        for (int f = 0; figures [f]; f++)
            s_csv_number (out, row, figures [f], figures [f + 1] == NULL);
    }
    json_t *totals = json_object_get (result, "totals");
    s_csv (out, "2", false);
    s_csv (out, "Tổng cộng", false);
    for (int f = 0; figures [f]; f++)
        s_csv_number (out, totals, figures [f], figures [f + 1] == NULL);
    zchunk_extend (out, "\n", 1);
    s_csv (out, "Mục", false);
    s_csv (out, "Đơn vị", false);
    s_csv (out, "Đầu mối tiếp nhận (điện thoại)", false);
    s_csv (out, "Đầu mối tiếp nhận (email)", false);
    s_csv (out, "Đầu mối xử lý (điện thoại)", false);
    s_csv (out, "Đầu mối xử lý (email)", false);
    s_csv (out, "Ghi chú", true);
    json_array_foreach (json_object_get (result, "focal_points"), i, row) {
        s_csv (out, "1", false);
        s_csv (out, s_text (row, "unit"), false);
        s_csv (out, s_text (row, "receiving_phone"), false);
        s_csv (out, s_text (row, "receiving_email"), false);
        s_csv (out, s_text (row, "handling_phone"), false);
        s_csv (out, s_text (row, "handling_email"), false);
        s_csv (out, s_text (row, "note"), true);
    }
    *size = zchunk_size (out);
    char *text = (char *) zmalloc (*size + 1);
    memcpy (text, zchunk_data (out), *size);
    text [*size] = 0;
    zchunk_destroy (&out);
    return text;
}

// ------------------------------------------------------------- 2. routes

//  The period of a report: from and to both required; 0 or -1 (answered)
static int
s_period (web_request_t *request, int64_t *since, int64_t *until, char *period, size_t size)
{
    int rc_from = web_request_date (request, "from", since);
    if (rc_from < 0)
        return -1;
    int rc_to = web_request_date (request, "to", until);
    if (rc_to < 0)
        return -1;
    if (rc_from || rc_to) {
        web_request_error (request, 400, rc_from? "from": "to",
                           "Cần 'from' và 'to' (YYYY-MM-DD) (from and to are required)");
        return -1;
    }
    *until += 24 * 3600 * 1000LL;       //  to is inclusive: the whole day
    if (*until <= *since) {
        web_request_error (request, 400, "to", "'to' trước 'from' (to is before from)");
        return -1;
    }
    snprintf (period, size, "%s..%s", web_request_arg (request, "from"), web_request_arg (request, "to"));
    return 0;
}

//  GET /api/v1/report?from=&to=[&format=csv][&ward=]
void
web_report_get (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "report";
    char period [64];
    if (s_period (request, &query.since_ms, &query.until_ms, period, sizeof period))
        return;
    const char *format = web_request_arg (request, "format");
    if (format && *format && strneq (format, "json") && strneq (format, "csv")) {
        web_request_error (request, 400, "format", "'format' là json hoặc csv (json or csv)");
        return;
    }
    const char *ward;
    if (web_request_ward (request, &ward))
        return;
    query.ward = (char *) ward;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    json_t *result = web_api_query (api, request, &query, actor, false);
    if (!result)
        return;
    if (format && streq (format, "csv")) {
        free (request->answer);
        request->answer = web_report_csv (result, &request->answer_size);
        request->content_type = "text/csv; charset=utf-8";
        request->status = 200;
        snprintf (request->disposition, sizeof request->disposition,
                  "attachment; filename=\"bao-cao-%s-%s-%s.csv\"",
                  *web_api_ward_code (api)? web_api_ward_code (api): "city",
                  web_request_arg (request, "from"), web_request_arg (request, "to"));
        json_decref (result);
    }
    else
        web_request_json (request, 200, result);
}

//  GET|PUT /api/v1/report/text?from=&to=
void
web_report_text (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "letter", "practice", "difficulties", "proposals", NULL };
    int64_t since, until;
    char period [64];
    if (s_period (request, &since, &until, period, sizeof period))
        return;
    hl_accounts_t *accounts = web_api_accounts (api);
    if (streq (request->method, "GET")) {
        json_t *text = accounts? hl_accounts_report_text (accounts, period): NULL;
        if (!text)
            web_request_unavailable (request);
        else
            web_request_json (request, 200, text);
        return;
    }
    if (strneq (session->role, "officer") && strneq (session->role, "leader")
    &&  strneq (session->role, "admin") && strneq (session->role, "department")) {
        web_request_error (request, 403, NULL, "Vai trò '%s' không soạn được báo cáo (role may not write the report)",
                           session->role);
        return;
    }
    json_t *body = web_request_body (request, fields);
    if (!body)
        return;
    json_t *text = json_object ();
    for (size_t i = 0; fields [i]; i++) {
        json_t *value = json_object_get (body, fields [i]);
        if (value && !json_is_string (value)) {
            web_request_error (request, 400, fields [i], "'%s' phải là chuỗi (must be a string)", fields [i]);
            goto done;
        }
        const char *problem = value? hl_text_check (json_string_value (value), 20000): NULL;
        if (problem) {
            web_request_error (request, 400, fields [i], "'%s': %s", fields [i], problem);
            goto done;
        }
        //  The store keeps 20,000 bytes a text (API.md): 20,000 Vietnamese
        //  characters pass hl_text_check but not the store, which would
        //  refuse without naming the field
        if (value && json_string_length (value) > 20000) {
            web_request_error (request, 400, fields [i], "'%s' dài quá 20.000 byte (at most 20,000 bytes)",
                               fields [i]);
            goto done;
        }
        json_object_set_new (text, fields [i], json_string (value? json_string_value (value): ""));
    }
    //  Everything the store checks is checked above: a refusal now is the
    //  store failing, and nothing was saved
    char err [256] = "";
    if (!accounts || hl_accounts_report_text_set (accounts, period, text, err, sizeof err)) {
        hl_warn ("web: cannot save the report's text for %s: %s", period, *err? err: "no store");
        web_request_unavailable (request);
    }
    else
        web_request_json (request, 200, json_incref (text));
done:
    json_decref (text);
    json_decref (body);
}

// ------------------------------------------------------------- 3. selftest

void
web_report_test (bool verbose)
{
    printf (" * web_report: ");
    json_t *report = json_pack ("{s:s, s:[{s:s, s:i}], s:{s:i}, s:[]}", "by", "type", "rows",
                                "label", "Nước \"thải\"", "received", 3, "totals", "received", 3,
                                "focal_points");
    size_t size;
    char *csv = web_report_csv (report, &size);
    assert (strstr (csv, "\"2\",\"Nước \"\"thải\"\"\",3,0,0,0,0,0,0,0,0\n"));
    assert (strstr (csv, "\"Tổng cộng\",3,"));
    free (csv);
    json_decref (report);
    if (verbose)
        printf ("(csv) ");
    printf ("OK\n");
}
