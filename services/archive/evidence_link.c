/*  evidence_link — a forwarded case's evidence files, ward -> city, over
 *  the hop. See evidence_link.h.
 *
 *  Reading this file: the object and the stream names; the ward (which
 *  files leave, queueing their pieces, the fetch with its rate limit, the
 *  backlog gauge); the city (one piece applied, the case's files).
 */
#include "hotline.h"
#include "evidence_link.h"
#include <inttypes.h>

//  archive.db's step 11: the city's filings' files, per ward (released:
//  the ward has the file, the city's copy is gone or kept for a case)
const char evidence_link_filings_schema [] =
    "CREATE TABLE IF NOT EXISTS evidence_return ("
    "  ward TEXT NOT NULL, seq INTEGER NOT NULL, case_id TEXT NOT NULL, ref TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL, at INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  total INTEGER NOT NULL, released INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ward, seq));"
    "CREATE INDEX IF NOT EXISTS evidence_return_sha ON evidence_return (sha256, released);";

const char evidence_link_schema [] =
    "CREATE TABLE IF NOT EXISTS evidence_outbox ("
    "  seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, ref TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL, at INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  total INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS evidence_outbox_file ON evidence_outbox (case_id, ref);"
    "CREATE TABLE IF NOT EXISTS evidence_files ("
    "  case_id TEXT NOT NULL, ref TEXT NOT NULL, sha256 TEXT NOT NULL, ward TEXT NOT NULL,"
    "  type TEXT NOT NULL, bytes INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (case_id, ref));";

#define S_SUFFIX    "/evidence"

struct _evidence_link_t {
    hl_service_t *service;
    hl_store_t *store;
    hl_procedure_t *procedure;
    hl_evidence_t *evidence;
    hl_metrics_t *metrics;
    //  the stream's sender (ward) and the rate limit of the pieces sent
    //  (a token bucket; at the city, of the filings' files to all wards)
    hl_hop_sender_t *sender;
    zloop_t *loop;
    int64_t rate;               //  bytes a second, 0: no limit
    double tokens;
    int64_t filled_at;          //  monotonic ms of the last refill
    int timer;                  //  a wake-up armed (zloop timer id), or 0
    uint64_t city_cursor;       //  the highest cursor the city asked from (fetch's after)
    hl_hop_sender_t *return_sender; //  city: serves the wards their filings' files
    hl_ratelimit_t rl_behind;   //  ward: the outbox is behind the city's cursor
    hl_ratelimit_t rl_bad;      //  city: a ward's bad pieces, one line a second
};

//  An upload's temporary file (evidence/tmp/*.part) not written for this
//  long has no writer: the web appends as the bytes arrive, and its
//  connections time out long before
#define S_TMP_STALE_MS      (3600 * 1000)

evidence_link_t *
evidence_link_new (hl_service_t *service, hl_store_t *store)
{
    evidence_link_t *self = (evidence_link_t *) zmalloc (sizeof (evidence_link_t));
    self->service = service;
    self->store = store;
    self->procedure = hl_service_procedure (service);
    self->metrics = hl_service_metrics (service);
    char *dir = hl_service_path (service, "evidence");
    self->evidence = hl_evidence_new (dir);
    free (dir);
    //  Before any release runs: what a crash left in tmp/ (hl_evidence_sweep:
    //  a file moved aside to be deleted is put back, judged again by the
    //  next deletion pass; an upload's temporary file not written for an
    //  hour is removed, the web writing its own meanwhile; pieces stay)
    if (self->evidence)
        hl_evidence_sweep (self->evidence, S_TMP_STALE_MS);
    int64_t rate = hl_config_int (hl_service_config (service), "federation/evidence_bytes_per_s", 0);
    if (rate < 0 || rate > ((int64_t) 1 << 40)) {
        hl_error ("federation/evidence_bytes_per_s must be 0 (no limit) or a rate in bytes");
        evidence_link_destroy (&self);
        return NULL;
    }
    self->rate = rate;
    if (streq (hl_service_role (service), "city")) {
        //  Exported from 0, so an alert on their rate has a series at once
        hl_metrics_add (self->metrics, "hotline_federation_evidence_files_total", 0);
        hl_metrics_add (self->metrics, "hotline_federation_evidence_bytes_total", 0);
        hl_metrics_add (self->metrics, "hotline_federation_evidence_refused_total", 0);
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_sent_total", 0);
    }
    else {
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_files_total", 0);
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_bytes_total", 0);
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_refused_total", 0);
    }
    if (!self->evidence)
        evidence_link_destroy (&self);
    return self;
}

