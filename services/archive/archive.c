/*  archive — the node's system of record. See archive.h.
 *
 *    s_apply            one batch from intake (or a ward): append to the log,
 *                       update the case views and deadlines, move the
 *                       cursor; one transaction; then wake the feed
 *    s_query_readable   answer queries (archive_query.c builds the JSON)
 *    s_fetch            serve the log to consumers
 */
#include "hotline.h"
#include "archive.h"
#include "federation.h"
#include "federation_guard.h"
#include "evidence_link.h"

//  Step 1 of archive.db: the schema of the last unversioned release
static const char s_schema [] =
    "CREATE TABLE IF NOT EXISTS log ("
    "  seq INTEGER PRIMARY KEY, origin TEXT NOT NULL, origin_seq INTEGER NOT NULL,"
    "  case_id TEXT NOT NULL, ward TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  action TEXT NOT NULL, event BLOB NOT NULL, UNIQUE (origin, origin_seq));"
    "CREATE INDEX IF NOT EXISTS log_case ON log (case_id, seq);"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  case_id TEXT PRIMARY KEY, ward TEXT NOT NULL, state TEXT NOT NULL,"
    "  regime TEXT NOT NULL, type TEXT NOT NULL, scope TEXT NOT NULL,"
    "  channel TEXT NOT NULL, urgent INTEGER NOT NULL, anonymous INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  assignee TEXT NOT NULL DEFAULT '', duplicate_of TEXT NOT NULL DEFAULT '',"
    "  location TEXT NOT NULL, redacted INTEGER NOT NULL DEFAULT 0, report BLOB,"
    "  origin_case TEXT NOT NULL DEFAULT '', origin_ward TEXT NOT NULL DEFAULT '',"
    "  department_case TEXT NOT NULL DEFAULT '', department_state TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS cases_received ON cases (received_ms);"
    "CREATE INDEX IF NOT EXISTS cases_state ON cases (state);"
    "CREATE TABLE IF NOT EXISTS case_actions ("
    "  case_id TEXT NOT NULL, action TEXT NOT NULL, variant TEXT NOT NULL,"
    "  first_ms INTEGER NOT NULL, PRIMARY KEY (case_id, action, variant));"
    "CREATE TABLE IF NOT EXISTS hop_cursor (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS return_outbox ("
    "  ward TEXT NOT NULL, seq INTEGER NOT NULL, event BLOB NOT NULL, PRIMARY KEY (ward, seq));"
    "CREATE TABLE IF NOT EXISTS directory ("
    "  ward TEXT PRIMARY KEY, ward_name TEXT NOT NULL, node TEXT NOT NULL,"
    "  focal_points TEXT NOT NULL, updated_ms INTEGER NOT NULL);";

//  archive.db's schema versions (hl_store_migrate): append, never edit.
//  Steps 2 to 5 are what the previous release made outside the versions,
//  so its stores (at version 1) may have them: each looks first (IF NOT
//  EXISTS, or a function). The functions take the archive as arg.
//    2  the deadlines' tables (hl_deadline)
//    3  the case list's next_due_ms, next_deadline (archive_query.c)
//    4  the case list's search index, cases_fts (archive_query.c)
//    5  the city dashboard's figures (archive_wards.c; the city only)
//    6  the city dashboard's (state, ward) index, in place of the state
//       one (archive_wards.c; the city only)
//    7  a ward's refusal to send the city a log behind its cursor
//       (federation_guard.h)
//    8  the city's filings at its wards (archive_filings.c)
//    9  a refused filing (archive_filings.c)
//    10 the evidence of forwarded cases: a ward's outbox of pieces, the
//       city's files (evidence_link.h)
//    11 the city's filings' files, queued per ward (evidence_link.h)
//    12 the wards that have shown they take filings (archive_filings.c)
static const hl_store_migration_t s_migrations [] = {
    { 1, s_schema, NULL },
    { 2, hl_deadline_schema, NULL },
    { 3, NULL, archive_query_add_due },
    { 4, NULL, archive_query_add_search },
    { 5, NULL, archive_wards_add_figures },
    { 6, NULL, archive_wards_add_ward_indexes },
    { 7, federation_guard_schema, NULL },
    { 8, archive_filings_schema, NULL },
    { 9, NULL, archive_filings_add_refused },
    { 10, evidence_link_schema, NULL },
    { 11, evidence_link_filings_schema, NULL },
    { 12, archive_filings_wards_schema, NULL },
    { 0, NULL, NULL }
};

