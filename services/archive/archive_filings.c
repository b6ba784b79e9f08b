/*  archive_filings — the city's filings at its wards (federation.h,
 *  "Filing"): the table filings, written inside the archive's apply
 *  transactions, and the query kind "filing".
 *
 *      filing_id   the filing's request id ("file-<32 hex>"), the Open311
 *                  token and the key of a public tracking link at the city
 *      ward        where it is filed
 *      action      the command's action (the procedure's)
 *      at_ms       when the city's intake took it
 *      case_id     the ward's case: for a new report, filled in when the
 *                  ward's stream brings the case's first event (whose
 *                  request id is the filing id); for an action, its case
 *      filed_ms    when that event happened at the ward (0: not yet)
 *      refused_code, refused_reason, refused_field, refused_ms
 *                  the ward's intake refused it (refused_ms 0: not refused):
 *                  its reply code, error and field, from the ward's node-
 *                  level event HL_ACTION_FILING_REFUSED (written once, with
 *                  the filing id as request id); final, never retried
 *
 *  Nothing personal: the report travels in the "file" event only.
 *
 *  filing_wards (step 12): the wards that have shown they take filings
 *  (federation.h, "Filing", Upgrades), written by the federation the first
 *  time a ward's archive pulls its evidence stream; the query kind
 *  "filing_ward" the web asks before it files (one ward), and for the
 *  public form's list of wards (all of them, no text).
 */
#include "hotline.h"
#include "archive.h"

//  archive.db's step 8 (archive.c; frozen). IF NOT EXISTS: the table was
//  made at start-up, outside the versions, for a while before it was a step
const char archive_filings_schema [] =
    "CREATE TABLE IF NOT EXISTS filings ("
    "  filing_id TEXT PRIMARY KEY, ward TEXT NOT NULL, action TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL, case_id TEXT NOT NULL DEFAULT '',"
    "  filed_ms INTEGER NOT NULL DEFAULT 0);";

//  archive.db's step 9 (archive.c; frozen): a filing the ward refused. A
//  function, not an ALTER: a store set back to before versions (user_version
//  0) runs every step again and has the columns already
int
archive_filings_add_refused (hl_store_t *store, void *arg)
{
    (void) arg;
    if (hl_store_int (store, "SELECT count(*) FROM pragma_table_info ('filings')"
                             " WHERE name = 'refused_ms'", -1) != 0)
        return 0;
    return hl_store_exec (store,
        "ALTER TABLE filings ADD COLUMN refused_code INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE filings ADD COLUMN refused_reason TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE filings ADD COLUMN refused_field TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE filings ADD COLUMN refused_ms INTEGER NOT NULL DEFAULT 0;");
}

//  archive.db's step 12 (archive.c; frozen)
const char archive_filings_wards_schema [] =
    "CREATE TABLE IF NOT EXISTS filing_wards ("
    "  ward TEXT PRIMARY KEY, since_ms INTEGER NOT NULL);";

int
archive_filings_refused (archive_t *self, const Hotline__Event *event)
{
    if (!hl_filing_id_valid (event->request_id))
        return 0;
    //  Only the ward it was filed at (s_apply_ward: the event is of the
    //  ward whose key sent it), and only a filing not filed: the first word
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "UPDATE filings SET refused_code = ?, refused_reason = ?, refused_field = ?, refused_ms = ?"
        " WHERE filing_id = ? AND ward = ? AND case_id = '' AND refused_ms = 0");
    if (!stmt)
        return -1;
    int code = atoi (hl_event_arg (event, "code"));
    sqlite3_bind_int (stmt, 1, code? code: HL_BAD_INPUT);
    sqlite3_bind_text (stmt, 2, hl_event_arg (event, "reason"), -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, hl_event_arg (event, "field"), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, event->at_ms > 0? event->at_ms: 1);
    sqlite3_bind_text (stmt, 5, event->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 6, event->ward, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("archive: cannot record that filing %s was refused: %s", event->request_id,
                  hl_store_error (archive_store (self)));
        return -1;
    }
    if (sqlite3_changes (hl_store_db (archive_store (self))))
        hl_warn ("filing %s was refused by ward %s: %s", event->request_id, event->ward,
                 hl_event_arg (event, "reason"));
    return 0;
}

int
archive_filings_queued (archive_t *self, const Hotline__Event *event)
{
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "INSERT OR IGNORE INTO filings (filing_id, ward, action, at_ms, case_id, filed_ms)"
        " VALUES (?, ?, ?, ?, ?, CASE WHEN ?5 <> '' THEN ?4 ELSE 0 END)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event->ward, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, hl_event_arg (event, "file_action"), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, event->at_ms);
    sqlite3_bind_text (stmt, 5, hl_event_arg (event, "file_case"), -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("archive: cannot record filing %s: %s", event->request_id,
                  hl_store_error (archive_store (self)));
        return -1;
    }
    return 0;
}

