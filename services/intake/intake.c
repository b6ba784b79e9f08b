/*  intake — the write path of a node. See intake.h.
 *
 *  One loop, read top to bottom:
 *    s_front_readable   drain up to MAX_BATCH requests from the front door
 *    s_run_batch        BEGIN; s_execute each command; COMMIT (one fsync);
 *                       only then send every reply; wake the feed
 *    s_execute          validate one command, write its event, or refuse it
 *                       with a clear error having written nothing
 */
#include "hotline.h"
#include "intake.h"
#include <sodium.h>

#define MAX_BATCH       256
#define MAX_ARGS        16
#define HL_COMMAND_HASH 16      //  BLAKE2b-128 of actor and packed command

//  Step 1 of intake.db: the schema of the last unversioned release
static const char s_schema [] =
    "CREATE TABLE IF NOT EXISTS log ("
    "  seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, at_ms INTEGER NOT NULL, event BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  case_id TEXT PRIMARY KEY, state TEXT NOT NULL, regime TEXT NOT NULL,"
    "  received_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS requests ("
    "  request_id TEXT PRIMARY KEY, reply BLOB NOT NULL, command_hash BLOB);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters ("
    "  prefix TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,"
    "  PRIMARY KEY (prefix, year));";

//  Step 2: stores made before request hashes were kept gain the column;
//  their rows keep NULL, and a retry of them is answered as before. A
//  function, not an ALTER: the last unversioned release made it already
static int
s_add_command_hash (hl_store_t *store, void *arg)
{
    (void) arg;
    if (hl_store_int (store, "SELECT count(*) FROM pragma_table_info ('requests')"
                             " WHERE name = 'command_hash'", -1) != 0)
        return 0;
    return hl_store_exec (store, "ALTER TABLE requests ADD COLUMN command_hash BLOB");
}

//  intake.db's schema versions (hl_store_migrate): append, never edit.
//  3: the deadlines' tables, which the previous release made outside the
//  versions (so its stores have them: IF NOT EXISTS)
static const hl_store_migration_t s_migrations [] = {
    { 1, s_schema, NULL },
    { 2, NULL, s_add_command_hash },
    { 3, hl_deadline_schema, NULL },
    { 0, NULL, NULL }
};

struct _intake_t {
    hl_service_t *service;
    hl_procedure_t *procedure;
    hl_store_t *store;
    zsock_t *front;             //  ROUTER: clients and services
    zsock_t *archive;           //  DEALER: queries relayed to the archive
    zsock_t *remote;            //  ROUTER, CurveZMQ: remote clients (front/remote), or NULL
    zsock_t *archive_remote;    //  DEALER: their queries, relayed to the archive
    hl_keyring_t *keyring;      //  front/allow: client key -> the one actor it may act as
    hl_hop_sender_t *feed;      //  stream "intake" to the archive
    uint64_t last_seq;          //  last log seq written
    const char *prefix;         //  case number prefix: the ward code
    uint64_t received;          //  metrics: cases received
    int64_t batch_us;           //  metrics: when the batch's first request was read
    int counter_year;           //  case numbers: the year counter_last is of
    int64_t counter_last;       //  (counter_year 0: read it from the store)
    hl_ratelimit_t rl_bad;      //  bad input: one log line a second
    char *ping_json;            //  the ping's answer: {"node", "timezone"}
    bool city;                  //  files commands at wards (Command.ward)
};

//  One request of a batch, and the reply it will get
typedef struct {
    zsock_t *front;             //  the door it came in by: its reply goes out there
    zframe_t *routing_id;
    Hotline__Envelope *env;
    zframe_t *reply;            //  encoded envelope, sent after commit
    uint8_t *stored;            //  packed Reply to remember (successes, a filing's refusal)
    size_t stored_size;
    char *logged;               //  its log line, written once committed
    uint8_t hash [HL_COMMAND_HASH];     //  of the canonical command
} s_item_t;

// ---------------------------------------------------------------- replies

static zframe_t *
s_encode_reply (Hotline__Reply *reply)
{
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
    env.reply = reply;
    return hl_msg_encode (&env);
}

static zframe_t *
s_error_frame (const char *request_id, int code, const char *error)
{
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    reply.request_id = (char *) (request_id? request_id: "");
    reply.code = code;
    reply.error = (char *) error;
    return s_encode_reply (&reply);
}

//  The reply of the same request earlier in the batch, marked replayed
//  (the second of two routing replicas' identical requests did nothing)
static zframe_t *
s_replayed_frame (zframe_t *first)
{
    Hotline__Envelope *env = hl_msg_decode (zframe_data (first), zframe_size (first), NULL);
    if (!env || env->body_case != HOTLINE__ENVELOPE__BODY_REPLY) {
        hl_msg_free (&env);
        return zframe_dup (first);
    }
    env->reply->replayed = true;
    zframe_t *frame = s_encode_reply (env->reply);
    hl_msg_free (&env);
    return frame;
}

