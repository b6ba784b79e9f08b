/*  archive_query — the archive's answers: case, list, count, report.
 *  Results are JSON (jansson), carried in Reply.json.
 */
#include "hotline.h"
#include "archive.h"
#include "evidence_link.h"

//  ---------------------------------------------------------------- the case list
//
//  The list's own columns of the cases table, made by archive.db's
//  migration steps 3 and 4 (archive_query_add_due, archive_query_add_search)
//  and kept current as events are applied (archive_query_case_changed):
//
//    next_due_ms, next_deadline   the case's earliest running deadline (NULL
//                                 if none): order=due and --overdue read an
//                                 index instead of the deadlines table
//    cases_fts                    a contentless FTS5 index of the text a
//                                 caller may search (rowid = cases.rowid)
//
//  Only the case number, location, description and polluter are indexed:
//  never the reporter's name, phone, e-mail or address, so a role that may
//  not see who reported cannot find a case by them either. unicode61 folds
//  case for every alphabet (Vietnamese "ĐƯỜNG" finds "đường") and keeps the
//  diacritics ("nước" does not find "nuoc", nor "nuoc" "nước"); text stored
//  decomposed (NFD) is not matched by a query typed composed.

static int
s_index_text (sqlite3_stmt *insert, sqlite3_int64 rowid, const char *case_id,
              const Hotline__Report *report)
{
    char *text = zsys_sprintf ("%s\n%s\n%s\n%s", case_id,
                               report && report->location? report->location: "",
                               report && report->description? report->description: "",
                               report && report->polluter? report->polluter: "");
    sqlite3_bind_int64 (insert, 1, rowid);
    sqlite3_bind_text (insert, 2, text, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (insert);
    sqlite3_reset (insert);
    zstr_free (&text);
    return rc == SQLITE_DONE? 0: -1;
}

static const char *s_next_due_sql =
    "UPDATE cases SET (next_due_ms, next_deadline) = (SELECT due_ms, name FROM deadlines d"
    " WHERE d.case_id = cases.case_id AND d.met_ms IS NULL ORDER BY due_ms, id LIMIT 1)";

//  archive.db's step 3 (archive.c): the case list's deadline columns. The
//  previous release added them outside the versions, so its stores (at
//  version 1) may have them: look first. Inside hl_store_migrate's
//  transaction. 0 or -1.
int
archive_query_add_due (hl_store_t *store, void *arg)
{
    (void) arg;
    int has = (int) hl_store_int (store, "SELECT count(*) FROM pragma_table_info('cases')"
                                         " WHERE name = 'next_due_ms'", -1);
    if (has < 0)
        return -1;
    //  A store from before the columns: add them, then fill them from the
    //  deadlines already recorded
    if (has == 0
    &&  (hl_store_exec (store, "ALTER TABLE cases ADD COLUMN next_due_ms INTEGER;"
                               "ALTER TABLE cases ADD COLUMN next_deadline TEXT;")
     ||  hl_store_exec (store, s_next_due_sql)))
        return -1;
    return hl_store_exec (store, "CREATE INDEX IF NOT EXISTS cases_due ON cases (next_due_ms)");
}

//  archive.db's step 4: the search index, filled from the cases at hand
//  (the previous release's stores may have it: look first). 0 or -1.
int
archive_query_add_search (hl_store_t *store, void *arg)
{
    (void) arg;
    int has = (int) hl_store_int (store, "SELECT count(*) FROM sqlite_master WHERE name = 'cases_fts'", -1);
    if (has != 0)
        return has < 0? -1: 0;
    if (hl_store_exec (store, "CREATE VIRTUAL TABLE cases_fts USING fts5 (text, content = '',"
                              " tokenize = 'unicode61 remove_diacritics 0')"))
        return -1;
    sqlite3_stmt *insert = hl_store_prepare (store, "INSERT INTO cases_fts (rowid, text) VALUES (?, ?)");
    sqlite3_stmt *stmt = insert? hl_store_prepare (store, "SELECT rowid, case_id, report FROM cases"): NULL;
    if (!stmt)
        return -1;
    int rc = 0, step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        Hotline__Event *submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 2),
                                                         (const uint8_t *) sqlite3_column_blob (stmt, 2));
        rc = s_index_text (insert, sqlite3_column_int64 (stmt, 0),
                           (const char *) sqlite3_column_text (stmt, 1), submit? submit->report: NULL);
        if (submit)
            hotline__event__free_unpacked (submit, NULL);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = -1;
    sqlite3_reset (stmt);
    return rc;
}