void
evidence_link_destroy (evidence_link_t **self_p)
{
    assert (self_p);
    evidence_link_t *self = *self_p;
    if (self) {
        if (self->timer)
            zloop_timer_end (self->loop, self->timer);
        hl_evidence_destroy (&self->evidence);
        free (self);
        *self_p = NULL;
    }
}

void
evidence_link_stream_name (const char *ward, char *name, size_t size)
{
    snprintf (name, size, "%s" S_SUFFIX, ward);
}

bool
evidence_link_stream_ward (const char *stream, char *ward, size_t size)
{
    size_t len = stream? strlen (stream): 0;
    size_t suffix = strlen (S_SUFFIX);
    if (len <= suffix || strneq (stream + len - suffix, S_SUFFIX) || len - suffix >= size)
        return false;
    snprintf (ward, size, "%.*s", (int) (len - suffix), stream);
    return true;
}

// ---------------------------------------------------------------- ward

//  Has the case been forwarded (any of its actions has the forward meaning)
static int
s_forwarded (evidence_link_t *self, const char *case_id, bool *forwarded)
{
    *forwarded = false;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT action, variant FROM case_actions WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW && !*forwarded)
        *forwarded = hl_procedure_means (self->procedure, "forward",
                                         (const char *) sqlite3_column_text (stmt, 0),
                                         (const char *) sqlite3_column_text (stmt, 1));
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 0: -1;
}

//  Queue the pieces of the stored file sha256 (bytes long) as seq + 1,
//  seq + 2 ...: in the ward's evidence_outbox (to: NULL), or on the
//  city's stream to ward to (evidence_return). 0 or -1 (logged)
static int
s_insert_pieces (evidence_link_t *self, const char *to, int64_t seq, const char *case_id,
                 const char *ref, const char *sha256, size_t bytes)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store, to?
        "INSERT INTO evidence_return (seq, case_id, ref, sha256, at, size, total, ward)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)":
        "INSERT INTO evidence_outbox (seq, case_id, ref, sha256, at, size, total)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    for (size_t at = 0; at < bytes; at += EVIDENCE_LINK_CHUNK) {
        size_t size = bytes - at < EVIDENCE_LINK_CHUNK? bytes - at: EVIDENCE_LINK_CHUNK;
        sqlite3_bind_int64 (stmt, 1, ++seq);
        sqlite3_bind_text (stmt, 2, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, ref, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) at);
        sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) size);
        sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) bytes);
        if (to)
            sqlite3_bind_text (stmt, 8, to, -1, SQLITE_STATIC);
        int rc = sqlite3_step (stmt);
        sqlite3_reset (stmt);
        if (rc != SQLITE_DONE) {
            hl_error ("evidence: cannot queue %s: %s", case_id, hl_store_error (self->store));
            return -1;
        }
    }
    return 0;
}