static void
s_send (zsock_t *front, zframe_t *routing_id, zframe_t **frame_p)
{
    zframe_t *id = zframe_dup (routing_id);
    if (zframe_send (&id, front, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0) {
        if (zframe_send (frame_p, front, ZFRAME_DONTWAIT) == 0)
            return;
    }
    else
        zframe_destroy (&id);
    //  The client has gone: it will retry with the same request id
    zframe_destroy (frame_p);
}

// ---------------------------------------------------------------- execute

//  Scratch space that must outlive the reply encoding
typedef struct {
    hl_field_error_t errs [16];
    Hotline__FieldError fields [16];
    Hotline__FieldError *field_ptrs [16];
    const char *allowed [64];
    char case_id [32];
    char error [256];
    char summary [256];         //  what was done, for the log
} s_scratch_t;

static void
s_field_errors (Hotline__Reply *reply, s_scratch_t *scratch, size_t count)
{
    if (count > 16)
        count = 16;
    for (size_t i = 0; i < count; i++) {
        //  A message may quote the input cut at a byte count: keep it UTF-8
        hl_utf8_scrub (scratch->errs [i].field);
        hl_utf8_scrub (scratch->errs [i].message);
        hotline__field_error__init (&scratch->fields [i]);
        scratch->fields [i].field = scratch->errs [i].field;
        scratch->fields [i].message = scratch->errs [i].message;
        scratch->field_ptrs [i] = &scratch->fields [i];
    }
    reply->n_field_errors = count;
    reply->field_errors = scratch->field_ptrs;
    reply->code = HL_BAD_INPUT;
    //  The first message doubles as the summary
    snprintf (scratch->error, sizeof scratch->error, "%s", scratch->errs [0].message);
    reply->error = scratch->error;
}

static int
s_refuse (Hotline__Reply *reply, s_scratch_t *scratch, int code, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (scratch->error, sizeof scratch->error, fmt, args);
    va_end (args);
    hl_utf8_scrub (scratch->error);     //  the input may be cut mid-character
    reply->code = code;
    reply->error = scratch->error;
    return 0;
}

static int
s_bad_field (Hotline__Reply *reply, s_scratch_t *scratch, const char *field, const char *fmt, ...)
{
    snprintf (scratch->errs [0].field, sizeof scratch->errs [0].field, "%s", field);
    va_list args;
    va_start (args, fmt);
    vsnprintf (scratch->errs [0].message, sizeof scratch->errs [0].message, fmt, args);
    va_end (args);
    s_field_errors (reply, scratch, 1);
    return 0;
}

//  Next case number for this year: <prefix>-<yyyy>-<nnnnnn>. Intake is the
//  only writer, so the year's counter is read once and kept in memory; each
//  case writes it back in its own transaction (a plain one-row UPDATE: an
//  upsert with RETURNING costs a statement journal and a temporary table,
//  a fifth of intake's time per case). A rolled-back batch forgets it.
static int
s_next_case_id (intake_t *self, int64_t now, char *buf, size_t size)
{
    //  The year in the node's zone: a call at 05:00 on 1 January in Hải
    //  Phòng (22:00 UTC the day before) opens a case of the new year
    int year = hl_clock_year (now);
    sqlite3_stmt *stmt;
    if (self->counter_year != year) {
        //  The year's row, made once; then what it holds
        const char *sql [2] = {
            "INSERT OR IGNORE INTO counters (prefix, year, last) VALUES (?, ?, 0)",
            "SELECT last FROM counters WHERE prefix = ? AND year = ?" };
        int64_t last = -1;
        for (int i = 0; i < 2; i++) {
            stmt = hl_store_prepare (self->store, sql [i]);
            if (!stmt)
                return -1;
            sqlite3_bind_text (stmt, 1, self->prefix, -1, SQLITE_STATIC);
            sqlite3_bind_int (stmt, 2, year);
            int rc = sqlite3_step (stmt);
            if (rc == SQLITE_ROW)
                last = sqlite3_column_int64 (stmt, 0);
            sqlite3_reset (stmt);
            if (rc != (i? SQLITE_ROW: SQLITE_DONE))
                return -1;
        }
        self->counter_year = year;
        self->counter_last = last;
    }
    if (self->counter_last >= 999999)
        return -1;
    stmt = hl_store_prepare (self->store,
        "UPDATE counters SET last = ? WHERE prefix = ? AND year = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, self->counter_last + 1);
    sqlite3_bind_text (stmt, 2, self->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 3, year);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE || sqlite3_changes (hl_store_db (self->store)) != 1)
        return -1;
    self->counter_last++;
    snprintf (buf, size, "%s-%04d-%06d", self->prefix, year, (int) self->counter_last);
    return 0;
}

//  Current state and regime of a case; 0 found, 1 not found, -1 on a
//  store error (not "unknown case": the batch fails and is answered so)
static int
s_case_state (intake_t *self, const char *case_id, char *state, char *regime)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT state, regime FROM cases WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    int step = sqlite3_step (stmt);
    int rc = step == SQLITE_ROW? 0: step == SQLITE_DONE? 1: -1;
    if (rc == 0) {
        snprintf (state, 64, "%s", (const char *) sqlite3_column_text (stmt, 0));
        snprintf (regime, 32, "%s", (const char *) sqlite3_column_text (stmt, 1));
    }
    else
    if (rc < 0)
        hl_error ("intake: cannot read case %s: %s", case_id, hl_store_error (self->store));
    sqlite3_reset (stmt);
    return rc;
}

//  Is this argument name acceptable: 1-32 of a-z, 0-9, _
static bool
s_arg_name_valid (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > 32)
        return false;
    for (const char *p = name; *p; p++)
        if (!islower ((unsigned char) *p) && !isdigit ((unsigned char) *p) && *p != '_')
            return false;
    return true;
}

//  Append the event to the log, packed, under its seq and case ("" for a
//  node-level event). 0, or -1 on a store error. The caller advances
//  last_seq once its transaction is sure to commit.
static int
s_append_log (intake_t *self, Hotline__Event *event)
{
    size_t size = hotline__event__get_packed_size (event);
    uint8_t *buffer = (uint8_t *) zmalloc (size? size: 1);
    hotline__event__pack (event, buffer);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO log (seq, case_id, at_ms, event) VALUES (?, ?, ?, ?)");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) event->seq);
        sqlite3_bind_text (stmt, 2, event->case_id? event->case_id: "", -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, event->at_ms);
        sqlite3_bind_blob (stmt, 4, buffer, (int) size, SQLITE_STATIC);
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
        sqlite3_reset (stmt);
    }
    free (buffer);
    return rc;
}

