/*  hl_report — the Decision 174 case record: names, validation, JSON.  */
#include "hotline.h"
#include <math.h>

typedef struct {
    int value;
    const char *name;
    const char *label;
} s_name_t;

static const s_name_t s_types [] = {
    { HOTLINE__POLLUTION_TYPE__WASTE_WATER,     "waste_water",   "Nước thải" },
    { HOTLINE__POLLUTION_TYPE__AIR_EMISSIONS,   "air_emissions", "Khí thải" },
    { HOTLINE__POLLUTION_TYPE__SOLID_WASTE,     "solid_waste",   "Chất thải rắn" },
    { HOTLINE__POLLUTION_TYPE__NOISE,           "noise",         "Tiếng ồn" },
    { HOTLINE__POLLUTION_TYPE__ODOUR,           "odour",         "Mùi hôi" },
    { HOTLINE__POLLUTION_TYPE__SOIL,            "soil",          "Ô nhiễm đất" },
    { HOTLINE__POLLUTION_TYPE__OTHER_POLLUTION, "other",         "Khác" },
    { 0, NULL, NULL }
};
static const s_name_t s_channels [] = {
    { HOTLINE__CHANNEL__PHONE,         "phone",   "Điện thoại" },
    { HOTLINE__CHANNEL__EMAIL,         "email",   "Thư điện tử" },
    { HOTLINE__CHANNEL__WALK_IN,       "walk_in", "Trực tiếp" },
    { HOTLINE__CHANNEL__WEB,           "web",     "Cổng thông tin" },
    { HOTLINE__CHANNEL__LETTER,        "letter",  "Văn bản" },
    { HOTLINE__CHANNEL__OTHER_CHANNEL, "other",   "Khác" },
    { 0, NULL, NULL }
};
static const s_name_t s_scopes [] = {
    { HOTLINE__SCOPE__WITHIN_WARD,   "within_ward",   "Trong phường" },
    { HOTLINE__SCOPE__SEVERAL_WARDS, "several_wards", "Nhiều phường" },
    { HOTLINE__SCOPE__BEYOND_CITY,   "beyond_city",   "Ngoài thành phố" },
    { 0, NULL, NULL }
};

static const s_name_t *
s_by_value (const s_name_t *table, int value)
{
    for (; table->name; table++)
        if (table->value == value)
            return table;
    return NULL;
}

static int
s_by_name (const s_name_t *table, const char *name)
{
    if (!name)
        return -1;
    for (; table->name; table++)
        if (streq (table->name, name))
            return table->value;
    return -1;
}

const char *hl_type_name (int type)
{
    const s_name_t *entry = s_by_value (s_types, type);
    return entry? entry->name: "";
}
const char *hl_type_label (int type)
{
    const s_name_t *entry = s_by_value (s_types, type);
    return entry? entry->label: "";
}
int hl_type_parse (const char *name) { return s_by_name (s_types, name); }
const char *hl_channel_name (int channel)
{
    const s_name_t *entry = s_by_value (s_channels, channel);
    return entry? entry->name: "";
}
int hl_channel_parse (const char *name) { return s_by_name (s_channels, name); }
const char *hl_scope_name (int scope)
{
    const s_name_t *entry = s_by_value (s_scopes, scope);
    return entry? entry->name: "";
}
int hl_scope_parse (const char *name) { return s_by_name (s_scopes, name); }

size_t
hl_text_chars (const char *text)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *) (text? text: ""); *p; p++)
        if ((*p & 0xC0) != 0x80)        //  not a continuation byte
            count++;
    return count;
}

const char *
hl_text_check (const char *text, size_t max)
{
    if (!text)
        return NULL;
    //  Thread-local: the web answers from several threads
    static __thread char message [96];
    //  The byte ceiling first, so a huge text is not validated in full
    size_t len = strlen (text);
    size_t chars = len > HL_MAX_BYTES (max)? hl_text_chars (text): 0;
    if (len > HL_MAX_BYTES (max) && chars <= max) {
        snprintf (message, sizeof message, "is too long: %zu bytes (at most %zu)", len, HL_MAX_BYTES (max));
        return message;
    }
    if (len <= HL_MAX_BYTES (max) && !hl_utf8_valid (text, len))
        return "is not valid UTF-8";
    chars = hl_text_chars (text);
    if (chars > max) {
        snprintf (message, sizeof message, "is too long: %zu characters (at most %zu)", chars, max);
        return message;
    }
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7F)
            return "contains control characters";
    return NULL;
}

