/*  archive_query — the archive's answers: case, list, count, report.
 *  Results are JSON (jansson), carried in Reply.json.
 */
#include "hotline.h"
#include "archive.h"

//  WHERE clause shared by list, count: built from the query's filters
typedef struct {
    char sql [512];
    const char *texts [4];
    size_t n_texts;
    int64_t since, until, now;
} s_filter_t;

//  Add a condition on a text parameter; parameters 1-3 are the period and now
static void
s_filter_text (s_filter_t *filter, const char *format, const char *value)
{
    char condition [64];
    snprintf (condition, sizeof condition, format, 4 + (int) filter->n_texts);
    strcat (filter->sql, condition);
    filter->texts [filter->n_texts++] = value;
}

static void
s_filter_build (s_filter_t *filter, const Hotline__Query *query)
{
    memset (filter, 0, sizeof *filter);
    strcpy (filter->sql, " WHERE received_ms >= ?1 AND received_ms < ?2");
    filter->since = query->since_ms;
    filter->until = query->until_ms? query->until_ms: INT64_MAX;
    filter->now = hl_clock_now ();
    if (query->status && *query->status) {
        s_filter_text (filter, " AND state = ?%d", query->status);
    }
    if (query->type) {
        s_filter_text (filter, " AND type = ?%d", hl_type_name (query->type));
    }
    if (query->ward && *query->ward) {
        s_filter_text (filter, " AND ward = ?%d", query->ward);
    }
    if (query->overdue)
        strcat (filter->sql, " AND EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = cases.case_id"
                             " AND d.met_ms IS NULL AND d.due_ms < ?3)");
}

static void
s_filter_bind (s_filter_t *filter, sqlite3_stmt *stmt)
{
    sqlite3_bind_int64 (stmt, 1, filter->since);
    sqlite3_bind_int64 (stmt, 2, filter->until);
    sqlite3_bind_int64 (stmt, 3, filter->now);
    for (size_t i = 0; i < filter->n_texts; i++)
        sqlite3_bind_text (stmt, 4 + (int) i, filter->texts [i], -1, SQLITE_STATIC);
}

//  The summary of a case row (columns as in s_case_columns)
static const char *s_case_columns =
    "case_id, ward, state, regime, type, scope, channel, urgent, anonymous,"
    " received_ms, updated_ms, assignee, duplicate_of, location,"
    " origin_case, origin_ward, department_case, department_state";