//  Write the event, the case row, the deadlines and the request. -1 on a
//  store error (the batch is rolled back).
static int
s_write_event (intake_t *self, Hotline__Event *event, const char *state_before)
{
    if (s_append_log (self, event))
        return -1;
    sqlite3_stmt *stmt;
    if (!state_before) {
        stmt = hl_store_prepare (self->store,
            "INSERT OR FAIL INTO cases (case_id, state, regime, received_ms) VALUES (?, ?, ?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, event->to_state, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, event->regime, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 4, event->report->received_ms);
    }
    else {
        stmt = hl_store_prepare (self->store, "UPDATE cases SET state = ? WHERE case_id = ?");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->to_state, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_reset (stmt);
    if (rc || hl_deadline_apply (self->store, self->procedure, event))
        return -1;
    return 0;
}

//  City: a command to be filed at a ward (Command.ward). Checked here as
//  the ward's intake will check it, as far as the city can know (the report,
//  the role, the action; not the ward case's state), then written as one
//  node-level event "file": no case, no deadline here. The archive carries
//  it to the ward (federation.h, "Filing"), whose intake does it with this
//  request id, so exactly once. The command travels whole in the event: its
//  action, variant and case in the reserved args file_action, file_variant,
//  file_case, its own args, note and report as they are.
#define S_FILE_ARGS 3

static int
s_execute_filing (intake_t *self, Hotline__Request *request, Hotline__Reply *reply,
                  s_scratch_t *scratch, const char *role, int64_t now)
{
    Hotline__Command *command = request->command;
    const char *ward = command->ward;
    const char *action = command->action;
    const char *variant = command->variant? command->variant: "";
    size_t len = strlen (ward);
    if (!self->city)
        return s_bad_field (reply, scratch, "ward", "only the city files a command at a ward");
    if (len > 10 || strspn (ward, "0123456789") != len)
        return s_bad_field (reply, scratch, "ward", "'%.20s' is not a ward code (digits)", ward);
    if (!hl_filing_id_valid (request->request_id))
        return s_bad_field (reply, scratch, "request_id", "a filing's request id is %s and 32 hex digits",
                            HL_FILING_PREFIX);
    for (size_t i = 0; i < command->n_args; i++)
        if (strncmp (command->args [i]->key, "file_", 5) == 0)
            return s_bad_field (reply, scratch, command->args [i]->key,
                                "argument names file_* are reserved");
    const char *case_id = command->case_id? command->case_id: "";
    if (!*case_id) {
        const char *to_state = NULL;
        int rc = hl_procedure_check (self->procedure, NULL, action, variant, role, &to_state);
        if (rc == HL_FORBIDDEN)
            return s_refuse (reply, scratch, HL_FORBIDDEN, "role '%s' may not %s", role, action);
        if (rc != HL_OK)
            return s_bad_field (reply, scratch, "case_id", "a case number is required for '%s'", action);
        size_t count = hl_report_validate (command->report, scratch->errs, 16);
        if (count) {
            s_field_errors (reply, scratch, count);
            return 0;
        }
    }
    else {
        if (!hl_case_id_valid (case_id) || strncmp (case_id, ward, len) || case_id [len] != '-')
            return s_bad_field (reply, scratch, "case_id", "'%.40s' is not a case number of ward %s",
                                case_id, ward);
        if (command->report)
            return s_bad_field (reply, scratch, "report", "a report goes only with a new case");
        //  The ward knows the case's state; here: may the role take this
        //  action in any state at all
        const char *states [128];
        size_t count = hl_procedure_states (self->procedure, states, 128);
        bool may = false, known = false;
        for (size_t i = 0; i < count && !may; i++) {
            const char *to_state = NULL;
            int rc = hl_procedure_check (self->procedure, states [i], action, variant, role, &to_state);
            may = rc == HL_OK;
            known = known || rc != HL_NOT_FOUND;
        }
        if (!known)
            return s_bad_field (reply, scratch, "action", "unknown action '%s%s%s'",
                                action, *variant? " ": "", variant);
        if (!may)
            return s_refuse (reply, scratch, HL_FORBIDDEN, "role '%s' may not %s%s%s", role,
                             action, *variant? " ": "", variant);
    }
    Hotline__Event__ArgsEntry entries [MAX_ARGS + S_FILE_ARGS];
    Hotline__Event__ArgsEntry *entry_ptrs [MAX_ARGS + S_FILE_ARGS];
    const char *reserved [S_FILE_ARGS][2] = {
        { "file_action", action }, { "file_variant", variant }, { "file_case", case_id } };
    size_t n = 0;
    for (size_t i = 0; i < S_FILE_ARGS; i++) {
        hotline__event__args_entry__init (&entries [n]);
        entries [n].key = (char *) reserved [i][0];
        entries [n].value = (char *) reserved [i][1];
        entry_ptrs [n] = &entries [n];
        n++;
    }
    for (size_t i = 0; i < command->n_args; i++) {
        hotline__event__args_entry__init (&entries [n]);
        entries [n].key = command->args [i]->key;
        entries [n].value = command->args [i]->value;
        entry_ptrs [n] = &entries [n];
        n++;
    }
    char event_id [128];
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.seq = self->last_seq + 1;
    snprintf (event_id, sizeof event_id, "%s/%" PRIu64, hl_service_node (self->service), event.seq);
    event.event_id = event_id;
    event.case_id = "";
    event.ward = (char *) ward;
    event.at_ms = now;
    event.actor = request->actor;
    event.action = HL_ACTION_FILE;
    event.note = command->note;
    event.report = command->report;     //  received_ms: set by the ward's intake
    event.n_args = n;
    event.args = entry_ptrs;
    event.request_id = request->request_id;
    event.origin = (char *) hl_service_node (self->service);
    if (s_append_log (self, &event))
        return -1;
    self->last_seq = event.seq;
    reply->code = HL_OK;
    snprintf (scratch->case_id, sizeof scratch->case_id, "%s", case_id);
    reply->case_id = scratch->case_id;
    reply->seq = event.seq;
    snprintf (scratch->summary, sizeof scratch->summary, "%s%s%s by %s: filed at ward %s as %s",
              action, *variant? " ": "", variant, role, ward, request->request_id);
    return 0;
}

//  Validate and apply one command. Fills reply. Returns 0 (reply says what
//  happened) or -1 on a store failure. local: it came in by the local front
//  door (the node's own services), not the remote one
static int
s_execute (intake_t *self, Hotline__Request *request, Hotline__Reply *reply, s_scratch_t *scratch,
           bool local)
{
    Hotline__Command *command = request->command;
    //  Who acts: "role:name"
    const char *actor = request->actor? request->actor: "";
    const char *colon = strchr (actor, ':');
    char role [32] = "";
    if (!colon || colon == actor || (size_t) (colon - actor) >= sizeof role || !colon [1]
    ||  strlen (actor) > 96 || hl_text_check (actor, 96))
        return s_bad_field (reply, scratch, "actor", "actor must be role:name, e.g. officer:lan");
    memcpy (role, actor, colon - actor);
    role [colon - actor] = 0;
    if (!hl_procedure_role_exists (self->procedure, role))
        return s_refuse (reply, scratch, HL_FORBIDDEN, "unknown role '%s'", role);
    const char *action = command->action? command->action: "";
    const char *variant = command->variant? command->variant: "";
    if (!*action)
        return s_bad_field (reply, scratch, "action", "action is required");
    //  Free text and arguments
    const char *problem = hl_text_check (command->note, HL_MAX_TEXT);
    if (problem)
        return s_bad_field (reply, scratch, "note", "note %s", problem);
    if (command->n_args > MAX_ARGS)
        return s_bad_field (reply, scratch, "args", "at most %d arguments", MAX_ARGS);
    for (size_t i = 0; i < command->n_args; i++) {
        const char *key = command->args [i]->key? command->args [i]->key: "";
        if (!s_arg_name_valid (key))
            return s_bad_field (reply, scratch, "args", "argument name '%.32s' is not valid", key);
        problem = hl_text_check (command->args [i]->value, HL_MAX_FIELD);
        if (problem)
            return s_bad_field (reply, scratch, key, "%s %s", key, problem);
    }

    int64_t now = hl_clock_now ();
    //  When the city took a filing: our archive's filing path alone sets it
    //  (federation.c, s_file), by the local door, with the filing's id
    if (command->received_ms
    &&  (!local || (command->ward && *command->ward) || command->received_ms < 0
         || !hl_filing_id_valid (request->request_id)))
        return s_bad_field (reply, scratch, "received_ms",
                            "received_ms is set only by a ward's archive, for the city's filing");
    if (command->ward && *command->ward)
        return s_execute_filing (self, request, reply, scratch, role, now);

    Hotline__Event event = HOTLINE__EVENT__INIT;
    char state [64] = "", regime [32] = "";
    const char *to_state = NULL;
    bool creating = !command->case_id || !*command->case_id;
    if (creating) {
        int rc = hl_procedure_check (self->procedure, NULL, action, variant, role, &to_state);
        if (rc == HL_FORBIDDEN)
            return s_refuse (reply, scratch, HL_FORBIDDEN, "role '%s' may not %s", role, action);
        if (rc != HL_OK)
            return s_bad_field (reply, scratch, "case_id",
                                "a case number is required for '%s'", action);
        size_t count = hl_report_validate (command->report, scratch->errs, 16);
        if (count) {
            s_field_errors (reply, scratch, count);
            return 0;
        }
        //  The legal clock starts when the report was received: for the
        //  city's filing, when the city took it (not in the future, at
        //  most HL_FILING_MAX_AGE_MS back), else now
        int64_t received = command->received_ms? command->received_ms: now;
        if (received > now)
            received = now;
        if (received < now - HL_FILING_MAX_AGE_MS)
            received = now - HL_FILING_MAX_AGE_MS;
        command->report->received_ms = received;
        snprintf (regime, sizeof regime, "%s", command->report->urgent? "urgent": "normal");
        if (!hl_procedure_regime_exists (self->procedure, regime))
            snprintf (regime, sizeof regime, "normal");
        if (s_next_case_id (self, now, scratch->case_id, sizeof scratch->case_id))
            return -1;
        event.report = command->report;
    }
    else {
        if (!hl_case_id_valid (command->case_id))
            return s_bad_field (reply, scratch, "case_id",
                                "'%.40s' is not a case number (like 31001-2026-000001)", command->case_id);
        int found = s_case_state (self, command->case_id, state, regime);
        if (found < 0)
            return -1;
        if (found)
            return s_refuse (reply, scratch, HL_NOT_FOUND, "unknown case %s", command->case_id);
        if (command->report)
            return s_bad_field (reply, scratch, "report", "a report goes only with a new case");
        int rc = hl_procedure_check (self->procedure, state, action, variant, role, &to_state);
        if (rc == HL_NOT_FOUND)
            return s_bad_field (reply, scratch, "action", "unknown action '%s%s%s'",
                                action, *variant? " ": "", variant);
        if (rc == HL_CONFLICT || rc == HL_FORBIDDEN) {
            size_t count = hl_procedure_allowed (self->procedure, state,
                                                 rc == HL_FORBIDDEN? NULL: role,
                                                 scratch->allowed, 64);
            reply->allowed = (char **) scratch->allowed;
            reply->n_allowed = count;
            if (rc == HL_FORBIDDEN)
                return s_refuse (reply, scratch, HL_FORBIDDEN, "role '%s' may not %s%s%s", role,
                                 action, *variant? " ": "", variant);
            return s_refuse (reply, scratch, HL_CONFLICT, "cannot %s%s%s a case that is %s",
                             action, *variant? " ": "", variant, state);
        }
        snprintf (scratch->case_id, sizeof scratch->case_id, "%s", command->case_id);
    }
    //  Arguments the procedure requires
    const char **requires = hl_procedure_requires (self->procedure, action, variant);
    for (size_t i = 0; requires && requires [i]; i++) {
        const char *value = streq (requires [i], "note")? command->note: hl_command_arg (command, requires [i]);
        bool blank = true;
        for (const char *p = value? value: ""; *p && blank; p++)
            blank = isspace ((unsigned char) *p);
        if (blank)
            return s_bad_field (reply, scratch, requires [i], "%s is required for %s",
                                requires [i], action);
    }
    //  A link to another case must point at a case that exists
    const char *other = hl_command_arg (command, "of");
    if (*other) {
        char other_state [64], other_regime [32];
        if (!hl_case_id_valid (other))
            return s_bad_field (reply, scratch, "of", "'%.40s' is not a case number", other);
        if (streq (other, scratch->case_id))
            return s_bad_field (reply, scratch, "of", "a case cannot duplicate itself");
        int found = s_case_state (self, other, other_state, other_regime);
        if (found < 0)
            return -1;
        if (found)
            return s_refuse (reply, scratch, HL_NOT_FOUND, "unknown case %s", other);
    }
    //  Deadline events: only for a running instance, once each
    const char *deadline = hl_command_arg (command, "deadline");
    if (*deadline) {
        const char *kind = strstr (action, "warn")? "warn": "breach";
        uint64_t started_seq = strtoull (hl_command_arg (command, "started_seq"), NULL, 10);
        if (!hl_deadline_pending (self->store, scratch->case_id, deadline, started_seq, kind))
            return s_refuse (reply, scratch, HL_CONFLICT,
                             "deadline %s of %s is not running or already %s", deadline,
                             scratch->case_id, streq (kind, "warn")? "warned": "breached");
    }

    //  Write it
    char event_id [128];
    Hotline__Event__ArgsEntry entries [MAX_ARGS];
    Hotline__Event__ArgsEntry *entry_ptrs [MAX_ARGS];
    for (size_t i = 0; i < command->n_args; i++) {
        hotline__event__args_entry__init (&entries [i]);
        entries [i].key = command->args [i]->key;
        entries [i].value = command->args [i]->value;
        entry_ptrs [i] = &entries [i];
    }
    event.seq = self->last_seq + 1;
    snprintf (event_id, sizeof event_id, "%s/%" PRIu64, hl_service_node (self->service), event.seq);
    event.event_id = event_id;
    event.case_id = scratch->case_id;
    event.ward = (char *) self->prefix;
    event.at_ms = now;
    event.actor = (char *) actor;
    event.action = (char *) action;
    event.variant = (char *) variant;
    event.from_state = state;
    event.to_state = (char *) to_state;
    event.note = command->note;
    event.n_args = command->n_args;
    event.args = entry_ptrs;
    event.regime = regime;
    event.request_id = request->request_id;
    event.origin = (char *) hl_service_node (self->service);
    if (s_write_event (self, &event, creating? NULL: state))
        return -1;
    self->last_seq = event.seq;
    if (creating)
        self->received++;
    reply->code = HL_OK;
    reply->case_id = scratch->case_id;
    reply->seq = event.seq;
    snprintf (scratch->summary, sizeof scratch->summary, "%s%s%s by %s: %s -> %s", action,
              *variant? " ": "", variant, role, *state? state: "-", to_state);
    return 0;
}

//  A ward: the node-level event HL_ACTION_FILING_REFUSED for the city's
//  filing (request) that intake refused (reply): the filing id as request
//  id, the reply's code, its error as the reason and the field it names.
//  Nothing of the report. 0, or -1 on a store error
static int
s_write_filing_refusal (intake_t *self, Hotline__Request *request, Hotline__Reply *reply)
{
    char code [16];
    snprintf (code, sizeof code, "%d", reply->code);
    const char *field = reply->n_field_errors? reply->field_errors [0]->field: "";
    const char *args [3][2] = {
        { "code", code }, { "reason", reply->error? reply->error: "" }, { "field", field? field: "" } };
    Hotline__Event__ArgsEntry entries [3];
    Hotline__Event__ArgsEntry *entry_ptrs [3];
    for (size_t i = 0; i < 3; i++) {
        hotline__event__args_entry__init (&entries [i]);
        entries [i].key = (char *) args [i][0];
        entries [i].value = (char *) args [i][1];
        entry_ptrs [i] = &entries [i];
    }
    char event_id [128];
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.seq = self->last_seq + 1;
    snprintf (event_id, sizeof event_id, "%s/%" PRIu64, hl_service_node (self->service), event.seq);
    event.event_id = event_id;
    event.case_id = "";
    event.ward = (char *) self->prefix;
    event.at_ms = hl_clock_now ();
    event.actor = request->actor;
    event.action = HL_ACTION_FILING_REFUSED;
    event.n_args = 3;
    event.args = entry_ptrs;
    event.request_id = request->request_id;
    event.origin = (char *) hl_service_node (self->service);
    if (s_append_log (self, &event))
        return -1;
    self->last_seq = event.seq;
    reply->seq = event.seq;
    return 0;
}

//  The hash of what a request asks: its actor and its command, packed as
//  protobuf-c packs a decoded message (one byte form per content). A retry
//  of the same request has the same hash; a request id reused for another
//  command does not. Taken before s_execute, which sets received_ms.
static void
s_command_hash (Hotline__Request *request, uint8_t *hash)
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, HL_COMMAND_HASH);
    const char *actor = request->actor? request->actor: "";
    crypto_generichash_update (&state, (const uint8_t *) actor, strlen (actor) + 1);
    size_t size = hotline__command__get_packed_size (request->command);
    uint8_t *packed = (uint8_t *) zmalloc (size? size: 1);
    hotline__command__pack (request->command, packed);
    crypto_generichash_update (&state, packed, size);
    free (packed);
    crypto_generichash_final (&state, hash, HL_COMMAND_HASH);
}

