/*  web_open311 — Open311 GeoReport v2 (see web_open311.h, API.md "Open311").
 *
 *  How to read this file, top to bottom:
 *    1. the object: config, the per-key rate limit, the states that count
 *       as closed (asked once of the archive's report rule)
 *    2. answers: one JSON value, written as JSON or as XML (web_xml) with
 *       the specification's element names; errors [{code, description}];
 *       an answer the shared code wrote (a refusal, a 503) rewritten so
 *    3. the form of a POST (application/x-www-form-urlencoded), strictly
 *    4. services, a service's definition, discovery
 *    5. a case as an Open311 request, field by field (never the reporter)
 *    6. POST requests: the key, the limit, the fields, the idempotency
 *       key; at a ward web_cases_file, at the city a filing at the ward
 *       (web_filing) answered with a token
 *    7. GET requests (the filters; a page is one list_detail query), one
 *       request, a token (at the city: a filing's)
 *    8. the router and the selftest
 */
#include "hotline.h"
#include "web_open311.h"
#include "web_cases.h"
#include "web_xml.h"
#include "web_filing.h"
#include <pthread.h>
#include <math.h>

#define S_MAX_IDS       100         //  service_request_id=a,b,...
#define S_MAX_ROWS      1000        //  the specification's ceiling per answer
#define S_DEFAULT_ROWS  100
#define S_SPAN_MS       (90LL * 24 * 3600 * 1000)   //  the spec's default and widest date range
#define S_MAX_KEY       128         //  characters of an idempotency key

typedef enum { S_JSON, S_XML } s_format_t;

// ------------------------------------------------------------- 1. object

typedef struct {
    int64_t window;                 //  the minute (ms / 60000)
    int count;
} s_bucket_t;

struct _web_open311_t {
    web_api_t *api;
    bool city;
    char *ward_code, *ward_name, *department_name;
    int rate_per_min;
    pthread_mutex_t lock;           //  guards buckets and done
    zhashx_t *buckets;              //  key name -> s_bucket_t
    json_t *done;                   //  ["state", ...]: closed; NULL until first asked
};

web_open311_t *
web_open311_new (web_api_t *api, hl_config_t *config)
{
    web_open311_t *self = (web_open311_t *) zmalloc (sizeof (web_open311_t));
    self->api = api;
    self->city = web_api_city (api);
    self->ward_code = hl_strdup (web_api_ward_code (api));
    self->ward_name = hl_strdup (hl_config_get (config, "node/ward_name", ""));
    char *department = zsys_sprintf ("Sở Nông nghiệp và Môi trường %s", hl_config_get (config, "node/city", ""));
    self->department_name = hl_strdup (hl_config_get (config, "open311/department_name", department));
    zstr_free (&department);
    self->rate_per_min = (int) hl_config_int (config, "open311/rate_per_min", 60);
    pthread_mutex_init (&self->lock, NULL);
    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, (zhashx_destructor_fn *) zstr_free);
    if (self->rate_per_min <= 0) {
        fprintf (stderr, "hotline-web: open311/rate_per_min must be positive\n");
        web_open311_destroy (&self);
    }
    return self;
}

void
web_open311_destroy (web_open311_t **self_p)
{
    assert (self_p);
    web_open311_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->buckets);
        json_decref (self->done);
        pthread_mutex_destroy (&self->lock);
        free (self->ward_code);
        free (self->ward_name);
        free (self->department_name);
        free (self);
        *self_p = NULL;
    }
}

//  One more POST by this key in the current minute: true if within the limit
static bool
s_rate_ok (web_open311_t *self, const char *key_name, int64_t now)
{
    pthread_mutex_lock (&self->lock);
    s_bucket_t *bucket = (s_bucket_t *) zhashx_lookup (self->buckets, key_name);
    if (!bucket) {
        bucket = (s_bucket_t *) zmalloc (sizeof (s_bucket_t));
        zhashx_insert (self->buckets, key_name, bucket);
    }
    if (bucket->window != now / 60000) {
        bucket->window = now / 60000;
        bucket->count = 0;
    }
    bool ok = ++bucket->count <= self->rate_per_min;
    pthread_mutex_unlock (&self->lock);
    return ok;
}

// ------------------------------------------------------------- 2. answers

//  The element name of an array's items, as the specification names them
static const char *
s_item_name (const char *list)
{
    static const char *names [][2] = {
        { "services", "service" }, { "service_requests", "request" }, { "errors", "error" },
        { "attributes", "attribute" }, { "values", "value" }, { "endpoints", "endpoint" },
        { "formats", "format" }, { NULL, NULL }
    };
    for (size_t i = 0; names [i][0]; i++)
        if (streq (names [i][0], list))
            return names [i][1];
    return "item";
}

static void
s_to_xml (web_xml_t *xml, const char *name, json_t *value)
{
    char number [64];
    if (json_is_object (value)) {
        web_xml_open (xml, name);
        const char *key;
        json_t *item;
        json_object_foreach (value, key, item)
            s_to_xml (xml, key, item);
        web_xml_close (xml);
    }
    else
    if (json_is_array (value)) {
        web_xml_open (xml, name);
        size_t i;
        json_t *item;
        json_array_foreach (value, i, item)
            s_to_xml (xml, s_item_name (name), item);
        web_xml_close (xml);
    }
    else
    if (json_is_string (value))
        web_xml_element (xml, name, json_string_value (value));
    else
    if (json_is_integer (value)) {
        snprintf (number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
        web_xml_element (xml, name, number);
    }
    else
    if (json_is_real (value)) {
        snprintf (number, sizeof number, "%.7f", json_real_value (value));
        web_xml_element (xml, name, number);
    }
    else
    if (json_is_boolean (value))
        web_xml_element (xml, name, json_is_true (value)? "true": "false");
    else
        web_xml_element (xml, name, NULL);
}

//  Answer json (stolen) in the format; root names the XML document
static void
s_answer (web_request_t *request, s_format_t format, int status, const char *root, json_t *json)
{
    if (format == S_JSON) {
        //  The only reals are coordinates, already at 7 decimals
        //  (s_coordinate_json): 10 significant digits print them whole
        //  (106.6812345) and no more: jansson's default, 17, prints the
        //  double nearest 20.86 as 20.859999999999999
        free (request->answer);
        request->answer = json_dumps (json, JSON_COMPACT | JSON_REAL_PRECISION (10));
        request->answer_size = request->answer? strlen (request->answer): 0;
        request->content_type = "application/json; charset=utf-8";
        request->status = status;
        json_decref (json);
        return;
    }
    web_xml_t *xml = web_xml_new ();
    s_to_xml (xml, root, json);
    json_decref (json);
    free (request->answer);
    request->answer = web_xml_finish (xml, &request->answer_size);
    web_xml_destroy (&xml);
    request->content_type = "text/xml; charset=utf-8";
    request->status = status;
}

static void
s_error (web_request_t *request, s_format_t format, int status, const char *fmt, ...)
{
    char message [512];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);
    hl_utf8_scrub (message);        //  a quoted input may have been cut mid-character
    s_answer (request, format, status, "errors",
              json_pack ("[{s:i, s:s}]", "code", status, "description", message));
}

