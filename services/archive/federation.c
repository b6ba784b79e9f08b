/*  federation — the ward<->city links of an archive. See federation.h.  */
#include "hotline.h"
#include "federation.h"
#include "federation_guard.h"
#include "evidence_link.h"

struct _federation_t {
    federation_sink_t sink;         //  the archive's callbacks
    hl_service_t *service;
    hl_store_t *store;
    bool active;
    bool city;
    bool plaintext;
    const char *ward;               //  ward role: our ward code
    hl_procedure_t *procedure;      //  its forward meaning: the one unredacted event
    zcert_t *cert;                  //  our keypair
    hl_keyring_t *keyring;          //  city: allow/ (`ward` metadata) and its ZAP handler
    hl_hop_sender_t *to_city;       //  ward
    hl_hop_receiver_t *from_city;   //  ward
    hl_hop_receiver_t *from_wards;  //  city
    hl_hop_sender_t *to_wards;      //  city
    hl_client_t *intake;            //  ward: our intake, for the city's filings
    federation_guard_t *guard;      //  ward: refuses a log behind the city's cursor
    evidence_link_t *evidence;      //  a forwarded case's files (evidence_link.h)
    hl_hop_sender_t *evidence_to_city;  //  ward: the evidence stream
    hl_hop_receiver_t *evidence_from_city;  //  ward: the city's filings' files
    char waiting_for [64];          //  ward: the filing last logged as waiting for its files
    bool acked_started;             //  ward metrics: the city's acknowledgements
    uint64_t acked_seen;
    int64_t wards_refreshed;        //  city metrics: when the per-ward gauges were set
    zhashx_t *filing_wards;         //  city: wards recorded in filing_wards during this run
    hl_ratelimit_t rl_filing_ward;  //  city: a failed record of one
};

// ---------------------------------------------------------------- keys

//  The city admits the keys of its allow directory (hl_keyring: the
//  certificates' `ward` metadata, and the ZAP handler that answers each
//  CurveZMQ handshake from that table)

//  May the peer with this CurveZMQ key speak for (or pull) this ward's stream?
static bool
s_authorize (void *arg, const char *user_id, const char *stream)
{
    federation_t *self = (federation_t *) arg;
    if (self->plaintext)
        return stream && *stream;
    const char *ward = hl_keyring_lookup (self->keyring, user_id);
    if (!ward || strneq (ward, stream)) {
        hl_warn ("refused key %.12s... for ward %s (key speaks for %s)",
                 user_id, stream, ward? ward: "no ward");
        return false;
    }
    return true;
}

static zcert_t *
s_load_cert (federation_t *self, const char *key, bool secret)
{
    hl_config_t *config = hl_service_config (self->service);
    char *path = hl_config_resolve (config, hl_config_get (config, key, NULL));
    if (!path) {
        hl_error ("federation: %s is not set (CurveZMQ keys; `hotline keys init` makes them,"
                  " federation/plaintext = 1 allows plaintext for development)", key);
        return NULL;
    }
    zcert_t *cert = zsys_file_exists (path)? zcert_load (path): NULL;
    if (!cert)
        hl_error ("federation: cannot load certificate %s (%s)", path, key);
    else
    if (secret && streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        hl_error ("federation: %s has no secret key (%s_secret missing)", path, path);
        zcert_destroy (&cert);
    }
    free (path);
    return cert;
}

// ---------------------------------------------------------------- ward side