//  Remembered reply for a request id, or NULL; *same: was it for the same
//  command (rows from before hashes were kept count as the same)
static Hotline__Reply *
s_remembered (intake_t *self, const char *request_id, const uint8_t *hash, bool *same)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT reply, command_hash FROM requests WHERE request_id = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, request_id, -1, SQLITE_STATIC);
    Hotline__Reply *reply = NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        reply = hotline__reply__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 0),
                                        (const uint8_t *) sqlite3_column_blob (stmt, 0));
        *same = sqlite3_column_type (stmt, 1) == SQLITE_NULL
             || (sqlite3_column_bytes (stmt, 1) == HL_COMMAND_HASH
                 && memcmp (sqlite3_column_blob (stmt, 1), hash, HL_COMMAND_HASH) == 0);
    }
    sqlite3_reset (stmt);
    return reply;
}

static int
s_remember (intake_t *self, const char *request_id, const uint8_t *data, size_t size,
            const uint8_t *hash)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR FAIL INTO requests (request_id, reply, command_hash) VALUES (?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, request_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 2, data, (int) size, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 3, hash, HL_COMMAND_HASH, SQLITE_STATIC);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_reset (stmt);
    return rc;
}

//  Group commit: one transaction for the whole batch, replies after COMMIT
static void
s_run_batch (intake_t *self, s_item_t *items, size_t count)
{
    uint64_t seq_before = self->last_seq;
    uint64_t received_before = self->received;
    bool ok = hl_store_begin (self->store) == 0;
    zhashx_t *seen = zhashx_new ();     //  request ids in this batch
    for (size_t i = 0; ok && i < count; i++) {
        Hotline__Request *request = items [i].env->request;
        const char *request_id = request->request_id;
        s_command_hash (request, items [i].hash);
        //  The same request id again: the same command gets the same reply;
        //  another command is refused, and nothing of it is done
        bool creating = !request->command->case_id || !*request->command->case_id;
        const char *reused = creating? "request id already used for a different report":
                                       "request id already used for a different command";
        void *earlier = zhashx_lookup (seen, request_id);
        if (earlier) {
            s_item_t *first = &items [(size_t) earlier - 1];
            if (memcmp (first->hash, items [i].hash, HL_COMMAND_HASH) == 0)
                items [i].reply = s_replayed_frame (first->reply);
            else
                items [i].reply = s_error_frame (request_id, HL_REQUEST_REUSED, reused);
            continue;
        }
        bool same = true;
        Hotline__Reply *remembered = s_remembered (self, request_id, items [i].hash, &same);
        if (remembered && !same) {
            //  Not this id's command, and not its owner in the batch: a
            //  later exact retry in the batch compares with the stored one
            hotline__reply__free_unpacked (remembered, NULL);
            items [i].reply = s_error_frame (request_id, HL_REQUEST_REUSED, reused);
            continue;
        }
        if (remembered) {
            remembered->replayed = true;        //  not stored: set on the way out
            items [i].reply = s_encode_reply (remembered);
            hotline__reply__free_unpacked (remembered, NULL);
        }
        else {
            Hotline__Reply reply = HOTLINE__REPLY__INIT;
            reply.request_id = (char *) request_id;
            s_scratch_t scratch;
            if (s_execute (self, request, &reply, &scratch, items [i].front == self->front)) {
                ok = false;
                break;
            }
            //  The city's filing refused: said once, in our log, for the
            //  city (remembered below, so a redelivery writes nothing more)
            bool refusal = reply.code != HL_OK && request->command->received_ms > 0
                        && items [i].front == self->front && hl_filing_id_valid (request_id)
                        && !self->city;
            if (refusal && s_write_filing_refusal (self, request, &reply)) {
                ok = false;
                break;
            }
            items [i].reply = s_encode_reply (&reply);
            if (reply.code == HL_OK || refusal) {
                if (reply.code == HL_OK)
                    items [i].logged = zsys_sprintf ("%s %s", scratch.case_id, scratch.summary);
                items [i].stored_size = hotline__reply__get_packed_size (&reply);
                items [i].stored = (uint8_t *) zmalloc (items [i].stored_size);
                hotline__reply__pack (&reply, items [i].stored);
                if (s_remember (self, request_id, items [i].stored, items [i].stored_size,
                                items [i].hash)) {
                    ok = false;
                    break;
                }
            }
        }
        zhashx_insert (seen, request_id, (void *) (i + 1));
    }
    zhashx_destroy (&seen);
    if (ok && hl_store_commit (self->store) == 0) {
        for (size_t i = 0; i < count; i++) {
            s_send (items [i].front, items [i].routing_id, &items [i].reply);
            if (items [i].logged) {     //  "<case> <summary>": logged once durable
                char *space = strchr (items [i].logged, ' ');
                *space = 0;
                hl_log (HL_INFO, items [i].logged, "%s", space + 1);
            }
        }
        if (self->last_seq != seq_before)
            hl_hop_sender_notify (self->feed);
        hl_metrics_t *metrics = hl_service_metrics (self->service);
        hl_metrics_add (metrics, "hotline_cases_received_total", self->received - received_before);
        hl_metrics_add (metrics, "hotline_events_written_total", self->last_seq - seq_before);
        hl_metrics_observe (metrics, "hotline_ack_latency_seconds", (zclock_usecs () - self->batch_us) / 1e6, count);
    }
    else {
        //  Nothing of this batch is durable: say so to every client. The
        //  cause first: after ROLLBACK SQLite reports "not an error"
        char cause [256];
        snprintf (cause, sizeof cause, "%s", hl_store_error (self->store));
        hl_store_rollback (self->store);
        self->last_seq = seq_before;
        self->received = received_before;
        self->counter_year = 0;     //  its counter too: read it again
        hl_error ("batch of %zu not stored: %s", count, cause);
        for (size_t i = 0; i < count; i++) {
            zframe_destroy (&items [i].reply);
            zframe_t *frame = s_error_frame (items [i].env->request->request_id, HL_UNAVAILABLE,
                                             "the node could not store this; nothing was saved, try again");
            s_send (items [i].front, items [i].routing_id, &frame);
        }
    }
    for (size_t i = 0; i < count; i++) {
        zframe_destroy (&items [i].routing_id);
        zframe_destroy (&items [i].reply);
        free (items [i].stored);
        zstr_free (&items [i].logged);
        hl_msg_free (&items [i].env);
    }
}

