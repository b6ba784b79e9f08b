/*  web_cases — the cases under /api/v1/cases (see web_cases.h, API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the list: the filters checked one by one, then a count (kept by
 *       each thread for 2 s per filter) and a page in the archive's "due"
 *       order
 *    2. submit: web_cases_file, the one path a report takes to intake
 *       (Open311 files through it too); then the route: the report's
 *       fields (and the reporter's) checked strictly,
 *       what the node would refuse refused here first, then the command
 *       through intake with the page's request id
 *    3. one case: the show JSON, the reporter redacted for a role that may
 *       not see it, and the actions this role may take now
 *    4. an action: any the procedure defines (except the one that creates
 *       a case), its args as strings, the actor "<role>:<user>"
 *    5. the selftest
 */
#include "hotline.h"
#include "web_cases.h"
#include <math.h>

// ------------------------------------------------------------- 1. list

//  The list's total is a count of every matching case, 1.4 ms of a 4.4 ms
//  page at 100,000 cases (tests/bench/RESULTS.md row 12), and a reader
//  paging through one filter asks for the same count again and again. So
//  each worker thread keeps its last few totals, keyed by the filters
//  (and the actor: what a role is shown may differ), for S_TOTAL_MS
//  (API.md: the total may be up to 2 s old; the rows never are). A
//  per-thread table needs no lock; another thread counts again, at most
//  once per window. The key is whole, never a hash, so two filters never
//  share a total; a key too long to keep is simply counted every time.
#define S_TOTAL_MS      2000
#define S_TOTALS        8
#define S_TOTAL_KEY     (128 + HL_MAX_FIELD * 4 + 160)

typedef struct {
    char key [S_TOTAL_KEY];
    int64_t mono_ms;            //  when counted, on the monotonic clock
    int64_t node_ms;            //  and on the node's (overdue depends on it)
    json_int_t total;
} s_total_t;

static _Thread_local s_total_t s_totals [S_TOTALS];

//  The key for query's filters as actor: 0, or -1 when it does not fit
static int
s_total_key (Hotline__Query *query, const char *actor, char *key, size_t size)
{
    int len = snprintf (key, size, "%s\x1f%s\x1f%d\x1f%d\x1f%" PRId64 "\x1f%" PRId64 "\x1f%s\x1f%s",
                        actor, query->status? query->status: "", (int) query->type, (int) query->overdue,
                        (int64_t) query->since_ms, (int64_t) query->until_ms,
                        query->ward? query->ward: "", query->text? query->text: "");
    return len >= 0 && (size_t) len < size? 0: -1;
}

//  A total counted within the window, or NULL. Both clocks must agree it
//  is fresh: the node's may be set back or forward (the tests' clock file)
static s_total_t *
s_total_find (const char *key)
{
    int64_t mono = zclock_mono (), now = hl_clock_now ();
    for (size_t i = 0; i < S_TOTALS; i++) {
        s_total_t *entry = &s_totals [i];
        if (entry->mono_ms && streq (entry->key, key)
        &&  mono - entry->mono_ms < S_TOTAL_MS && now - entry->node_ms >= 0 && now - entry->node_ms < S_TOTAL_MS)
            return entry;
    }
    return NULL;
}

static void
s_total_keep (const char *key, json_int_t total)
{
    s_total_t *oldest = &s_totals [0];
    for (size_t i = 0; i < S_TOTALS; i++) {
        if (streq (s_totals [i].key, key)) {
            oldest = &s_totals [i];
            break;
        }
        if (s_totals [i].mono_ms < oldest->mono_ms)
            oldest = &s_totals [i];
    }
    snprintf (oldest->key, sizeof oldest->key, "%s", key);
    oldest->mono_ms = zclock_mono ();
    oldest->node_ms = hl_clock_now ();
    oldest->total = total;
}