//  The ward's log as the city may see it: reports without personal data,
//  except on the event that forwards a case to the Department
static int
s_fetch_ward (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    federation_t *self = (federation_t *) arg;
    //  after is the city's cursor (or what we sent since): beyond our
    //  head, the city holds events we no longer have (federation_guard.h)
    if (!federation_guard_allows (self->guard, after))
        return 0;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT l.seq, l.event, c.report FROM log l LEFT JOIN cases c ON c.case_id = l.case_id"
        " WHERE l.seq > ? ORDER BY l.seq LIMIT ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) after);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) max);
    int count = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        Hotline__Event *event = hotline__event__unpack (NULL,
            (size_t) sqlite3_column_bytes (stmt, 1), (const uint8_t *) sqlite3_column_blob (stmt, 1));
        if (!event) {
            //  Cannot happen for our own log; pass the bytes on unchanged
            //  (the city refuses them, logged) rather than leave a gap
            hl_error ("log item %lld cannot be decoded", (long long) sqlite3_column_int64 (stmt, 0));
            items [count].seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
            items [count].size = (size_t) sqlite3_column_bytes (stmt, 1);
            items [count].data = (uint8_t *) zmalloc (items [count].size);
            memcpy (items [count].data, sqlite3_column_blob (stmt, 1), items [count].size);
            count++;
            continue;
        }
        Hotline__Event *submit = NULL;
        Hotline__Report *own_report = event->report;
        //  The procedure's forward meaning, the same that the city's
        //  routing opens a Department case from (hl_procedure_means)
        bool forward = hl_procedure_means (self->procedure, "forward", event->action, event->variant);
        if (forward && sqlite3_column_type (stmt, 2) == SQLITE_BLOB) {
            //  The Department answers the reporter: it gets the full report
            submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 2),
                                             (const uint8_t *) sqlite3_column_blob (stmt, 2));
            if (submit)
                event->report = submit->report;
        }
        else
        if (event->report)
            hl_event_redact (event);
        items [count].seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        items [count].size = hotline__event__get_packed_size (event);
        items [count].data = (uint8_t *) zmalloc (items [count].size);
        hotline__event__pack (event, items [count].data);
        event->report = own_report;
        if (submit)
            hotline__event__free_unpacked (submit, NULL);
        hotline__event__free_unpacked (event, NULL);
        count++;
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        //  A failed read is an error, not the end of the log: the hop
        //  retries on its next tick
        hl_error ("federation: reading the log failed: %s", hl_store_error (self->store));
        while (count > 0)
            free (items [--count].data);
        return -1;
    }
    return count;
}

static int
s_cursor_return (void *arg, const char *stream, uint64_t *cursor)
{
    (void) stream;
    federation_t *self = (federation_t *) arg;
    return self->sink.cursor (self->sink.arg, "city", cursor);
}

//  One filing from the city (a node-level "file" event: federation.h,
//  "Filing"): the command it carries, done by our intake as the actor it
//  names, with its request id. Intake remembers each request id with its
//  reply, so a filing redelivered (the batch failed, the archive was killed
//  before its cursor moved) is answered from that memory: one case, however
//  often it comes. The city's receive time goes with it (received_ms: the
//  case's legal clock starts then, intake clamps it). 0 when intake
//  answered (done, or refused: intake wrote the refusal in our log once,
//  HL_ACTION_FILING_REFUSED, which our stream takes to the city; a refusal
//  of the content does not change on retry), -1 when it did not or could
//  not store it (HL_UNAVAILABLE: the whole batch is redelivered).
static int
s_file (federation_t *self, const Hotline__Event *event, uint64_t seq)
{
    const char *actor = event->actor? event->actor: "";
    const char *colon = strchr (actor, ':');
    size_t role_len = colon? (size_t) (colon - actor): 0;
    //  The city files reports and the reporter's own actions, never as an
    //  officer of ours: the roles of the web's public form and of Open311
    bool role_ok = (role_len == 6 && strncmp (actor, "system", 6) == 0)
                || (role_len == 7 && strncmp (actor, "citizen", 7) == 0);
    if (!event->ward || strneq (event->ward, self->ward) || !role_ok
    ||  !hl_filing_id_valid (event->request_id)) {
        hl_error ("return stream item %" PRIu64 ": a filing for ward %s as '%.40s' (request %.40s)"
                  " is not one we take: dropped", seq, event->ward? event->ward: "", actor,
                  event->request_id? event->request_id: "");
        hl_metrics_add (hl_service_metrics (self->service), "hotline_federation_filings_refused_total", 1);
        return 0;
    }
    size_t n_args = 0;
    Hotline__Command__ArgsEntry *entries = (Hotline__Command__ArgsEntry *)
        zmalloc ((event->n_args + 1) * sizeof (Hotline__Command__ArgsEntry));
    Hotline__Command__ArgsEntry **entry_ptrs = (Hotline__Command__ArgsEntry **)
        zmalloc ((event->n_args + 1) * sizeof (Hotline__Command__ArgsEntry *));
    for (size_t i = 0; i < event->n_args; i++)
        if (strncmp (event->args [i]->key, "file_", 5)) {
            hotline__command__args_entry__init (&entries [n_args]);
            entries [n_args].key = event->args [i]->key;
            entries [n_args].value = event->args [i]->value;
            entry_ptrs [n_args] = &entries [n_args];
            n_args++;
        }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) hl_event_arg (event, "file_action");
    command.variant = (char *) hl_event_arg (event, "file_variant");
    command.case_id = (char *) hl_event_arg (event, "file_case");
    command.report = event->report;
    command.note = event->note;
    command.args = entry_ptrs;
    command.n_args = n_args;
    command.received_ms = event->at_ms > 0? event->at_ms: 0;
    Hotline__Envelope *reply = hl_client_command (self->intake, event->request_id, actor, &command);
    free (entries);
    free (entry_ptrs);
    if (!reply)
        return -1;                  //  no answer, or HL_UNAVAILABLE: logged by hl_client_command
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    if (reply->reply->code != HL_OK) {
        hl_warn ("the city's filing %s (%s%s%s) was refused by intake (%d: %s)%s",
                 event->request_id, command.action, *command.variant? " ": "", command.variant,
                 reply->reply->code, reply->reply->error? reply->reply->error: "",
                 reply->reply->replayed? ", before: not again": ": the city is told");
        if (!reply->reply->replayed)
            hl_metrics_add (metrics, "hotline_federation_filings_refused_total", 1);
    }
    else
    if (!reply->reply->replayed) {
        hl_log (HL_INFO, reply->reply->case_id, "filed from the city (%s, %s)", event->request_id,
                command.action);
        hl_metrics_add (metrics, "hotline_federation_filed_total", 1);
    }
    else    //  delivered again (a crash, a failed batch): intake remembered it
        hl_log (HL_INFO, reply->reply->case_id, "the city's filing %s was done before: not again",
                event->request_id);
    hl_msg_free (&reply);
    return 0;
}