// ---------------------------------------------------------------- the loop

//  The remote front door: a request may act only as the actor its CurveZMQ
//  key is bound to (the `actor` metadata of its certificate in front/allow).
//  The key is the connection's (User-Id, which our ZAP handler set at the
//  handshake), never anything in the payload; it is looked up again on every
//  request, so a deleted certificate cuts off a connection already open.
//  NULL: the request may go on; else why not (in buf), nothing written.
static const char *
s_remote_refusal (intake_t *self, zframe_t *body, const Hotline__Request *request,
                  char *buf, size_t size)
{
    const char *user_id = zframe_meta (body, "User-Id");
    const char *actor = user_id && *user_id? hl_keyring_lookup (self->keyring, user_id): NULL;
    if (!actor)
        snprintf (buf, size, "this key is no longer admitted");
    else
    if (request->kind_case != HOTLINE__REQUEST__KIND_PING
    &&  (!request->actor || strneq (request->actor, actor)))
        snprintf (buf, size, "this key may act only as %s", actor);
    else
        return NULL;
    hl_metrics_add (hl_service_metrics (self->service), "hotline_front_refused_total", 1);
    long suppressed = hl_ratelimit (&self->rl_bad);
    if (suppressed >= 0)
        hl_warn ("remote front door: key %.12s... asked to act as %s: %s (%ld similar suppressed)",
                 user_id? user_id: "?", request->actor && *request->actor? request->actor: "nobody",
                 buf, suppressed);
    return buf;
}