static json_t *
s_case_summary (archive_t *self, sqlite3_stmt *stmt, int64_t now)
{
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    json_t *row = json_object ();
    const char *names [] = { "case_id", "ward", "state", "regime", "type", "scope", "channel" };
    for (int i = 0; i < 7; i++)
        json_object_set_new (row, names [i], json_string ((const char *) sqlite3_column_text (stmt, i)));
    const char *state = (const char *) sqlite3_column_text (stmt, 2);
    json_object_set_new (row, "state_label",
                         json_string (hl_procedure_state_label (procedure, state)));
    json_object_set_new (row, "urgent", json_boolean (sqlite3_column_int (stmt, 7)));
    json_object_set_new (row, "anonymous", json_boolean (sqlite3_column_int (stmt, 8)));
    json_object_set_new (row, "received_ms", json_integer (sqlite3_column_int64 (stmt, 9)));
    json_object_set_new (row, "updated_ms", json_integer (sqlite3_column_int64 (stmt, 10)));
    json_object_set_new (row, "assignee", json_string ((const char *) sqlite3_column_text (stmt, 11)));
    json_object_set_new (row, "duplicate_of", json_string ((const char *) sqlite3_column_text (stmt, 12)));
    json_object_set_new (row, "location", json_string ((const char *) sqlite3_column_text (stmt, 13)));
    //  Links between a ward's case and the Department's case
    const char *links [] = { "origin_case", "origin_ward", "department_case", "department_state" };
    for (int i = 0; i < 4; i++) {
        const char *value = (const char *) sqlite3_column_text (stmt, 14 + i);
        if (value && *value)
            json_object_set_new (row, links [i], json_string (value));
    }
    //  Overdue: a running deadline past due
    sqlite3_stmt *late = hl_store_prepare (archive_store (self),
        "SELECT count(*) FROM deadlines WHERE case_id = ? AND met_ms IS NULL AND due_ms < ?");
    if (late) {
        sqlite3_bind_text (late, 1, (const char *) sqlite3_column_text (stmt, 0), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (late, 2, now);
        json_object_set_new (row, "overdue",
                             json_boolean (sqlite3_step (late) == SQLITE_ROW && sqlite3_column_int (late, 0) > 0));
        sqlite3_reset (late);
    }
    return row;
}

static json_t *
s_query_case (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size)
{
    hl_store_t *store = archive_store (self);
    if (!hl_case_id_valid (query->case_id)) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "'%.40s' is not a case number (like 31001-2026-000001)", query->case_id);
        return NULL;
    }
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT %s, report FROM cases WHERE case_id = ?", s_case_columns);
    const int report_column = 18;
    sqlite3_stmt *stmt = hl_store_prepare (store, sql);
    if (!stmt) {
        *code = HL_UNAVAILABLE;
        snprintf (error, size, "store error");
        return NULL;
    }
    sqlite3_bind_text (stmt, 1, query->case_id, -1, SQLITE_STATIC);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        *code = HL_NOT_FOUND;
        snprintf (error, size, "unknown case %s", query->case_id);
        return NULL;
    }
    int64_t now = hl_clock_now ();
    json_t *result = s_case_summary (self, stmt, now);
    //  The full record, from the submit event
    Hotline__Event *submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, report_column),
                                                     (const uint8_t *) sqlite3_column_blob (stmt, report_column));
    sqlite3_reset (stmt);
    if (submit) {
        json_object_set_new (result, "report", hl_report_to_json (submit->report, submit->redacted));
        hotline__event__free_unpacked (submit, NULL);
    }
    //  History: every event of the case, in order
    json_t *history = json_array ();
    stmt = hl_store_prepare (store, "SELECT event FROM log WHERE case_id = ? ORDER BY seq");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, query->case_id, -1, SQLITE_STATIC);
        while (sqlite3_step (stmt) == SQLITE_ROW) {
            Hotline__Event *event = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 0),
                                                            (const uint8_t *) sqlite3_column_blob (stmt, 0));
            if (!event)
                continue;
            json_t *item = hl_event_to_json (event);
            json_object_del (item, "report");       //  shown once, above
            json_array_append_new (history, item);
            hotline__event__free_unpacked (event, NULL);
        }
        sqlite3_reset (stmt);
    }
    json_object_set_new (result, "history", history);
    json_object_set_new (result, "deadlines", hl_deadline_json (store, query->case_id, now));
    //  What may be done next
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    const char *allowed [64];
    size_t count = hl_procedure_allowed (procedure,
        json_string_value (json_object_get (result, "state")), NULL, allowed, 64);
    json_t *next = json_array ();
    for (size_t i = 0; i < count; i++)
        json_array_append_new (next, json_string (allowed [i]));
    json_object_set_new (result, "allowed", next);
    return result;
}

static json_t *
s_query_list (archive_t *self, const Hotline__Query *query, bool count_only)
{
    s_filter_t filter;
    s_filter_build (&filter, query);
    char sql [1024];
    if (count_only)
        snprintf (sql, sizeof sql, "SELECT count(*) FROM cases%s", filter.sql);
    else
        snprintf (sql, sizeof sql, "SELECT %s FROM cases%s ORDER BY received_ms DESC, case_id DESC LIMIT %u",
                  s_case_columns, filter.sql, query->limit && query->limit <= 10000? query->limit: 1000);
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self), sql);
    if (!stmt)
        return NULL;
    s_filter_bind (&filter, stmt);
    json_t *result;
    if (count_only) {
        result = json_object ();
        json_object_set_new (result, "count",
                             json_integer (sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): 0));
    }
    else {
        result = json_array ();
        while (sqlite3_step (stmt) == SQLITE_ROW)
            json_array_append_new (result, s_case_summary (self, stmt, filter.now));
    }
    sqlite3_reset (stmt);
    return result;
}