//  The shared code (web_cases_file, web_api_query) answered an error in
//  the console's shape {"error", "field", "field_errors"}: the same status,
//  in Open311's
static void
s_rewrite (web_request_t *request, s_format_t format)
{
    json_t *json = request->answer? json_loads (request->answer, 0, NULL): NULL;
    const char *error = json_string_value (json_object_get (json, "error"));
    const char *field = json_string_value (json_object_get (json, "field"));
    json_t *errors = json_array ();
    json_t *list = json_object_get (json, "field_errors");
    size_t i;
    json_t *item;
    json_array_foreach (list, i, item) {
        const char *name = json_string_value (json_object_get (item, "field"));
        const char *message = json_string_value (json_object_get (item, "message"));
        char text [600];
        snprintf (text, sizeof text, "%s: %s", name? name: "", message? message: "");
        hl_utf8_scrub (text);
        json_array_append_new (errors, json_pack ("{s:i, s:s}", "code", request->status, "description", text));
    }
    if (json_array_size (errors) == 0) {
        char text [600];
        snprintf (text, sizeof text, "%s%s%s", field? field: "", field? ": ": "", error? error: "refused");
        hl_utf8_scrub (text);
        json_array_append_new (errors, json_pack ("{s:i, s:s}", "code", request->status, "description", text));
    }
    json_decref (json);
    s_answer (request, format, request->status, "errors", errors);
}

// ------------------------------------------------------------- 3. the form

#define S_MAX_FIELDS 32

typedef struct {
    int count;
    char *name [S_MAX_FIELDS];
    char *value [S_MAX_FIELDS];
} s_form_t;

static void
s_form_free (s_form_t *form)
{
    for (int i = 0; i < form->count; i++) {
        free (form->name [i]);
        free (form->value [i]);
    }
    form->count = 0;
}

static int
s_hex (char c)
{
    return c >= '0' && c <= '9'? c - '0': c >= 'a' && c <= 'f'? c - 'a' + 10:
           c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
}

//  Percent-decode [text, text+len) ('+' is a space); NULL on a bad escape
//  or a NUL
static char *
s_decode (const char *text, size_t len)
{
    char *out = (char *) zmalloc (len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (c == '+')
            c = ' ';
        else
        if (c == '%') {
            int high = i + 2 < len? s_hex (text [i + 1]): -1;
            int low = i + 2 < len? s_hex (text [i + 2]): -1;
            if (high < 0 || low < 0) {
                free (out);
                return NULL;
            }
            c = (char) (high * 16 + low);
            i += 2;
        }
        if (c == 0) {
            free (out);
            return NULL;
        }
        out [n++] = c;
    }
    out [n] = 0;
    return out;
}

//  Parse a form body: 0, or -1 with the reason in error
static int
s_form_parse (const char *body, size_t size, s_form_t *form, char *error, size_t errsize)
{
    form->count = 0;
    const char *p = body? body: "";
    const char *end = p + (body? size: 0);
    while (p < end) {
        const char *amp = memchr (p, '&', (size_t) (end - p));
        const char *stop = amp? amp: end;
        if (stop > p) {
            const char *eq = memchr (p, '=', (size_t) (stop - p));
            if (form->count == S_MAX_FIELDS) {
                snprintf (error, errsize, "more than %d form fields", S_MAX_FIELDS);
                return -1;
            }
            char *name = s_decode (p, (size_t) ((eq? eq: stop) - p));
            char *value = eq? s_decode (eq + 1, (size_t) (stop - eq - 1)): hl_strdup ("");
            if (!name || !value || hl_text_check (name, 64) || hl_text_check (value, HL_MAX_TEXT * 4)) {
                free (name);
                free (value);
                snprintf (error, errsize, "the form is not valid UTF-8 text in application/x-www-form-urlencoded");
                return -1;
            }
            for (int i = 0; i < form->count; i++)
                if (streq (form->name [i], name)) {
                    snprintf (error, errsize, "'%.64s' is given twice", name);
                    free (name);
                    free (value);
                    return -1;
                }
            form->name [form->count] = name;
            form->value [form->count++] = value;
        }
        p = stop + 1;
    }
    return 0;
}

static const char *
s_form_get (s_form_t *form, const char *name)
{
    for (int i = 0; i < form->count; i++)
        if (streq (form->name [i], name))
            return form->value [i];
    return NULL;
}

// ------------------------------------------------------------- 4. services

//  What the services list says of each pollution type, by its name (the
//  CLI's --type); the labels come from hl_type_label
static const struct {
    const char *code, *description, *keywords;
} s_services [] = {
    { "waste_water", "Nước thải xả ra kênh, sông, cống, đường phố (waste water)",
      "nước thải, xả thải, cống, kênh, sông" },
    { "air_emissions", "Khói, bụi, khí thải từ cơ sở sản xuất, đốt rác (smoke, dust, fumes)",
      "khói, bụi, khí thải, đốt" },
    { "solid_waste", "Rác thải, chất thải rắn đổ trộm, tồn đọng (dumped waste)",
      "rác, chất thải rắn, đổ trộm" },
    { "noise", "Tiếng ồn, độ rung vượt mức (noise, vibration)", "tiếng ồn, rung" },
    { "odour", "Mùi hôi, mùi lạ (odour)", "mùi, hôi" },
    { "soil", "Ô nhiễm đất, chôn lấp chất thải (soil)", "đất, chôn lấp" },
    { "other", "Ô nhiễm môi trường khác (other pollution)", "khác" },
    { NULL, NULL, NULL }
};

static void
s_services_list (web_open311_t *self, web_request_t *request, s_format_t format)
{
    (void) self;
    json_t *list = json_array ();
    for (size_t i = 0; s_services [i].code; i++) {
        int type = hl_type_parse (s_services [i].code);
        assert (type > 0);
        json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}",
            "service_code", s_services [i].code, "service_name", hl_type_label (type),
            "description", s_services [i].description, "metadata", true, "type", "realtime",
            "keywords", s_services [i].keywords, "group", "Ô nhiễm môi trường"));
    }
    s_answer (request, format, 200, "services", list);
}

static json_t *
s_attribute (const char *code, const char *datatype, int order, const char *description)
{
    return json_pack ("{s:b, s:s, s:s, s:b, s:s, s:i, s:s}", "variable", true, "code", code,
                      "datatype", datatype, "required", false, "datatype_description", "",
                      "order", order, "description", description);
}

static json_t *
s_values (const char *pairs [][2])
{
    json_t *values = json_array ();
    for (size_t i = 0; pairs [i][0]; i++)
        json_array_append_new (values, json_pack ("{s:s, s:s}", "key", pairs [i][0], "name", pairs [i][1]));
    return values;
}