static bool
s_empty (const char *text)
{
    if (!text)
        return true;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    return *text == 0;
}

const char *
hl_occurred_check (int64_t occurred_ms, int64_t now)
{
    //  The year 2000 begins at midnight in the node's zone, not at 00:00 UTC
    struct tm tm = { .tm_year = 100, .tm_mon = 0, .tm_mday = 1, .tm_isdst = -1 };
    int64_t y2000 = (int64_t) mktime (&tm) * 1000;
    if (occurred_ms < y2000)
        return "occurred is before the year 2000";
    if (occurred_ms > now + 15 * 60 * 1000)
        return "occurred must not be in the future";
    return NULL;
}

static void
s_add (hl_field_error_t *errs, size_t max, size_t *count, const char *field, const char *fmt, ...)
{
    if (*count < max) {
        snprintf (errs [*count].field, sizeof errs [*count].field, "%s", field);
        va_list args;
        va_start (args, fmt);
        vsnprintf (errs [*count].message, sizeof errs [*count].message, fmt, args);
        va_end (args);
    }
    (*count)++;
}

//  A phone number: digits with optional leading +, spaces, dots, dashes;
//  8 to 15 digits.
static bool
s_phone_valid (const char *phone)
{
    int digits = 0;
    for (const char *p = phone; *p; p++) {
        if (isdigit ((unsigned char) *p))
            digits++;
        else
        if (!(*p == '+' && p == phone) && *p != ' ' && *p != '.' && *p != '-')
            return false;
    }
    return digits >= 8 && digits <= 15;
}

static bool
s_email_valid (const char *email)
{
    const char *at = strchr (email, '@');
    if (!at || at == email || strchr (at + 1, '@'))
        return false;
    const char *dot = strrchr (at, '.');
    if (!dot || dot == at + 1 || dot [1] == 0)
        return false;
    for (const char *p = email; *p; p++)
        if (*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == ';')
            return false;
    return true;
}

//  Check a text field: optional or required, with max length
static void
s_text (hl_field_error_t *errs, size_t max, size_t *count, const char *field,
        const char *value, bool required, size_t limit)
{
    if (required && s_empty (value)) {
        s_add (errs, max, count, field, "%s is required", field);
        return;
    }
    const char *problem = hl_text_check (value, limit);
    if (problem)
        s_add (errs, max, count, field, "%s %s", field, problem);
}