//  The city's return stream: its filings are done through our intake
//  first (s_file), then the whole batch is applied with its cursor (the
//  archive records the city's events about our Department cases and skips
//  the filings, which reach our log as our intake's own events). A filing
//  done before a failed apply is done again on redelivery, which intake
//  answers from its memory: exactly once either way.
//
//  A filing whose files (its report's evidence, or the file a reporter's
//  attach names: evidence_link_filing_refs), which the city sends on
//  the evidence stream "<ward>/evidence") are not all in our store yet
//  waits for them: the batch fails (-1) and the hop redelivers it, so a
//  case is never filed before its photos. Not forever: a filing the city
//  took more than FEDERATION_FILING_WAIT_MS ago is filed without the
//  files still missing (the city lost them, or the evidence stream is
//  cut), logged at error naming them, so one lost file does not hold the
//  ward's whole return stream. 1 while waiting, 0 to file it
static int
s_filing_waits (federation_t *self, const Hotline__Event *event)
{
    char missing [HL_EVIDENCE_REF_SIZE * 3] = "";
    size_t count = 0;
    const char *refs [EVIDENCE_LINK_FILING_FILES];
    size_t named = evidence_link_filing_refs (event, refs, EVIDENCE_LINK_FILING_FILES);
    for (size_t i = 0; i < named; i++)
        if (!evidence_link_has (self->evidence, refs [i]) && count++ < 2)
            snprintf (missing + strlen (missing), sizeof missing - strlen (missing), "%s%.19s...",
                      count > 1? ", ": "", refs [i]);
    if (count == 0)
        return 0;
    bool logged = streq (self->waiting_for, event->request_id);
    if (event->at_ms > 0 && hl_clock_now () - event->at_ms < FEDERATION_FILING_WAIT_MS) {
        if (!logged)        //  once, not at every redelivery
            hl_info ("the city's filing %s waits for %zu of its files (%s)", event->request_id,
                     count, missing);
        snprintf (self->waiting_for, sizeof self->waiting_for, "%s", event->request_id);
        return 1;
    }
    hl_error ("the city's filing %s is filed without %zu of its files, still not here after %d"
              " minutes: %s", event->request_id, count, FEDERATION_FILING_WAIT_MS / 60000, missing);
    hl_metrics_add (hl_service_metrics (self->service), "hotline_federation_filings_without_files_total", 1);
    return 0;
}

static int
s_apply_return (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    (void) stream;
    federation_t *self = (federation_t *) arg;
    for (size_t i = 0; i < count; i++) {
        Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
        bool filing = event && (!event->case_id || !*event->case_id)
                   && event->action && streq (event->action, HL_ACTION_FILE);
        int rc = filing && s_filing_waits (self, event)? -1: 0;
        if (filing && rc == 0)
            rc = s_file (self, event, items [i].seq);
        if (event)
            hotline__event__free_unpacked (event, NULL);
        if (rc)
            return -1;
    }
    return self->sink.apply (self->sink.arg, "city", items, count, true);
}