//  Queue one file of a forwarded case (once per case): its outgoing copy,
//  in pieces. 0 (queued, or it cannot leave: logged), -1 on an error
static int
s_queue_file (evidence_link_t *self, const char *case_id, const char *ref)
{
    if (!hl_evidence_ref_valid (ref))
        return 0;               //  a reference that is no file of ours (a URL)
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT count(*) FROM evidence_outbox WHERE case_id = ? AND ref = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    int64_t queued = rc == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): -1;
    sqlite3_reset (stmt);
    if (queued != 0)
        return queued > 0? 0: -1;
    char out [HL_EVIDENCE_REF_SIZE];
    size_t bytes = 0;
    rc = hl_evidence_outgoing (self->evidence, ref, out, &bytes);
    if (rc == 1 || (rc == 0 && bytes == 0)) {
        hl_log (HL_WARN, case_id, "evidence %.19s... is not at this ward or cannot be shown"
                " beyond it: not sent to the city", ref);
        return 0;
    }
    if (rc)
        return -1;
    int64_t seq = hl_store_int (self->store, "SELECT coalesce (max (seq), 0) FROM evidence_outbox", -1);
    //  A ward restored from a backup behind the city: the city has pieces
    //  past our outbox, and would take new ones numbered below its cursor
    //  as duplicates. Number them after it (the receiver asks for
    //  cursor + 1 next, so no gap shows)
    if (seq >= 0 && (uint64_t) seq < self->city_cursor)
        seq = (int64_t) self->city_cursor;
    if (seq < 0 || s_insert_pieces (self, NULL, seq, case_id, ref, out, bytes))
        return -1;
    hl_log (HL_INFO, case_id, "evidence %.19s... queued for the city (%zu bytes)", out, bytes);
    return 0;
}

//  Every file a case names: its report's, and every `evidence` argument of
//  its history (the event just appended included)
static int
s_queue_case (evidence_link_t *self, const char *case_id)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "SELECT report FROM cases WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    Hotline__Event *submit = NULL;
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) == SQLITE_BLOB)
        submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 0),
                                         (const uint8_t *) sqlite3_column_blob (stmt, 0));
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    zlistx_t *refs = zlistx_new ();
    zlistx_set_destructor (refs, (zlistx_destructor_fn *) zstr_free);
    if (submit && submit->report)
        for (size_t i = 0; i < submit->report->n_evidence; i++)
            zlistx_add_end (refs, hl_strdup (submit->report->evidence [i]));
    if (submit)
        hotline__event__free_unpacked (submit, NULL);
    stmt = hl_store_prepare (self->store, "SELECT event FROM log WHERE case_id = ? ORDER BY seq");
    rc = stmt? SQLITE_DONE: SQLITE_ERROR;
    if (stmt) {
        sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
            Hotline__Event *event = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 0),
                                                            (const uint8_t *) sqlite3_column_blob (stmt, 0));
            if (event && *hl_event_arg (event, "evidence"))
                zlistx_add_end (refs, hl_strdup (hl_event_arg (event, "evidence")));
            if (event)
                hotline__event__free_unpacked (event, NULL);
        }
        sqlite3_reset (stmt);
    }
    int result = rc == SQLITE_DONE? 0: -1;
    for (char *ref = (char *) zlistx_first (refs); ref && result == 0; ref = (char *) zlistx_next (refs))
        result = s_queue_file (self, case_id, ref);
    zlistx_destroy (&refs);
    return result;
}

int
evidence_link_queue (evidence_link_t *self, const Hotline__Event *event)
{
    if (!self || !event->case_id || !*event->case_id)
        return 0;
    if (hl_procedure_means (self->procedure, "forward", event->action, event->variant))
        return s_queue_case (self, event->case_id);
    const char *ref = hl_event_arg (event, "evidence");
    if (!*ref)
        return 0;
    bool forwarded;
    if (s_forwarded (self, event->case_id, &forwarded))
        return -1;
    return forwarded? s_queue_file (self, event->case_id, ref): 0;
}

//  The rate limit allows more now: wake the sender
static int
s_wake (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    evidence_link_t *self = (evidence_link_t *) arg;
    self->timer = 0;
    //  The ward's sender, or at the city the return sender
    hl_hop_sender_t *sender = self->sender? self->sender: self->return_sender;
    if (sender)
        hl_hop_sender_notify (sender);
    return 0;
}

//  Bytes the rate limit allows now (a bucket of one second, or of one
//  piece if a second holds less)
static double
s_allowance (evidence_link_t *self)
{
    int64_t now = zclock_mono ();
    double cap = self->rate > EVIDENCE_LINK_CHUNK? (double) self->rate: EVIDENCE_LINK_CHUNK;
    if (self->filled_at)
        self->tokens += (double) (now - self->filled_at) * (double) self->rate / 1000.0;
    else
        self->tokens = cap;
    if (self->tokens > cap)
        self->tokens = cap;
    self->filled_at = now;
    return self->tokens;
}