size_t
hl_report_validate (const Hotline__Report *report, hl_field_error_t *errs, size_t max)
{
    size_t count = 0;
    if (!report) {
        s_add (errs, max, &count, "report", "the report is missing");
        return count;
    }
    if (!s_by_value (s_types, report->type))
        s_add (errs, max, &count, "type",
               "type is required: waste_water, air_emissions, solid_waste, noise, odour, soil or other");
    if (!s_by_value (s_channels, report->channel))
        s_add (errs, max, &count, "channel",
               "channel is required: phone, email, walk_in, web, letter or other");
    if (!s_by_value (s_scopes, report->scope))
        s_add (errs, max, &count, "scope",
               "scope is required: within_ward, several_wards or beyond_city");
    s_text (errs, max, &count, "location", report->location, true, HL_MAX_FIELD);
    s_text (errs, max, &count, "description", report->description, true, HL_MAX_TEXT);
    s_text (errs, max, &count, "polluter", report->polluter, false, HL_MAX_FIELD);
    if (!s_empty (report->polluter_category)) {
        bool ok = strlen (report->polluter_category) <= 64;
        for (const char *p = report->polluter_category; ok && *p; p++)
            ok = islower ((unsigned char) *p) || isdigit ((unsigned char) *p) || *p == '_';
        if (!ok)
            s_add (errs, max, &count, "polluter_category",
                   "polluter_category must be a short name of a-z, 0-9 and _");
    }
    //  Reporter: a way to reply unless explicitly anonymous
    const Hotline__Reporter *who = report->reporter;
    bool has_phone = who && !s_empty (who->phone);
    bool has_email = who && !s_empty (who->email);
    bool has_address = who && !s_empty (who->address);
    if (who) {
        s_text (errs, max, &count, "name", who->name, false, HL_MAX_FIELD);
        s_text (errs, max, &count, "address", who->address, false, HL_MAX_FIELD);
        if (has_phone && !s_phone_valid (who->phone))
            s_add (errs, max, &count, "phone",
                   "phone must be 8 to 15 digits (spaces, dots, dashes and a leading + allowed)");
        if (has_email && (strlen (who->email) > 254 || !s_email_valid (who->email)))
            s_add (errs, max, &count, "email", "email is not a valid address");
    }
    bool anonymous = who && who->anonymous;
    if (anonymous && (has_phone || has_email || has_address || (who && !s_empty (who->name))))
        s_add (errs, max, &count, "anonymous",
               "an anonymous report must not carry the reporter's name or contact");
    if (!anonymous && !has_phone && !has_email && !has_address)
        s_add (errs, max, &count, "phone",
               "a way to reply is required (phone, email or address), or mark the report anonymous");
    //  Times
    //  0 is "not given" on the wire; the CLI refuses a typed date that
    //  lands on 0 (1970-01-01) itself, so no date is silently dropped
    const char *occurred = report->occurred_ms?
                           hl_occurred_check (report->occurred_ms, hl_clock_now ()): NULL;
    if (occurred)
        s_add (errs, max, &count, "occurred", "%s", occurred);
    //  Coordinates
    if (report->has_coordinates) {
        if (isnan (report->latitude) || report->latitude < -90 || report->latitude > 90)
            s_add (errs, max, &count, "latitude", "latitude must be between -90 and 90");
        if (isnan (report->longitude) || report->longitude < -180 || report->longitude > 180)
            s_add (errs, max, &count, "longitude", "longitude must be between -180 and 180");
    }
    else
    if (report->latitude != 0 || report->longitude != 0)
        s_add (errs, max, &count, "latitude", "coordinates given without has_coordinates");
    //  Evidence
    if (report->n_evidence > HL_MAX_EVIDENCE)
        s_add (errs, max, &count, "evidence", "at most %d evidence references", HL_MAX_EVIDENCE);
    else
        for (size_t i = 0; i < report->n_evidence; i++)
            s_text (errs, max, &count, "evidence", report->evidence [i], true, HL_MAX_FIELD);
    return count;
}

bool
hl_case_id_valid (const char *case_id)
{
    //  <ward code: 1-10 digits>-<yyyy>-<6 digits>
    if (!case_id)
        return false;
    size_t len = strlen (case_id);
    if (len < 1 + 1 + 4 + 1 + 6 || len > 10 + 1 + 4 + 1 + 6)
        return false;
    const char *year = case_id + len - 11;
    if (year [-1] != '-' || year [4] != '-')
        return false;
    for (const char *p = case_id; p < year - 1; p++)
        if (!isdigit ((unsigned char) *p))
            return false;
    for (int i = 0; i < 11; i++)
        if (i != 4 && !isdigit ((unsigned char) year [i]))
            return false;
    return true;
}

bool
hl_filing_id_valid (const char *id)
{
    size_t prefix = strlen (HL_FILING_PREFIX);
    return id && strlen (id) == prefix + 32 && strncmp (id, HL_FILING_PREFIX, prefix) == 0
        && strspn (id + prefix, "0123456789abcdef") == 32;
}

static void
s_set_text (json_t *object, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new (object, key, json_string (value));
}