//  GET /api/v1/cases?state=&type=&overdue=1&from=&to=&q=&page=&per_page=
void
web_cases_list (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    const char *state = web_request_arg (request, "state");
    if (state && *state) {
        if (!hl_procedure_state_exists (web_api_procedure (api), state)) {
            web_request_error (request, 400, "state", "Trạng thái không có (unknown state) '%.64s'", state);
            return;
        }
        query.status = (char *) state;
    }
    const char *type = web_request_arg (request, "type");
    if (type && *type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            web_request_error (request, 400, "type", "Loại ô nhiễm không có (unknown type)");
            return;
        }
        query.type = (Hotline__PollutionType) value;
    }
    const char *overdue = web_request_arg (request, "overdue");
    if (overdue && *overdue && strneq (overdue, "0") && strneq (overdue, "1")
    &&  strneq (overdue, "true") && strneq (overdue, "false")) {
        web_request_error (request, 400, "overdue", "'overdue' là 0 hoặc 1 (must be 0 or 1)");
        return;
    }
    query.overdue = overdue && (streq (overdue, "1") || streq (overdue, "true"));
    int rc = web_request_date (request, "from", &query.since_ms);
    if (rc < 0)
        return;
    rc = web_request_date (request, "to", &query.until_ms);
    if (rc < 0)
        return;
    if (rc == 0)
        query.until_ms += 24 * 3600 * 1000LL;       //  inclusive: the whole day
    const char *text = web_request_arg (request, "q");
    if (text && *text) {
        const char *problem = hl_text_check (text, HL_MAX_FIELD);
        if (problem) {
            web_request_error (request, 400, "q", "'q': %s", problem);
            return;
        }
        query.text = (char *) text;
    }
    long page = 1, per_page = 50;
    if (web_request_int (request, "page", 100000, &page) < 0
    ||  web_request_int (request, "per_page", 500, &per_page) < 0)
        return;
    const char *ward = NULL;
    if (web_api_city (api) && web_request_ward (request, &ward))
        return;
    query.ward = (char *) ward;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    //  The total (counted again only past S_TOTAL_MS), then the page
    char key [S_TOTAL_KEY];
    bool keyed = s_total_key (&query, actor, key, sizeof key) == 0;
    s_total_t *kept = keyed? s_total_find (key): NULL;
    json_int_t total;
    if (kept) {
        total = kept->total;
        hl_metrics_add (hl_metrics_default (), "hotline_web_case_totals_reused_total", 1);
    }
    else {
        query.kind = "count";
        json_t *count = web_api_query (api, request, &query, actor, false);
        if (!count)
            return;
        total = json_integer_value (json_object_get (count, "count"));
        json_decref (count);
        if (keyed)
            s_total_keep (key, total);
    }
    query.kind = "list";
    query.limit = (uint32_t) per_page;
    query.offset = (uint32_t) ((page - 1) * per_page);
    query.order = "due";             //  overdue first, then by next due time
    json_t *rows = web_api_query (api, request, &query, actor, false);
    if (!rows)
        return;
    if (!json_is_array (rows)) {
        json_decref (rows);
        web_request_unavailable (request);
        return;
    }
    json_t *answer = json_object ();
    json_object_set_new (answer, "cases", rows);
    json_object_set_new (answer, "page", json_integer (page));
    json_object_set_new (answer, "per_page", json_integer (per_page));
    json_object_set_new (answer, "total", json_integer (total));
    //  The node's clock (the tests' clock file moves it), so the page
    //  counts deadlines down against the node, not the browser's clock
    json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
    web_request_json (request, 200, answer);
}

// ------------------------------------------------------------- 2. submit

//  File a report through intake as actor (see web_cases.h)
int
web_cases_file (web_api_t *api, web_request_t *request, Hotline__Report *report,
                const char *request_id, const char *actor, char *case_id, size_t size)
{
    //  What the node would refuse anyway, before using the network
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (report, errs, 16);
    if (count) {
        json_t *answer = json_object ();
        json_t *errors = json_array ();
        for (size_t i = 0; i < count && i < 16; i++) {
            json_t *item = json_object ();
            json_object_set_new (item, "field", json_string (errs [i].field));
            json_object_set_new (item, "message", json_string (errs [i].message));
            json_array_append_new (errors, item);
        }
        json_object_set_new (answer, "error", json_string (errs [0].message));
        json_object_set_new (answer, "field", json_string (errs [0].field));
        json_object_set_new (answer, "field_errors", errors);
        web_request_json (request, 400, answer);
        return -1;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    //  The procedure's action for a new report (its report meaning,
    //  declared by every procedure: checked on load)
    command.action = (char *) hl_procedure_meaning (web_api_procedure (api), "report", NULL);
    assert (command.action);
    command.report = report;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) (request_id && *request_id? request_id: NULL);
    Hotline__Envelope *reply = web_api_call (api, request, &message, actor, false);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->reply->code != HL_OK) {
        web_request_refusal (request, reply->reply);
        rc = -1;
    }
    else    //  Intake replies only after its commit: the case is durable
        snprintf (case_id, size, "%s", reply->reply->case_id);
    hl_msg_free (&reply);
    return rc;
}