struct _archive_t {
    hl_service_t *service;
    hl_procedure_t *procedure;
    hl_store_t *store;
    zsock_t *query;             //  ROUTER: queries, direct or relayed by intake
    hl_hop_receiver_t *from_intake;
    hl_hop_sender_t *feed;      //  stream "log"
    federation_t *federation;   //  ward <-> city links
    hl_clone_pub_t *monitor;    //  city: the live aggregated stream
    bool city;
    uint64_t last_seq;
    bool returns_queued;        //  city: return items written in this batch
    bool in_group;              //  a group transaction is open (archive_group_begin)
    bool group_lost;            //  SQLite rolled the group's transaction back
    uint64_t group_seq_before;  //  last_seq when it opened
    hl_ratelimit_t rl_bad;      //  bad input: one log line a second
};

hl_store_t *archive_store (archive_t *self) { return self->store; }
hl_service_t *archive_service (archive_t *self) { return self->service; }

// ---------------------------------------------------------------- apply

static int
s_step (sqlite3_stmt *stmt)
{
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

//  Derive the case view from one event
static int
s_update_case (archive_t *self, const Hotline__Event *event, const uint8_t *data, size_t size)
{
    sqlite3_stmt *stmt;
    //  Only the event that creates the case makes its row: the forwarding
    //  event also carries the report (for the Department), and is a change
    if (event->report && (!event->from_state || !*event->from_state)) {
        const Hotline__Report *report = event->report;
        stmt = hl_store_prepare (self->store,
            "INSERT OR IGNORE INTO cases (case_id, ward, state, regime, type, scope, channel,"
            " urgent, anonymous, received_ms, updated_ms, location, redacted, report,"
            " origin_case, origin_ward)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, event->ward, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, event->to_state, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, event->regime, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 5, hl_type_name (report->type), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 6, hl_scope_name (report->scope), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 7, hl_channel_name (report->channel), -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 8, report->urgent);
        sqlite3_bind_int (stmt, 9, report->reporter && report->reporter->anonymous);
        sqlite3_bind_int64 (stmt, 10, report->received_ms);
        sqlite3_bind_int64 (stmt, 11, event->at_ms);
        sqlite3_bind_text (stmt, 12, report->location, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 13, event->redacted);
        sqlite3_bind_blob (stmt, 14, data, (int) size, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 15, hl_event_arg (event, "origin_case"), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 16, hl_event_arg (event, "origin_ward"), -1, SQLITE_STATIC);
        if (s_step (stmt))
            return -1;
        //  A new row: index its text for the case list's search
        if (sqlite3_changes (hl_store_db (self->store)) == 1
        &&  archive_query_case_created (self, event, sqlite3_last_insert_rowid (hl_store_db (self->store))))
            return -1;
    }
    else {
        stmt = hl_store_prepare (self->store,
            "UPDATE cases SET state = ?, updated_ms = ?,"
            " assignee = CASE WHEN ?3 <> '' THEN ?3 ELSE assignee END,"
            " duplicate_of = CASE WHEN ?4 <> '' THEN ?4 ELSE duplicate_of END"
            " WHERE case_id = ?5");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->to_state, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, event->at_ms);
        sqlite3_bind_text (stmt, 3, hl_event_arg (event, "to"), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, hl_event_arg (event, "of"), -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 5, event->case_id, -1, SQLITE_STATIC);
        if (s_step (stmt))
            return -1;
    }
    stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO case_actions (case_id, action, variant, first_ms) VALUES (?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event->action, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, event->variant? event->variant: "", -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, event->at_ms);
    if (s_step (stmt))
        return -1;
    if (hl_deadline_apply (self->store, self->procedure, event))
        return -1;
    //  The case list's next deadline, once the deadlines have moved
    return archive_query_case_changed (self, event);
}

//  A ward's focal points: one row per ward, the newest wins
static int
s_update_directory (archive_t *self, const Hotline__Event *event)
{
    json_t *points = json_array ();
    for (size_t i = 0; i < event->n_focal_points; i++) {
        const Hotline__FocalPoint *point = event->focal_points [i];
        json_t *row = json_object ();
        json_object_set_new (row, "unit", json_string (point->unit));
        json_object_set_new (row, "receiving_phone", json_string (point->receiving_phone));
        json_object_set_new (row, "receiving_email", json_string (point->receiving_email));
        json_object_set_new (row, "handling_phone", json_string (point->handling_phone));
        json_object_set_new (row, "handling_email", json_string (point->handling_email));
        json_object_set_new (row, "note", json_string (point->note));
        json_array_append_new (points, row);
    }
    char *text = json_dumps (points, JSON_COMPACT);
    json_decref (points);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO directory (ward, ward_name, node, focal_points, updated_ms) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (ward) DO UPDATE SET ward_name = excluded.ward_name, node = excluded.node,"
        " focal_points = excluded.focal_points, updated_ms = excluded.updated_ms"
        " WHERE excluded.updated_ms >= directory.updated_ms");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, event->ward, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, event->ward_name, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, event->origin, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, event->at_ms);
        rc = s_step (stmt);
    }
    free (text);
    return rc;
}