// ---------------------------------------------------------------- city side

static int
s_cursor_ward (void *arg, const char *stream, uint64_t *cursor)
{
    federation_t *self = (federation_t *) arg;
    char key [64];
    snprintf (key, sizeof key, "ward:%s", stream);
    return self->sink.cursor (self->sink.arg, key, cursor);
}

static int
s_apply_ward (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    federation_t *self = (federation_t *) arg;
    char key [64];
    snprintf (key, sizeof key, "ward:%s", stream);
    //  A ward speaks only for its own cases (its key was checked at hello);
    //  the city's own events it echoes back are skipped by the archive
    size_t len = strlen (stream);
    for (size_t i = 0; i < count; i++) {
        Hotline__Event *event = hotline__event__unpack (NULL, items [i].size, items [i].data);
        bool echo = event && event->origin && streq (event->origin, hl_service_node (self->service));
        bool ok = event && (echo
               || (event->ward && streq (event->ward, stream)
                   && (!event->case_id || !*event->case_id
                       || (strncmp (event->case_id, stream, len) == 0 && event->case_id [len] == '-'))));
        if (event)
            hotline__event__free_unpacked (event, NULL);
        if (!ok) {
            hl_error ("ward %s sent an event for another ward (item %" PRIu64 "): batch refused",
                      stream, items [i].seq);
            return -1;
        }
    }
    return self->sink.apply (self->sink.arg, key, items, count, false);
}

static int
s_group_begin (void *arg)
{
    federation_t *self = (federation_t *) arg;
    return self->sink.group_begin (self->sink.arg);
}

static int
s_group_commit (void *arg)
{
    federation_t *self = (federation_t *) arg;
    return self->sink.group_commit (self->sink.arg);
}

//  A ward's archive pulling "<ward>/evidence" runs this release: it takes
//  filings (federation.h, "Filing", Upgrades). Recorded durably the first
//  time, once per ward per run; only outside a transaction (a fetch woken
//  inside one would be rolled back with it), else at a later fetch. A
//  failure is logged and tried again: the fetch itself goes on
static void
s_filing_ward_seen (federation_t *self, const char *ward)
{
    if (zhashx_lookup (self->filing_wards, ward)
    ||  !sqlite3_get_autocommit (hl_store_db (self->store)))
        return;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO filing_wards (ward, since_ms) VALUES (?, ?)");
    int rc = SQLITE_ERROR;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, hl_clock_now ());
        rc = sqlite3_step (stmt);
        sqlite3_reset (stmt);
    }
    if (rc != SQLITE_DONE) {
        long suppressed = hl_ratelimit (&self->rl_filing_ward);
        if (suppressed >= 0)
            hl_error ("federation: cannot record that ward %s takes filings: %s (%ld similar suppressed)",
                      ward, hl_store_error (self->store), suppressed);
        return;
    }
    if (sqlite3_changes (hl_store_db (self->store)))
        hl_info ("federation: ward %s takes filings (its archive pulls its evidence stream)", ward);
    zhashx_insert (self->filing_wards, ward, (void *) "");
}

static int
s_fetch_return (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    federation_t *self = (federation_t *) arg;
    char ward [64];
    if (evidence_link_stream_ward (stream, ward, sizeof ward)) {
        s_filing_ward_seen (self, ward);
        return evidence_link_fetch_filings (self->evidence, stream, after, max, items);
    }
    return hl_hop_fetch_sql (self->store,
        "SELECT seq, event FROM return_outbox WHERE ward = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
        stream, after, max, items);
}