int
archive_query_case_created (archive_t *self, const Hotline__Event *event, int64_t rowid)
{
    sqlite3_stmt *insert = hl_store_prepare (archive_store (self),
        "INSERT INTO cases_fts (rowid, text) VALUES (?, ?)");
    return insert? s_index_text (insert, rowid, event->case_id, event->report): -1;
}

int
archive_query_case_changed (archive_t *self, const Hotline__Event *event)
{
    if (archive_wards_case_changed (self, event))
        return -1;
    //  Deadlines start and stop only when the state changes (or a case is new)
    if (!event->to_state || !*event->to_state
    ||  (event->from_state && streq (event->from_state, event->to_state)))
        return 0;
    char sql [512];
    snprintf (sql, sizeof sql, "%s WHERE case_id = ?1", s_next_due_sql);
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self), sql);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

//  WHERE clause shared by list, count: built from the query's filters.
//  Parameters: 1-3 the period and now, 4.. the texts, 20-21 limit, offset
#define S_MAX_TEXTS  8
typedef struct {
    char sql [1024];
    const char *texts [S_MAX_TEXTS];
    size_t n_texts;
    int64_t since, until, now;
    char *match;                //  the FTS5 expression of the query's text
    char *ids;                  //  case_id "a,b,c" as a JSON array, for json_each
} s_filter_t;

//  Add a condition on a text parameter; parameters 1-3 are the period and now
static void
s_filter_text (s_filter_t *filter, const char *format, const char *value)
{
    assert (filter->n_texts < S_MAX_TEXTS);
    char condition [160];
    snprintf (condition, sizeof condition, format, 4 + (int) filter->n_texts);
    strcat (filter->sql, condition);
    filter->texts [filter->n_texts++] = value;
}

//  The FTS5 expression for free text: every word, as typed, is a quoted
//  prefix ("nước"* AND "thả"*): no FTS syntax reaches the engine. A word
//  with no letter or digit in it is dropped. NULL if nothing is left.
static char *
s_match_expression (const char *text)
{
    size_t size = strlen (text) * 2 + 16;
    char *match = (char *) zmalloc (size);
    char *out = match;
    const char *p = text;
    while (*p) {
        while (*p && isspace ((unsigned char) *p))
            p++;
        const char *word = p;
        bool wordy = false;
        while (*p && !isspace ((unsigned char) *p)) {
            if (isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80)
                wordy = true;
            p++;
        }
        if (!wordy)
            continue;
        if (out > match)
            *out++ = ' ';
        *out++ = '"';
        for (const char *c = word; c < p; c++) {
            if (*c == '"')
                *out++ = '"';
            *out++ = *c;
        }
        *out++ = '"';
        *out++ = '*';
    }
    *out = 0;
    if (!*match)
        zstr_free (&match);
    return match;
}