//  The city's event about a Department case, at the ward that forwarded it:
//  shown in the history of the ward's own case
static int
s_update_department (archive_t *self, const Hotline__Event *event, const char *local_case)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE cases SET department_case = ?, department_state = ?, updated_ms = ?"
        " WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event->to_state, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, event->at_ms);
    sqlite3_bind_text (stmt, 4, local_case, -1, SQLITE_STATIC);
    return s_step (stmt);
}

//  City: an event of our own about a Department case goes back to the ward
static int
s_maybe_return (archive_t *self, const Hotline__Event *event)
{
    if (!self->city || !event->origin || strneq (event->origin, hl_service_node (self->service)))
        return 0;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT origin_ward, origin_case FROM cases WHERE case_id = ? AND origin_ward <> ''");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    int rc = 0;
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW) {
        char ward [32], ward_case [40];
        snprintf (ward, sizeof ward, "%s", (const char *) sqlite3_column_text (stmt, 0));
        snprintf (ward_case, sizeof ward_case, "%s", (const char *) sqlite3_column_text (stmt, 1));
        sqlite3_reset (stmt);
        rc = federation_queue_return (self->federation, event, ward, ward_case);
        if (rc == 0)
            self->returns_queued = true;
    }
    else {
        sqlite3_reset (stmt);
        if (step != SQLITE_DONE) {
            //  Not "no origin ward": the batch fails, so the return is not lost
            hl_error ("archive: cannot read the origin of %s: %s", event->case_id,
                      hl_store_error (self->store));
            rc = -1;
        }
    }
    return rc;
}

//  City: our intake's filing at a ward (federation.h, "Filing"): recorded,
//  and queued whole on that ward's return stream (its files on that ward's
//  evidence stream), in this transaction. A "file" event anywhere else (a
//  ward's stream: wards file nothing at the city) stays in the log as it
//  came and does nothing. 0 or -1.
static int
s_filing (archive_t *self, const Hotline__Event *event, const uint8_t *data, size_t size,
          const char *origin)
{
    if (!self->city || strneq (origin, hl_service_node (self->service))) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("a filing from %s is not ours to carry: ignored (%ld similar suppressed)",
                     origin, suppressed);
        return 0;
    }
    if (archive_filings_queued (self, event)
    ||  federation_queue_filing (self->federation, event, data, size))
        return -1;
    self->returns_queued = true;
    return 0;
}

