/*  fuzz_hop — libFuzzer harness for the hop as another node reaches it:
 *  the city's federation receiver (wards -> city, hl_hop receiver bound,
 *  s_apply_ward, archive apply) and its return sender (city -> wards,
 *  hl_hop sender bound, stream "*"), in a real city archive running in
 *  this process with plaintext federation on inproc endpoints.
 *
 *  Input: records [op][len hi][len lo][len bytes]:
 *      op % 10 == 0, 1  send the bytes as one frame from ward peer 0 / 1
 *                       (DEALERs connected to the federation receiver)
 *              2, 3     ... from receiver peer 0 / 1 (DEALERs connected
 *                       to the return sender)
 *              4        run the city's loop a few more passes
 *              5        send the bytes as TWO frames (split in the middle)
 *                       from ward peer 0
 *              6        reconnect peer op / 10 % 5 (a new routing id)
 *              7        send the bytes as two frames from receiver peer 0
 *              8, 9     ... as one / two frames from a client of the
 *                       city's public snapshot socket (hl_clone)
 *  After each record the city's loop runs; every frame the city sends is
 *  read and checked:
 *      - it passes the strict decoder (hl_msg_decode);
 *      - the federation receiver sends only HopCredit, the return sender
 *        only HopBatch; a batch names the stream the peer credited, its
 *        items are in increasing seq order above the cursor the peer
 *        gave, within the credit, and each item is an Event that passes
 *        hl_msg_check and carries no personal data;
 *      - the snapshot socket answers with HopBatch "snapshot" of redacted
 *        events in seq order (or empty placeholders);
 *  and after the input the city's log is gap-free (consumers stall on a gap).
 *
 *  Each input speaks for a fresh ward: the harness replaces every "31001"
 *  in the input by a new five-digit code, so the city's cursor for that
 *  stream starts at 0 and seq 1, 2 ... batches apply. The return stream
 *  "31002" is seeded with items at start (the city's own events about a
 *  Department case forwarded by ward 31002).
 */
#include "fuzz_node.h"

#define PEERS           5           //  2 ward senders, 2 ward receivers, 1 snapshot client
#define RESET_EVERY     20000       //  inputs between city rebuilds

static fuzz_node_t *s_city;
static sqlite3 *s_city_db;
static zsock_t *s_peers [PEERS];
static unsigned s_ward_counter;
static size_t s_inputs;
static size_t s_returned;           //  return items received (FUZZ_VERBOSE)

//  Per receiver peer (2, 3): what it asked the return sender for
typedef struct {
    bool credited;
    char stream [300];
    uint64_t cursor;
    uint64_t limit;
} s_want_t;
static s_want_t s_want [PEERS];

static void
s_peer_new (int i)
{
    zsock_destroy (&s_peers [i]);
    s_peers [i] = fuzz_dealer (fuzz_node_endpoint (s_city, i < 2? "federation":
                                                           i < 4? "federation_return": "snapshot"));
    memset (&s_want [i], 0, sizeof s_want [i]);
}

//  The city's own events about case 31-<year>-000001, forwarded by ward
//  31002 as 31002-2026-000009: they queue on the return stream "31002"
static void
s_seed_returns (void)
{
    const char *node = hl_service_node (s_city->service);
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    who.phone = "0916588826";
    who.name = "Nguyễn Văn A";
    report.reporter = &who;
    report.channel = HOTLINE__CHANNEL__PHONE;
    report.type = HOTLINE__POLLUTION_TYPE__ODOUR;
    report.scope = HOTLINE__SCOPE__SEVERAL_WARDS;
    report.location = "KCN Đình Vũ";
    report.description = "Mùi hôi từ khu công nghiệp";
    report.received_ms = 1764000000000LL;
    const char *actions [][3] = {
        { "submit", "", "received" },
        { "inform_leaders", "received", "leaders_informed" },
        { "reject", "leaders_informed", "rejected" },
    };
    hl_hop_item_t items [3];
    for (int i = 0; i < 3; i++) {
        Hotline__Event event = HOTLINE__EVENT__INIT;
        Hotline__Event__ArgsEntry args [2] = { HOTLINE__EVENT__ARGS_ENTRY__INIT,
                                               HOTLINE__EVENT__ARGS_ENTRY__INIT };
        Hotline__Event__ArgsEntry *ptrs [2] = { &args [0], &args [1] };
        char event_id [64];
        snprintf (event_id, sizeof event_id, "%s/%d", node, i + 1);
        event.event_id = event_id;
        event.seq = (uint64_t) i + 1;
        event.case_id = "31-2026-000001";
        event.ward = "";
        event.at_ms = 1764000000000LL + i * 1000;
        event.actor = "department:mai";
        event.action = (char *) actions [i][0];
        event.from_state = (char *) actions [i][1];
        event.to_state = (char *) actions [i][2];
        event.regime = "normal";
        event.origin = (char *) node;
        if (i == 0) {
            event.report = &report;
            args [0].key = "origin_ward";
            args [0].value = "31002";
            args [1].key = "origin_case";
            args [1].value = "31002-2026-000009";
            event.n_args = 2;
            event.args = ptrs;
        }
        else {
            args [0].key = "reason";
            args [0].value = "Ngoài thẩm quyền";
            event.n_args = 1;
            event.args = ptrs;
        }
        items [i].seq = (uint64_t) i + 1;
        items [i].size = hotline__event__get_packed_size (&event);
        items [i].data = (uint8_t *) malloc (items [i].size);
        hotline__event__pack (&event, items [i].data);
    }
    FUZZ_CHECK (archive_apply (s_city->archive, "intake", items, 3) == 0);
    for (int i = 0; i < 3; i++)
        free (items [i].data);
    FUZZ_CHECK (fuzz_sql_int (s_city_db, "SELECT count(*) FROM return_outbox WHERE ward = '31002'") == 3);
}