//  The rows of a prepared, bound SELECT seq, case_id, ref, sha256, at,
//  size, total: one hotline.EvidenceChunk each into items, the bytes read
//  from the stored file now. limited: under the rate limit. The
//  count, or -1 (nothing left in items)
static int
s_fetch_rows (evidence_link_t *self, sqlite3_stmt *stmt, bool limited, hl_hop_item_t *items)
{
    double allowed = limited? s_allowance (self): 0;
    int count = 0, rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        size_t size = (size_t) sqlite3_column_int64 (stmt, 5);
        if (limited && (double) size > allowed) {
            //  Over the rate: the rest waits until the bucket holds a piece
            if (!self->timer && self->loop) {
                size_t wait = (size_t) (((double) size - allowed) * 1000.0 / (double) self->rate) + 1;
                self->timer = zloop_timer (self->loop, wait, 1, s_wake, self);
                if (self->timer < 0)
                    self->timer = 0;
            }
            break;
        }
        Hotline__EvidenceChunk chunk = HOTLINE__EVIDENCE_CHUNK__INIT;
        chunk.case_id = (char *) sqlite3_column_text (stmt, 1);
        chunk.ref = (char *) sqlite3_column_text (stmt, 2);
        chunk.sha256 = (char *) sqlite3_column_text (stmt, 3);
        chunk.offset = (uint64_t) sqlite3_column_int64 (stmt, 4);
        chunk.total = (uint64_t) sqlite3_column_int64 (stmt, 6);
        uint8_t *data = (uint8_t *) zmalloc (size? size: 1);
        ssize_t got = hl_evidence_read (self->evidence, chunk.sha256, chunk.offset, data, size);
        if (got < 0 || (size_t) got != size) {
            //  Deleted or cut here: said so, so the receiver drops the
            //  file rather than the stream stalling on it forever
            hl_log (HL_ERROR, chunk.case_id, "evidence %.19s... cannot be read at %" PRIu64
                    ": sent as lost", chunk.sha256, chunk.offset);
            chunk.lost = true;
        }
        else {
            chunk.data.data = data;
            chunk.data.len = size;
        }
        items [count].seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        items [count].size = hotline__evidence_chunk__get_packed_size (&chunk);
        items [count].data = (uint8_t *) zmalloc (items [count].size);
        hotline__evidence_chunk__pack (&chunk, items [count].data);
        free (data);
        allowed -= (double) size;
        if (limited)
            self->tokens -= (double) size;
        count++;
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        hl_error ("evidence: reading the pieces to send failed: %s", hl_store_error (self->store));
        for (int i = 0; i < count; i++) {
            free (items [i].data);
            items [i].data = NULL;
        }
        return -1;
    }
    return count;
}

int
evidence_link_fetch (void *arg, const char *stream, uint64_t after, size_t max, hl_hop_item_t *items)
{
    (void) stream;
    evidence_link_t *self = (evidence_link_t *) arg;
    if (after > self->city_cursor)
        self->city_cursor = after;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT seq, case_id, ref, sha256, at, size, total FROM evidence_outbox"
        " WHERE seq > ? ORDER BY seq LIMIT ?");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) after);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) max);
    int count = s_fetch_rows (self, stmt, self->rate > 0, items);
    if (count == 0
    &&  after > (uint64_t) hl_store_int (self->store, "SELECT coalesce (max (seq), 0) FROM evidence_outbox", 0)) {
        long suppressed = hl_ratelimit (&self->rl_behind);
        if (suppressed >= 0)
            hl_error ("evidence: the city has pieces up to %" PRIu64 ", past this ward's outbox"
                      " (restored from a backup?): new files are numbered after them (%ld similar"
                      " suppressed)", after, suppressed);
    }
    return count;
}

//  Ward: pieces the city has not acknowledged (loop thread, every second)
static void
s_ward_metrics (void *arg)
{
    evidence_link_t *self = (evidence_link_t *) arg;
    uint64_t acked = hl_hop_sender_acked (self->sender);
    uint64_t head = (uint64_t) hl_store_int (self->store, "SELECT max(seq) FROM evidence_outbox", 0);
    hl_metrics_set (self->metrics, "hotline_federation_evidence_backlog",
                    (double) (head > acked? head - acked: 0));
}