static void
s_service_definition (web_open311_t *self, web_request_t *request, s_format_t format, const char *code)
{
    (void) self;
    int type = hl_type_parse (code);
    if (type <= 0) {
        s_error (request, format, 404, "Không có dịch vụ (no such service_code) '%.40s'", code);
        return;
    }
    static const char *urgent [][2] = {
        { "false", "Thường (normal)" }, { "true", "Khẩn: nghiêm trọng, phức tạp (urgent)" }, { NULL, NULL } };
    static const char *scope [][2] = {
        { "within_ward", "Trong phường (within the ward)" },
        { "several_wards", "Nhiều phường (several wards)" },
        { "beyond_city", "Ngoài thành phố, liên tỉnh (beyond the city)" }, { NULL, NULL } };
    json_t *attributes = json_array ();
    json_t *item = s_attribute ("urgent", "singlevaluelist", 1, "Mức độ khẩn cấp (urgency)");
    json_object_set_new (item, "values", s_values (urgent));
    json_array_append_new (attributes, item);
    item = s_attribute ("scope", "singlevaluelist", 2, "Phạm vi ảnh hưởng (scope)");
    json_object_set_new (item, "values", s_values (scope));
    json_array_append_new (attributes, item);
    json_array_append_new (attributes, s_attribute ("polluter", "string", 3,
        "Cơ sở gây ô nhiễm, nếu biết (the suspected polluter)"));
    item = s_attribute ("occurred", "datetime", 4, "Thời điểm xảy ra hoặc phát hiện (when it happened)");
    json_object_set_new (item, "datatype_description", json_string ("ISO 8601, e.g. 2026-11-29T08:30:00+07:00"));
    json_array_append_new (attributes, item);
    s_answer (request, format, 200, "service_definition",
              json_pack ("{s:s, s:o}", "service_code", code, "attributes", attributes));
}

//  The endpoint's own URL, from the Host header when it is a plain host[:port]
static void
s_discovery (web_open311_t *self, web_request_t *request, s_format_t format)
{
    const char *host = web_request_header (request, "Host");
    char url [300] = "/open311/v2";
    if (host && *host && strlen (host) < 200
    &&  strspn (host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen (host))
        snprintf (url, sizeof url, "%s://%s/open311/v2", request->tls? "https": "http", host);
    char changeset [40];
    hl_clock_format_iso (hl_clock_now (), changeset, sizeof changeset);
    json_t *endpoint = json_pack ("{s:s, s:s, s:s, s:s, s:[s, s]}",
        "specification", "http://wiki.open311.org/GeoReport_v2", "url", url, "changeset", changeset,
        "type", "production", "formats", "text/xml", "application/json");
    s_answer (request, format, 200, "discovery", json_pack ("{s:s, s:s, s:s, s:[o]}",
        "changeset", changeset, "contact", self->city? self->department_name: self->ward_name,
        "key_service", "hotline apikey add NAME (the node's administrator)", "endpoints", endpoint));
}

// ------------------------------------------------------------- 5. a request

//  The states that count as done ("closed"): the archive's report rule
//  (its final states and where report/done_actions lead), asked once with
//  an empty period; NULL if the node did not answer (answered)
static json_t *
s_done_states (web_open311_t *self, web_request_t *request)
{
    pthread_mutex_lock (&self->lock);
    json_t *done = self->done;
    pthread_mutex_unlock (&self->lock);
    if (done)
        return done;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "report";
    query.since_ms = hl_clock_now ();
    query.until_ms = query.since_ms + 1;
    json_t *report = web_api_query (self->api, request, &query, "system:open311", false);
    json_t *states = json_object_get (json_object_get (report, "open_rule"), "done_states");
    if (!json_is_array (states)) {
        if (report)
            web_request_unavailable (request);
        json_decref (report);
        return NULL;
    }
    pthread_mutex_lock (&self->lock);
    if (!self->done)
        self->done = json_incref (states);
    done = self->done;
    pthread_mutex_unlock (&self->lock);
    json_decref (report);
    return done;
}

static bool
s_closed (json_t *done, const char *state)
{
    size_t i;
    json_t *item;
    json_array_foreach (done, i, item)
        if (state && streq (json_string_value (item), state))
            return true;
    return false;
}

static json_t *
s_time (int64_t ms)
{
    char iso [40];
    return ms > 0? json_string (hl_clock_format_iso (ms, iso, sizeof iso)): json_null ();
}

//  A coordinate for Open311: at most 7 decimals (about 1 cm, as the XML
//  prints it), the double nearest its 7-decimal text; null if none
static json_t *
s_coordinate_json (json_t *value)
{
    if (!json_is_number (value))
        return json_null ();
    char text [64];
    snprintf (text, sizeof text, "%.7f", json_number_value (value));
    return json_real (strtod (text, NULL));
}

//  A case (the archive's case JSON) as an Open311 request. Built field by
//  field: nothing of report.reporter is ever read here.
static json_t *
s_request_object (web_open311_t *self, json_t *done, json_t *c)
{
    json_t *report = json_object_get (c, "report");
    const char *state = json_string_value (json_object_get (c, "state"));
    const char *type = json_string_value (json_object_get (report, "type"));
    //  status_notes: the note of the last public answer (the informed action)
    const char *notes = NULL;
    size_t i;
    json_t *event;
    //  A list_detail row carries it (the archive found it); a case, its history
    json_t *informed = json_object_get (c, "informed_note");
    if (informed)
        notes = json_string_value (informed);
    else
    json_array_foreach (json_object_get (c, "history"), i, event) {
        const char *action = json_string_value (json_object_get (event, "action"));
        const char *variant = json_string_value (json_object_get (event, "variant"));
        const char *note = json_string_value (json_object_get (event, "note"));
        //  The procedure's "informed" meaning, as the report counts it
        if (action && note && *note
        &&  hl_procedure_means (web_api_procedure (self->api), "informed", action, variant? variant: ""))
            notes = note;
    }
    //  Who handles it: the Department for its own cases and those forwarded
    //  to it, else the ward
    const char *agency = self->ward_name;
    const char *code = json_string_value (json_object_get (c, "ward"));
    char ward [64];
    const char *department_case = json_string_value (json_object_get (c, "department_case"));
    const char *origin_case = json_string_value (json_object_get (c, "origin_case"));
    if ((department_case && *department_case) || (origin_case && *origin_case)
    ||  (self->city && !(code && *code)))
        agency = self->department_name;
    else
    if (self->city) {
        //  The ward's name as the city's list of wards gives it (as the
        //  ward itself answers), else its code
        hl_areas_t *areas = web_api_areas (self->api);
        const char *name = areas? hl_areas_name (areas, code): NULL;
        snprintf (ward, sizeof ward, "UBND phường %.20s", code);
        agency = name? name: ward;
    }
    json_t *lat = json_object_get (report, "latitude");
    json_t *lon = json_object_get (report, "longitude");
    const char *media = NULL;
    json_array_foreach (json_object_get (report, "evidence"), i, event) {
        const char *ref = json_string_value (event);
        if (!media && ref && (strncmp (ref, "https://", 8) == 0 || strncmp (ref, "http://", 7) == 0))
            media = ref;
    }
    int kind = type? hl_type_parse (type): -1;
    json_t *object = json_object ();
    json_object_set_new (object, "service_request_id", json_copy (json_object_get (c, "case_id")));
    json_object_set_new (object, "status", json_string (s_closed (done, state)? "closed": "open"));
    json_object_set_new (object, "status_notes", notes? json_string (notes): json_null ());
    json_object_set_new (object, "service_name", json_string (kind > 0? hl_type_label (kind): ""));
    json_object_set_new (object, "service_code", json_string (type? type: ""));
    json_object_set_new (object, "description", json_copy (json_object_get (report, "description")));
    json_object_set_new (object, "agency_responsible", json_string (agency));
    json_object_set_new (object, "service_notice", json_copy (json_object_get (c, "state_label")));
    json_object_set_new (object, "requested_datetime",
                         s_time (json_integer_value (json_object_get (c, "received_ms"))));
    json_object_set_new (object, "updated_datetime",
                         s_time (json_integer_value (json_object_get (c, "updated_ms"))));
    json_object_set_new (object, "expected_datetime",
                         s_time (json_integer_value (json_object_get (c, "next_due_ms"))));
    json_object_set_new (object, "address", json_copy (json_object_get (report, "location")));
    json_object_set_new (object, "address_id", json_null ());
    json_object_set_new (object, "zipcode", json_null ());
    json_object_set_new (object, "lat", s_coordinate_json (lat));
    json_object_set_new (object, "long", s_coordinate_json (lon));
    json_object_set_new (object, "media_url", media? json_string (media): json_null ());
    return object;
}

//  One case as a request: 0, 1 if there is no such case (nothing
//  answered), or -1 (answered: the node's refusal or 503)
static int
s_request_get (web_open311_t *self, web_request_t *request, json_t *done, const char *case_id,
               json_t *list)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    json_t *c = web_api_query (self->api, request, &query, "system:open311", false);
    if (!c)
        return request->status == 404? 1: -1;
    if (!json_is_object (c)) {
        json_decref (c);
        web_request_unavailable (request);
        return -1;
    }
    json_array_append_new (list, s_request_object (self, done, c));
    json_decref (c);
    return 0;
}

