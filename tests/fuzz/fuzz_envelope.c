/*  fuzz_envelope — libFuzzer harness for everything a frame on a node's
 *  front door reaches.
 *
 *  Each input is one frame. It goes three ways:
 *
 *  1. hl_msg_decode (the strict decoder). A frame it accepts must survive
 *     a round trip: packing it again gives a frame it accepts again, and
 *     packing that gives the same bytes (the codec is a fixpoint).
 *  2. The library validators each body kind reaches, with invariants:
 *       request/command  hl_text_check on actor, note and arguments,
 *                        hl_case_id_valid, hl_report_validate (errors are
 *                        well-formed UTF-8 text: they go back on the wire),
 *                        hl_report_to_json (a redacted view holds no
 *                        personal data);
 *       event            hl_event_to_json, hl_event_redact, and the
 *                        archive's apply path on a scratch archive (an
 *                        event that decodes is applied or skipped, never
 *                        fails the batch: a failure would stall the hop;
 *                        the log stays gap-free);
 *       batch            each item as an event, the batch as one apply;
 *       reply            what the CLI reads of it.
 *  3. A real ward node in this process (intake + archive on one zloop,
 *     inproc endpoints): the frame is sent to intake's front door. Every
 *     frame gets exactly one reply, the reply passes the client's strict
 *     decoder (else the client would see "not answering"), echoes the
 *     request id, and carries a known code. An acknowledged command is on
 *     disk (log row and request row) before the reply; a refused one wrote
 *     nothing. Queries are relayed to the archive and answered with JSON
 *     that parses. The logs stay gap-free.
 *
 *  The node's databases are reset every few thousand accepted commands.
 */
#include "fuzz_node.h"

#define RESET_EVERY_SEQ     3000

static fuzz_node_t *s_ward;         //  intake + archive
static fuzz_node_t *s_sink;         //  archive only, fed bodies directly
static sqlite3 *s_intake_db;        //  side connection to the ward's intake.db
static sqlite3 *s_archive_db;
static sqlite3 *s_sink_db;
static zsock_t *s_client;           //  DEALER to the ward's front door
static uint64_t s_sink_seq;         //  hop item seqs for the sink