void
evidence_link_set_sender (evidence_link_t *self, hl_hop_sender_t *sender, zloop_t *loop)
{
    self->sender = sender;
    self->loop = loop;
    hl_metrics_on_refresh (self->metrics, s_ward_metrics, self);
}

// ---------------------------------------------------------------- city

static int
s_record (evidence_link_t *self, const Hotline__EvidenceChunk *chunk, const char *ward,
          const char *type)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO evidence_files (case_id, ref, sha256, ward, type, bytes, received_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, chunk->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, chunk->ref, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, chunk->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, ward, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) chunk->total);
    sqlite3_bind_int64 (stmt, 7, hl_clock_now ());
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("evidence: cannot record a file of %s: %s", chunk->case_id,
                  hl_store_error (self->store));
        return -1;
    }
    return 0;
}

//  A piece a ward (ward NULL: the city) should not have sent: logged (one line a second),
//  counted, skipped
static void
s_refuse (evidence_link_t *self, const char *ward, uint64_t seq, const char *why)
{
    hl_metrics_add (self->metrics, ward? "hotline_federation_evidence_refused_total"
                                       : "hotline_federation_filing_evidence_refused_total", 1);
    long suppressed = hl_ratelimit (&self->rl_bad);
    if (suppressed >= 0)
        hl_error ("%s%s evidence item %" PRIu64 ": %s; skipped (%ld similar suppressed)",
                  ward? "ward ": "the city's", ward? ward: "", seq, why, suppressed);
}

//  Is a piece well formed and about one of ward's cases (ward NULL: one
//  of the city's filings, the citizen's original, named by its own
//  SHA-256); why not, or NULL
static const char *
s_check (const Hotline__EvidenceChunk *chunk, const char *ward)
{
    const char *reason = NULL;
    if (hl_msg_check (&chunk->base, &reason))
        return reason;
    size_t len = ward? strlen (ward): 0;
    if (ward && (!hl_case_id_valid (chunk->case_id) || strncmp (chunk->case_id, ward, len)
             ||  chunk->case_id [len] != '-'))
        return "not a case of this ward";
    if (!ward && (!hl_filing_id_valid (chunk->case_id) || strneq (chunk->ref, chunk->sha256)))
        return "not a filing's file";
    if (!hl_evidence_ref_valid (chunk->ref) || !hl_evidence_ref_valid (chunk->sha256))
        return "not a sha256 ref";
    if (chunk->total == 0 || chunk->total > EVIDENCE_LINK_MAX)
        return "a file size out of range";
    if (!chunk->lost && (chunk->offset >= chunk->total || chunk->data.len == 0
                     ||  chunk->data.len > chunk->total - chunk->offset))
        return "a piece outside its file";
    return NULL;
}

//  One well-formed piece into the store, whichever way it travels: a
//  temporary file per transfer, named prefix + the file's hex (one
//  transfer open per sender: pieces come in order, so a first piece drops
//  any other of that prefix); the last piece checked (size, SHA-256, an
//  accepted type) and renamed to its content address. *type is set when
//  the file is here (S_PIECE_NEW, S_PIECE_HAD)
typedef enum { S_PIECE_ERROR = -1, S_PIECE_PART, S_PIECE_HAD, S_PIECE_NEW, S_PIECE_BAD } s_piece_t;

static s_piece_t
s_piece (evidence_link_t *self, const Hotline__EvidenceChunk *chunk, const char *prefix,
         const char **type)
{
    char name [128], path [PATH_MAX];
    snprintf (name, sizeof name, "%s%s", prefix, chunk->sha256 + 7);
    size_t bytes = 0;
    if (hl_evidence_find (self->evidence, chunk->sha256, path, sizeof path, type, &bytes) == 0)
        //  Here already: a piece delivered again, or the same file sent
        //  again. Nothing is written
        return S_PIECE_HAD;
    if (chunk->lost) {
        hl_evidence_piece_drop (self->evidence, prefix);
        return S_PIECE_BAD;
    }
    if (chunk->offset == 0)
        hl_evidence_piece_drop (self->evidence, prefix);
    if (hl_evidence_piece_write (self->evidence, name, chunk->offset, chunk->data.data, chunk->data.len))
        return S_PIECE_ERROR;
    if (chunk->offset + chunk->data.len < chunk->total)
        return S_PIECE_PART;
    int rc = hl_evidence_piece_finish (self->evidence, name, chunk->sha256, chunk->total, type);
    return rc == 0? S_PIECE_NEW: rc == 1? S_PIECE_BAD: S_PIECE_ERROR;
}