//  jurisdiction_id: at a ward, absent or the ward's code (404 otherwise); at
//  the city, a ward's code (1-10 digits) or absent. 0 and the ward (NULL
//  when absent), or -1 (answered)
static int
s_jurisdiction (web_open311_t *self, web_request_t *request, s_format_t format, const char *value,
                const char **ward)
{
    *ward = NULL;
    if (!value || !*value)
        return 0;
    size_t len = strlen (value);
    if (self->city? len == 0 || len > 10 || strspn (value, "0123456789") != len
                  : strneq (value, self->ward_code)) {
        s_error (request, format, 404, "Không có đơn vị (unknown jurisdiction_id) '%.20s'", value);
        return -1;
    }
    *ward = value;
    return 0;
}

// ------------------------------------------------------------- 6. POST requests

//  The fields a POST may carry: the specification's, nothing else
static const char *s_post_fields [] = {
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
    "email", "device_id", "account_id", "first_name", "last_name", "phone", "description",
    "media_url", "attribute[urgent]", "attribute[scope]", "attribute[polluter]", "attribute[occurred]",
    "idempotency_key", NULL
};

//  The report from the form: 0, or -1 (answered 400)
static int
s_post_report (web_request_t *request, s_format_t format, s_form_t *form, Hotline__Report *report,
               char *location, size_t location_size, char *name, size_t name_size, char **evidence)
{
    for (int i = 0; i < form->count; i++) {
        bool known = false;
        for (size_t k = 0; s_post_fields [k] && !known; k++)
            known = streq (s_post_fields [k], form->name [i]);
        if (!known) {
            s_error (request, format, 400, "Trường không được hỗ trợ (unknown field) '%.64s'", form->name [i]);
            return -1;
        }
    }
    //  Free text, in characters, as everywhere (hl_text_check)
    static const struct { const char *field; size_t max; } texts [] = {
        { "address_string", HL_MAX_FIELD }, { "description", HL_MAX_TEXT }, { "first_name", 100 },
        { "last_name", 100 }, { "email", 254 }, { "phone", 32 }, { "media_url", HL_MAX_FIELD },
        { "attribute[polluter]", HL_MAX_FIELD }, { "device_id", HL_MAX_FIELD },
        { "account_id", HL_MAX_FIELD }, { "address_id", HL_MAX_FIELD }, { NULL, 0 } };
    for (size_t i = 0; texts [i].field; i++) {
        const char *value = s_form_get (form, texts [i].field);
        const char *problem = value? hl_text_check (value, texts [i].max): NULL;
        if (problem) {
            s_error (request, format, 400, "%s: %s", texts [i].field, problem);
            return -1;
        }
    }
    const char *code = s_form_get (form, "service_code");
    int type = code? hl_type_parse (code): -1;
    if (type <= 0) {
        s_error (request, format, 400, "service_code: %s '%.40s' (GET services.%s lists them)",
                 code? "không có (unknown)": "bắt buộc (required)", code? code: "", format == S_XML? "xml": "json");
        return -1;
    }
    report->type = (Hotline__PollutionType) type;
    report->channel = HOTLINE__CHANNEL__WEB;
    //  Where: lat and long together, or address_string (or both)
    const char *lat = s_form_get (form, "lat"), *lon = s_form_get (form, "long");
    const char *address = s_form_get (form, "address_string");
    if ((lat && *lat) != (lon && *lon)) {
        s_error (request, format, 400, "lat, long: cả hai hoặc không (both or neither)");
        return -1;
    }
    if (lat && *lat) {
        if (hl_areas_degree (lat, 90, &report->latitude) || hl_areas_degree (lon, 180, &report->longitude)) {
            s_error (request, format, 400, "lat, long: độ thập phân (decimal degrees, WGS84)");
            return -1;
        }
        report->has_coordinates = true;
    }
    if (address && *address)
        snprintf (location, location_size, "%s", address);
    else
    if (report->has_coordinates)
        snprintf (location, location_size, "%.6f, %.6f", report->latitude, report->longitude);
    else {
        s_error (request, format, 400, "lat/long hoặc address_string là bắt buộc "
                 "(lat and long, or address_string, is required)");
        return -1;
    }
    report->location = location;
    report->description = (char *) s_form_get (form, "description");
    //  The attributes of GET services/{code}
    const char *urgent = s_form_get (form, "attribute[urgent]");
    if (urgent && *urgent) {
        if (strneq (urgent, "true") && strneq (urgent, "false")) {
            s_error (request, format, 400, "attribute[urgent]: true hoặc false (true or false)");
            return -1;
        }
        report->urgent = streq (urgent, "true");
    }
    const char *scope = s_form_get (form, "attribute[scope]");
    int value = hl_scope_parse (scope && *scope? scope: "within_ward");
    if (value < 0) {
        s_error (request, format, 400, "attribute[scope]: within_ward, several_wards hoặc beyond_city");
        return -1;
    }
    report->scope = (Hotline__Scope) value;
    report->polluter = (char *) s_form_get (form, "attribute[polluter]");
    const char *occurred = s_form_get (form, "attribute[occurred]");
    if (occurred && *occurred) {
        char why [160];
        if (hl_clock_parse_reason (occurred, &report->occurred_ms, why, sizeof why)) {
            s_error (request, format, 400, "attribute[occurred]: %s", why);
            return -1;
        }
    }
    //  media_url: kept as an evidence reference (the file stays where it is)
    const char *media = s_form_get (form, "media_url");
    if (media && *media) {
        if ((strncmp (media, "https://", 8) && strncmp (media, "http://", 7)) || strpbrk (media, " \t\r\n")) {
            s_error (request, format, 400, "media_url: một địa chỉ http(s) (an http or https URL)");
            return -1;
        }
        evidence [0] = (char *) media;
        report->evidence = evidence;
        report->n_evidence = 1;
    }
    //  The reporter: a way to reply, or anonymous
    const char *first = s_form_get (form, "first_name"), *last = s_form_get (form, "last_name");
    snprintf (name, name_size, "%s%s%s", first? first: "", first && *first && last && *last? " ": "",
              last? last: "");
    Hotline__Reporter *who = report->reporter;
    who->phone = (char *) s_form_get (form, "phone");
    who->email = (char *) s_form_get (form, "email");
    bool contact = (who->phone && *who->phone) || (who->email && *who->email);
    if (!contact && *name) {
        s_error (request, format, 400, "first_name, last_name: cần kèm phone hoặc email, hoặc gửi ẩn danh "
                 "không có tên (a name needs a phone or email; send neither to report anonymously)");
        return -1;
    }
    who->name = name;
    who->anonymous = !contact;
    return 0;
}