static sqlite3 *
s_open (fuzz_node_t *node, const char *file)
{
    sqlite3 *db = NULL;
    FUZZ_CHECK (sqlite3_open_v2 (fuzz_node_file (node, file), &db,
                                 SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    return db;
}

static void
s_stop (void)
{
    sqlite3_close (s_intake_db);
    sqlite3_close (s_archive_db);
    sqlite3_close (s_sink_db);
    s_intake_db = s_archive_db = s_sink_db = NULL;
    zsock_destroy (&s_client);
    fuzz_node_destroy (&s_ward);
    fuzz_node_destroy (&s_sink);
}

static void
s_start (void)
{
    s_ward = fuzz_node_new ("fuzz_envelope", "ward", true, true);
    s_sink = fuzz_node_new ("fuzz_envelope", "ward", false, true);
    s_intake_db = s_open (s_ward, "intake.db");
    s_archive_db = s_open (s_ward, "archive.db");
    s_sink_db = s_open (s_sink, "archive.db");
    s_client = fuzz_dealer (fuzz_node_endpoint (s_ward, "intake"));
    s_sink_seq = 0;
    fuzz_node_spin (s_ward, 4);
}

static void
s_init (void)
{
    static bool done = false;
    if (done)
        return;
    done = true;
    fuzz_quiet ();
    s_start ();
    atexit (s_stop);
}

// ------------------------------------------------------------------ checks

//  Text that goes back on the wire must pass the client's decoder
static bool
s_wire_text (const char *text)
{
    return !text || hl_utf8_valid (text, strlen (text));
}

static void
s_check_report (const Hotline__Report *report)
{
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (report, errs, 16);
    for (size_t i = 0; i < count && i < 16; i++) {
        FUZZ_CHECK (*errs [i].field && *errs [i].message);
        FUZZ_CHECK (s_wire_text (errs [i].field) && s_wire_text (errs [i].message));
    }
    hl_field_error_t one [1];
    FUZZ_CHECK (hl_report_validate (report, one, 1) == count);
    json_t *json = hl_report_to_json (report, false);
    FUZZ_CHECK (json);
    char *text = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (text);
    free (text);
    json_decref (json);
    //  Redacted: no personal data at all
    json = hl_report_to_json (report, true);
    json_t *who = json_object_get (json, "reporter");
    FUZZ_CHECK (who);
    FUZZ_CHECK (!json_object_get (who, "name") && !json_object_get (who, "phone")
             && !json_object_get (who, "email") && !json_object_get (who, "address"));
    json_decref (json);
}

static void
s_check_event (Hotline__Event *event)
{
    json_t *json = hl_event_to_json (event);
    FUZZ_CHECK (json);
    char *text = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (text);
    free (text);
    json_decref (json);
    hl_event_arg (event, "to");
    hl_event_arg (event, "deadline");
    hl_case_id_valid (event->case_id);
    if (event->report)
        s_check_report (event->report);
    //  Redacted in place (the archive does this before an event leaves)
    hl_event_redact (event);
    json = hl_event_to_json (event);
    if (event->report) {
        json_t *who = json_object_get (json_object_get (json, "report"), "reporter");
        FUZZ_CHECK (!json_object_get (who, "phone") && !json_object_get (who, "email"));
    }
    json_decref (json);
}

//  Apply items to the sink archive as its intake stream and as the city's
//  return stream: never a failure, the log stays gap-free
static void
s_sink_apply (hl_hop_item_t *items, size_t count)
{
    if (!count)
        return;
    for (size_t i = 0; i < count; i++)
        items [i].seq = ++s_sink_seq;
    FUZZ_CHECK (archive_apply (s_sink->archive, "intake", items, count) == 0);
    FUZZ_CHECK (fuzz_sql_int (s_sink_db, "SELECT seq FROM hop_cursor WHERE stream = 'intake'")
                == (int64_t) s_sink_seq);
    FUZZ_CHECK (archive_apply_from (s_sink->archive, "city", items, count, true) == 0);
    FUZZ_CHECK (fuzz_log_gap_free (s_sink_db));
}

static void
s_check_command (Hotline__Request *request)
{
    Hotline__Command *command = request->command;
    hl_text_check (request->actor, 96);
    hl_text_check (command->note, HL_MAX_TEXT);
    for (size_t i = 0; i < command->n_args; i++) {
        FUZZ_CHECK (command->args [i]);
        hl_text_check (command->args [i]->value, HL_MAX_FIELD);
    }
    hl_command_arg (command, "of");
    hl_case_id_valid (command->case_id);
    if (command->report)
        s_check_report (command->report);
}

static void
s_check_bodies (Hotline__Envelope *env)
{
    switch (env->body_case) {
        case HOTLINE__ENVELOPE__BODY_REQUEST:
            FUZZ_CHECK (env->request);
            if (env->request->kind_case == HOTLINE__REQUEST__KIND_COMMAND)
                s_check_command (env->request);
            break;
        case HOTLINE__ENVELOPE__BODY_REPLY: {
            Hotline__Reply *reply = env->reply;
            for (size_t i = 0; i < reply->n_field_errors; i++)
                FUZZ_CHECK (reply->field_errors [i]);
            json_t *json = json_loads (reply->json? reply->json: "null", 0, NULL);
            json_decref (json);
            break;
        }
        case HOTLINE__ENVELOPE__BODY_EVENT: {
            //  Apply the frame's own bytes as one item
            size_t size = hotline__event__get_packed_size (env->event);
            uint8_t *data = (uint8_t *) malloc (size? size: 1);
            hotline__event__pack (env->event, data);
            hl_hop_item_t item = { 0, data, size };
            s_sink_apply (&item, 1);
            free (data);
            s_check_event (env->event);
            break;
        }
        case HOTLINE__ENVELOPE__BODY_BATCH: {
            Hotline__HopBatch *batch = env->batch;
            size_t count = batch->n_items < 64? batch->n_items: 64;
            hl_hop_item_t items [64];
            for (size_t i = 0; i < count; i++) {
                FUZZ_CHECK (batch->items [i]);
                items [i].data = batch->items [i]->payload.data;
                items [i].size = batch->items [i]->payload.len;
                //  What the archive does with each item
                const char *reason = NULL;
                Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
                if (event && hl_msg_check (&event->base, &reason) == 0)
                    s_check_event (event);
                if (event)
                    hotline__event__free_unpacked (event, NULL);
            }
            s_sink_apply (items, count);
            break;
        }
        default:
            break;
    }
}

// ------------------------------------------------------------ the node

static void
s_check_node (const uint8_t *data, size_t size, Hotline__Envelope *env)
{
    //  A request id seen before would get its remembered reply: forget them
    //  so each input is executed
    sqlite3_exec (s_intake_db, "DELETE FROM requests", NULL, NULL, NULL);
    int64_t seq_before = fuzz_sql_int (s_intake_db, "SELECT coalesce (max (seq), 0) FROM log");
    zframe_t *frame = zframe_new (data, size);
    FUZZ_CHECK (zframe_send (&frame, s_client, 0) == 0);
    //  front door -> (archive -> front door) -> client
    fuzz_node_spin (s_ward, 3);
    zmsg_t *answer = NULL;
    size_t replies = 0;
    while (hl_sock_readable (s_client)) {
        zmsg_destroy (&answer);
        answer = zmsg_recv (s_client);
        FUZZ_CHECK (answer);
        replies++;
    }
    //  Exactly one reply, and the client can read it
    FUZZ_CHECK (replies == 1);
    FUZZ_CHECK (zmsg_size (answer) == 1);
    zframe_t *body = zmsg_first (answer);
    const char *reason = NULL;
    Hotline__Envelope *decoded = hl_msg_decode (zframe_data (body), zframe_size (body), &reason);
    if (!decoded) {
        char msg [200];
        int n = snprintf (msg, sizeof msg, "reply refused by the client's decoder: %s\n", reason);
        if (write (2, msg, (size_t) n)) {}
    }
    FUZZ_CHECK (decoded);
    FUZZ_CHECK (decoded->body_case == HOTLINE__ENVELOPE__BODY_REPLY);
    Hotline__Reply *reply = decoded->reply;
    int code = reply->code;
    FUZZ_CHECK (code == HL_OK || code == HL_BAD_INPUT || code == HL_FORBIDDEN
             || code == HL_NOT_FOUND || code == HL_CONFLICT || code == HL_TOO_LARGE
             || code == HL_UNAVAILABLE);
    if (code != HL_OK)
        FUZZ_CHECK (*reply->error);
    Hotline__Request *request = env && env->body_case == HOTLINE__ENVELOPE__BODY_REQUEST?
                                env->request: NULL;
    bool has_id = request && *request->request_id && strlen (request->request_id) <= 64;
    if (has_id)
        FUZZ_CHECK (streq (reply->request_id, request->request_id));
    else
        FUZZ_CHECK (code == HL_BAD_INPUT);
    int64_t seq_after = fuzz_sql_int (s_intake_db, "SELECT coalesce (max (seq), 0) FROM log");
    bool command = has_id && request->kind_case == HOTLINE__REQUEST__KIND_COMMAND;
    if (command && code == HL_OK) {
        //  Acknowledged: on disk, with its request
        FUZZ_CHECK (reply->seq > 0 && (int64_t) reply->seq == seq_after);
        FUZZ_CHECK (seq_after == seq_before + 1);
        FUZZ_CHECK (hl_case_id_valid (reply->case_id));
        sqlite3_stmt *stmt;
        FUZZ_CHECK (sqlite3_prepare_v2 (s_intake_db, "SELECT count(*) FROM requests r, log l"
                    " WHERE r.request_id = ?1 AND l.seq = ?2 AND l.case_id = ?3", -1, &stmt, NULL)
                    == SQLITE_OK);
        sqlite3_bind_text (stmt, 1, request->request_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) reply->seq);
        sqlite3_bind_text (stmt, 3, reply->case_id, -1, SQLITE_STATIC);
        FUZZ_CHECK (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 1);
        sqlite3_finalize (stmt);
    }
    else
        FUZZ_CHECK (seq_after == seq_before);        //  refused: nothing written
    if (has_id && request->kind_case == HOTLINE__REQUEST__KIND_QUERY && code == HL_OK) {
        json_error_t error;
        json_t *json = json_loads (reply->json, 0, &error);
        FUZZ_CHECK (json);
        json_decref (json);
    }
    FUZZ_CHECK (fuzz_log_gap_free (s_intake_db));
    FUZZ_CHECK (fuzz_log_gap_free (s_archive_db));
    hl_msg_free (&decoded);
    zmsg_destroy (&answer);
    if (seq_after > RESET_EVERY_SEQ) {
        s_stop ();
        s_start ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_init ();
    const char *reason = NULL;
    Hotline__Envelope *env = hl_msg_decode (data, size, &reason);
    if (!env)
        FUZZ_CHECK (reason && *reason);
    else {
        FUZZ_CHECK (env->schema == HL_SCHEMA_VERSION);
        FUZZ_CHECK (env->body_case != HOTLINE__ENVELOPE__BODY__NOT_SET);
        //  Round trip: decode (pack (decoded)) is accepted, and is a fixpoint
        size_t packed_size = hotline__envelope__get_packed_size (env);
        uint8_t *packed = (uint8_t *) malloc (packed_size? packed_size: 1);
        FUZZ_CHECK (hotline__envelope__pack (env, packed) == packed_size);
        if (packed_size <= HL_MAX_MSG_SIZE) {
            Hotline__Envelope *again = hl_msg_decode (packed, packed_size, &reason);
            FUZZ_CHECK (again);
            size_t again_size = hotline__envelope__get_packed_size (again);
            FUZZ_CHECK (again_size == packed_size);
            uint8_t *repacked = (uint8_t *) malloc (again_size? again_size: 1);
            hotline__envelope__pack (again, repacked);
            FUZZ_CHECK (memcmp (packed, repacked, packed_size) == 0);
            free (repacked);
            hl_msg_free (&again);
        }
        free (packed);
    }
    //  The node first (s_check_bodies redacts events in place)
    s_check_node (data, size, env);
    if (env)
        s_check_bodies (env);
    hl_msg_free (&env);
    return 0;
}