int
archive_filings_filed (archive_t *self, const Hotline__Event *event)
{
    if (!hl_filing_id_valid (event->request_id))
        return 0;
    //  Only the ward it was filed at can answer it (s_apply_ward checked
    //  that the event is of the ward whose key sent it)
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "UPDATE filings SET case_id = ?, filed_ms = ? WHERE filing_id = ? AND ward = ? AND case_id = ''");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, event->at_ms);
    sqlite3_bind_text (stmt, 3, event->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, event->ward, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("archive: cannot record where filing %s went: %s", event->request_id,
                  hl_store_error (archive_store (self)));
        return -1;
    }
    return 0;
}

json_t *
archive_filings_query (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size)
{
    const char *id = query->text? query->text: "";
    if (!hl_filing_id_valid (id)) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "'%.40s' is not a filing id (%s and 32 hex digits)", id, HL_FILING_PREFIX);
        return NULL;
    }
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT ward, action, at_ms, case_id, filed_ms, refused_code, refused_reason, refused_field,"
        " refused_ms FROM filings WHERE filing_id = ?");
    if (!stmt)
        return NULL;            //  a store error: 503
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    json_t *result = NULL;
    if (rc == SQLITE_ROW) {
        const char *case_id = (const char *) sqlite3_column_text (stmt, 3);
        result = json_pack ("{s:s, s:s, s:s, s:I}", "filing_id", id,
                            "ward", (const char *) sqlite3_column_text (stmt, 0),
                            "action", (const char *) sqlite3_column_text (stmt, 1),
                            "at_ms", (json_int_t) sqlite3_column_int64 (stmt, 2));
        json_object_set_new (result, "case_id", case_id && *case_id? json_string (case_id): json_null ());
        if (sqlite3_column_int64 (stmt, 4))
            json_object_set_new (result, "filed_ms", json_integer (sqlite3_column_int64 (stmt, 4)));
        if (sqlite3_column_int64 (stmt, 8))
            json_object_set_new (result, "refused", json_pack ("{s:i, s:s, s:s, s:I}",
                "code", sqlite3_column_int (stmt, 5),
                "reason", (const char *) sqlite3_column_text (stmt, 6),
                "field", (const char *) sqlite3_column_text (stmt, 7),
                "at_ms", (json_int_t) sqlite3_column_int64 (stmt, 8)));
    }
    else
    if (rc == SQLITE_DONE) {
        *code = HL_NOT_FOUND;
        snprintf (error, size, "unknown filing %s", id);
    }
    else
        hl_error ("archive: filing query: %s", hl_store_error (archive_store (self)));
    sqlite3_reset (stmt);
    return result;
}

//  Every ward recorded: {"wards": {"<code>": since_ms}}, or NULL (a store
//  error, logged). A few dozen rows at most: one per ward of the city
static json_t *
s_filing_wards (archive_t *self)
{
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT ward, since_ms FROM filing_wards ORDER BY ward");
    if (!stmt)
        return NULL;
    json_t *wards = json_object ();
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        json_object_set_new (wards, (const char *) sqlite3_column_text (stmt, 0),
                             json_integer ((json_int_t) sqlite3_column_int64 (stmt, 1)));
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("archive: filing_ward query: %s", hl_store_error (archive_store (self)));
        json_decref (wards);
        return NULL;
    }
    return json_pack ("{s:o}", "wards", wards);
}

json_t *
archive_filings_ward_query (archive_t *self, const Hotline__Query *query, int *code, char *error,
                            size_t size)
{
    const char *ward = query->text? query->text: "";
    if (!*ward)
        return s_filing_wards (self);
    if (strlen (ward) > 20 || !hl_utf8_valid (ward, strlen (ward))) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "the query's text must be a ward code");
        return NULL;
    }
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT since_ms FROM filing_wards WHERE ward = ?");
    if (!stmt)
        return NULL;            //  a store error: 503
    sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    json_t *result = NULL;
    if (rc == SQLITE_ROW)
        result = json_pack ("{s:s, s:I}", "ward", ward, "since_ms",
                            (json_int_t) sqlite3_column_int64 (stmt, 0));
    else
    if (rc == SQLITE_DONE) {
        *code = HL_NOT_FOUND;
        snprintf (error, size, "ward %s has not shown it takes filings (it runs the previous release)",
                  ward);
    }
    else
        hl_error ("archive: filing_ward query: %s", hl_store_error (archive_store (self)));
    sqlite3_reset (stmt);
    return result;
}