static void
s_filter_build (s_filter_t *filter, const Hotline__Query *query)
{
    memset (filter, 0, sizeof *filter);
    //  The period only when one is asked for: an open-ended range on
    //  received_ms makes SQLite walk that index and sort every case for
    //  order=due, instead of reading the next_due_ms index in order
    strcpy (filter->sql, " WHERE 1");
    if (query->since_ms > 0)
        strcat (filter->sql, " AND received_ms >= ?1");
    if (query->until_ms > 0)
        strcat (filter->sql, " AND received_ms < ?2");
    filter->since = query->since_ms;
    filter->until = query->until_ms? query->until_ms: INT64_MAX;
    filter->now = hl_clock_now ();
    if (query->status && *query->status) {
        //  "a,b,c": any of these states (Open311's open and closed are sets)
        if (strchr (query->status, ','))
            s_filter_text (filter, " AND instr (',' || ?%d || ',', ',' || state || ',') > 0", query->status);
        else
            s_filter_text (filter, " AND state = ?%d", query->status);
    }
    if (query->type) {
        s_filter_text (filter, " AND type = ?%d", hl_type_name (query->type));
    }
    if (query->ward && *query->ward) {
        s_filter_text (filter, " AND ward = ?%d", query->ward);
    }
    //  case_id "a,b,c": only these cases (Open311's service_request_id
    //  list), each looked up by its key
    if (query->case_id && *query->case_id) {
        json_t *ids = json_array ();
        char *copy = hl_strdup (query->case_id);
        char *save = NULL;
        for (char *id = strtok_r (copy, ",", &save); id; id = strtok_r (NULL, ",", &save))
            json_array_append_new (ids, json_string (id));
        free (copy);
        filter->ids = json_dumps (ids, JSON_COMPACT);
        json_decref (ids);
        s_filter_text (filter, " AND case_id IN (SELECT value FROM json_each (?%d))", filter->ids);
    }
    //  The earliest running deadline is past due exactly when any is
    if (query->overdue)
        strcat (filter->sql, " AND next_due_ms < ?3");
    filter->match = query->text? s_match_expression (query->text): NULL;
    //  The matches are a set the page's index walk probes (+: never the
    //  driver): a word in every case would otherwise fetch and sort every
    //  case; a rare word costs one walk of the index, bounded either way
    if (filter->match)
        s_filter_text (filter, " AND +cases.rowid IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?%d)",
                       filter->match);
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

static void
s_filter_destroy (s_filter_t *filter)
{
    zstr_free (&filter->match);
    zstr_free (&filter->ids);
}

//  The summary of a case row (columns as in s_case_columns)
static const char *s_case_columns =
    "case_id, ward, state, regime, type, scope, channel, urgent, anonymous,"
    " received_ms, updated_ms, assignee, duplicate_of, location,"
    " origin_case, origin_ward, department_case, department_state, next_due_ms, next_deadline";

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
    //  The next deadline (the earliest running one); overdue when it is past
    if (sqlite3_column_type (stmt, 18) != SQLITE_NULL) {
        json_object_set_new (row, "next_due_ms", json_integer (sqlite3_column_int64 (stmt, 18)));
        json_object_set_new (row, "next_deadline", json_string ((const char *) sqlite3_column_text (stmt, 19)));
    }
    json_object_set_new (row, "overdue", json_boolean (sqlite3_column_type (stmt, 18) != SQLITE_NULL
                                                       && sqlite3_column_int64 (stmt, 18) < now));
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
    const int report_column = 20;
    sqlite3_stmt *stmt = hl_store_prepare (store, sql);
    if (!stmt) {
        *code = HL_UNAVAILABLE;
        snprintf (error, size, "store error");
        return NULL;
    }
    sqlite3_bind_text (stmt, 1, query->case_id, -1, SQLITE_STATIC);
    int step = sqlite3_step (stmt);
    if (step != SQLITE_ROW) {
        sqlite3_reset (stmt);
        if (step == SQLITE_DONE) {
            *code = HL_NOT_FOUND;
            snprintf (error, size, "unknown case %s", query->case_id);
        }
        else {
            hl_error ("case query: %s", hl_store_error (store));
            *code = HL_UNAVAILABLE;
            snprintf (error, size, "store error");
        }
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
    step = stmt? SQLITE_DONE: SQLITE_ERROR;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, query->case_id, -1, SQLITE_STATIC);
        while ((step = sqlite3_step (stmt)) == SQLITE_ROW) {
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
    if (step != SQLITE_DONE) {
        //  A case without its history would read as a case with none
        hl_error ("case query: %s", hl_store_error (store));
        json_decref (history);
        json_decref (result);
        *code = HL_UNAVAILABLE;
        snprintf (error, size, "store error");
        return NULL;
    }
    json_object_set_new (result, "history", history);
    //  City: the evidence files that reached it, for this case and the
    //  ward case it was forwarded from (evidence_link.h)
    if (streq (hl_service_role (archive_service (self)), "city"))
        json_object_set_new (result, "evidence_files", evidence_link_files (store, query->case_id,
            json_string_value (json_object_get (result, "origin_case"))));
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

//  Run one page query of the list, appending its rows to result; the
//  number of rows appended, or -1
static int
s_list_page (archive_t *self, s_filter_t *filter, const char *extra, const char *order,
             uint32_t limit, uint32_t offset, json_t *result)
{
    char sql [2048];
    snprintf (sql, sizeof sql, "SELECT %s FROM cases%s%s ORDER BY %s LIMIT ?20 OFFSET ?21",
              s_case_columns, filter->sql, extra, order);
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self), sql);
    if (!stmt)
        return -1;
    s_filter_bind (filter, stmt);
    sqlite3_bind_int64 (stmt, 20, limit);
    sqlite3_bind_int64 (stmt, 21, offset);
    int count = 0, rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        json_array_append_new (result, s_case_summary (self, stmt, filter->now));
        count++;
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? count: -1;
}