json_t *
hl_report_to_json (const Hotline__Report *report, bool redact)
{
    json_t *object = json_object ();
    if (!report)
        return object;
    json_object_set_new (object, "received_ms", json_integer (report->received_ms));
    s_set_text (object, "channel", hl_channel_name (report->channel));
    s_set_text (object, "type", hl_type_name (report->type));
    s_set_text (object, "scope", hl_scope_name (report->scope));
    json_object_set_new (object, "urgent", json_boolean (report->urgent));
    json_object_set_new (object, "sudden", json_boolean (report->sudden));
    s_set_text (object, "location", report->location);
    if (report->has_coordinates) {
        json_object_set_new (object, "latitude", json_real (report->latitude));
        json_object_set_new (object, "longitude", json_real (report->longitude));
    }
    s_set_text (object, "description", report->description);
    s_set_text (object, "polluter", report->polluter);
    s_set_text (object, "polluter_category", report->polluter_category);
    if (report->occurred_ms)
        json_object_set_new (object, "occurred_ms", json_integer (report->occurred_ms));
    json_t *evidence = json_array ();
    for (size_t i = 0; i < report->n_evidence; i++)
        json_array_append_new (evidence, json_string (report->evidence [i]));
    json_object_set_new (object, "evidence", evidence);
    const Hotline__Reporter *who = report->reporter;
    json_t *reporter = json_object ();
    json_object_set_new (reporter, "anonymous", json_boolean (who && who->anonymous));
    if (redact)
        json_object_set_new (reporter, "redacted", json_true ());
    else
    if (who) {
        s_set_text (reporter, "name", who->name);
        s_set_text (reporter, "phone", who->phone);
        s_set_text (reporter, "email", who->email);
        s_set_text (reporter, "address", who->address);
    }
    json_object_set_new (object, "reporter", reporter);
    return object;
}

const char *
hl_event_arg (const Hotline__Event *event, const char *key)
{
    for (size_t i = 0; i < event->n_args; i++)
        if (event->args [i]->key && streq (event->args [i]->key, key))
            return event->args [i]->value? event->args [i]->value: "";
    return "";
}

const char *
hl_command_arg (const Hotline__Command *command, const char *key)
{
    for (size_t i = 0; i < command->n_args; i++)
        if (command->args [i]->key && streq (command->args [i]->key, key))
            return command->args [i]->value? command->args [i]->value: "";
    return "";
}

json_t *
hl_event_to_json (const Hotline__Event *event)
{
    json_t *object = json_object ();
    s_set_text (object, "event_id", event->event_id);
    json_object_set_new (object, "seq", json_integer ((json_int_t) event->seq));
    s_set_text (object, "case_id", event->case_id);
    s_set_text (object, "ward", event->ward);
    json_object_set_new (object, "at_ms", json_integer (event->at_ms));
    s_set_text (object, "actor", event->actor);
    s_set_text (object, "action", event->action);
    s_set_text (object, "variant", event->variant);
    s_set_text (object, "from", event->from_state);
    s_set_text (object, "to", event->to_state);
    s_set_text (object, "note", event->note);
    s_set_text (object, "regime", event->regime);
    s_set_text (object, "origin", event->origin);
    if (event->n_args) {
        json_t *args = json_object ();
        for (size_t i = 0; i < event->n_args; i++)
            if (event->args [i]->key)
                json_object_set_new (args, event->args [i]->key,
                                     json_string (event->args [i]->value? event->args [i]->value: ""));
        json_object_set_new (object, "args", args);
    }
    if (event->report)
        json_object_set_new (object, "report", hl_report_to_json (event->report, event->redacted));
    if (event->redacted)
        json_object_set_new (object, "redacted", json_true ());
    return object;
}

void
hl_event_redact (Hotline__Event *event)
{
    //  The event was unpacked with the default allocator: free the personal
    //  strings and point them at protobuf-c's static empty string (which
    //  free_unpacked knows not to free)
    if (event->report && event->report->reporter) {
        Hotline__Reporter *who = event->report->reporter;
        char **fields [] = { &who->name, &who->phone, &who->email, &who->address };
        for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++)
            if (*fields [i] && *fields [i] != protobuf_c_empty_string) {
                free (*fields [i]);
                *fields [i] = (char *) protobuf_c_empty_string;
            }
    }
    event->redacted = true;
}