//  Append one event to the log. 1 if it was new, 0 if a duplicate, -1 on
//  error. local_case: for the city's events about a Department case, the
//  ward's own case number (NULL otherwise)
static int
s_append (archive_t *self, const Hotline__Event *event, const uint8_t *data, size_t size,
          const char *origin, const char *local_case)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO log (seq, origin, origin_seq, case_id, ward, at_ms, action, event)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) self->last_seq + 1);
    sqlite3_bind_text (stmt, 2, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) event->seq);
    sqlite3_bind_text (stmt, 4, local_case? local_case: event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, event->ward, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 6, event->at_ms);
    sqlite3_bind_text (stmt, 7, event->action, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 8, data, (int) size, SQLITE_STATIC);
    if (s_step (stmt))
        return -1;
    if (sqlite3_changes (hl_store_db (self->store)) == 0)
        return 0;
    self->last_seq++;
    if (!*event->case_id) {
        //  A node-level event
        if (streq (event->action, HL_ACTION_DIRECTORY))
            return s_update_directory (self, event) == 0? 1: -1;
        if (streq (event->action, HL_ACTION_FILE))
            return s_filing (self, event, data, size, origin) == 0? 1: -1;
        //  A ward refused the city's filing: the filing's answer
        if (streq (event->action, HL_ACTION_FILING_REFUSED) && self->city
        &&  strncmp (origin, "ward:", 5) == 0)
            return archive_filings_refused (self, event) == 0? 1: -1;
        return 1;
    }
    if (local_case)
        return s_update_department (self, event, local_case) == 0? 1: -1;
    //  A ward's case the city filed there: the filing's answer
    if (self->city && strncmp (origin, "ward:", 5) == 0 && event->report
    &&  (!event->from_state || !*event->from_state) && archive_filings_filed (self, event))
        return -1;
    if (s_update_case (self, event, data, size) || s_maybe_return (self, event))
        return -1;
    //  Ward: a forwarded case's files leave with it (the case row and its
    //  actions are current now)
    if (!self->city && federation_queue_evidence (self->federation, event))
        return -1;
    return 1;
}

int
archive_cursor (void *arg, const char *stream, uint64_t *cursor)
{
    archive_t *self = (archive_t *) arg;
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT seq FROM hop_cursor WHERE stream = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, stream, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    *cursor = rc == SQLITE_ROW? (uint64_t) sqlite3_column_int64 (stmt, 0): 0;
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        //  -1, not cursor 0: that would ask for a full replay
        hl_error ("archive: cannot read the %s cursor: %s", stream, hl_store_error (self->store));
        return -1;
    }
    return 0;
}

//  City: publish what this batch appended on the live stream (redacted by
//  the publisher)
static void
s_publish (archive_t *self, uint64_t seq_before)
{
    if (!self->monitor)
        return;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT seq, event FROM log WHERE seq > ? ORDER BY seq");
    if (!stmt)
        return;             //  subscribers repair the gap from the snapshot
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) seq_before);
    while (sqlite3_step (stmt) == SQLITE_ROW)
        hl_clone_pub_publish (self->monitor, (uint64_t) sqlite3_column_int64 (stmt, 0),
                              (const uint8_t *) sqlite3_column_blob (stmt, 1),
                              (size_t) sqlite3_column_bytes (stmt, 1));
    sqlite3_reset (stmt);
}

//  After a commit that appended events (from seq_before on): wake the
//  node's consumers and the links, publish on the live stream
static void
s_committed (archive_t *self, uint64_t seq_before)
{
    if (self->last_seq != seq_before) {
        hl_hop_sender_notify (self->feed);
        federation_notify (self->federation);
        s_publish (self, seq_before);
    }
    if (self->returns_queued)
        federation_notify_return (self->federation);
    self->returns_queued = false;
}