static int64_t
s_list_count (archive_t *self, s_filter_t *filter, const char *extra)
{
    char sql [2048];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM cases%s%s", filter->sql, extra);
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self), sql);
    if (!stmt)
        return -1;
    s_filter_bind (filter, stmt);
    int64_t count = sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): -1;
    sqlite3_reset (stmt);
    return count;
}

//  list: a page of cases as a JSON array; count: {"count": N} for the same
//  filters (the list's total). order "due" is two index-ordered queries, the
//  cases with a running deadline by next due time, then the rest newest
//  first, so a page costs its rows, not a sort of every case.
static json_t *
s_query_list (archive_t *self, const Hotline__Query *query, bool count_only,
              int *code, char *error, size_t size)
{
    const char *order = query->order? query->order: "";
    if (strneq (order, "") && strneq (order, "due")) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "unknown order '%.32s' (\"\" newest first, or due)", order);
        return NULL;
    }
    if (query->text && strlen (query->text) > 200) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "the search text is longer than 200 bytes");
        return NULL;
    }
    s_filter_t filter;
    s_filter_build (&filter, query);
    json_t *result = NULL;
    if (count_only) {
        int64_t count = s_list_count (self, &filter, "");
        if (count >= 0) {
            result = json_object ();
            json_object_set_new (result, "count", json_integer (count));
        }
        s_filter_destroy (&filter);
        return result;
    }
    uint32_t limit = query->limit && query->limit <= 10000? query->limit: 1000;
    uint32_t offset = query->offset;
    const char *newest = "received_ms DESC, case_id DESC";
    result = json_array ();
    int rc = 0;
    if (streq (order, "due")) {
        rc = s_list_page (self, &filter, " AND next_due_ms IS NOT NULL", "next_due_ms, cases.rowid",
                          limit, offset, result);
        if (rc >= 0 && (uint32_t) rc < limit) {
            //  The cases with a deadline ran out on this page (rc > 0) or
            //  before it: the rest follow, newest first
            int64_t skip = 0;
            if (rc == 0 && offset > 0) {
                int64_t due = s_list_count (self, &filter, " AND next_due_ms IS NOT NULL");
                if (due < 0)
                    rc = -1;
                else
                    skip = (int64_t) offset > due? (int64_t) offset - due: 0;
            }
            if (rc >= 0)
                rc = s_list_page (self, &filter, " AND next_due_ms IS NULL", newest,
                                  limit - (uint32_t) rc, (uint32_t) skip, result);
        }
    }
    else
        rc = s_list_page (self, &filter, "", newest, limit, offset, result);
    s_filter_destroy (&filter);
    if (rc < 0)
        json_decref (result);
    return rc < 0? NULL: result;
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

//  "Còn tồn" (outstanding), the rule of the report: a case received in the
//  period is outstanding unless, at the end of the period, it is in a state
//  that counts as done or as forwarded. Both sets come from the procedure:
//  done = its final states and the states that the actions of its done
//  meaning lead to; forwarded = the states its forward meaning (the action
//  and variant) leads to. A forwarded case
//  is in the "forwarded" column (Chuyển Sở), not the ward's outstanding.
typedef struct {
    zlistx_t *done;             //  state names
    zlistx_t *forwarded;
} s_open_rule_t;

static void
s_add_state (zlistx_t *list, const char *state)
{
    if (state && *state && strneq (state, "=") && !zlistx_find (list, (void *) state))
        zlistx_add_end (list, (void *) state);
}