static void
s_stop (void)
{
    for (int i = 0; i < PEERS; i++)
        zsock_destroy (&s_peers [i]);
    sqlite3_close (s_city_db);
    s_city_db = NULL;
    fuzz_node_destroy (&s_city);
}

static void
s_start (void)
{
    s_city = fuzz_node_new ("fuzz_hop", "city", false, true);
    FUZZ_CHECK (sqlite3_open_v2 (fuzz_node_file (s_city, "archive.db"), &s_city_db,
                                 SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_busy_timeout (s_city_db, 5000);
    s_seed_returns ();
    for (int i = 0; i < PEERS; i++)
        s_peer_new (i);
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

//  Read and check everything the city sent to peer i
static void
s_drain (int i)
{
    zsock_t *sock = s_peers [i];
    while (hl_sock_readable (sock)) {
        zmsg_t *msg = zmsg_recv (sock);
        FUZZ_CHECK (msg && zmsg_size (msg) == 1);
        zframe_t *frame = zmsg_first (msg);
        const char *reason = NULL;
        Hotline__Envelope *env = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
        FUZZ_CHECK (env);
        if (i < 2)
            FUZZ_CHECK (env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT);
        else
        if (i == 4) {
            //  The public snapshot: redacted events in order, or placeholders
            FUZZ_CHECK (env->body_case == HOTLINE__ENVELOPE__BODY_BATCH);
            FUZZ_CHECK (streq (env->batch->stream, "snapshot"));
            for (size_t k = 0; k < env->batch->n_items; k++) {
                Hotline__HopItem *item = env->batch->items [k];
                if (k)
                    FUZZ_CHECK (item->seq > env->batch->items [k - 1]->seq);
                if (!item->payload.len)
                    continue;
                Hotline__Event *event = hotline__event__unpack (NULL, item->payload.len,
                                                                item->payload.data);
                FUZZ_CHECK (event && event->redacted);
                if (event->report && event->report->reporter)
                    FUZZ_CHECK (!*event->report->reporter->phone && !*event->report->reporter->name);
                hotline__event__free_unpacked (event, NULL);
            }
        }
        else {
            FUZZ_CHECK (env->body_case == HOTLINE__ENVELOPE__BODY_BATCH);
            Hotline__HopBatch *batch = env->batch;
            s_want_t *want = &s_want [i];
            //  Only a peer that credited a stream gets batches, of that stream
            FUZZ_CHECK (want->credited);
            FUZZ_CHECK (streq (batch->stream, want->stream));
            for (size_t k = 0; k < batch->n_items; k++) {
                Hotline__HopItem *item = batch->items [k];
                FUZZ_CHECK (item->seq > want->cursor && item->seq <= want->limit);
                if (k)
                    FUZZ_CHECK (item->seq == batch->items [k - 1]->seq + 1);
                Hotline__Event *event = hotline__event__unpack (NULL, item->payload.len,
                                                                item->payload.data);
                FUZZ_CHECK (event);
                FUZZ_CHECK (hl_msg_check (&event->base, &reason) == 0);
                //  Returned events carry no personal data, and name the ward's case
                if (event->report && event->report->reporter)
                    FUZZ_CHECK (!*event->report->reporter->phone && !*event->report->reporter->name);
                FUZZ_CHECK (*hl_event_arg (event, "origin_case"));
                s_returned++;
                hotline__event__free_unpacked (event, NULL);
            }
        }
        hl_msg_free (&env);
        zmsg_destroy (&msg);
    }
}

//  Would the return sender take this stream from a new peer?
static bool
s_admissible (const char *stream)
{
    return stream && *stream && strlen (stream) <= 256 && strneq (stream, "*");
}

//  Remember what a receiver peer asked for (the frame it sends)
static void
s_note_credit (int i, const uint8_t *data, size_t size)
{
    Hotline__Envelope *env = hl_msg_decode (data, size, NULL);
    if (env && env->body_case == HOTLINE__ENVELOPE__BODY_CREDIT) {
        s_want_t *want = &s_want [i];
        const char *stream = env->credit->stream;
        //  The sender keeps the first admissible stream a peer names; a
        //  later credit for another stream is dropped
        bool first = !want->credited && s_admissible (stream);
        if (first || (want->credited && streq (want->stream, stream))) {
            if (first)
                snprintf (want->stream, sizeof want->stream, "%s", stream);
            //  Items in flight before this credit may still arrive: keep
            //  the lowest cursor and the highest limit seen
            if (first || env->credit->cursor < want->cursor)
                want->cursor = env->credit->cursor;
            uint64_t limit = env->credit->cursor + env->credit->window;
            if (limit < env->credit->cursor)
                limit = UINT64_MAX;
            if (first || limit > want->limit)
                want->limit = limit;
            want->credited = true;
        }
    }
    hl_msg_free (&env);
}

static void
s_send (int i, const uint8_t *data, size_t size, bool split)
{
    if (split) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, data, size / 2);
        zmsg_addmem (msg, data + size / 2, size - size / 2);
        FUZZ_CHECK (zmsg_send (&msg, s_peers [i]) == 0);
    }
    else {
        if (i >= 2)
            s_note_credit (i, data, size);
        zframe_t *frame = zframe_new (data, size);
        FUZZ_CHECK (zframe_send (&frame, s_peers [i], 0) == 0);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_init ();
    static size_t reset_every = 0;
    if (!reset_every)
        reset_every = getenv ("FUZZ_RESET_EVERY")? (size_t) atoi (getenv ("FUZZ_RESET_EVERY")): RESET_EVERY;
    if (++s_inputs % (reset_every? reset_every: 1) == 0) {
        s_stop ();
        s_start ();
    }
    for (int i = 0; i < PEERS; i++)
        s_peer_new (i);
    //  A fresh ward for this input
    uint8_t *input = (uint8_t *) malloc (size? size: 1);
    memcpy (input, data, size);
    char ward [8];
    snprintf (ward, sizeof ward, "%05u", 40000 + (s_ward_counter++ % 50000));
    for (size_t at = 0; at + 5 <= size; at++)
        if (memcmp (input + at, "31001", 5) == 0)
            memcpy (input + at, ward, 5);

    size_t at = 0;
    while (at + 3 <= size) {
        uint8_t op = input [at];
        size_t len = ((size_t) input [at + 1] << 8) | input [at + 2];
        at += 3;
        if (len > size - at)
            len = size - at;
        const uint8_t *frame = input + at;
        at += len;
        switch (op % 10) {
            case 0: case 1: case 2: case 3:
                s_send (op % 10, frame, len, false);
                break;
            case 4:
                fuzz_node_spin (s_city, 3);
                break;
            case 5:
                s_send (0, frame, len, true);
                break;
            case 6:
                s_peer_new ((op / 10) % PEERS);
                break;
            case 7:
                s_send (2, frame, len, true);
                break;
            case 8:
                s_send (4, frame, len, false);
                break;
            case 9:
                s_send (4, frame, len, true);
                break;
        }
        fuzz_node_spin (s_city, 2);
        for (int i = 0; i < PEERS; i++)
            s_drain (i);
    }
    free (input);
    FUZZ_CHECK (fuzz_log_gap_free (s_city_db));
    if (getenv ("FUZZ_VERBOSE"))
        fprintf (stderr, "fuzz_hop: ward %s: city log %" PRId64 " events, %" PRId64 " from wards,"
                 " %zu return items so far\n", ward, fuzz_sql_int (s_city_db, "SELECT count(*) FROM log"),
                 fuzz_sql_int (s_city_db, "SELECT count(*) FROM log WHERE origin LIKE 'ward:4%'"), s_returned);
    return 0;
}