//  Apply one batch of a stream in one transaction, or, inside a group
//  (archive_group_begin), in a savepoint of the group's transaction.
//  origin: who the log records as the events' origin (the authenticated
//  stream, not what the payload claims; NULL: the payload's origin, for
//  our own intake). returned: the city's events about the Department cases
//  this ward forwarded. each: items that are not events (a ward's evidence
//  pieces), each applied by each (each_arg, item) instead
static int
s_apply_batch (archive_t *self, const char *stream, const char *origin,
               const hl_hop_item_t *items, size_t count, bool returned,
               int (*each) (void *, const hl_hop_item_t *), void *each_arg)
{
    uint64_t seq_before = self->last_seq;
    bool returns_before = self->returns_queued;
    if (self->in_group && (self->group_lost || sqlite3_get_autocommit (hl_store_db (self->store)))) {
        //  An I/O error rolls back the whole transaction, not one savepoint:
        //  a SAVEPOINT now would open (and its RELEASE commit) a transaction
        //  of its own, outside the group that is about to be rewound
        self->group_lost = true;
        return -1;
    }
    if (self->in_group? hl_store_exec (self->store, "SAVEPOINT batch"): hl_store_begin (self->store))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0 && each; i++)
        rc = each (each_arg, &items [i]);
    for (size_t i = 0; i < count && rc == 0 && !each; i++) {
        const char *reason = "malformed";
        Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
        if (!event || hl_msg_check (&event->base, &reason) || !event->origin || !*event->origin
        ||  !event->action || !*event->action
        ||  ((!event->case_id || !*event->case_id) && strneq (event->action, HL_ACTION_DIRECTORY)
             && strneq (event->action, HL_ACTION_FILE)
             && strneq (event->action, HL_ACTION_FILING_REFUSED))) {
            hl_error ("stream %s item %" PRIu64 " is not a valid event (%s): skipped",
                      stream, items [i].seq, reason);
            if (event)
                hotline__event__free_unpacked (event, NULL);
            continue;
        }
        const char *local_case = returned? hl_event_arg (event, "origin_case"): NULL;
        if (returned && !*event->case_id && streq (event->action, HL_ACTION_FILE))
            ;   //  a filing: done by our intake (federation.c, s_file), in our log as its event
        else
        if (returned && !*local_case)
            hl_warn ("return stream item %" PRIu64 " names no ward case: skipped", items [i].seq);
        else
        if (origin && streq (event->origin, hl_service_node (self->service)))
            ;   //  our own event echoed back by a ward: we have it
        else
            rc = s_append (self, event, items [i].data, items [i].size,
                           origin? origin: event->origin, local_case) < 0? -1: 0;
        hotline__event__free_unpacked (event, NULL);
    }
    if (rc == 0) {
        sqlite3_stmt *stmt = hl_store_prepare (self->store,
            "INSERT INTO hop_cursor (stream, seq) VALUES (?, ?)"
            " ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq");
        if (stmt) {
            sqlite3_bind_text (stmt, 1, stream, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) items [count - 1].seq);
            rc = s_step (stmt);
        }
        else
            rc = -1;
    }
    if (self->in_group) {
        if (rc == 0 && hl_store_exec (self->store, "RELEASE batch") == 0)
            return 0;           //  durable when the group commits
        if (hl_store_exec (self->store, "ROLLBACK TO batch")
        ||  hl_store_exec (self->store, "RELEASE batch")) {
            hl_error ("stream %s: cannot roll back a failed batch inside its group", stream);
            self->group_lost = true;    //  the group fails as a whole
        }
        self->last_seq = seq_before;
        self->returns_queued = returns_before;
        return -1;
    }
    if (rc || hl_store_commit (self->store)) {
        hl_store_rollback (self->store);
        self->last_seq = seq_before;
        self->returns_queued = false;
        return -1;
    }
    s_committed (self, seq_before);
    return 0;
}

int
archive_group_begin (void *arg)
{
    archive_t *self = (archive_t *) arg;
    assert (!self->in_group);
    if (hl_store_begin (self->store))
        return -1;
    self->in_group = true;
    self->group_seq_before = self->last_seq;
    self->returns_queued = false;
    return 0;
}

int
archive_group_commit (void *arg)
{
    archive_t *self = (archive_t *) arg;
    assert (self->in_group);
    self->in_group = false;
    bool lost = self->group_lost;
    self->group_lost = false;
    if (lost || hl_store_commit (self->store)) {
        hl_store_rollback (self->store);
        self->last_seq = self->group_seq_before;
        self->returns_queued = false;
        return -1;
    }
    s_committed (self, self->group_seq_before);
    return 0;
}

int
archive_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    return s_apply_batch ((archive_t *) arg, stream, NULL, items, count, false, NULL, NULL);
}

int
archive_apply_from (archive_t *self, const char *stream, const hl_hop_item_t *items,
                    size_t count, bool returned)
{
    return s_apply_batch (self, stream, stream, items, count, returned, NULL, NULL);
}

int
archive_apply_each (archive_t *self, const char *stream, const hl_hop_item_t *items, size_t count,
                    int (*each) (void *, const hl_hop_item_t *), void *each_arg)
{
    return s_apply_batch (self, stream, stream, items, count, false, each, each_arg);
}