//  POST /api/v1/cases: the report's fields, as in hotline show --json
void
web_cases_submit (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "type", "location", "description", "channel", "scope", "urgent",
        "sudden", "polluter", "polluter_category", "occurred_ms", "latitude", "longitude",
        "evidence", "reporter", "request_id", NULL };
    static const char *reporter_fields [] = { "name", "phone", "email", "address", "anonymous", NULL };
    if (!web_api_can_act (api, session->role)) {
        web_request_error (request, 403, NULL, "Vai trò '%s' không tiếp nhận được (role may not submit)",
                           session->role);
        return;
    }
    json_t *body = web_request_body (request, fields);
    if (!body)
        return;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    report.reporter = &reporter;
    char *evidence [HL_MAX_EVIDENCE];
    const char *type, *channel, *scope, *request_id;
    if (web_request_string (request, body, "type", HL_MAX_FIELD, &type)
    ||  web_request_string (request, body, "channel", HL_MAX_FIELD, &channel)
    ||  web_request_string (request, body, "scope", HL_MAX_FIELD, &scope)
    ||  web_request_string (request, body, "request_id", 64, &request_id)
    ||  web_request_string (request, body, "location", HL_MAX_TEXT, (const char **) &report.location)
    ||  web_request_string (request, body, "description", HL_MAX_TEXT, (const char **) &report.description)
    ||  web_request_string (request, body, "polluter", HL_MAX_TEXT, (const char **) &report.polluter)
    ||  web_request_string (request, body, "polluter_category", HL_MAX_TEXT,
                            (const char **) &report.polluter_category)
    ||  web_request_bool (request, body, "urgent", &report.urgent)
    ||  web_request_bool (request, body, "sudden", &report.sudden))
        goto done;
    if (type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            web_request_error (request, 400, "type", "Loại ô nhiễm không có (unknown type) '%.40s'", type);
            goto done;
        }
        report.type = (Hotline__PollutionType) value;
    }
    int value = hl_channel_parse (channel? channel: "phone");
    if (value < 0) {
        web_request_error (request, 400, "channel", "Kênh không có (unknown channel) '%.40s'", channel);
        goto done;
    }
    report.channel = (Hotline__Channel) value;
    value = hl_scope_parse (scope? scope: "within_ward");
    if (value < 0) {
        web_request_error (request, 400, "scope", "Phạm vi không có (unknown scope) '%.40s'", scope);
        goto done;
    }
    report.scope = (Hotline__Scope) value;
    bool present, lat_present, lon_present;
    double number;
    if (web_request_number (request, body, "occurred_ms", &present, &number))
        goto done;
    if (present) {
        if (number != floor (number) || number < 0 || number > 9e15) {
            web_request_error (request, 400, "occurred_ms", "'occurred_ms' là mili giây (integer milliseconds)");
            goto done;
        }
        report.occurred_ms = (int64_t) number;
    }
    if (web_request_number (request, body, "latitude", &lat_present, &report.latitude)
    ||  web_request_number (request, body, "longitude", &lon_present, &report.longitude))
        goto done;
    if (lat_present != lon_present) {
        web_request_error (request, 400, lat_present? "longitude": "latitude",
                           "'latitude' và 'longitude' đi cùng nhau (go together)");
        goto done;
    }
    report.has_coordinates = lat_present;
    json_t *list = json_object_get (body, "evidence");
    if (list && !json_is_null (list)) {
        if (!json_is_array (list) || json_array_size (list) > HL_MAX_EVIDENCE) {
            web_request_error (request, 400, "evidence",
                               "'evidence' là danh sách tối đa %d chuỗi (a list of at most %d strings)",
                               HL_MAX_EVIDENCE, HL_MAX_EVIDENCE);
            goto done;
        }
        size_t i;
        json_t *item;
        json_array_foreach (list, i, item) {
            if (!json_is_string (item)) {
                web_request_error (request, 400, "evidence", "'evidence' chỉ chứa chuỗi (strings only)");
                goto done;
            }
            evidence [i] = (char *) json_string_value (item);
        }
        report.evidence = evidence;
        report.n_evidence = json_array_size (list);
    }
    json_t *who = json_object_get (body, "reporter");
    if (who && !json_is_null (who)) {
        if (!json_is_object (who)) {
            web_request_error (request, 400, "reporter", "'reporter' là một đối tượng (must be an object)");
            goto done;
        }
        const char *key;
        json_t *item;
        json_object_foreach (who, key, item) {
            bool known = false;
            for (size_t i = 0; reporter_fields [i] && !known; i++)
                known = streq (reporter_fields [i], key);
            if (!known) {
                char field [100];
                snprintf (field, sizeof field, "reporter.%.64s", key);
                web_request_error (request, 400, field, "Trường không được hỗ trợ (unknown field) '%s'", field);
                goto done;
            }
        }
        if (web_request_string (request, who, "name", HL_MAX_TEXT, (const char **) &reporter.name)
        ||  web_request_string (request, who, "phone", HL_MAX_TEXT, (const char **) &reporter.phone)
        ||  web_request_string (request, who, "email", HL_MAX_TEXT, (const char **) &reporter.email)
        ||  web_request_string (request, who, "address", HL_MAX_TEXT, (const char **) &reporter.address)
        ||  web_request_bool (request, who, "anonymous", &reporter.anonymous))
            goto done;
    }
    char actor [128], case_id [64];
    web_api_actor (session, actor, sizeof actor);
    if (web_cases_file (api, request, &report, request_id, actor, case_id, sizeof case_id) == 0) {
        json_t *answer = json_object ();
        json_object_set_new (answer, "case_id", json_string (case_id));
        web_request_json (request, 201, answer);
    }