int
federation_queue_return (federation_t *self, const Hotline__Event *event,
                         const char *ward, const char *ward_case)
{
    //  A mutable copy, redacted, naming the ward's own case
    size_t size = hotline__event__get_packed_size (event);
    uint8_t *buffer = (uint8_t *) zmalloc (size);
    hotline__event__pack (event, buffer);
    Hotline__Event *copy = hotline__event__unpack (NULL, size, buffer);
    free (buffer);
    if (!copy)
        return -1;
    if (copy->report)
        hl_event_redact (copy);
    Hotline__Event__ArgsEntry origin = HOTLINE__EVENT__ARGS_ENTRY__INIT;
    origin.key = "origin_case";
    origin.value = (char *) ward_case;
    Hotline__Event__ArgsEntry **saved = copy->args;
    size_t saved_n = copy->n_args;
    Hotline__Event__ArgsEntry **entries = (Hotline__Event__ArgsEntry **)
        zmalloc ((saved_n + 1) * sizeof (Hotline__Event__ArgsEntry *));
    size_t n = 0;
    for (size_t i = 0; i < saved_n; i++)
        if (strneq (saved [i]->key, "origin_case"))
            entries [n++] = saved [i];
    entries [n++] = &origin;
    copy->args = entries;
    copy->n_args = n;
    size = hotline__event__get_packed_size (copy);
    buffer = (uint8_t *) zmalloc (size);
    hotline__event__pack (copy, buffer);
    copy->args = saved;
    copy->n_args = saved_n;
    free (entries);
    hotline__event__free_unpacked (copy, NULL);

    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO return_outbox (ward, seq, event) VALUES (?1,"
        " (SELECT coalesce (max (seq), 0) + 1 FROM return_outbox WHERE ward = ?1), ?2)");
    int rc = -1;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
        sqlite3_bind_blob (stmt, 2, buffer, (int) size, SQLITE_STATIC);
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
        sqlite3_reset (stmt);
    }
    free (buffer);
    return rc;
}