//  The focal points table (section 1 of the report): from the directory
//  every ward sends (at the city: all wards, or the one asked for), else
//  from this node's configuration
static json_t *
s_focal_points (archive_t *self, const char *ward)
{
    json_t *table = json_array ();
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT ward, ward_name, focal_points FROM directory WHERE ?1 = '' OR ward = ?1 ORDER BY ward");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, ward? ward: "", -1, SQLITE_STATIC);
        while (sqlite3_step (stmt) == SQLITE_ROW) {
            json_t *points = json_loads ((const char *) sqlite3_column_text (stmt, 2), 0, NULL);
            size_t i;
            json_t *row;
            json_array_foreach (points, i, row) {
                json_object_set_new (row, "ward", json_string ((const char *) sqlite3_column_text (stmt, 0)));
                json_object_set_new (row, "ward_name", json_string ((const char *) sqlite3_column_text (stmt, 1)));
                json_array_append (table, row);
            }
            json_decref (points);
        }
        sqlite3_reset (stmt);
    }
    if (json_array_size (table))
        return table;
    hl_config_t *config = hl_service_config (archive_service (self));
    zconfig_t *item = hl_config_locate (config, "focal_points");
    for (item = item? zconfig_child (item): NULL; item; item = zconfig_next (item)) {
        json_t *row = json_object ();
        const char *keys [] = { "unit", "receiving_phone", "receiving_email",
                                "handling_phone", "handling_email", "note", NULL };
        for (int i = 0; keys [i]; i++)
            json_object_set_new (row, keys [i], json_string (zconfig_get (item, keys [i], "")));
        json_array_append_new (table, row);
    }
    return table;
}

//  A ward's name from the directory it sent (its code if none yet)
static const char *
s_ward_name (archive_t *self, const char *ward)
{
    static char name [256];
    snprintf (name, sizeof name, "%s", ward);
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT ward_name FROM directory WHERE ward = ?");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW && *sqlite3_column_text (stmt, 0))
            snprintf (name, sizeof name, "%s (%s)", (const char *) sqlite3_column_text (stmt, 0), ward);
        sqlite3_reset (stmt);
    }
    return name;
}