static int
s_front_readable (zloop_t *loop, zsock_t *front, void *arg)
{
    (void) loop;
    intake_t *self = (intake_t *) arg;
    s_item_t items [MAX_BATCH];
    size_t count = 0;
    self->batch_us = zclock_usecs ();
    while (count < MAX_BATCH && hl_sock_readable (front)) {
        zmsg_t *msg = zmsg_recv (front);
        if (!msg)
            break;
        zframe_t *routing_id = zmsg_pop (msg);
        if (zmsg_size (msg) != 1) {
            //  A DEALER sends exactly one frame
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("dropped a message with %zu frames (%ld similar suppressed)",
                         zmsg_size (msg), suppressed);
            zframe_t *frame = s_error_frame (NULL, HL_BAD_INPUT, "expected exactly one frame");
            s_send (front, routing_id, &frame);
            zframe_destroy (&routing_id);
            zmsg_destroy (&msg);
            continue;
        }
        zframe_t *body = zmsg_pop (msg);
        zmsg_destroy (&msg);
        const char *reason = NULL;
        Hotline__Envelope *env = hl_msg_decode (zframe_data (body), zframe_size (body), &reason);
        if (!env || env->body_case != HOTLINE__ENVELOPE__BODY_REQUEST
        ||  !env->request->request_id || !*env->request->request_id
        ||  strlen (env->request->request_id) > 64) {
            //  Name what is wrong: an event (or a hop frame) sent here was
            //  meant for a feed, not for the front door
            if (env && env->body_case == HOTLINE__ENVELOPE__BODY_EVENT)
                reason = "the front door takes requests (command, query, ping), not events: "
                         "events travel on the feeds";
            else
            if (env && env->body_case != HOTLINE__ENVELOPE__BODY_REQUEST)
                reason = "the front door takes requests (command, query, ping), not replies "
                         "or reliable-hop frames";
            else
            if (env && (!env->request->request_id || !*env->request->request_id))
                reason = "a request needs a request_id";
            else
            if (env)
                reason = "the request_id is longer than 64 bytes";
            long suppressed = hl_ratelimit (&self->rl_bad);
            if (suppressed >= 0)
                hl_warn ("bad request: %s (%ld similar suppressed)", reason, suppressed);
            zframe_t *frame = s_error_frame (env && env->body_case == HOTLINE__ENVELOPE__BODY_REQUEST?
                                             env->request->request_id: NULL, HL_BAD_INPUT, reason);
            s_send (front, routing_id, &frame);
            hl_msg_free (&env);
            zframe_destroy (&routing_id);
            zframe_destroy (&body);
            continue;
        }
        Hotline__Request *request = env->request;
        char refusal [160];
        if (front == self->remote && s_remote_refusal (self, body, request, refusal, sizeof refusal)) {
            zframe_t *frame = s_error_frame (request->request_id, HL_FORBIDDEN, refusal);
            s_send (front, routing_id, &frame);
            hl_msg_free (&env);
            zframe_destroy (&routing_id);
            zframe_destroy (&body);
            continue;
        }
        if (request->kind_case == HOTLINE__REQUEST__KIND_QUERY) {
            //  Relay [client id][request] to the archive, never blocking:
            //  with the archive down or slow its queue fills, and the front
            //  door must go on serving commands
            zsock_t *relay = front == self->remote? self->archive_remote: self->archive;
            zframe_t *id = zframe_dup (routing_id);
            if (zframe_send (&id, relay, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0)
                zframe_send (&body, relay, ZFRAME_DONTWAIT);
            else {
                zframe_destroy (&id);
                zframe_destroy (&body);
                zframe_t *frame = s_error_frame (request->request_id, HL_UNAVAILABLE,
                                                 "the archive is not answering; try again");
                s_send (front, routing_id, &frame);
            }
            zframe_destroy (&routing_id);
            zframe_destroy (&body);
            hl_msg_free (&env);
            continue;
        }
        zframe_destroy (&body);
        if (request->kind_case == HOTLINE__REQUEST__KIND_PING) {
            //  What a client needs of the node: its name and its time zone
            //  (the CLI shows and reads times in the node's zone, not in
            //  the machine's it runs on)
            Hotline__Reply reply = HOTLINE__REPLY__INIT;
            reply.request_id = request->request_id;
            reply.seq = self->last_seq;
            reply.json = self->ping_json;
            zframe_t *frame = s_encode_reply (&reply);
            s_send (front, routing_id, &frame);
            zframe_destroy (&routing_id);
            hl_msg_free (&env);
            continue;
        }
        if (request->kind_case != HOTLINE__REQUEST__KIND_COMMAND) {
            zframe_t *frame = s_error_frame (request->request_id, HL_BAD_INPUT, "empty request");
            s_send (front, routing_id, &frame);
            zframe_destroy (&routing_id);
            hl_msg_free (&env);
            continue;
        }
        items [count].front = front;
        items [count].routing_id = routing_id;
        items [count].env = env;
        items [count].reply = NULL;
        items [count].stored = NULL;
        items [count].logged = NULL;
        count++;
    }
    if (count)
        s_run_batch (self, items, count);
    return 0;
}

//  Archive answers come back as [client id][reply]: pass them on
static int
s_archive_readable (zloop_t *loop, zsock_t *archive, void *arg)
{
    (void) loop;
    intake_t *self = (intake_t *) arg;
    zmsg_t *msg = zmsg_recv (archive);
    if (msg && zmsg_size (msg) == 2) {
        zframe_t *routing_id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        s_send (archive == self->archive_remote? self->remote: self->front, routing_id, &body);
        zframe_destroy (&routing_id);
    }
    zmsg_destroy (&msg);
    return 0;
}

//  The feed: events after a seq, for the archive
static int
s_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    intake_t *self = (intake_t *) arg;
    return hl_hop_fetch_sql (self->store,
        "SELECT seq, event FROM log WHERE seq > ?1 ORDER BY seq LIMIT ?2", NULL, after, max, items);
}