static void
s_open_rule_build (s_open_rule_t *rule, hl_procedure_t *procedure)
{
    rule->done = zlistx_new ();
    rule->forwarded = zlistx_new ();
    zlistx_set_duplicator (rule->done, (zlistx_duplicator_fn *) hl_strdup);
    zlistx_set_destructor (rule->done, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator (rule->done, (zlistx_comparator_fn *) strcmp);
    zlistx_set_duplicator (rule->forwarded, (zlistx_duplicator_fn *) hl_strdup);
    zlistx_set_destructor (rule->forwarded, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator (rule->forwarded, (zlistx_comparator_fn *) strcmp);
    json_t *spec = hl_procedure_json (procedure);
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (spec, "actions"), i, item) {
        const char *name = json_string_value (json_object_get (item, "name"));
        const char *variant = json_string_value (json_object_get (item, "variant"));
        const char *to = json_string_value (json_object_get (item, "to"));
        if (hl_procedure_means (procedure, "forward", name, variant))
            s_add_state (rule->forwarded, to);
        else
        if (hl_procedure_means (procedure, "done", name, variant))
            s_add_state (rule->done, to);
    }
    json_array_foreach (json_object_get (spec, "states"), i, item)
        if (streq (json_string_value (json_object_get (item, "kind")), "final"))
            s_add_state (rule->done, json_string_value (json_object_get (item, "name")));
    json_decref (spec);
}

static void
s_open_rule_destroy (s_open_rule_t *rule)
{
    zlistx_destroy (&rule->done);
    zlistx_destroy (&rule->forwarded);
}

//  The same rule for the city dashboard (archive_wards.c): the states that
//  count as done and as forwarded, from the procedure's meanings as the
//  report reads them. The caller destroys both lists.
void
archive_query_closed_states (archive_t *self, zlistx_t **done, zlistx_t **forwarded)
{
    s_open_rule_t rule;
    s_open_rule_build (&rule, hl_service_procedure (archive_service (self)));
    *done = rule.done;
    *forwarded = rule.forwarded;
}

//  The footnote that states the rule, in the report's words
static char *
s_open_rule_footnote (s_open_rule_t *rule, hl_procedure_t *procedure)
{
    char done [1024] = "", forwarded [512] = "";
    for (const char *state = (const char *) zlistx_first (rule->done); state;
         state = (const char *) zlistx_next (rule->done))
        snprintf (done + strlen (done), sizeof done - strlen (done), "%s\"%s\"",
                  *done? ", ": "", *hl_procedure_state_label (procedure, state)?
                  hl_procedure_state_label (procedure, state): state);
    for (const char *state = (const char *) zlistx_first (rule->forwarded); state;
         state = (const char *) zlistx_next (rule->forwarded))
        snprintf (forwarded + strlen (forwarded), sizeof forwarded - strlen (forwarded), "%s\"%s\"",
                  *forwarded? ", ": "", *hl_procedure_state_label (procedure, state)?
                  hl_procedure_state_label (procedure, state): state);
    return zsys_sprintf ("Còn tồn: phản ánh tiếp nhận trong kỳ mà đến hết kỳ báo cáo (đến nay, nếu kỳ"
                         " chưa hết) chưa ở một trong"
                         " các trạng thái %s. Phản ánh đã chuyển Sở (%s) tính ở cột \"Chuyển Sở\","
                         " không tính vào Còn tồn của đơn vị.", done, forwarded);
}

//  The state a case was in at until_ms: the last state its own events gave
//  it before then ("" if none; events about the Department's case, in a
//  ward's log under the ward's number, do not count). 0, or -1 on a store
//  error
static int
s_state_at (archive_t *self, const char *case_id, int64_t until_ms, char *state, size_t size)
{
    *state = 0;
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT event FROM log WHERE case_id = ? AND at_ms < ? ORDER BY seq DESC");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, until_ms);
    int step = SQLITE_DONE;
    while (!*state && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        Hotline__Event *event = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 0),
                                                        (const uint8_t *) sqlite3_column_blob (stmt, 0));
        if (event && event->case_id && streq (event->case_id, case_id) && event->to_state)
            snprintf (state, size, "%s", event->to_state);
        if (event)
            hotline__event__free_unpacked (event, NULL);
    }
    sqlite3_reset (stmt);
    return step == SQLITE_ROW || step == SQLITE_DONE? 0: -1;
}