int
federation_queue_filing (federation_t *self, const Hotline__Event *event, const uint8_t *data, size_t size)
{
    const char *ward = event->ward;
    //  As written by our intake, NOT redacted: the ward needs the reporter
    //  to answer them. The return stream of a ward goes to that ward's key
    //  only (s_authorize), over CurveZMQ
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO return_outbox (ward, seq, event) VALUES (?1,"
        " (SELECT coalesce (max (seq), 0) + 1 FROM return_outbox WHERE ward = ?1), ?2)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 2, data, (int) size, SQLITE_STATIC);
    int rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
    sqlite3_reset (stmt);
    if (rc)
        hl_error ("federation: cannot queue a filing for ward %s: %s", ward, hl_store_error (self->store));
    else    //  the archive's notify of the return sender wakes this stream too
        rc = evidence_link_queue_filing (self->evidence, ward, event);
    return rc;
}

// ---------------------------------------------------------------- evidence

//  The wards' evidence streams ("<ward>/evidence", evidence_link.h) come
//  to the same bound receiver as their log streams: these wrap the log
//  stream's callbacks and take the evidence streams aside

//  A key may send its ward's evidence stream as it may send its log, and
//  pull the city's evidence stream for its ward as it may pull its return
//  stream
static bool
s_authorize_evidence (void *arg, const char *user_id, const char *stream)
{
    char ward [64];
    if (!evidence_link_stream_ward (stream, ward, sizeof ward))
        return s_authorize (arg, user_id, stream);
    return s_authorize (arg, user_id, ward);
}

static bool
s_authorize_ward (void *arg, const char *user_id, const char *stream)
{
    federation_t *self = (federation_t *) arg;
    char ward [64];
    if (evidence_link_stream_ward (stream, ward, sizeof ward) && !self->sink.apply_each)
        return false;
    return s_authorize_evidence (arg, user_id, stream);
}

//  An evidence stream's credit: a few pieces (2 MiB), not the log's
//  thousands of events
static uint32_t
s_window_ward (void *arg, const char *stream)
{
    (void) arg;
    char ward [64];
    return evidence_link_stream_ward (stream, ward, sizeof ward)? EVIDENCE_LINK_WINDOW: 0;
}

static int
s_cursor_from_ward (void *arg, const char *stream, uint64_t *cursor)
{
    federation_t *self = (federation_t *) arg;
    char ward [64], key [96];
    if (!evidence_link_stream_ward (stream, ward, sizeof ward))
        return s_cursor_ward (arg, stream, cursor);
    snprintf (key, sizeof key, "evidence:%s", ward);
    return self->sink.cursor (self->sink.arg, key, cursor);
}

typedef struct {
    evidence_link_t *link;
    const char *ward;
} s_evidence_apply_t;

static int
s_apply_evidence_item (void *arg, const hl_hop_item_t *item)
{
    s_evidence_apply_t *apply = (s_evidence_apply_t *) arg;
    return evidence_link_apply (apply->link, apply->ward, item);
}

static int
s_apply_from_ward (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    federation_t *self = (federation_t *) arg;
    char ward [64], key [96];
    if (!evidence_link_stream_ward (stream, ward, sizeof ward))
        return s_apply_ward (arg, stream, items, count);
    snprintf (key, sizeof key, "evidence:%s", ward);
    s_evidence_apply_t apply = { self->evidence, ward };
    return self->sink.apply_each (self->sink.arg, key, items, count, s_apply_evidence_item, &apply);
}

int
federation_queue_evidence (federation_t *self, const Hotline__Event *event)
{
    return self && !self->city? evidence_link_queue (self->evidence, event): 0;
}

//  Ward: the evidence stream, beside the log stream on the same link (its
//  own socket: a hop connection serves one stream)
static int
s_evidence_sender (federation_t *self, zloop_t *loop, const char *city, const hl_hop_opts_t *opts)
{
    hl_hop_opts_t evidence_opts = *opts;
    evidence_opts.batch = EVIDENCE_LINK_WINDOW;
    char stream [64];
    evidence_link_stream_name (self->ward, stream, sizeof stream);
    self->evidence_to_city = hl_hop_sender_new (loop, city, false, stream, evidence_link_fetch,
                                                self->evidence, &evidence_opts);
    if (!self->evidence_to_city)
        return -1;
    evidence_link_set_sender (self->evidence, self->evidence_to_city, loop);
    return 0;
}

//  Ward: the city's filings' files, "<ward>/evidence" pulled from the
//  city's return endpoint on a socket of its own (one hop connection
//  serves one stream), applied with the cursor "city/evidence" in one
//  transaction, EVIDENCE_LINK_WINDOW pieces in flight
static int
s_cursor_city_evidence (void *arg, const char *stream, uint64_t *cursor)
{
    (void) stream;
    federation_t *self = (federation_t *) arg;
    return self->sink.cursor (self->sink.arg, "city/evidence", cursor);
}

static int
s_apply_filing_item (void *arg, const hl_hop_item_t *item)
{
    return evidence_link_apply_filing ((evidence_link_t *) arg, item);
}

static int
s_apply_city_evidence (void *arg, const char *stream, const hl_hop_item_t *items, size_t count)
{
    (void) stream;
    federation_t *self = (federation_t *) arg;
    return self->sink.apply_each (self->sink.arg, "city/evidence", items, count,
                                  s_apply_filing_item, self->evidence);
}

static int
s_evidence_receiver (federation_t *self, zloop_t *loop, const char *city_return, const hl_hop_opts_t *opts)
{
    if (!self->sink.apply_each)
        return 0;               //  a store that takes no files (federation_test's)
    hl_hop_opts_t evidence_opts = *opts;
    evidence_opts.window = EVIDENCE_LINK_WINDOW;
    char stream [64];
    evidence_link_stream_name (self->ward, stream, sizeof stream);
    self->evidence_from_city = hl_hop_receiver_new (loop, city_return, false, stream, s_apply_city_evidence,
                                                    s_cursor_city_evidence, self, &evidence_opts);
    return self->evidence_from_city? 0: -1;
}

// ---------------------------------------------------------------- setup

//  The return endpoint, by default two ports above the city's federation
//  endpoint (the city's base+7 next to base+5)
static char *
s_return_endpoint (federation_t *self, const char *city)
{
    const char *configured = hl_config_get (hl_service_config (self->service),
                                            "endpoints/city_return", NULL);
    if (configured)
        return hl_strdup (configured);
    const char *colon = strrchr (city, ':');
    int port = colon? atoi (colon + 1): 0;
    if (port <= 0)
        return NULL;
    return zsys_sprintf ("%.*s:%d", (int) (colon - city), city, port + 2);
}

//  Ward: gauges of what the city has not acknowledged, and the events it
//  acknowledged during this run (loop thread, every second)
static void
s_metrics (void *arg)
{
    federation_t *self = (federation_t *) arg;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    uint64_t acked = hl_hop_sender_acked (self->to_city);
    uint64_t head = (uint64_t) hl_store_int (self->store, "SELECT max(seq) FROM log", 0);
    if (self->acked_started && acked > self->acked_seen)
        hl_metrics_add (metrics, "hotline_federation_forwarded_total", acked - self->acked_seen);
    self->acked_started = self->acked_started || hl_hop_sender_peers (self->to_city) > 0;
    self->acked_seen = acked;       //  before the city's first credit: its cursor
    hl_metrics_set (metrics, "hotline_federation_backlog", (double) (head > acked? head - acked: 0));
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT at_ms FROM log WHERE seq = ?");
    int64_t at_ms = 0;
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) acked + 1);
        at_ms = sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): 0;
        sqlite3_reset (stmt);
    }
    hl_metrics_set (metrics, "hotline_federation_oldest_unacked_age_seconds",
                    at_ms? (hl_clock_now () - at_ms) / 1000.0: 0);
}