//  The log, for consumers
static int
s_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    archive_t *self = (archive_t *) arg;
    return hl_hop_fetch_sql (self->store,
        "SELECT seq, event FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2", NULL, after, max, items);
}

// ---------------------------------------------------------------- queries

static int
s_query_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    archive_t *self = (archive_t *) arg;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return 0;
    //  [peer][body] from a client, [intake][client][body] relayed by intake
    size_t frames = zmsg_size (msg);
    if (frames != 2 && frames != 3) {
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("dropped a query with %zu frames (%ld similar suppressed)", frames, suppressed);
        zmsg_destroy (&msg);
        return 0;
    }
    zframe_t *body = zmsg_last (msg);
    const char *reason = NULL;
    Hotline__Envelope *env = hl_msg_decode (zframe_data (body), zframe_size (body), &reason);
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    char error [256] = "";
    char *json = NULL;
    if (env && env->body_case == HOTLINE__ENVELOPE__BODY_REQUEST
    &&  env->request->kind_case == HOTLINE__REQUEST__KIND_PING) {
        //  Answered as intake answers it ({"node", "timezone"}): the CLI
        //  asks for the node's zone before commands that show dates, and
        //  operators point it straight at the archive (--endpoint
        //  tcp://archive:base+3) when intake is down
        reply.request_id = env->request->request_id;
        json_t *ping = json_pack ("{s:s, s:s}", "node", hl_service_node (self->service),
                                  "timezone", hl_clock_zone ());
        json = json_dumps (ping, JSON_COMPACT);
        json_decref (ping);
        reply.json = json;
    }
    else
    if (!env || env->body_case != HOTLINE__ENVELOPE__BODY_REQUEST
    ||  env->request->kind_case != HOTLINE__REQUEST__KIND_QUERY) {
        reply.code = HL_BAD_INPUT;
        snprintf (error, sizeof error, "%s", env? "expected a query": reason);
        long suppressed = hl_ratelimit (&self->rl_bad);
        if (suppressed >= 0)
            hl_warn ("bad query: %s (%ld similar suppressed)", error, suppressed);
    }
    else {
        reply.request_id = env->request->request_id;
        int code = HL_OK;
        json = archive_query (self, env->request->query, &code, error, sizeof error);
        reply.code = code;
        reply.json = json;
    }
    hl_utf8_scrub (error);      //  a message may quote the query cut mid-character
    reply.error = error;
    Hotline__Envelope answer = HOTLINE__ENVELOPE__INIT;
    answer.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
    answer.reply = &reply;
    zframe_t *frame = hl_msg_encode (&answer);
    if (zframe_size (frame) > HL_MAX_MSG_SIZE) {
        //  No peer accepts a frame this large (ZMQ_MAXMSGSIZE drops the
        //  connection): say so instead
        hl_warn ("query answer of %zu bytes is too large", zframe_size (frame));
        zframe_destroy (&frame);
        snprintf (error, sizeof error, "the answer is too large; narrow the query"
                                       " (--limit, --since, --status)");
        reply.code = HL_TOO_LARGE;
        reply.json = NULL;
        frame = hl_msg_encode (&answer);
    }
    zmsg_remove (msg, body);    //  replace the body with the answer
    zframe_destroy (&body);
    zmsg_append (msg, &frame);
    //  Never block: a client that does not read its answers (its queue is
    //  full) loses them, everyone else is still served
    zframe_t *part = zmsg_pop (msg);
    while (part) {
        zframe_t *next = zmsg_pop (msg);
        if (zframe_send (&part, sock, (next? ZFRAME_MORE: 0) | ZFRAME_DONTWAIT)) {
            zframe_destroy (&part);
            zframe_destroy (&next);
            break;              //  the first part failed: nothing was queued
        }
        part = next;
    }
    zmsg_destroy (&msg);
    free (json);
    hl_msg_free (&env);
    return 0;
}