int
evidence_link_apply (evidence_link_t *self, const char *ward, const hl_hop_item_t *item)
{
    Hotline__EvidenceChunk *chunk = hotline__evidence_chunk__unpack (NULL, item->size, item->data);
    if (!chunk) {
        s_refuse (self, ward, item->seq, "not an EvidenceChunk");
        return 0;
    }
    const char *why = s_check (chunk, ward);
    if (why) {
        s_refuse (self, ward, item->seq, why);
        hotline__evidence_chunk__free_unpacked (chunk, NULL);
        return 0;
    }
    //  One temporary file per transfer; its name says whose (the ward's
    //  code is digits: hl_case_id_valid checked the case's prefix)
    char prefix [32];
    snprintf (prefix, sizeof prefix, "w%s-", ward);
    const char *type = NULL;
    int rc = 0;
    s_piece_t got = s_piece (self, chunk, prefix, &type);
    if (got == S_PIECE_ERROR)
        rc = -1;
    else
    if (got == S_PIECE_BAD)
        s_refuse (self, ward, item->seq, chunk->lost? "the ward lost the file"
                                                    : "the file is not what its sha256 says");
    else
    if (got == S_PIECE_HAD)
        rc = s_record (self, chunk, ward, type);    //  the case names it
    else
    if (got == S_PIECE_NEW && (rc = s_record (self, chunk, ward, type)) == 0) {
        hl_metrics_add (self->metrics, "hotline_federation_evidence_files_total", 1);
        hl_metrics_add (self->metrics, "hotline_federation_evidence_bytes_total", chunk->total);
        hl_log (HL_INFO, chunk->case_id, "evidence %.19s... from ward %s (%" PRIu64 " bytes)",
                chunk->sha256, ward, chunk->total);
    }
    hotline__evidence_chunk__free_unpacked (chunk, NULL);
    return rc;
}

json_t *
evidence_link_files (hl_store_t *store, const char *case_id, const char *origin_case)
{
    json_t *files = json_array ();
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "SELECT case_id, ref, sha256, type, bytes FROM evidence_files"
        " WHERE case_id IN (?1, ?2) ORDER BY case_id = ?1, received_ms, ref");
    if (!stmt)
        return files;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, origin_case? origin_case: case_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        json_array_append_new (files, json_pack ("{s:s, s:s, s:s, s:s, s:I}",
            "case_id", (const char *) sqlite3_column_text (stmt, 0),
            "ref", (const char *) sqlite3_column_text (stmt, 1),
            "sha256", (const char *) sqlite3_column_text (stmt, 2),
            "type", (const char *) sqlite3_column_text (stmt, 3),
            "bytes", (json_int_t) sqlite3_column_int64 (stmt, 4)));
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        hl_error ("evidence: cannot list the files of %s: %s", case_id, hl_store_error (store));
    return files;
}

// ---------------------------------------------------------------- filings

size_t
evidence_link_filing_refs (const Hotline__Event *event, const char **refs, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; event->report && i < event->report->n_evidence && count < max; i++)
        if (hl_evidence_ref_valid (event->report->evidence [i]))
            refs [count++] = event->report->evidence [i];
    const char *attached = hl_event_arg (event, "evidence");
    if (hl_evidence_ref_valid (attached) && count < max)
        refs [count++] = attached;
    return count;
}