//  City: per ward, where the city is in its log and when its last event
//  happened, so an alert can name the ward that went silent or fell
//  behind. One indexed lookup per ward, every 5 s (a city has thousands)
static void
s_city_metrics (void *arg)
{
    federation_t *self = (federation_t *) arg;
    int64_t now = zclock_mono ();
    if (self->wards_refreshed && now - self->wards_refreshed < 5000)
        return;
    self->wards_refreshed = now;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT substr (h.stream, 6), h.seq, (SELECT at_ms FROM log"
        "  WHERE origin = h.stream AND origin_seq <= h.seq ORDER BY origin_seq DESC LIMIT 1)"
        " FROM hop_cursor h WHERE h.stream LIKE 'ward:%'");
    if (!stmt)
        return;
    int64_t clock = hl_clock_now ();
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *ward = (const char *) sqlite3_column_text (stmt, 0);
        bool digits = ward && *ward && strlen (ward) <= 10;
        for (const char *c = ward; digits && *c; c++)
            digits = *c >= '0' && *c <= '9';
        if (!digits)
            continue;           //  label values are ward codes only
        int64_t at_ms = sqlite3_column_int64 (stmt, 2);
        char name [96];
        snprintf (name, sizeof name, "hotline_ward_cursor{ward=\"%s\"}", ward);
        hl_metrics_set (metrics, name, (double) sqlite3_column_int64 (stmt, 1));
        snprintf (name, sizeof name, "hotline_ward_last_event_timestamp_seconds{ward=\"%s\"}", ward);
        hl_metrics_set (metrics, name, at_ms / 1000.0);
        snprintf (name, sizeof name, "hotline_ward_last_event_age_seconds{ward=\"%s\"}", ward);
        hl_metrics_set (metrics, name, at_ms && clock > at_ms? (clock - at_ms) / 1000.0: 0);
    }
    sqlite3_reset (stmt);
}

