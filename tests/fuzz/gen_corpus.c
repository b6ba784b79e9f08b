/*  gen_corpus — writes the committed seed corpora of tests/fuzz/corpus/.
 *
 *  Frames come from the product's own encoder (hl_msg_encode), and the JSON
 *  seeds are real archive answers: a ward node runs in this process, takes
 *  commands through intake's front door and answers queries. Run with
 *  `tests/fuzz/run --seeds` (it builds this file and runs it from the
 *  repository root). Files are rewritten in place; names are stable.
 */
#include "fuzz_node.h"

static const char *s_out = "tests/fuzz/corpus";

static void
s_write (const char *harness, const char *name, const void *data, size_t size)
{
    char path [300];
    snprintf (path, sizeof path, "%s/%s", s_out, harness);
    FUZZ_CHECK (zsys_dir_create ("%s", path) == 0);
    snprintf (path, sizeof path, "%s/%s/%s", s_out, harness, name);
    FUZZ_CHECK (fuzz_write_file (path, (const uint8_t *) data, size) == 0);
}

static void
s_write_frame (const char *harness, const char *name, Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    s_write (harness, name, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
}

//  Packed bytes of an envelope (caller frees)
static zchunk_t *
s_frame (Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    zchunk_t *chunk = zchunk_new (zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    return chunk;
}

// ------------------------------------------------------------- messages

static Hotline__Reporter s_who = HOTLINE__REPORTER__INIT;
static Hotline__Report s_report = HOTLINE__REPORT__INIT;
static char *s_evidence [] = { "ảnh-cống-xả-1.jpg", "https://example.vn/video/42" };

static void
s_init_report (void)
{
    s_who.name = "Nguyễn Thị Hằng";
    s_who.phone = "0916 588 826";
    s_who.email = "hang.nguyen@example.vn";
    s_who.address = "Số 12, tổ 3, phường An Biên";
    s_report.channel = HOTLINE__CHANNEL__PHONE;
    s_report.reporter = &s_who;
    s_report.polluter = "Công ty TNHH Hải Sản Đông Á";
    s_report.polluter_category = "licensed_facility";
    s_report.occurred_ms = 1764000000000LL;
    s_report.location = "Cống xả ra kênh Xáng, gần cầu An Biên";
    s_report.has_coordinates = true;
    s_report.latitude = 20.8561;
    s_report.longitude = 106.6822;
    s_report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    s_report.sudden = true;
    s_report.scope = HOTLINE__SCOPE__SEVERAL_WARDS;
    s_report.urgent = true;
    s_report.description = "Nước thải màu đen, mùi hôi nồng nặc từ xưởng chế biến hải sản";
    s_report.n_evidence = 2;
    s_report.evidence = s_evidence;
}

//  An envelope carrying request
static void
s_request_env (Hotline__Envelope *env, Hotline__Request *request)
{
    hotline__envelope__init (env);
    env->body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
    env->request = request;
    env->msg_id = request->request_id;
}

static void
s_command (Hotline__Envelope *env, Hotline__Request *request, Hotline__Command *command,
           const char *request_id, const char *actor)
{
    hotline__request__init (request);
    request->request_id = (char *) request_id;
    request->actor = (char *) actor;
    request->kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request->command = command;
    s_request_env (env, request);
}

static void
s_query (Hotline__Envelope *env, Hotline__Request *request, Hotline__Query *query,
         const char *request_id)
{
    hotline__request__init (request);
    request->request_id = (char *) request_id;
    request->actor = "officer:lan";
    request->kind_case = HOTLINE__REQUEST__KIND_QUERY;
    request->query = query;
    s_request_env (env, request);
}

static zchunk_t *
s_pack_event (Hotline__Event *event)
{
    size_t size = hotline__event__get_packed_size (event);
    uint8_t *buffer = (uint8_t *) malloc (size);
    hotline__event__pack (event, buffer);
    zchunk_t *chunk = zchunk_new (buffer, size);
    free (buffer);
    return chunk;
}

//  A ward's event as the city receives it
static zchunk_t *
s_event (uint64_t seq, const char *ward, const char *case_id, const char *action,
         const char *variant, const char *from, const char *to, bool with_report)
{
    char event_id [64], origin [32];
    snprintf (origin, sizeof origin, "ward-%s", ward);
    snprintf (event_id, sizeof event_id, "%s/%" PRIu64, origin, seq);
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.event_id = event_id;
    event.seq = seq;
    event.case_id = (char *) case_id;
    event.ward = (char *) ward;
    event.at_ms = 1764000000000LL + (int64_t) seq * 60000;
    event.actor = "officer:lan";
    event.action = (char *) action;
    event.variant = (char *) variant;
    event.from_state = (char *) from;
    event.to_state = (char *) to;
    event.regime = "normal";
    event.request_id = "seed";
    event.origin = origin;
    Hotline__Report report = s_report;
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    who.anonymous = true;
    report.reporter = &who;
    report.received_ms = event.at_ms;
    if (with_report)
        event.report = &report;
    Hotline__Event__ArgsEntry entry = HOTLINE__EVENT__ARGS_ENTRY__INIT;
    Hotline__Event__ArgsEntry *entries [1] = { &entry };
    if (streq (action, "assign")) {
        entry.key = "to";
        entry.value = "can-bo-hai";
        event.n_args = 1;
        event.args = entries;
    }
    if (streq (action, "directory")) {
        Hotline__FocalPoint point = HOTLINE__FOCAL_POINT__INIT;
        Hotline__FocalPoint *points [1] = { &point };
        point.unit = "UBND phường An Biên";
        point.receiving_phone = "0916588826";
        point.receiving_email = "ubnd@example.vn";
        event.n_focal_points = 1;
        event.focal_points = points;
        event.ward_name = "Phường An Biên";
        return s_pack_event (&event);
    }
    return s_pack_event (&event);
}

//  HopBatch envelope of events (seq first .. first+count-1)
static zchunk_t *
s_batch (const char *stream, zchunk_t **events, uint64_t first, size_t count, uint64_t head)
{
    Hotline__HopItem items [8];
    Hotline__HopItem *ptrs [8];
    for (size_t i = 0; i < count; i++) {
        hotline__hop_item__init (&items [i]);
        items [i].seq = first + i;
        items [i].payload.data = zchunk_data (events [i]);
        items [i].payload.len = zchunk_size (events [i]);
        ptrs [i] = &items [i];
    }
    Hotline__HopBatch batch = HOTLINE__HOP_BATCH__INIT;
    batch.stream = (char *) stream;
    batch.n_items = count;
    batch.items = ptrs;
    batch.head = head;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_BATCH;
    env.batch = &batch;
    return s_frame (&env);
}

static zchunk_t *
s_hello (const char *stream)
{
    Hotline__HopHello hello = HOTLINE__HOP_HELLO__INIT;
    hello.stream = (char *) stream;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return s_frame (&env);
}

static zchunk_t *
s_credit (const char *stream, uint64_t cursor, uint32_t window, bool reset)
{
    Hotline__HopCredit credit = HOTLINE__HOP_CREDIT__INIT;
    credit.stream = (char *) stream;
    credit.cursor = cursor;
    credit.window = window;
    credit.reset = reset;
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_CREDIT;
    env.credit = &credit;
    return s_frame (&env);
}

// ------------------------------------------------------------ envelope

static void
s_gen_envelope (void)
{
    const char *h = "envelope";
    Hotline__Envelope env;
    Hotline__Request request;
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "submit";
    command.report = &s_report;
    s_command (&env, &request, &command, "seed-submit-1", "officer:lan");
    s_write_frame (h, "submit-full", &env);

    Hotline__Report minimal = HOTLINE__REPORT__INIT;
    Hotline__Reporter anonymous = HOTLINE__REPORTER__INIT;
    anonymous.anonymous = true;
    minimal.channel = HOTLINE__CHANNEL__WALK_IN;
    minimal.reporter = &anonymous;
    minimal.location = "Chợ An Biên";
    minimal.type = HOTLINE__POLLUTION_TYPE__NOISE;
    minimal.scope = HOTLINE__SCOPE__WITHIN_WARD;
    minimal.description = "Loa kéo hát karaoke đến 2 giờ sáng";
    command.report = &minimal;
    s_command (&env, &request, &command, "seed-submit-2", "system:routing");
    s_write_frame (h, "submit-anonymous", &env);

    //  Actions on the first case of the year
    char case_id [32];
    time_t now = time (NULL);
    struct tm tm;
    localtime_r (&now, &tm);
    snprintf (case_id, sizeof case_id, "31001-%04d-000001", tm.tm_year + 1900);
    Hotline__Command action = HOTLINE__COMMAND__INIT;
    action.action = "inform_leaders";
    action.case_id = case_id;
    s_command (&env, &request, &action, "seed-inform-leaders", "system:notification");
    s_write_frame (h, "inform-leaders", &env);

    Hotline__Command__ArgsEntry args [2] = { HOTLINE__COMMAND__ARGS_ENTRY__INIT,
                                             HOTLINE__COMMAND__ARGS_ENTRY__INIT };
    Hotline__Command__ArgsEntry *arg_ptrs [2] = { &args [0], &args [1] };
    action.action = "route";
    action.variant = "department";
    args [0].key = "reason";
    args [0].value = "Nguồn thải thuộc khu công nghiệp";
    action.n_args = 1;
    action.args = arg_ptrs;
    action.note = "Chuyển Sở theo thẩm quyền";
    s_command (&env, &request, &action, "seed-route", "leader:hung");
    s_write_frame (h, "route-department", &env);

    action.action = "deadline_warn";
    action.variant = "";
    args [0].key = "deadline";
    args [0].value = "inform_leaders";
    args [1].key = "started_seq";
    args [1].value = "2";
    action.n_args = 2;
    action.note = "";
    s_command (&env, &request, &action, "deadline:seed:warn", "system:deadline");
    s_write_frame (h, "deadline-warn", &env);

    action.action = "duplicate";
    args [0].key = "of";
    args [0].value = case_id;
    action.n_args = 1;
    s_command (&env, &request, &action, "seed-duplicate", "officer:lan");
    s_write_frame (h, "duplicate-of", &env);

    //  An unknown action whose name is cut inside a character in the
    //  error message (regression: the reply failed the client's decoder)
    Hotline__Command unknown = HOTLINE__COMMAND__INIT;
    char long_action [400] = "a";
    for (int i = 0; i < 100; i++)
        strcat (long_action, "ệ");
    unknown.action = long_action;
    s_command (&env, &request, &unknown, "seed-long-action", "officer:lan");
    s_write_frame (h, "long-action", &env);

    //  Ping and queries
    hotline__request__init (&request);
    request.request_id = "seed-ping";
    request.kind_case = HOTLINE__REQUEST__KIND_PING;
    request.ping = true;
    s_request_env (&env, &request);
    s_write_frame (h, "ping", &env);

    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = case_id;
    s_query (&env, &request, &query, "seed-q-case");
    s_write_frame (h, "query-case", &env);
    hotline__query__init (&query);
    query.kind = "list";
    query.status = "received";
    query.type = HOTLINE__POLLUTION_TYPE__NOISE;
    query.overdue = true;
    query.limit = 20;
    s_query (&env, &request, &query, "seed-q-list");
    s_write_frame (h, "query-list", &env);
    hotline__query__init (&query);
    query.kind = "report";
    query.since_ms = 1735689600000LL;
    query.until_ms = 1767225600000LL;
    s_query (&env, &request, &query, "seed-q-report");
    s_write_frame (h, "query-report", &env);

    //  A reply, as a client sees it
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    Hotline__FieldError fe = HOTLINE__FIELD_ERROR__INIT;
    Hotline__FieldError *fe_ptr [1] = { &fe };
    char *allowed [2] = { "inform_leaders", "reject" };
    reply.request_id = "seed-reply";
    reply.code = HL_CONFLICT;
    reply.error = "cannot verify a case that is received";
    fe.field = "phone";
    fe.message = "phone must be 8 to 15 digits";
    reply.n_field_errors = 1;
    reply.field_errors = fe_ptr;
    reply.n_allowed = 2;
    reply.allowed = allowed;
    reply.json = "{\"count\":3}";
    hotline__envelope__init (&env);
    env.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    s_write_frame (h, "reply", &env);

    //  Events and hop messages
    zchunk_t *events [3];
    events [0] = s_event (1, "31001", "", "directory", "", "", "", false);
    events [1] = s_event (2, "31001", "31001-2026-000001", "submit", "", "", "received", true);
    events [2] = s_event (3, "31001", "31001-2026-000001", "inform_leaders", "", "received",
                          "leaders_informed", false);
    Hotline__Event *event = hotline__event__unpack (NULL, zchunk_size (events [1]), zchunk_data (events [1]));
    hotline__envelope__init (&env);
    env.body_case = HOTLINE__ENVELOPE__BODY_EVENT;
    env.event = event;
    s_write_frame (h, "event-submit", &env);
    //  A ward's clock far in the future (regression: deadline arithmetic
    //  overflowed at the city)
    event->at_ms = INT64_MAX - 10;
    s_write_frame (h, "event-far-future", &env);
    hotline__event__free_unpacked (event, NULL);
    zchunk_t *frame = s_batch ("31001", events, 1, 3, 3);
    s_write (h, "batch", zchunk_data (frame), zchunk_size (frame));
    zchunk_destroy (&frame);
    frame = s_credit ("intake", 0, 2048, true);
    s_write (h, "credit", zchunk_data (frame), zchunk_size (frame));
    zchunk_destroy (&frame);
    frame = s_hello ("31001");
    s_write (h, "hello", zchunk_data (frame), zchunk_size (frame));
    zchunk_destroy (&frame);
    for (int i = 0; i < 3; i++)
        zchunk_destroy (&events [i]);
}

// ------------------------------------------------------------------ hop

//  fuzz_hop input: records [op][len hi][len lo][frame]
static void
s_record (zchunk_t *input, uint8_t op, zchunk_t *frame)
{
    size_t size = frame? zchunk_size (frame): 0;
    uint8_t head [3] = { op, (uint8_t) (size >> 8), (uint8_t) size };
    zchunk_extend (input, head, 3);
    if (size)
        zchunk_extend (input, zchunk_data (frame), size);
}

static void
s_gen_hop (void)
{
    const char *h = "hop";
    zchunk_t *events [4];
    events [0] = s_event (1, "31001", "", "directory", "", "", "", false);
    events [1] = s_event (2, "31001", "31001-2026-000001", "submit", "", "", "received", true);
    events [2] = s_event (3, "31001", "31001-2026-000001", "inform_leaders", "", "received",
                          "leaders_informed", false);
    events [3] = s_event (4, "31001", "31001-2026-000001", "route", "department",
                          "leaders_informed", "forwarded", true);
    //  A ward's sender: hello, then its log in two batches
    zchunk_t *input = zchunk_new (NULL, 4096);
    zchunk_t *frame = s_hello ("31001");
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    frame = s_batch ("31001", events, 1, 2, 4);
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    frame = s_batch ("31001", events + 2, 3, 2, 4);
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    frame = s_hello ("31001");
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    s_write (h, "ward-log", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    //  A gap, a duplicate and a second sender for the same stream
    input = zchunk_new (NULL, 4096);
    frame = s_hello ("31001");
    s_record (input, 0, frame);
    s_record (input, 1, frame);
    zchunk_destroy (&frame);
    frame = s_batch ("31001", events + 2, 3, 2, 4);
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    frame = s_batch ("31001", events, 1, 3, 4);
    s_record (input, 1, frame);
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    s_write (h, "gap-and-duplicate", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    //  A ward's receiver pulling its return stream (31002 has items)
    input = zchunk_new (NULL, 4096);
    frame = s_credit ("31002", 0, 16, true);
    s_record (input, 2, frame);
    zchunk_destroy (&frame);
    frame = s_credit ("31002", 1, 16, false);
    s_record (input, 2, frame);
    zchunk_destroy (&frame);
    frame = s_credit ("31002", 0, 1, true);
    s_record (input, 3, frame);
    s_record (input, 4, NULL);
    zchunk_destroy (&frame);
    s_write (h, "return-credit", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    //  Wrong messages on each socket, and a two-frame message
    input = zchunk_new (NULL, 4096);
    frame = s_credit ("31001", 5, 16, false);
    s_record (input, 0, frame);
    zchunk_destroy (&frame);
    frame = s_hello ("31002");
    s_record (input, 2, frame);
    s_record (input, 5, frame);
    zchunk_destroy (&frame);
    frame = s_batch ("31001", events, 1, 1, 1);
    s_record (input, 3, frame);
    zchunk_destroy (&frame);
    s_write (h, "wrong-socket", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    //  The public snapshot: a page from the start, a head-only request
    input = zchunk_new (NULL, 4096);
    frame = s_credit ("snapshot", 0, 16, false);
    s_record (input, 8, frame);
    zchunk_destroy (&frame);
    frame = s_credit ("snapshot", 2, 0, false);
    s_record (input, 8, frame);
    zchunk_destroy (&frame);
    frame = s_credit ("monitor", 0, 16, false);
    s_record (input, 9, frame);
    zchunk_destroy (&frame);
    s_write (h, "snapshot", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);
    for (int i = 0; i < 4; i++)
        zchunk_destroy (&events [i]);
}

// --------------------------------------------------------------- report

//  fuzz_report input: [max errors][tag][value]... (see fuzz_report.c)
static void
s_tag_text (zchunk_t *input, uint8_t tag, const char *text)
{
    size_t len = strlen (text);
    zchunk_extend (input, &tag, 1);
    if (len < 255) {
        uint8_t n = (uint8_t) len;
        zchunk_extend (input, &n, 1);
    }
    else {
        uint8_t n [3] = { 255, (uint8_t) (len >> 8), (uint8_t) len };
        zchunk_extend (input, n, 3);
    }
    zchunk_extend (input, text, len);
}

static void
s_tag_int (zchunk_t *input, uint8_t tag, uint64_t value, size_t bytes)
{
    zchunk_extend (input, &tag, 1);
    for (size_t i = bytes; i > 0; i--) {
        uint8_t b = (uint8_t) (value >> (8 * (i - 1)));
        zchunk_extend (input, &b, 1);
    }
}

static void
s_gen_report (void)
{
    const char *h = "report";
    zchunk_t *input = zchunk_new (NULL, 1024);
    uint8_t max = 16;
    zchunk_extend (input, &max, 1);
    s_tag_int (input, 1, HOTLINE__CHANNEL__PHONE, 4);
    s_tag_text (input, 2, "Nguyễn Thị Hằng");
    s_tag_text (input, 3, "0916 588 826");
    s_tag_text (input, 4, "hang.nguyen@example.vn");
    s_tag_text (input, 5, "Số 12, tổ 3, phường An Biên");
    s_tag_text (input, 7, "Công ty TNHH Hải Sản Đông Á");
    s_tag_text (input, 8, "licensed_facility");
    s_tag_int (input, 9, 1764000000000ULL, 8);
    s_tag_text (input, 10, "Cống xả ra kênh Xáng, gần cầu An Biên");
    s_tag_int (input, 11, 1, 1);
    double lat = 20.8561, lon = 106.6822;
    uint64_t bits;
    memcpy (&bits, &lat, 8);
    s_tag_int (input, 12, bits, 8);
    memcpy (&bits, &lon, 8);
    s_tag_int (input, 13, bits, 8);
    s_tag_int (input, 14, HOTLINE__POLLUTION_TYPE__WASTE_WATER, 4);
    s_tag_int (input, 15, 1, 1);
    s_tag_int (input, 16, HOTLINE__SCOPE__SEVERAL_WARDS, 4);
    s_tag_int (input, 17, 1, 1);
    s_tag_text (input, 18, "Nước thải màu đen, mùi hôi nồng nặc từ xưởng chế biến hải sản");
    s_tag_text (input, 19, "ảnh-cống-xả-1.jpg");
    s_tag_text (input, 19, "https://example.vn/video/42");
    s_write (h, "full", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    input = zchunk_new (NULL, 1024);
    zchunk_extend (input, &max, 1);
    s_tag_int (input, 1, HOTLINE__CHANNEL__WALK_IN, 4);
    s_tag_int (input, 6, 1, 1);
    s_tag_text (input, 10, "Chợ An Biên");
    s_tag_int (input, 14, HOTLINE__POLLUTION_TYPE__NOISE, 4);
    s_tag_int (input, 16, HOTLINE__SCOPE__WITHIN_WARD, 4);
    s_tag_text (input, 18, "Loa kéo hát karaoke đến 2 giờ sáng");
    s_write (h, "anonymous", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);

    //  Every field wrong
    input = zchunk_new (NULL, 1024);
    max = 3;
    zchunk_extend (input, &max, 1);
    s_tag_int (input, 1, 99, 4);
    s_tag_text (input, 3, "12ab");
    s_tag_text (input, 4, "not-an-email");
    s_tag_int (input, 6, 1, 1);
    s_tag_text (input, 8, "Licensed Facility!");
    s_tag_int (input, 9, 4102444800000ULL, 8);
    s_tag_text (input, 10, "bad \xC3\x28 utf8");
    s_tag_int (input, 12, 0x7FF8000000000000ULL, 8);
    s_tag_int (input, 14, 0xFFFFFFFF, 4);
    s_tag_text (input, 18, "line\x01control");
    s_write (h, "all-wrong", zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);
}

// ------------------------------------------------------------------ json

//  fuzz_json input: [mode][code] JSON text (see fuzz_json.c)
static void
s_json_seed (const char *name, uint8_t mode, const char *text)
{
    zchunk_t *input = zchunk_new (NULL, strlen (text) + 2);
    uint8_t head [2] = { mode, 0 };
    zchunk_extend (input, head, 2);
    zchunk_extend (input, text, strlen (text));
    s_write ("json", name, zchunk_data (input), zchunk_size (input));
    zchunk_destroy (&input);
}

//  Send a request to the node's front door; returns the reply (caller frees)
static Hotline__Envelope *
s_call (fuzz_node_t *node, zsock_t *client, Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    FUZZ_CHECK (zframe_send (&frame, client, 0) == 0);
    for (int i = 0; i < 200 && !hl_sock_readable (client); i++)
        fuzz_node_spin (node, 1);
    frame = zframe_recv (client);
    FUZZ_CHECK (frame);
    Hotline__Envelope *reply = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
    zframe_destroy (&frame);
    FUZZ_CHECK (reply && reply->body_case == HOTLINE__ENVELOPE__BODY_REPLY);
    return reply;
}

static void
s_gen_json (void)
{
    fuzz_node_t *node = fuzz_node_new ("gen_corpus", "ward", true, true);
    zsock_t *client = fuzz_dealer (fuzz_node_endpoint (node, "intake"));
    Hotline__Envelope env;
    Hotline__Request request;
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "submit";
    command.report = &s_report;
    s_command (&env, &request, &command, "json-1", "officer:lan");
    Hotline__Envelope *reply = s_call (node, client, &env);
    FUZZ_CHECK (reply->reply->code == HL_OK);
    char case_id [32];
    snprintf (case_id, sizeof case_id, "%s", reply->reply->case_id);
    hl_msg_free (&reply);
    Hotline__Command action = HOTLINE__COMMAND__INIT;
    action.action = "inform_leaders";
    action.case_id = case_id;
    s_command (&env, &request, &action, "json-2", "system:notification");
    reply = s_call (node, client, &env);
    FUZZ_CHECK (reply->reply->code == HL_OK);
    hl_msg_free (&reply);
    //  Let the archive catch up
    for (int i = 0; i < 50; i++)
        fuzz_node_spin (node, 1);

    Hotline__Query query = HOTLINE__QUERY__INIT;
    struct { const char *kind; uint8_t mode; const char *name; } queries [] = {
        { "case",   1, "show-text" },
        { "case",   2, "show-json" },
        { "list",   3, "list-text" },
        { "list",   4, "list-json" },
        { "report", 5, "report-text" },
        { "report", 6, "report-csv" },
        { "report", 7, "report-json" },
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries [0]; i++) {
        hotline__query__init (&query);
        query.kind = (char *) queries [i].kind;
        query.case_id = case_id;
        s_query (&env, &request, &query, "json-q");
        reply = s_call (node, client, &env);
        FUZZ_CHECK (reply->reply->code == HL_OK && *reply->reply->json);
        s_json_seed (queries [i].name, queries [i].mode, reply->reply->json);
        hl_msg_free (&reply);
    }
    s_json_seed ("dates", 0, "2026-11-29 12:30");
    s_json_seed ("duration", 0, "15m");
    zsock_destroy (&client);
    fuzz_node_destroy (&node);
}

int
main (void)
{
    fuzz_quiet ();
    s_init_report ();
    hl_msg_set_node ("ward-31001", "31001");
    s_gen_envelope ();
    s_gen_hop ();
    s_gen_report ();
    s_gen_json ();
    dprintf (1, "seeds written to %s/\n", s_out);
    return 0;
}