//  The client's idempotency key: the header Idempotency-Key or the form
//  field idempotency_key (not both, unless the same), 1-128 characters.
//  0 and the key (NULL when none), or -1 (answered 400)
static int
s_idempotency (web_request_t *request, s_format_t format, s_form_t *form, const char **key)
{
    const char *header = web_request_header (request, "Idempotency-Key");
    const char *field = s_form_get (form, "idempotency_key");
    if (header && field && strneq (header, field)) {
        s_error (request, format, 400, "Idempotency-Key, idempotency_key: hai khoá khác nhau "
                 "(the header and the field differ)");
        return -1;
    }
    *key = header? header: field;
    if (*key && (!**key || hl_text_check (*key, S_MAX_KEY))) {
        s_error (request, format, 400, "Idempotency-Key: 1-%d ký tự (1 to %d characters of text)",
                 S_MAX_KEY, S_MAX_KEY);
        return -1;
    }
    return 0;
}

//  At the city: the report filed at its ward (web_filing), chosen by
//  jurisdiction_id, else by its coordinates in a ward's area. The answer is
//  the filing's token (GET tokens/{token} gives the ward's case number once
//  the ward has filed it), sent once the city's intake has it durably.
static void
s_post_city (web_open311_t *self, web_request_t *request, s_format_t format, Hotline__Report *report,
             const char *chosen, const char *actor, const char *id)
{
    const char *ward = NULL;
    web_filing_where_t where = web_filing_ward (self->api, chosen, report, &ward);
    if (where == WEB_FILING_UNKNOWN) {
        s_error (request, format, 404, "Không có đơn vị (unknown jurisdiction_id) '%.20s'", chosen);
        return;
    }
    if (where == WEB_FILING_OUTSIDE) {
        s_error (request, format, 400, "lat, long: không thuộc phường nào của thành phố, hãy ghi "
                 "jurisdiction_id (outside every ward's area: give jurisdiction_id)");
        return;
    }
    if (where == WEB_FILING_NOWHERE) {
        s_error (request, format, 400, "jurisdiction_id (mã phường), hoặc lat/long trong một phường, là "
                 "bắt buộc ở thành phố (required at the city)");
        return;
    }
    //  What the ward's intake would refuse, refused here first
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (report, errs, 16);
    if (count) {
        s_error (request, format, 400, "%s: %s", errs [0].field, errs [0].message);
        return;
    }
    //  A ward still on the previous release would lose it (federation.h,
    //  "Filing", Upgrades): 503 with Retry-After, nothing stored
    int ready = web_filing_ready (self->api, request, ward);
    if (ready == 1)
        s_error (request, format, 503, "jurisdiction_id: phường %.20s chưa nhận phản ánh gửi từ thành phố "
                 "(đang nâng cấp), xin gửi lại sau (the ward does not take requests filed at the city "
                 "yet: it is being upgraded; nothing was stored, try again later)", ward);
    if (ready == -1)
        s_rewrite (request, format);
    if (ready)
        return;
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) hl_procedure_meaning (web_api_procedure (self->api), "report", NULL);
    command.report = report;
    if (web_filing_send (self->api, request, id, ward, actor, &command)) {
        s_rewrite (request, format);
        return;
    }
    hl_info ("open311: %s filed at ward %s as %s", actor, ward, id);
    //  So that GET tokens/{token} at once finds it (the archive follows intake)
    web_filing_wait (self->api, request, id, 2000);
    char notice [300];
    snprintf (notice, sizeof notice, "Đã tiếp nhận, chuyển về %s; GET tokens/{token} cho mã hồ sơ "
              "(received, filed at the ward: the token gives its service_request_id)",
              hl_areas_name (web_api_areas (self->api), ward));
    s_answer (request, format, 200, "service_requests", json_pack ("[{s:s, s:s, s:n}]",
        "token", id, "service_notice", notice, "account_id"));
}