done:
    json_decref (body);
}

// ------------------------------------------------------------- 3. one case

//  The actions this role may take now: [{"action", "variant", "requires"}]
static json_t *
s_allowed_actions (web_api_t *api, const char *state, const char *role)
{
    json_t *list = json_array ();
    if (!state || !web_api_can_act (api, role))
        return list;
    const char *allowed [64];
    size_t count = hl_procedure_allowed (web_api_procedure (api), state, role, allowed, 64);
    for (size_t i = 0; i < count; i++) {
        char name [128];
        snprintf (name, sizeof name, "%s", allowed [i]);
        char *space = strchr (name, ' ');
        const char *variant = "";
        if (space) {
            *space = 0;
            variant = space + 1;
        }
        json_t *item = json_object ();
        json_object_set_new (item, "action", json_string (name));
        json_object_set_new (item, "variant", json_string (variant));
        json_t *requires = json_array ();
        const char **names = hl_procedure_requires (web_api_procedure (api), name, variant);
        for (size_t r = 0; names && names [r]; r++)
            json_array_append_new (requires, json_string (names [r]));
        json_object_set_new (item, "requires", requires);
        json_array_append_new (list, item);
    }
    return list;
}

//  GET /api/v1/cases/{id}
void
web_cases_get (web_api_t *api, web_request_t *request, hl_session_info_t *session,
               const char *case_id)
{
    if (!hl_case_id_valid (case_id)) {
        web_request_error (request, 404, "case_id", "Không có hồ sơ (no such case) '%.40s'", case_id);
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    json_t *result = web_api_query (api, request, &query, actor, false);
    if (!result)
        return;
    if (!json_is_object (result)) {
        json_decref (result);
        web_request_unavailable (request);
        return;
    }
    //  The server decides who sees the reporter
    json_t *report = json_object_get (result, "report");
    if (json_is_object (report) && !web_api_can_see_reporter (api, session->role, result)) {
        json_t *redacted = json_object ();
        json_object_set_new (redacted, "redacted", json_true ());
        json_object_set_new (report, "reporter", redacted);
    }
    json_object_set_new (result, "allowed_actions",
        s_allowed_actions (api, json_string_value (json_object_get (result, "state")), session->role));
    json_object_set_new (result, "now_ms", json_integer (hl_clock_now ()));
    web_request_json (request, 200, result);
}

// ------------------------------------------------------------- 4. an action

//  An action's name or variant: [a-z_], 1-32
static bool
s_name_ok (const char *name)
{
    size_t len = strlen (name);
    return len >= 1 && len <= 32 && strspn (name, "abcdefghijklmnopqrstuvwxyz_") == len;
}

//  POST /api/v1/cases/{id}/actions/{action} {"variant", "note", "args", "request_id"}
void
web_cases_action (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                  const char *case_id, const char *action)
{
    static const char *fields [] = { "variant", "note", "args", "request_id", NULL };
    if (!web_api_can_act (api, session->role)) {
        web_request_error (request, 403, NULL, "Vai trò '%s' không được thao tác hồ sơ (role may not act)",
                           session->role);
        return;
    }
    if (!hl_case_id_valid (case_id)) {
        web_request_error (request, 404, "case_id", "Không có hồ sơ (no such case) '%.40s'", case_id);
        return;
    }
    if (!s_name_ok (action)) {
        web_request_error (request, 404, "action", "Không có thao tác (no such action) '%.40s'", action);
        return;
    }
    json_t *body = web_request_body (request, fields);
    if (!body)
        return;
    Hotline__Command__ArgsEntry entries [16];
    Hotline__Command__ArgsEntry *entry_ptrs [16];
    const char *variant, *note, *request_id;
    if (web_request_string (request, body, "variant", 32, &variant)
    ||  web_request_string (request, body, "note", HL_MAX_TEXT, &note)
    ||  web_request_string (request, body, "request_id", 64, &request_id))
        goto done;
    if (variant && *variant && !s_name_ok (variant)) {
        web_request_error (request, 400, "variant", "Biến thể không hợp lệ (bad variant) '%.40s'", variant);
        goto done;
    }
    //  Which action: one the procedure defines, that does not create a case
    //  (a report is submitted with POST /api/v1/cases)
    const char *to;
    int rc = hl_procedure_check (web_api_procedure (api), NULL, action, variant, session->role, &to);
    if (rc == HL_NOT_FOUND) {
        web_request_error (request, 404, "action", "Quy trình không có thao tác (the procedure has no action) '%s%s%s'",
                           action, variant && *variant? " ": "", variant? variant: "");
        goto done;
    }
    if (rc == HL_OK || rc == HL_FORBIDDEN) {
        web_request_error (request, 400, "action", "'%s' tạo hồ sơ mới: dùng POST /api/v1/cases "
                           "(creates a case: use POST /api/v1/cases)", action);
        goto done;
    }
    size_t n = 0;
    json_t *args = json_object_get (body, "args");
    if (args && !json_is_null (args)) {
        if (!json_is_object (args) || json_object_size (args) > 16) {
            web_request_error (request, 400, "args", "'args' là đối tượng tối đa 16 chuỗi (an object of at most 16 strings)");
            goto done;
        }
        const char *key;
        json_t *value;
        json_object_foreach (args, key, value) {
            char field [100];
            snprintf (field, sizeof field, "args.%.64s", key);
            if (!s_name_ok (key)) {
                web_request_error (request, 400, field, "Tên tham số không hợp lệ (bad argument name)");
                goto done;
            }
            if (!json_is_string (value)) {
                web_request_error (request, 400, field, "'%s' phải là chuỗi (must be a string)", field);
                goto done;
            }
            const char *problem = hl_text_check (json_string_value (value), HL_MAX_TEXT);
            if (problem) {
                web_request_error (request, 400, field, "'%s': %s", field, problem);
                goto done;
            }
            hotline__command__args_entry__init (&entries [n]);
            entries [n].key = (char *) key;
            entries [n].value = (char *) json_string_value (value);
            entry_ptrs [n] = &entries [n];
            n++;
        }
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) action;
    command.variant = (char *) (variant? variant: "");
    command.case_id = (char *) case_id;
    command.note = (char *) (note? note: "");
    command.args = entry_ptrs;
    command.n_args = n;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) (request_id && *request_id? request_id: NULL);
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    Hotline__Envelope *reply = web_api_call (api, request, &message, actor, false);
    if (reply) {
        if (reply->reply->code != HL_OK)
            web_request_refusal (request, reply->reply);
        else {
            hl_info ("web: %s %s %s", actor, action, reply->reply->case_id);
            json_t *answer = json_object ();
            json_object_set_new (answer, "case_id", json_string (reply->reply->case_id));
            json_object_set_new (answer, "seq", json_integer ((json_int_t) reply->reply->seq));
            json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
            web_request_json (request, 200, answer);
        }
        hl_msg_free (&reply);
    }
done:
    json_decref (body);
}

// ------------------------------------------------------------- 5. selftest

void
web_cases_test (bool verbose)
{
    printf (" * web_cases: ");
    assert (s_name_ok ("verify") && s_name_ok ("inform_reporter"));
    assert (!s_name_ok ("Verify") && !s_name_ok ("") && !s_name_ok ("a b") && !s_name_ok ("a-b"));
    assert (!s_name_ok ("abcdefghijklmnopqrstuvwxyzabcdefg"));         //  33
    assert (s_name_ok ("abcdefghijklmnopqrstuvwxyzabcdef"));           //  32
    if (verbose)
        printf ("(names) ");
    printf ("OK\n");
}