//  City: a filing's files, queued for its ward
int
evidence_link_queue_filing (evidence_link_t *self, const char *ward, const Hotline__Event *event)
{
    const char *refs [EVIDENCE_LINK_FILING_FILES];
    size_t count = self? evidence_link_filing_refs (event, refs, EVIDENCE_LINK_FILING_FILES): 0;
    for (size_t i = 0; i < count; i++) {
        const char *ref = refs [i];
        char path [PATH_MAX];
        const char *type = NULL;
        size_t bytes = 0;
        int rc = hl_evidence_find (self->evidence, ref, path, sizeof path, &type, &bytes);
        if (rc < 0)
            return -1;
        if (rc == 1 || bytes == 0 || bytes > EVIDENCE_LINK_MAX) {
            //  The web commits the files before it files the report, so
            //  this is a file deleted by hand
            hl_error ("filing %s: evidence %.19s... is not in the city's store: not sent to ward %s",
                      event->request_id, ref, ward);
            continue;
        }
        sqlite3_stmt *stmt = hl_store_prepare (self->store,
            "SELECT coalesce (max (seq), 0) FROM evidence_return WHERE ward = ?");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
        rc = sqlite3_step (stmt);
        int64_t seq = rc == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): -1;
        sqlite3_reset (stmt);
        if (seq < 0 || s_insert_pieces (self, ward, seq, event->request_id, ref, ref, bytes))
            return -1;
        hl_info ("filing %s: evidence %.19s... queued for ward %s (%zu bytes)",
                 event->request_id, ref, ward, bytes);
    }
    return 0;
}

//  A file the web commits again (the same photo uploaded again) is kept
//  this long at most while no filing is queued for it: the filing that
//  needs it is normally queued within a second (an intake round trip and
//  one hop); past this, the ward would file that filing without the file
//  anyway (federation.c, s_file), so keeping it longer helps no one
#define S_FRESH_MS  (10 * 60 * 1000)

//  City: the ward has every piece up to after. The city's copy of each
//  file whose last piece that passed is deleted, unless the city still
//  needs it: a case of the city names it (evidence_files), or it is queued
//  again, for this ward or another, beyond what that ward has, or the web
//  has committed it again since the last filing queued with it took it
//  (its mtime is after that filing's at_ms: an upload again whose filing
//  the archive has not queued yet; deleting then would leave that filing
//  a lost file). A file kept keeps its rows unreleased: judged again in a
//  second. 0 or -1
static int
s_release (evidence_link_t *self, const char *ward, uint64_t after)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT r.sha256, r.case_id, (SELECT coalesce (max (f.at_ms), 0) FROM evidence_return o"
        "   JOIN filings f ON f.filing_id = o.case_id WHERE o.sha256 = r.sha256)"
        " FROM evidence_return r WHERE r.ward = ?1 AND r.seq <= ?2"
        " AND r.released = 0 AND r.at + r.size = r.total"
        " AND NOT EXISTS (SELECT 1 FROM evidence_files f WHERE f.sha256 = r.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM evidence_return o WHERE o.sha256 = r.sha256 AND o.released = 0"
        "   AND (o.ward <> ?1 OR o.seq > ?2))");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) after);
    int rc;
    size_t sent = 0;
    json_t *kept = json_array ();
    int64_t fresh = zclock_time () - S_FRESH_MS;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *ref = (const char *) sqlite3_column_text (stmt, 0);
        int64_t taken = sqlite3_column_int64 (stmt, 2);
        int got = hl_evidence_release (self->evidence, ref, taken > fresh? taken: fresh);
        if (got == 0)
            sent++;
        else {
            if (got < 0)
                hl_error ("filing %s: cannot delete the city's copy of %.19s...",
                          (const char *) sqlite3_column_text (stmt, 1), ref);
            json_array_append_new (kept, json_string (ref));
        }
    }
    sqlite3_reset (stmt);
    char *keep = json_dumps (kept, JSON_COMPACT);
    json_decref (kept);
    if (rc != SQLITE_DONE) {
        free (keep);
        return -1;
    }
    stmt = hl_store_prepare (self->store,
        "UPDATE evidence_return SET released = 1 WHERE ward = ? AND seq <= ? AND released = 0"
        " AND sha256 NOT IN (SELECT value FROM json_each (?))");
    if (!stmt) {
        free (keep);
        return -1;
    }
    sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) after);
    sqlite3_bind_text (stmt, 3, keep, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    free (keep);
    if (rc != SQLITE_DONE)
        return -1;
    if (sent) {
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_sent_total", sent);
        hl_info ("ward %s has %zu more of the city's filed files: the city's copies are gone", ward, sent);
    }
    return 0;
}