//  Gauges (loop thread, every second): log head, intake cursor, open cases
static void
s_metrics (void *arg)
{
    archive_t *self = (archive_t *) arg;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    uint64_t cursor = 0;
    archive_cursor (self, "intake", &cursor);
    hl_metrics_set (metrics, "hotline_archive_log_seq", (double) self->last_seq);
    hl_metrics_set (metrics, "hotline_archive_intake_cursor", (double) cursor);
    int64_t open = 0;
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT state, count(*) FROM cases GROUP BY state");
    while (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        if (!hl_procedure_state_final (self->procedure, (const char *) sqlite3_column_text (stmt, 0)))
            open += sqlite3_column_int64 (stmt, 1);
    if (stmt)
        sqlite3_reset (stmt);
    hl_metrics_set (metrics, "hotline_open_cases", (double) open);
}

//  The federation's sink: a batch from the city or a ward
static int
s_sink_apply (void *arg, const char *key, const hl_hop_item_t *items, size_t count, bool returned)
{
    return archive_apply_from ((archive_t *) arg, key, items, count, returned);
}

static int
s_sink_apply_each (void *arg, const char *key, const hl_hop_item_t *items, size_t count,
                   federation_item_fn *each, void *each_arg)
{
    return archive_apply_each ((archive_t *) arg, key, items, count, each, each_arg);
}

archive_t *
archive_new (hl_service_t *service)
{
    archive_t *self = (archive_t *) zmalloc (sizeof (archive_t));
    self->service = service;
    self->procedure = hl_service_procedure (service);
    char *path = hl_service_path (service, "archive.db");
    self->store = hl_store_new (path, NULL);
    free (path);
    if (!self->store || hl_store_migrate (self->store, "archive.db", s_migrations, self)) {
        archive_destroy (&self);
        return NULL;
    }
    //  The head of the log: a failed read is no empty log (the next event
    //  would take seq 1 again)
    int64_t head = hl_store_int (self->store, "SELECT coalesce (max (seq), 0) FROM log", -1);
    if (head < 0) {
        archive_destroy (&self);
        return NULL;
    }
    self->last_seq = (uint64_t) head;
    zloop_t *loop = hl_service_loop (service);
    const char *endpoint = hl_service_bind_endpoint (service, "archive");
    self->query = zsock_new (ZMQ_ROUTER);
    hl_sock_harden (self->query);
    if (zsock_bind (self->query, "%s", endpoint) < 0) {
        hl_error ("cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        archive_destroy (&self);
        return NULL;
    }
    zloop_reader (loop, self->query, s_query_readable, self);

    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    opts.coalesce_ms = (int) hl_config_int (hl_service_config (service), "feeds/coalesce_ms",
                                            HL_FEED_COALESCE_MS);
    self->feed = hl_hop_sender_new (loop, hl_service_bind_endpoint (service, "archive_feed"), true,
                                    "log", s_fetch, self, &opts);
    self->from_intake = hl_hop_receiver_new (loop, hl_service_endpoint (service, "intake_feed"),
                                             false, "intake", archive_apply, archive_cursor, self, &opts);
    self->city = streq (hl_service_role (service), "city");
    federation_sink_t sink = {
        service, self->store, self, archive_cursor, s_sink_apply, archive_group_begin,
        archive_group_commit, s_sink_apply_each
    };
    self->federation = federation_new (&sink, loop);
    if (self->city)
        self->monitor = hl_clone_pub_new (loop, hl_service_bind_endpoint (service, "monitor"),
                                          hl_service_bind_endpoint (service, "snapshot"), s_fetch, self);
    if (!self->feed || !self->from_intake || !self->federation || (self->city && !self->monitor)) {
        archive_destroy (&self);
        return NULL;
    }
    hl_metrics_on_refresh (hl_service_metrics (service), s_metrics, self);
    hl_info ("serving queries on %s, log at seq %" PRIu64, endpoint, self->last_seq);
    return self;
}

void
archive_destroy (archive_t **self_p)
{
    assert (self_p);
    archive_t *self = *self_p;
    if (self) {
        if (self->query)
            zloop_reader_end (hl_service_loop (self->service), self->query);
        hl_clone_pub_destroy (&self->monitor);
        federation_destroy (&self->federation);
        hl_hop_receiver_destroy (&self->from_intake);
        hl_hop_sender_destroy (&self->feed);
        zsock_destroy (&self->query);
        hl_store_destroy (&self->store);
        archive_wards_forget ();
        free (self);
        *self_p = NULL;
    }
}
