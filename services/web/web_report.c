/*  web_report — the ward's report as CSV (see web_report.h).  */
#include "hotline.h"
#include "web_report.h"

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
    char *text = (char *) malloc (*size + 1);
    assert (text);
    memcpy (text, zchunk_data (out), *size);
    text [*size] = 0;
    zchunk_destroy (&out);
    return text;
}

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