//  Outstanding cases per group key (the report's rows), by the rule
//  (*copies: how many of them are the Department's cases for a forwarded
//  one, which the totals leave out)
static json_t *
s_open_counts (archive_t *self, s_open_rule_t *rule, const char *group, const Hotline__Query *query,
               int64_t until, int64_t *copies)
{
    *copies = 0;
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT %s, c.case_id, c.state, c.updated_ms, c.origin_case <> '' FROM cases c"
              " WHERE c.received_ms >= ?1 AND c.received_ms < ?2 AND (?3 = '' OR c.ward = ?3)", group);
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (hl_store_db (archive_store (self)), sql, -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, query->since_ms);
    sqlite3_bind_int64 (stmt, 2, until);
    sqlite3_bind_text (stmt, 3, query->ward? query->ward: "", -1, SQLITE_STATIC);
    json_t *counts = json_object ();
    int step;
    while ((step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *key = (const char *) sqlite3_column_text (stmt, 0);
        char state [64];
        snprintf (state, sizeof state, "%s", (const char *) sqlite3_column_text (stmt, 2));
        //  A case changed since the end of the period: its state back then
        if (sqlite3_column_int64 (stmt, 3) >= until
        &&  s_state_at (self, (const char *) sqlite3_column_text (stmt, 1), until, state, sizeof state)) {
            step = SQLITE_ERROR;
            break;
        }
        bool open = !zlistx_find (rule->done, state) && !zlistx_find (rule->forwarded, state);
        json_object_set_new (counts, key, json_integer (json_integer_value (json_object_get (counts, key)) + open));
        if (open && sqlite3_column_int (stmt, 4))
            (*copies)++;
    }
    sqlite3_finalize (stmt);
    if (step != SQLITE_DONE) {
        hl_error ("report query (open cases): %s", hl_store_error (archive_store (self)));
        json_decref (counts);
        return NULL;
    }
    return counts;
}