//  The ward's focal points (section 1 of its report) travel to the city as
//  a node-level "directory" event, written when the configuration changes.
static int
s_write_directory (intake_t *self)
{
    hl_config_t *config = hl_service_config (self->service);
    Hotline__FocalPoint points [32];
    Hotline__FocalPoint *point_ptrs [32];
    size_t count = 0;
    zconfig_t *item = hl_config_locate (config, "focal_points");
    for (item = item? zconfig_child (item): NULL; item && count < 32; item = zconfig_next (item)) {
        Hotline__FocalPoint *point = &points [count];
        hotline__focal_point__init (point);
        point->unit = zconfig_get (item, "unit", "");
        point->receiving_phone = zconfig_get (item, "receiving_phone", "");
        point->receiving_email = zconfig_get (item, "receiving_email", "");
        point->handling_phone = zconfig_get (item, "handling_phone", "");
        point->handling_email = zconfig_get (item, "handling_email", "");
        point->note = zconfig_get (item, "note", "");
        point_ptrs [count++] = point;
    }
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.action = HL_ACTION_DIRECTORY;
    event.ward = (char *) self->prefix;
    event.ward_name = (char *) hl_config_get (config, "node/ward_name", "");
    event.origin = (char *) hl_service_node (self->service);
    event.n_focal_points = count;
    event.focal_points = point_ptrs;
    //  Compare with what was last written (seq and time left out)
    size_t size = hotline__event__get_packed_size (&event);
    uint8_t *content = (uint8_t *) zmalloc (size);
    hotline__event__pack (&event, content);
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT value FROM meta WHERE key = 'directory'");
    bool same = false;
    if (stmt && sqlite3_step (stmt) == SQLITE_ROW)
        same = (size_t) sqlite3_column_bytes (stmt, 0) == size
            && memcmp (sqlite3_column_blob (stmt, 0), content, size) == 0;
    if (stmt)
        sqlite3_reset (stmt);
    int rc = 0;
    if (!same) {
        char event_id [128];
        event.seq = self->last_seq + 1;
        snprintf (event_id, sizeof event_id, "%s/%" PRIu64, hl_service_node (self->service), event.seq);
        event.event_id = event_id;
        event.at_ms = hl_clock_now ();
        event.case_id = "";
        rc = hl_store_begin (self->store);
        if (rc == 0)
            rc = s_append_log (self, &event);
        stmt = rc? NULL: hl_store_prepare (self->store,
            "INSERT INTO meta (key, value) VALUES ('directory', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        if (stmt) {
            sqlite3_bind_blob (stmt, 1, content, (int) size, SQLITE_STATIC);
            rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
            sqlite3_reset (stmt);
        }
        else
            rc = -1;
        if (rc == 0 && hl_store_commit (self->store) == 0) {
            self->last_seq = event.seq;
            hl_info ("focal points directory updated (%zu rows)", count);
        }
        else {
            hl_store_rollback (self->store);
            rc = -1;
        }
    }
    free (content);
    return rc;
}