int
evidence_link_fetch_filings (void *arg, const char *stream, uint64_t after, size_t max,
                             hl_hop_item_t *items)
{
    evidence_link_t *self = (evidence_link_t *) arg;
    char ward [64];
    if (!evidence_link_stream_ward (stream, ward, sizeof ward))
        return -1;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT seq, case_id, ref, sha256, at, size, total FROM evidence_return"
        " WHERE ward = ? AND seq > ? ORDER BY seq LIMIT ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) after);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) max);
    //  Under the same limit as a ward's: the city's uplink carries the
    //  citizens' videos to every ward, one bucket for all of them
    return s_fetch_rows (self, stmt, self->rate > 0, items);
}

//  City: every second (loop thread, outside the sender's pump), the
//  city's copies each ward now has. The cursor is what the ward reported
//  in its last credit, sent after its apply committed; a fetch's `after`
//  is not (the sender pipelines: it is what was sent)
static void
s_city_release (void *arg)
{
    evidence_link_t *self = (evidence_link_t *) arg;
    if (!self->return_sender)
        return;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT DISTINCT ward FROM evidence_return WHERE released = 0");
    if (!stmt)
        return;
    zlistx_t *wards = zlistx_new ();
    zlistx_set_destructor (wards, (zlistx_destructor_fn *) zstr_free);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        zlistx_add_end (wards, hl_strdup ((const char *) sqlite3_column_text (stmt, 0)));
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        hl_error ("evidence: cannot list the wards owed files: %s", hl_store_error (self->store));
    for (char *ward = (char *) zlistx_first (wards); ward; ward = (char *) zlistx_next (wards)) {
        char stream [64];
        evidence_link_stream_name (ward, stream, sizeof stream);
        uint64_t cursor = hl_hop_sender_acked_stream (self->return_sender, stream);
        //  A failure is tried again in a second: the rows stay released = 0
        if (cursor && s_release (self, ward, cursor))
            hl_error ("evidence: cannot release the city's copies sent to ward %s: %s", ward,
                      hl_store_error (self->store));
    }
    zlistx_destroy (&wards);
}

void
evidence_link_set_return_sender (evidence_link_t *self, hl_hop_sender_t *sender, zloop_t *loop)
{
    self->return_sender = sender;
    self->loop = loop;
    hl_metrics_on_refresh (self->metrics, s_city_release, self);
}

//  Ward: one piece of the city's filings' files
int
evidence_link_apply_filing (evidence_link_t *self, const hl_hop_item_t *item)
{
    Hotline__EvidenceChunk *chunk = hotline__evidence_chunk__unpack (NULL, item->size, item->data);
    const char *why = chunk? s_check (chunk, NULL): "not an EvidenceChunk";
    if (why) {
        s_refuse (self, NULL, item->seq, why);
        if (chunk)
            hotline__evidence_chunk__free_unpacked (chunk, NULL);
        return 0;
    }
    const char *type = NULL;
    s_piece_t got = s_piece (self, chunk, "city-", &type);
    if (got == S_PIECE_BAD)
        s_refuse (self, NULL, item->seq, chunk->lost? "the city lost the file"
                                                    : "the file is not what its sha256 says");
    else
    if (got == S_PIECE_NEW) {
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_files_total", 1);
        hl_metrics_add (self->metrics, "hotline_federation_filing_evidence_bytes_total", chunk->total);
        hl_info ("filing %s: evidence %.19s... from the city (%" PRIu64 " bytes)",
                 chunk->case_id, chunk->sha256, chunk->total);
    }
    hotline__evidence_chunk__free_unpacked (chunk, NULL);
    return got == S_PIECE_ERROR? -1: 0;
}

bool
evidence_link_has (evidence_link_t *self, const char *ref)
{
    return hl_evidence_has (self->evidence, ref);
}