//  The periodic report: figures by pollution type for cases received in
//  [since, until). Which actions count as "verified", "resolved" ... comes
//  from the procedure's meanings (verified, accurate, resolved ...).
static json_t *
s_query_report (archive_t *self, const Hotline__Query *query)
{
    hl_config_t *config = hl_service_config (archive_service (self));
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    //  What counts, from the procedure's meanings (each declared by every
    //  procedure: checked on load)
    const char *accurate = "", *forward_to = "";
    const char *verified = hl_procedure_meaning (procedure, "verified", NULL);
    const char *accurate_action = hl_procedure_meaning (procedure, "accurate", &accurate);
    const char *resolved = hl_procedure_meaning (procedure, "resolved", NULL);
    const char *informed = hl_procedure_meaning (procedure, "informed", NULL);
    const char *forward = hl_procedure_meaning (procedure, "forward", &forward_to);
    const char *on_time = hl_procedure_meaning (procedure, "on_time", NULL);
    assert (verified && accurate_action && resolved && informed && forward && on_time);
    //  A ward reports by pollution type; the city, one row per ward
    bool by_ward = streq (hl_service_role (archive_service (self)), "city")
                && !(query->ward && *query->ward);
    const char *group = by_ward? "c.ward": "c.type";
    char sql [4096];
    snprintf (sql, sizeof sql,
        "SELECT %s, count(*),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?3)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?12 AND a.variant = ?4)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?5)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?6)),"
        " 0,"           //  open: s_open_counts
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?7 AND a.variant = ?8"
        "             AND a.first_ms < ?2)),"
        " sum(EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.case_id AND a.action = ?3)"
        "     AND EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.name = ?9"
        "             AND d.met_ms IS NOT NULL AND d.met_ms <= d.due_ms)),"
        " sum(EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.name = ?9"
        "             AND ((d.met_ms IS NULL AND d.due_ms < ?10) OR d.met_ms > d.due_ms)))"
        " , c.origin_case <> ''"
        " FROM cases c WHERE c.received_ms >= ?1 AND c.received_ms < ?2 AND (?11 = '' OR c.ward = ?11)"
        " GROUP BY %s, c.origin_case <> '' ORDER BY %s, c.origin_case <> ''", group, group, group);
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
    sqlite3_bind_text (stmt, 12, accurate_action, -1, SQLITE_STATIC);
    const char *figures [] = { "received", "verified", "accurate", "resolved", "informed",
                               "open", "forwarded", "verified_on_time", "verified_late", NULL };
    json_t *rows = json_array ();
    json_t *totals = json_object ();
    for (int i = 0; figures [i]; i++)
        json_object_set_new (totals, figures [i], json_integer (0));
    //  A case forwarded to the Department is in the city's archive twice:
    //  the ward's case (counted "Chuyển Sở") and the Department's own case
    //  for it (origin_case set), in the Department's row. The row shows
    //  the Department's workload; the totals count each case once, the
    //  ward's, as the dashboard does
    int step;
    json_t *row = NULL;
    while ((step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *key = (const char *) sqlite3_column_text (stmt, 0);
        bool copy = by_ward && sqlite3_column_int (stmt, 10) != 0;
        if (row && streq (json_string_value (json_object_get (row, by_ward? "ward": "type")), key)) {
            for (int i = 0; figures [i]; i++) {
                int64_t value = sqlite3_column_int64 (stmt, 1 + i);
                json_object_set_new (row, figures [i],
                    json_integer (json_integer_value (json_object_get (row, figures [i])) + value));
                if (!copy)
                    json_object_set_new (totals, figures [i],
                        json_integer (json_integer_value (json_object_get (totals, figures [i])) + value));
            }
            continue;
        }
        row = json_object ();
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
            if (!copy)
                json_object_set_new (totals, figures [i],
                    json_integer (json_integer_value (json_object_get (totals, figures [i])) + value));
        }
        json_array_append_new (rows, row);
    }
    sqlite3_finalize (stmt);
    if (step != SQLITE_DONE) {
        //  Not a report with fewer rows: no report
        hl_error ("report query: %s", hl_store_error (archive_store (self)));
        json_decref (rows);
        json_decref (totals);
        return NULL;
    }
    //  Còn tồn, by the rule, as at the end of the period
    s_open_rule_t rule;
    s_open_rule_build (&rule, procedure);
    int64_t until = query->until_ms? query->until_ms: INT64_MAX;
    int64_t open_copies;
    json_t *open = s_open_counts (self, &rule, group, query, until, &open_copies);
    if (!open) {
        s_open_rule_destroy (&rule);
        json_decref (rows);
        json_decref (totals);
        return NULL;
    }
    int64_t open_total = 0;
    size_t index;
    json_array_foreach (rows, index, row) {
        const char *key = json_string_value (json_object_get (row, by_ward? "ward": "type"));
        int64_t value = json_integer_value (json_object_get (open, key));
        json_object_set_new (row, "open", json_integer (value));
        open_total += value;
    }
    json_object_set_new (totals, "open", json_integer (open_total - (by_ward? open_copies: 0)));
    json_decref (open);
    json_t *result = json_object ();
    char *footnote = s_open_rule_footnote (&rule, procedure);
    if (by_ward) {
        char *more = zsys_sprintf ("%s Dòng của Sở là việc Sở tự xử lý, gồm các hồ sơ Sở mở cho phản ánh"
                                   " phường/xã chuyển lên; Tổng cộng tính mỗi phản ánh một lần (phản ánh"
                                   " đã chuyển Sở tính ở dòng phường/xã, cột \"Chuyển Sở\"), không cộng"
                                   " thêm các hồ sơ ấy.", footnote);
        zstr_free (&footnote);
        footnote = more;
    }
    json_object_set_new (result, "footnote", json_string (footnote));
    zstr_free (&footnote);
    json_t *open_rule = json_object ();
    json_t *names = json_array ();
    for (const char *state = (const char *) zlistx_first (rule.done); state;
         state = (const char *) zlistx_next (rule.done))
        json_array_append_new (names, json_string (state));
    json_object_set_new (open_rule, "done_states", names);
    names = json_array ();
    for (const char *state = (const char *) zlistx_first (rule.forwarded); state;
         state = (const char *) zlistx_next (rule.forwarded))
        json_array_append_new (names, json_string (state));
    json_object_set_new (open_rule, "forwarded_states", names);
    json_object_set_new (open_rule, "as_of_ms", json_integer (until));
    json_object_set_new (result, "open_rule", open_rule);
    s_open_rule_destroy (&rule);
    json_object_set_new (result, "ward", json_string (hl_service_ward (archive_service (self))));
    //  Who issues the report: a ward's People's Committee, or at the city
    //  the Department (report.js and the CLI word it from this)
    json_object_set_new (result, "role", json_string (hl_service_role (archive_service (self))));
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

//  list_detail: the list's page (the same filters, order and paging), each
//  row with what Open311 shows of a case (web_open311.c): "report" without
//  the reporter, and "informed_note", the note of its last action of the
//  procedure's informed meaning (null before one). One query answers a
//  page, where a case query per row was a round trip each.
static json_t *
s_query_list_detail (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size)
{
    json_t *rows = s_query_list (self, query, false, code, error, size);
    if (!rows)
        return NULL;
    hl_store_t *store = archive_store (self);
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    sqlite3_stmt *report = hl_store_prepare (store, "SELECT report FROM cases WHERE case_id = ?");
    sqlite3_stmt *events = hl_store_prepare (store, "SELECT event FROM log WHERE case_id = ? ORDER BY seq DESC");
    bool ok = report && events;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (!ok)
            break;
        const char *case_id = json_string_value (json_object_get (row, "case_id"));
        sqlite3_bind_text (report, 1, case_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step (report);
        if (rc == SQLITE_ROW && sqlite3_column_type (report, 0) == SQLITE_BLOB) {
            Hotline__Event *submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (report, 0),
                                                             (const uint8_t *) sqlite3_column_blob (report, 0));
            if (submit && submit->report)
                json_object_set_new (row, "report", hl_report_to_json (submit->report, true));
            if (submit)
                hotline__event__free_unpacked (submit, NULL);
        }
        sqlite3_reset (report);
        ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
        json_t *note = json_null ();
        sqlite3_bind_text (events, 1, case_id, -1, SQLITE_STATIC);
        while (ok && json_is_null (note) && (rc = sqlite3_step (events)) == SQLITE_ROW) {
            Hotline__Event *event = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (events, 0),
                                                            (const uint8_t *) sqlite3_column_blob (events, 0));
            if (event && event->note && *event->note
            &&  hl_procedure_means (procedure, "informed", event->action, event->variant? event->variant: ""))
                note = json_string (event->note);
            if (event)
                hotline__event__free_unpacked (event, NULL);
        }
        ok = ok && (rc == SQLITE_ROW || rc == SQLITE_DONE);
        sqlite3_reset (events);
        json_object_set_new (row, "informed_note", note);
    }
    if (!ok) {
        hl_error ("list_detail: %s", hl_store_error (store));
        json_decref (rows);
        return NULL;
    }
    return rows;
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
        result = s_query_list (self, query, false, code, error, size);
    else
    if (streq (kind, "count"))
        result = s_query_list (self, query, true, code, error, size);
    else
    if (streq (kind, "list_detail"))
        result = s_query_list_detail (self, query, code, error, size);
    else
    if (streq (kind, "filing"))
        result = archive_filings_query (self, query, code, error, size);
    else
    if (streq (kind, "filing_ward"))
        result = archive_filings_ward_query (self, query, code, error, size);
    else
    if (streq (kind, "report"))
        result = s_query_report (self, query);
    else
    if (archive_wards_kind (kind))
        result = archive_wards_query (self, query, code, error, size);
    else {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "unknown query kind '%.32s' (case, list, list_detail, count, report, filing, filing_ward, wards, charts, map)", kind);
        return NULL;
    }
    if (!result) {
        if (*code == HL_OK) {
            *code = HL_UNAVAILABLE;
            snprintf (error, size, "the archive could not answer: %s", hl_store_error (archive_store (self)));
        }
        return NULL;
    }
    //  Each time as UTC ms (programs) and as ISO 8601 with the node's offset
    hl_clock_json_times (result);
    char *text = json_dumps (result, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
    json_decref (result);
    return text;
}