//  POST requests.(json|xml)
static void
s_post (web_open311_t *self, web_request_t *request, s_format_t format)
{
    const char *type = request->body_type? request->body_type: "";
    if (strncasecmp (type, "application/x-www-form-urlencoded", 33)
    ||  (type [33] && type [33] != ';' && type [33] != ' ')) {
        s_error (request, format, 400, "Content-Type: application/x-www-form-urlencoded");
        return;
    }
    s_form_t form = { 0 };
    char why [160];
    if (s_form_parse (request->body, request->body_size, &form, why, sizeof why)) {
        s_error (request, format, 400, "%s", why);
        return;
    }
    //  The key first: nothing is read for a caller without one
    const char *key = s_form_get (&form, "api_key");
    if (!key)
        key = web_request_arg (request, "api_key");
    char key_name [80];
    hl_accounts_t *accounts = web_api_accounts (self->api);
    if (!accounts) {
        s_error (request, format, 503, "Hệ thống tạm thời không trả lời (the node is unavailable)");
        goto done;
    }
    if (!key || !*key || strlen (key) > 128
    ||  hl_accounts_apikey_check (accounts, key, key_name, sizeof key_name)) {
        s_error (request, format, 403, "api_key thiếu hoặc không hợp lệ (missing or invalid api_key)");
        goto done;
    }
    if (!s_rate_ok (self, key_name, hl_clock_now ())) {
        snprintf (request->retry_after, sizeof request->retry_after, "%d",
                  (int) (60 - (hl_clock_now () / 1000) % 60));
        s_error (request, format, 429, "Quá nhiều yêu cầu với khoá này (too many requests for this "
                 "api_key: at most %d a minute)", self->rate_per_min);
        goto done;
    }
    const char *ward;
    if (s_jurisdiction (self, request, format, s_form_get (&form, "jurisdiction_id"), &ward))
        goto done;
    const char *idempotency = NULL;
    if (s_idempotency (request, format, &form, &idempotency))
        goto done;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    report.reporter = &reporter;
    char location [HL_MAX_FIELD * 4 + 1], name [420];
    char *evidence [1];
    if (s_post_report (request, format, &form, &report, location, sizeof location, name, sizeof name, evidence))
        goto done;
    char actor [128], case_id [64], scope [160], id [WEB_FILING_ID_SIZE];
    snprintf (actor, sizeof actor, "system:open311-%s", key_name);
    //  The key's requests apart from another key's: the key name and the
    //  client's idempotency key make the id (web_filing_id)
    snprintf (scope, sizeof scope, "open311\x1f%s", key_name);
    web_filing_id (scope, idempotency, id);
    if (self->city) {
        s_post_city (self, request, format, &report, ward, actor, id);
        goto done;
    }
    char request_id [64];
    snprintf (request_id, sizeof request_id, "open311-%s", id + strlen (HL_FILING_PREFIX));
    if (web_cases_file (self->api, request, &report, idempotency? request_id: NULL, actor,
                        case_id, sizeof case_id)) {
        s_rewrite (request, format);
        goto done;
    }
    hl_info ("open311: %s filed %s", actor, case_id);
    s_answer (request, format, 200, "service_requests", json_pack ("[{s:s, s:s, s:n}]",
        "service_request_id", case_id, "service_notice",
        "Đã tiếp nhận phản ánh; theo dõi bằng service_request_id (received)", "account_id"));
done:
    s_form_free (&form);
}

// ------------------------------------------------------------- 7. GET requests

//  A time argument (ISO 8601; hl_clock_parse): 0 and ms, 1 if absent, -1 (answered)
static int
s_time_arg (web_request_t *request, s_format_t format, const char *name, int64_t *ms)
{
    const char *value = web_request_arg (request, name);
    if (!value || !*value)
        return 1;
    char why [160];
    if (hl_text_check (value, 64) || hl_clock_parse_reason (value, ms, why, sizeof why)) {
        s_error (request, format, 400, "%s: ISO 8601, e.g. 2026-11-29T08:30:00+07:00 (%s)", name,
                 hl_text_check (value, 64)? "not text": why);
        return -1;
    }
    return 0;
}

//  An integer argument in [1, max]: 0, 1 if absent, -1 (answered)
static int
s_int_arg (web_request_t *request, s_format_t format, const char *name, long max, long *out)
{
    const char *value = web_request_arg (request, name);
    if (!value || !*value)
        return 1;
    char *end;
    errno = 0;
    long number = strtol (value, &end, 10);
    if (*end || errno || number < 1 || number > max || !isdigit ((unsigned char) *value)) {
        s_error (request, format, 400, "%s: 1-%ld", name, max);
        return -1;
    }
    *out = number;
    return 0;
}

//  The rows of one list_detail query (each case with its report, never
//  the reporter, and its informed note), or NULL (answered). An answer too
//  large for one frame (413: a page of long descriptions) is asked for in
//  two halves, each one query, and so on down to one row.
static json_t *
s_detail (web_open311_t *self, web_request_t *request, Hotline__Query *query)
{
    query->kind = "list_detail";
    json_t *rows = web_api_query (self->api, request, query, "system:open311", false);
    if (rows && !json_is_array (rows)) {
        json_decref (rows);
        web_request_unavailable (request);
        return NULL;
    }
    if (rows || request->status != 413 || query->limit <= 1)
        return rows;
    uint32_t limit = query->limit, offset = query->offset, half = limit / 2;
    query->limit = half;
    rows = s_detail (self, request, query);
    json_t *rest = NULL;
    if (rows && json_array_size (rows) == half) {
        query->offset = offset + half;
        query->limit = limit - half;
        rest = s_detail (self, request, query);
        if (!rest)
            json_decref (rows);
        rows = rest? rows: NULL;
    }
    query->limit = limit;
    query->offset = offset;
    if (rest) {
        json_array_extend (rows, rest);
        json_decref (rest);
    }
    return rows;
}

//  One page: a list_detail query; with a status filter the states of that
//  status go in it as a set ("a,b,c"), so paging is the archive's. NULL
//  (answered, in Open311's shape) or the rows.
static json_t *
s_page (web_open311_t *self, web_request_t *request, s_format_t format, Hotline__Query *query,
        json_t *done, int status, long page, long page_size)
{
    char *states = NULL;
    if (status >= 0) {
        json_t *spec = hl_procedure_json (web_api_procedure (self->api));
        size_t i, size = 1;
        json_t *state;
        states = (char *) zmalloc (size);
        json_array_foreach (json_object_get (spec, "states"), i, state) {
            const char *name = json_string_value (json_object_get (state, "name"));
            if (!name || s_closed (done, name) != (status == 1))
                continue;
            size_t len = strlen (states);
            size = len + strlen (name) + 2;
            states = (char *) hl_realloc (states, size);
            snprintf (states + len, size - len, "%s%s", len? ",": "", name);
        }
        json_decref (spec);
        if (!*states) {
            free (states);
            return json_array ();           //  no state is of this status
        }
        query->status = states;
    }
    query->limit = (uint32_t) page_size;
    query->offset = (uint32_t) ((page - 1) * page_size);
    json_t *rows = s_detail (self, request, query);
    query->status = NULL;
    free (states);
    if (!rows)
        s_rewrite (request, format);
    return rows;
}

//  The requests of rows (list_detail rows) appended to list
static void
s_append_rows (web_open311_t *self, json_t *done, json_t *rows, json_t *list)
{
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new (list, s_request_object (self, done, row));
}