//  The remote front door, for clients elsewhere (a CLI on an officer's PC):
//  off unless front/remote names an endpoint. A CurveZMQ server with the
//  node's keypair (front/cert); the ZAP handler admits only the client
//  certificates of front/allow, and each request is held to its key's actor
//  (s_remote_refusal). It has its own relay to the archive, so that a
//  query's answer goes back out of the door it came in by. 0, or -1 (logged):
//  the node does not start with a remote door it was asked for but cannot
//  secure.
static int
s_remote_new (intake_t *self, zloop_t *loop)
{
    hl_config_t *config = hl_service_config (self->service);
    const char *endpoint = hl_config_get (config, "front/remote", "");
    if (!*endpoint || streq (endpoint, "off"))
        return 0;
    char *cert_path = hl_config_resolve (config, hl_config_get (config, "front/cert", NULL));
    char *allow = hl_config_resolve (config, hl_config_get (config, "front/allow", NULL));
    zcert_t *cert = cert_path && zsys_file_exists (cert_path)? zcert_load (cert_path): NULL;
    int rc = -1;
    if (!cert)
        hl_error ("front/remote needs front/cert, the node's keypair (hotline keys client makes"
                  " one): cannot load %s", cert_path? cert_path: "(not set)");
    else
    if (streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000"))
        hl_error ("front/cert %s has no secret key (%s_secret missing)", cert_path, cert_path);
    else
    if (!allow || !(self->keyring = hl_keyring_new (allow, "actor", "front door")))
        hl_error ("front/remote needs front/allow, the directory of client certificates: %s",
                  allow? allow: "(not set)");
    else
    //  Bound before the CurveZMQ socket: without a ZAP handler libzmq
    //  would admit every client key
    if (hl_keyring_serve (self->keyring, loop) == 0) {
        self->remote = zsock_new (ZMQ_ROUTER);
        hl_sock_harden (self->remote);
        zcert_apply (cert, self->remote);
        zsock_set_curve_server (self->remote, 1);
        if (zsock_bind (self->remote, "%s", endpoint) < 0)
            hl_error ("cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        else {
            self->archive_remote = zsock_new (ZMQ_DEALER);
            hl_sock_harden (self->archive_remote);
            zsock_connect (self->archive_remote, "%s", hl_service_endpoint (self->service, "archive"));
            zloop_reader (loop, self->remote, s_front_readable, self);
            zloop_reader (loop, self->archive_remote, s_archive_readable, self);
            hl_metrics_add (hl_service_metrics (self->service), "hotline_front_refused_total", 0);
            hl_info ("remote front door on %s (CurveZMQ): %zu client keys from %s", endpoint,
                     hl_keyring_size (self->keyring), allow);
            rc = 0;
        }
    }
    zcert_destroy (&cert);
    free (cert_path);
    free (allow);
    return rc;
}

//  Gauges (loop thread, every second): log head, what the archive has not
//  acknowledged yet, and how old the oldest of that is
static void
s_metrics (void *arg)
{
    intake_t *self = (intake_t *) arg;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    uint64_t acked = hl_hop_sender_acked (self->feed);
    hl_metrics_set (metrics, "hotline_intake_log_seq", (double) self->last_seq);
    hl_metrics_set (metrics, "hotline_outbox_backlog", (double) (self->last_seq > acked? self->last_seq - acked: 0));
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT at_ms FROM log WHERE seq = ?");
    int64_t at_ms = 0;
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) acked + 1);
        at_ms = sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): 0;
        sqlite3_reset (stmt);
    }
    hl_metrics_set (metrics, "hotline_oldest_unacked_age_seconds", at_ms? (hl_clock_now () - at_ms) / 1000.0: 0);
}

intake_t *
intake_new (hl_service_t *service)
{
    intake_t *self = (intake_t *) zmalloc (sizeof (intake_t));
    self->service = service;
    self->procedure = hl_service_procedure (service);
    hl_config_t *config = hl_service_config (service);
    self->prefix = hl_config_get (config, "node/case_prefix", hl_service_ward (service));
    if (!*self->prefix)
        self->prefix = hl_config_get (config, "node/city_code", "0");
    self->city = streq (hl_service_role (service), "city");
    char *path = hl_service_path (service, "intake.db");
    self->store = hl_store_new (path, NULL);
    free (path);
    if (!self->store || hl_store_migrate (self->store, "intake.db", s_migrations, NULL)
    ||  sodium_init () < 0) {
        intake_destroy (&self);
        return NULL;
    }
    json_t *ping = json_pack ("{s:s, s:s}", "node", hl_service_node (service),
                              "timezone", hl_clock_zone ());
    self->ping_json = json_dumps (ping, JSON_COMPACT);
    json_decref (ping);
    //  The head of the log: a failed read is no empty log (the next event
    //  would take seq 1 again)
    int64_t head = hl_store_int (self->store, "SELECT coalesce (max (seq), 0) FROM log", -1);
    if (head < 0) {
        intake_destroy (&self);
        return NULL;
    }
    self->last_seq = (uint64_t) head;
    if (s_write_directory (self)) {
        intake_destroy (&self);
        return NULL;
    }

    zloop_t *loop = hl_service_loop (service);
    const char *endpoint = hl_service_bind_endpoint (service, "intake");
    self->front = zsock_new (ZMQ_ROUTER);
    hl_sock_harden (self->front);
    if (zsock_bind (self->front, "%s", endpoint) < 0) {
        hl_error ("cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        intake_destroy (&self);
        return NULL;
    }
    self->archive = zsock_new (ZMQ_DEALER);
    hl_sock_harden (self->archive);
    zsock_connect (self->archive, "%s", hl_service_endpoint (service, "archive"));
    zloop_reader (loop, self->front, s_front_readable, self);
    zloop_reader (loop, self->archive, s_archive_readable, self);
    if (s_remote_new (self, loop)) {
        intake_destroy (&self);
        return NULL;
    }

    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    opts.coalesce_ms = (int) hl_config_int (hl_service_config (service), "feeds/coalesce_ms",
                                            HL_FEED_COALESCE_MS);
    self->feed = hl_hop_sender_new (loop, hl_service_bind_endpoint (service, "intake_feed"), true,
                                    "intake", s_fetch, self, &opts);
    if (!self->feed) {
        intake_destroy (&self);
        return NULL;
    }
    hl_metrics_on_refresh (hl_service_metrics (service), s_metrics, self);
    hl_info ("accepting on %s, log at seq %" PRIu64, endpoint, self->last_seq);
    return self;
}

void
intake_destroy (intake_t **self_p)
{
    assert (self_p);
    intake_t *self = *self_p;
    if (self) {
        if (self->front)
            zloop_reader_end (hl_service_loop (self->service), self->front);
        if (self->archive)
            zloop_reader_end (hl_service_loop (self->service), self->archive);
        if (self->remote)
            zloop_reader_end (hl_service_loop (self->service), self->remote);
        if (self->archive_remote)
            zloop_reader_end (hl_service_loop (self->service), self->archive_remote);
        hl_hop_sender_destroy (&self->feed);
        zsock_destroy (&self->front);
        zsock_destroy (&self->archive);
        zsock_destroy (&self->remote);
        zsock_destroy (&self->archive_remote);
        hl_keyring_destroy (&self->keyring);
        hl_store_destroy (&self->store);
        free (self->ping_json);
        free (self);
        *self_p = NULL;
    }
}