//  The periodic report: figures by pollution type for cases received in
//  [since, until). Which actions count as "verified", "resolved" ... comes
//  from configuration (report/*), defaulting to the procedure's names.
static json_t *
s_query_report (archive_t *self, const Hotline__Query *query)
{
    hl_config_t *config = hl_service_config (archive_service (self));
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    const char *verified = hl_config_get (config, "report/verified_action", "verify");
    const char *accurate = hl_config_get (config, "report/accurate_variant", "accurate");
    const char *resolved = hl_config_get (config, "report/resolved_action", "resolve");
    const char *informed = hl_config_get (config, "report/informed_action", "inform");
    const char *forward = hl_config_get (config, "report/forward_action", "route");
    const char *forward_to = hl_config_get (config, "report/forward_variant", "department");
    const char *on_time = hl_config_get (config, "report/on_time_deadline", "verify");
    //  Which states count as finished (final in the procedure)
    const char *states [64];
    size_t n_states = hl_procedure_states (procedure, states, 64);
    char finals [1024] = "''";
    for (size_t i = 0; i < n_states; i++)
        if (hl_procedure_state_final (procedure, states [i])) {
            char quoted [96];
            snprintf (quoted, sizeof quoted, ",'%s'", states [i]);      //  names are [a-z_]
            strncat (finals, quoted, sizeof finals - strlen (finals) - 1);
        }
    //  A ward reports by pollution type; the city, one row per ward
    bool by_ward = streq (hl_service_role (archive_service (self)), "city")
                && !(query->ward && *query->ward);
    const char *group = by_ward? "c.ward": "c.type";
    char sql [4096];
    snprintf (sql, sizeof sql,
        "SELECT %s, count(*),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?3)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?3 AND a.variant = ?4)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?5)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?6)),"
        " sum(c.state NOT IN (%s)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?7 AND a.variant = ?8)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?3)"
        "     AND EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.name = ?9"
        "             AND d.met_ms IS NOT NULL AND d.met_ms <= d.due_ms)),"
        " sum(EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.name = ?9"
        "             AND ((d.met_ms IS NULL AND d.due_ms < ?10) OR d.met_ms > d.due_ms)))"
        " FROM cases c WHERE c.received_ms >= ?1 AND c.received_ms < ?2 AND (?11 = '' OR c.ward = ?11)"
        " GROUP BY %s ORDER BY %s", group, finals, group, group);
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (hl_store_db (archive_store (self)), sql, -1, &stmt, NULL) != SQLITE_OK) {
        hl_error ("report query: %s", hl_store_error (archive_store (self)));
        return NULL;
    }
    sqlite3_bind_int64 (stmt, 1, query->since_ms);
    sqlite3_bind_int64 (stmt, 2, query->until_ms? query->until_ms: INT64_MAX);
    sqlite3_bind_text (stmt, 3, verified, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, accurate, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, resolved, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 6, informed, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, forward, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 8, forward_to, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 9, on_time, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 10, hl_clock_now ());
    sqlite3_bind_text (stmt, 11, query->ward? query->ward: "", -1, SQLITE_STATIC);
    const char *figures [] = { "received", "verified", "accurate", "resolved", "informed",
                               "open", "forwarded", "verified_on_time", "verified_late", NULL };
    json_t *rows = json_array ();
    json_t *totals = json_object ();
    for (int i = 0; figures [i]; i++)
        json_object_set_new (totals, figures [i], json_integer (0));
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        json_t *row = json_object ();
        const char *key = (const char *) sqlite3_column_text (stmt, 0);
        if (by_ward) {
            json_object_set_new (row, "ward", json_string (key));
            json_object_set_new (row, "label", json_string (s_ward_name (self, key)));
        }
        else {
            json_object_set_new (row, "type", json_string (key));
            json_object_set_new (row, "label", json_string (hl_type_label (hl_type_parse (key))));
        }
        for (int i = 0; figures [i]; i++) {
            int64_t value = sqlite3_column_int64 (stmt, 1 + i);
            json_object_set_new (row, figures [i], json_integer (value));
            json_object_set_new (totals, figures [i],
                json_integer (json_integer_value (json_object_get (totals, figures [i])) + value));
        }
        json_array_append_new (rows, row);
    }
    sqlite3_finalize (stmt);
    json_t *result = json_object ();
    json_object_set_new (result, "ward", json_string (hl_service_ward (archive_service (self))));
    json_object_set_new (result, "ward_name", json_string (hl_config_get (config, "node/ward_name", "")));
    json_object_set_new (result, "city", json_string (hl_config_get (config, "node/city", "")));
    json_object_set_new (result, "since_ms", json_integer (query->since_ms));
    json_object_set_new (result, "until_ms", json_integer (query->until_ms));
    json_object_set_new (result, "focal_points", s_focal_points (self, query->ward));
    json_object_set_new (result, "by", json_string (by_ward? "ward": "type"));
    json_object_set_new (result, "rows", rows);
    json_object_set_new (result, "totals", totals);
    return result;
}

char *
archive_query (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size)
{
    const char *kind = query->kind? query->kind: "";
    json_t *result = NULL;
    *code = HL_OK;
    if (query->since_ms < 0 || query->until_ms < 0
    ||  (query->until_ms && query->until_ms < query->since_ms)) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "the period is empty or negative");
        return NULL;
    }
    if (streq (kind, "case"))
        result = s_query_case (self, query, code, error, size);
    else
    if (streq (kind, "list"))
        result = s_query_list (self, query, false);
    else
    if (streq (kind, "count"))
        result = s_query_list (self, query, true);
    else
    if (streq (kind, "report"))
        result = s_query_report (self, query);
    else {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "unknown query kind '%.32s' (case, list, count, report)", kind);
        return NULL;
    }
    if (!result) {
        if (*code == HL_OK) {
            *code = HL_UNAVAILABLE;
            snprintf (error, size, "the archive could not answer: %s", hl_store_error (archive_store (self)));
        }
        return NULL;
    }
    char *text = json_dumps (result, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
    json_decref (result);
    return text;
}