federation_t *
federation_new (const federation_sink_t *sink, zloop_t *loop)
{
    assert (sink && sink->service && sink->store && sink->cursor && sink->apply
         && sink->group_begin && sink->group_commit);
    federation_t *self = (federation_t *) zmalloc (sizeof (federation_t));
    self->sink = *sink;
    self->service = sink->service;
    self->store = sink->store;
    hl_config_t *config = hl_service_config (self->service);
    self->city = streq (hl_service_role (self->service), "city");
    self->ward = hl_service_ward (self->service);
    self->plaintext = hl_config_int (config, "federation/plaintext", 0) == 1;
    self->procedure = hl_service_procedure (self->service);
    self->filing_wards = zhashx_new ();
    hl_hop_opts_t opts;
    hl_hop_opts_init (&opts);
    //  Even a ward without a city queues its forwarded cases' files: they
    //  go when a city is configured, as its log does
    self->evidence = evidence_link_new (self->service, self->store);
    if (!self->evidence) {
        federation_destroy (&self);
        return NULL;
    }

    if (!self->city) {
        const char *city = hl_config_get (config, "endpoints/city", NULL);
        if (!city || !*city) {
            hl_info ("federation: no endpoints/city, this ward runs on its own");
            return self;
        }
        char *city_return = s_return_endpoint (self, city);
        if (!city_return) {
            hl_error ("federation: cannot derive endpoints/city_return from %s", city);
            federation_destroy (&self);
            return NULL;
        }
        zcert_t *city_cert = NULL;
        if (!self->plaintext) {
            self->cert = s_load_cert (self, "federation/cert", true);
            city_cert = s_load_cert (self, "federation/city_cert", false);
            if (!self->cert || !city_cert) {
                zcert_destroy (&city_cert);
                free (city_return);
                federation_destroy (&self);
                return NULL;
            }
            opts.cert = self->cert;
            opts.server_key = zcert_public_txt (city_cert);
        }
        else
            hl_warn ("federation: PLAINTEXT link to the city (development only)");
        self->guard = federation_guard_new (self->service, self->store, self->ward);
        if (!self->guard) {
            zcert_destroy (&city_cert);
            free (city_return);
            federation_destroy (&self);
            return NULL;
        }
        self->to_city = hl_hop_sender_new (loop, city, false, self->ward,
                                           s_fetch_ward, self, &opts);
        self->from_city = hl_hop_receiver_new (loop, city_return, false, self->ward,
                                               s_apply_return, s_cursor_return, self, &opts);
        //  One try per delivery: a filing intake did not answer fails its
        //  batch, which the hop redelivers after a short delay, so the
        //  archive's loop is never held longer than one timeout
        self->intake = hl_client_new (hl_service_endpoint (self->service, "intake"), 3000, 1);
        int evidence = s_evidence_sender (self, loop, city, &opts)
                    || s_evidence_receiver (self, loop, city_return, &opts);
        zcert_destroy (&city_cert);             //  the hops copied the key
        free (city_return);
        if (!self->to_city || !self->from_city || evidence) {
            federation_destroy (&self);
            return NULL;
        }
        hl_metrics_on_refresh (hl_service_metrics (self->service), s_metrics, self);
    }
    else {
        if (!self->plaintext) {
            self->cert = s_load_cert (self, "federation/cert", true);
            char *allow_dir = hl_config_resolve (config, hl_config_get (config, "federation/allow", NULL));
            if (self->cert && allow_dir)
                self->keyring = hl_keyring_new (allow_dir, "ward", "federation");
            if (!self->keyring) {
                if (self->cert)
                    hl_error ("federation: federation/allow must name the directory of admitted"
                              " ward certificates");
                free (allow_dir);
                federation_destroy (&self);
                return NULL;
            }
            //  Bound before any CurveZMQ socket: without a ZAP handler
            //  libzmq would admit every client key
            if (hl_keyring_serve (self->keyring, loop)) {
                free (allow_dir);
                federation_destroy (&self);
                return NULL;
            }
            hl_info ("federation: %zu ward keys admitted from %s", hl_keyring_size (self->keyring),
                     allow_dir);
            free (allow_dir);
            opts.cert = self->cert;
            opts.curve_server = true;
        }
        else
            hl_warn ("federation: PLAINTEXT ward links accepted (development only)");
        self->from_wards = hl_hop_receiver_new (loop, hl_service_bind_endpoint (self->service, "federation"),
                                                true, NULL, s_apply_from_ward, s_cursor_from_ward, self, &opts);
        self->to_wards = hl_hop_sender_new (loop,
                                            hl_service_bind_endpoint (self->service, "federation_return"),
                                            true, "*", s_fetch_return, self, &opts);
        if (!self->from_wards || !self->to_wards) {
            federation_destroy (&self);
            return NULL;
        }
        hl_hop_receiver_set_authorize (self->from_wards, s_authorize_ward);
        hl_hop_receiver_set_window (self->from_wards, s_window_ward);
        //  One transaction (one fsync) for every ward batch waiting on the
        //  socket, rather than one per ward
        hl_hop_receiver_set_group (self->from_wards, s_group_begin, s_group_commit);
        hl_hop_sender_set_authorize (self->to_wards, s_authorize_evidence);
        evidence_link_set_return_sender (self->evidence, self->to_wards, loop);
        hl_metrics_on_refresh (hl_service_metrics (self->service), s_city_metrics, self);
    }
    self->active = true;
    return self;
}

void
federation_destroy (federation_t **self_p)
{
    assert (self_p);
    federation_t *self = *self_p;
    if (self) {
        hl_hop_sender_destroy (&self->to_city);
        hl_hop_receiver_destroy (&self->from_city);
        hl_hop_receiver_destroy (&self->from_wards);
        hl_hop_sender_destroy (&self->to_wards);
        hl_client_destroy (&self->intake);
        federation_guard_destroy (&self->guard);
        hl_hop_sender_destroy (&self->evidence_to_city);
        hl_hop_receiver_destroy (&self->evidence_from_city);
        evidence_link_destroy (&self->evidence);
        hl_keyring_destroy (&self->keyring);
        zcert_destroy (&self->cert);
        zhashx_destroy (&self->filing_wards);
        free (self);
        *self_p = NULL;
    }
}

void
federation_notify (federation_t *self)
{
    if (self && self->to_city)
        hl_hop_sender_notify (self->to_city);
    if (self && self->evidence_to_city)
        hl_hop_sender_notify (self->evidence_to_city);
}

void
federation_notify_return (federation_t *self)
{
    if (self && self->to_wards)
        hl_hop_sender_notify (self->to_wards);
}