//  GET requests.(json|xml)
static void
s_requests (web_open311_t *self, web_request_t *request, s_format_t format)
{
    const char *ward;
    if (s_jurisdiction (self, request, format, web_request_arg (request, "jurisdiction_id"), &ward))
        return;
    json_t *done = s_done_states (self, request);
    if (!done) {
        s_rewrite (request, format);
        return;
    }
    json_t *list = json_array ();
    //  service_request_id=a,b,c overrides every other argument (the spec):
    //  one query for them all, answered in the order asked
    const char *ids = web_request_arg (request, "service_request_id");
    if (ids && *ids) {
        char buf [S_MAX_IDS * 24], wanted [S_MAX_IDS * 24] = "";
        if (strlen (ids) >= sizeof buf) {
            s_error (request, format, 400, "service_request_id: tối đa %d (at most %d)", S_MAX_IDS, S_MAX_IDS);
            goto done;
        }
        snprintf (buf, sizeof buf, "%s", ids);
        char *save = NULL;
        const char *order [S_MAX_IDS];
        size_t count = 0;
        for (char *id = strtok_r (buf, ",", &save); id; id = strtok_r (NULL, ",", &save)) {
            while (*id == ' ')
                id++;
            if (!hl_case_id_valid (id)) {
                s_error (request, format, 400, "service_request_id: '%.40s' không phải mã hồ sơ "
                         "(not a case number, like 31001-2026-000001)", id);
                goto done;
            }
            if (count == S_MAX_IDS) {
                s_error (request, format, 400, "service_request_id: tối đa %d (at most %d)", S_MAX_IDS, S_MAX_IDS);
                goto done;
            }
            order [count++] = id;
            size_t len = strlen (wanted);
            snprintf (wanted + len, sizeof wanted - len, "%s%s", len? ",": "", id);
        }
        Hotline__Query query = HOTLINE__QUERY__INIT;
        query.case_id = wanted;
        query.limit = S_MAX_IDS;
        json_t *rows = s_detail (self, request, &query);
        if (!rows) {
            s_rewrite (request, format);
            goto done;
        }
        for (size_t k = 0; k < count; k++) {
            size_t i;
            json_t *row;
            json_array_foreach (rows, i, row)
                if (streq (json_string_value (json_object_get (row, "case_id")), order [k])) {
                    json_array_append_new (list, s_request_object (self, done, row));
                    break;
                }
        }
        json_decref (rows);
        s_answer (request, format, 200, "service_requests", list);
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.ward = (char *) ward;
    const char *code = web_request_arg (request, "service_code");
    if (code && *code) {
        int type = hl_type_parse (code);
        if (type <= 0) {
            s_error (request, format, 400, "service_code: không có (unknown) '%.40s'", code);
            goto done;
        }
        query.type = (Hotline__PollutionType) type;
    }
    //  The spec's dates: at most 90 days, the last 90 by default
    int64_t start = 0, end = 0;
    int has_start = s_time_arg (request, format, "start_date", &start);
    int has_end = s_time_arg (request, format, "end_date", &end);
    if (has_start < 0 || has_end < 0)
        goto done;
    //  end_date absent: now, or 90 days after a start_date if that is sooner
    int64_t now = hl_clock_now ();
    if (has_end == 1)
        end = has_start == 0 && start + S_SPAN_MS < now? start + S_SPAN_MS: now;
    if (has_start == 1)
        start = end - S_SPAN_MS;
    if (start > end || end - start > S_SPAN_MS) {
        s_error (request, format, 400, "start_date, end_date: start_date ≤ end_date, tối đa 90 ngày "
                 "(at most 90 days apart)");
        goto done;
    }
    query.since_ms = start;
    query.until_ms = end + 1;               //  end_date is inclusive
    const char *status = web_request_arg (request, "status");
    int wanted = -1;                        //  -1 both, 0 open, 1 closed
    if (status && *status) {
        if (streq (status, "open"))
            wanted = 0;
        else
        if (streq (status, "closed"))
            wanted = 1;
        else
        if (strneq (status, "open,closed") && strneq (status, "closed,open")) {
            s_error (request, format, 400, "status: open, closed");
            goto done;
        }
    }
    long page = 1, page_size = S_DEFAULT_ROWS;
    if (s_int_arg (request, format, "page", 100000, &page) < 0
    ||  s_int_arg (request, format, "page_size", S_MAX_ROWS, &page_size) < 0)
        goto done;
    json_t *rows = s_page (self, request, format, &query, done, wanted, page, page_size);
    if (!rows)
        goto done;
    s_append_rows (self, done, rows, list);
    json_decref (rows);
    s_answer (request, format, 200, "service_requests", list);
    return;
done:
    json_decref (list);
}

//  GET tokens/{token} at the city: a filing's token. The case number once
//  the ward's case has reached the city, null before (the spec lets the
//  answer wait for it); 422 once the ward refused it
static void
s_token_filing (web_open311_t *self, web_request_t *request, s_format_t format, const char *id)
{
    json_t *filing = NULL;
    int rc = web_filing_state (self->api, request, id, &filing);
    if (rc) {
        if (rc > 0)
            s_error (request, format, 404, "Không có (no such token) '%.40s'", id);
        else
            s_rewrite (request, format);
        return;
    }
    //  The ward's intake refused it: final (it is not tried again), an
    //  error in the spec's shape naming the ward and why
    json_t *refused = json_object_get (filing, "refused");
    if (refused) {
        const char *ward = json_string_value (json_object_get (filing, "ward"));
        const char *name = ward? hl_areas_name (web_api_areas (self->api), ward): NULL;
        const char *field = json_string_value (json_object_get (refused, "field"));
        s_error (request, format, 422, "%s không tiếp nhận phản ánh, không lập hồ sơ "
                 "(the ward refused the report; it was not filed): %s%s%s",
                 name? name: ward? ward: "", field && *field? field: "", field && *field? ": ": "",
                 json_string_value (json_object_get (refused, "reason")));
        json_decref (filing);
        return;
    }
    json_t *case_id = json_object_get (filing, "case_id");
    s_answer (request, format, 200, "service_requests", json_pack ("[{s:s, s:O}]", "token", id,
              "service_request_id", json_is_string (case_id)? case_id: json_null ()));
    json_decref (filing);
}

//  GET requests/{id}.(json|xml), and tokens/{token}: at a ward (and for a
//  case number at the city) the token is the id
static void
s_request_one (web_open311_t *self, web_request_t *request, s_format_t format, const char *id, bool token)
{
    if (token && self->city && hl_filing_id_valid (id)) {
        s_token_filing (self, request, format, id);
        return;
    }
    if (!hl_case_id_valid (id)) {
        s_error (request, format, 404, "Không có (no such %s) '%.40s'", token? "token": "service_request_id", id);
        return;
    }
    json_t *done = s_done_states (self, request);
    if (!done) {
        s_rewrite (request, format);
        return;
    }
    json_t *list = json_array ();
    int rc = s_request_get (self, request, done, id, list);
    if (rc != 0) {
        json_decref (list);
        if (rc > 0)
            s_error (request, format, 404, "Không có (no such %s) '%.40s'", token? "token": "service_request_id", id);
        else
            s_rewrite (request, format);
        return;
    }
    if (token) {
        json_decref (list);
        list = json_pack ("[{s:s, s:s}]", "service_request_id", id, "token", id);
    }
    s_answer (request, format, 200, "service_requests", list);
}

// ------------------------------------------------------------- 8. router

//  Split "NAME.FORMAT": the format, and NAME into name; -1 if it has none
static int
s_format (const char *segment, char *name, size_t size, s_format_t *format)
{
    const char *dot = strrchr (segment, '.');
    if (!dot || dot == segment || (size_t) (dot - segment) >= size)
        return -1;
    if (streq (dot, ".json"))
        *format = S_JSON;
    else
    if (streq (dot, ".xml"))
        *format = S_XML;
    else
        return -1;
    snprintf (name, size, "%.*s", (int) (dot - segment), segment);
    return 0;
}

void
web_open311_handle (web_open311_t *self, web_request_t *request)
{
    request->route = "other";
    const char *path = request->path;
    if (strncmp (path, "/open311/v2/", 12) == 0)
        path += 12;
    else
    if (strncmp (path, "/open311/", 9) == 0 && strncmp (path + 9, "discovery.", 10) == 0)
        path += 9;          //  discovery is also where the spec puts it, beside v2/
    else
        path = "";
    char first [64] = "", second [128] = "";
    const char *slash = strchr (path, '/');
    s_format_t format = S_JSON;
    bool named;
    if (slash) {
        snprintf (first, sizeof first, "%.*s", (int) (slash - path) < 63? (int) (slash - path): 63, path);
        named = !strchr (slash + 1, '/') && strlen (slash + 1) < sizeof second
             && s_format (slash + 1, second, sizeof second, &format) == 0;
    }
    else
        named = s_format (path, first, sizeof first, &format) == 0;
    if (!named) {
        s_error (request, format, 404, "Không có (not found): %.100s (…/open311/v2/services.json or .xml)",
                 request->path);
        return;
    }
    bool get = streq (request->method, "GET") || streq (request->method, "HEAD");
    bool post = streq (request->method, "POST");
    //  Which method: an enum, so the dispatch below compares no strings
    //  (gcc -O2 misreads strcmp on a pointer to one of these literals)
    enum { R_NONE, R_DISCOVERY, R_SERVICES, R_SERVICE, R_REQUESTS, R_REQUEST, R_TOKEN } route =
        !slash && streq (first, "discovery")? R_DISCOVERY:
        !slash && streq (first, "services")? R_SERVICES:
        slash && streq (first, "services")? R_SERVICE:
        !slash && streq (first, "requests")? R_REQUESTS:
        slash && streq (first, "requests")? R_REQUEST:
        slash && streq (first, "tokens")? R_TOKEN: R_NONE;
    if (route == R_NONE) {
        s_error (request, format, 404, "Không có (not found): %.100s", request->path);
        return;
    }
    if (!(get || (post && route == R_REQUESTS))) {
        s_error (request, format, 405, "Phương thức không hỗ trợ (method not allowed): %s", request->method);
        return;
    }
    if (route == R_DISCOVERY)
        s_discovery (self, request, format);
    else
    if (route == R_SERVICES)
        s_services_list (self, request, format);
    else
    if (route == R_SERVICE)
        s_service_definition (self, request, format, second);
    else
    if (route == R_REQUESTS)
        post? s_post (self, request, format): s_requests (self, request, format);
    else
        s_request_one (self, request, format, second, route == R_TOKEN);
}

void
web_open311_test (bool verbose)
{
    printf (" * web_open311: ");
    //  The form: decoding, duplicates, bad escapes, NULs
    s_form_t form = { 0 };
    char why [160];
    const char *body = "api_key=k&description=N%C6%B0%E1%BB%9Bc+th%E1%BA%A3i&attribute%5Burgent%5D=true&empty";
    assert (s_form_parse (body, strlen (body), &form, why, sizeof why) == 0 && form.count == 4);
    assert (streq (s_form_get (&form, "description"), "Nước thải"));
    assert (streq (s_form_get (&form, "attribute[urgent]"), "true"));
    assert (streq (s_form_get (&form, "empty"), ""));
    assert (s_form_get (&form, "absent") == NULL);
    s_form_free (&form);
    assert (s_form_parse ("a=1&a=2", 7, &form, why, sizeof why) == -1 && strstr (why, "twice"));
    s_form_free (&form);
    assert (s_form_parse ("a=%4", 4, &form, why, sizeof why) == -1);
    assert (s_form_parse ("a=%zz", 5, &form, why, sizeof why) == -1);
    assert (s_form_parse ("a=%00", 5, &form, why, sizeof why) == -1);
    assert (s_form_parse ("a=%C3", 5, &form, why, sizeof why) == -1);        //  not UTF-8
    assert (s_form_parse ("", 0, &form, why, sizeof why) == 0 && form.count == 0);
    //  Paths
    char name [64];
    s_format_t format;
    assert (s_format ("services.xml", name, sizeof name, &format) == 0 && streq (name, "services") && format == S_XML);
    assert (s_format ("31001-2026-000001.json", name, sizeof name, &format) == 0
            && streq (name, "31001-2026-000001") && format == S_JSON);
    assert (s_format ("services.html", name, sizeof name, &format) == -1);
    assert (s_format ("services", name, sizeof name, &format) == -1);
    assert (s_format (".json", name, sizeof name, &format) == -1);
    //  Coordinates
    double value;
    assert (hl_areas_degree ("20.86", 90, &value) == 0 && value > 20.85);
    assert (hl_areas_degree ("-106.5", 180, &value) == 0);
    assert (hl_areas_degree ("91", 90, &value) == -1 && hl_areas_degree ("nan", 90, &value) == -1);
    assert (hl_areas_degree ("1e2", 180, &value) == -1 && hl_areas_degree ("", 90, &value) == -1);
    //  XML of a JSON answer: the spec's element names
    web_xml_t *xml = web_xml_new ();
    json_t *json = json_pack ("[{s:s, s:n, s:b, s:[{s:s}]}]", "service_code", "noise", "account_id",
                              "metadata", true, "values", "key", "a<b");
    s_to_xml (xml, "services", json);
    json_decref (json);
    char *text = web_xml_finish (xml, NULL);
    assert (strstr (text, "<services><service><service_code>noise</service_code><account_id/>"
                          "<metadata>true</metadata><values><value><key>a&lt;b</key></value></values>"));
    free (text);
    web_xml_destroy (&xml);
    if (verbose)
        printf ("(form, paths, coordinates, xml) ");
    printf ("OK\n");
}