void
hl_report_test (bool verbose)
{
    printf (" * hl_report: ");
    assert (hl_type_parse ("waste_water") == HOTLINE__POLLUTION_TYPE__WASTE_WATER);
    assert (hl_type_parse ("smoke") == -1);
    assert (streq (hl_type_name (HOTLINE__POLLUTION_TYPE__ODOUR), "odour"));
    assert (streq (hl_scope_name (HOTLINE__SCOPE__BEYOND_CITY), "beyond_city"));
    assert (hl_channel_parse ("walk_in") == HOTLINE__CHANNEL__WALK_IN);

    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    hl_field_error_t errs [20];
    //  Empty report: every required field is named
    size_t count = hl_report_validate (&report, errs, 20);
    assert (count == 6);        //  type channel scope location description reply-way
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    report.channel = HOTLINE__CHANNEL__PHONE;
    report.scope = HOTLINE__SCOPE__WITHIN_WARD;
    report.location = "Kênh Xáng, tổ 5";
    report.description = "Nước thải màu đen chảy ra kênh";
    who.phone = "0916 588 826";
    report.reporter = &who;
    assert (hl_report_validate (&report, errs, 20) == 0);
    who.phone = "12ab";
    assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].field, "phone"));
    who.phone = "";
    who.email = "not-an-email";
    assert (hl_report_validate (&report, errs, 20) >= 1 && streq (errs [0].field, "email"));
    who.email = "";
    who.anonymous = true;
    assert (hl_report_validate (&report, errs, 20) == 0);
    report.has_coordinates = true;
    report.latitude = 120;
    assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].field, "latitude"));
    report.latitude = 20.86;
    report.longitude = 106.68;
    report.occurred_ms = hl_clock_now () + 86400000;
    assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].field, "occurred"));
    report.occurred_ms = 0;
    report.description = "bad \x01 control";
    assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].field, "description"));
    report.description = "ok";
    //  Before 2000, negative included, says so (not "in the future")
    report.occurred_ms = -1000;
    assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].message, "occurred is before the year 2000"));
    report.occurred_ms = 0;
    assert (hl_occurred_check (0, hl_clock_now ()));
    assert (!hl_occurred_check (hl_clock_now (), hl_clock_now ()));

    //  Limits in characters, with a byte ceiling; line breaks as typed
    assert (hl_text_chars ("Nước") == 4);
    char *long_text = (char *) zmalloc (HL_MAX_BYTES (HL_MAX_TEXT) + 8);
    const char *units [] = { "ệ", "\xF0\x9F\x8C\x8A", "e\xCC\x82\xCC\xA3", "a" };     //  Vietnamese, emoji, combining
    for (int u = 0; u < 4; u++) {
        //  HL_MAX_TEXT code points (the combining form is 3 per character)
        size_t points = hl_text_chars (units [u]);
        *long_text = 0;
        for (size_t n = 0; n + points <= HL_MAX_TEXT; n += points)
            strcat (long_text, units [u]);
        report.description = long_text;
        assert (hl_text_chars (long_text) == HL_MAX_TEXT || points == 3);
        assert (hl_report_validate (&report, errs, 20) == 0);
        while (hl_text_chars (long_text) <= HL_MAX_TEXT)
            strcat (long_text, "x");
        assert (hl_report_validate (&report, errs, 20) == 1 && streq (errs [0].field, "description"));
        assert (strstr (errs [0].message, "characters (at most 4000)"));
    }
    free (long_text);
    report.description = "Dòng một\r\nDòng hai\rDòng ba\n\tdòng bốn";
    assert (hl_report_validate (&report, errs, 20) == 0);
    report.description = "escape \x1B[31m";
    assert (hl_report_validate (&report, errs, 20) == 1);
    report.description = "\r\n";
    assert (hl_report_validate (&report, errs, 20) == 1 && strstr (errs [0].message, "required"));
    report.description = "ok";

    assert (hl_case_id_valid ("31001-2026-000001"));
    assert (hl_case_id_valid ("1-2026-000001"));
    assert (!hl_case_id_valid ("31001-2026-00001"));
    assert (!hl_case_id_valid ("x1001-2026-000001"));
    assert (!hl_case_id_valid ("31001-2026-000001x"));
    assert (hl_filing_id_valid ("file-0123456789abcdef0123456789abcdef"));
    assert (!hl_filing_id_valid ("file-0123456789abcdef0123456789abcdeF"));
    assert (!hl_filing_id_valid ("file-0123456789abcdef0123456789abcde"));
    assert (!hl_filing_id_valid ("fil-0123456789abcdef0123456789abcdef0"));
    assert (!hl_filing_id_valid (NULL));

    json_t *json = hl_report_to_json (&report, true);
    char *text = json_dumps (json, JSON_COMPACT);
    assert (strstr (text, "\"redacted\":true"));
    if (verbose)
        printf ("%s ", text);
    free (text);
    json_decref (json);
    printf ("OK\n");
}
