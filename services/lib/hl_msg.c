/*  hl_msg — the envelope codec and socket hygiene.  */
#include "hotline.h"

static char s_node [64] = "";
static char s_ward [16] = "";
static uint64_t s_msg_seq = 0;

void
hl_msg_set_node (const char *node, const char *ward)
{
    snprintf (s_node, sizeof s_node, "%s", node? node: "");
    snprintf (s_ward, sizeof s_ward, "%s", ward? ward: "");
}

const char *
hl_msg_node (void)
{
    return s_node;
}

size_t
hl_utf8_char (const char *s, size_t len, uint32_t *code)
{
    const unsigned char *p = (const unsigned char *) s;
    if (len == 0)
        return 0;
    unsigned char c = p [0];
    if (c < 0x80) {
        if (code)
            *code = c;
        return 1;
    }
    size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
    else return 0;                  //  a continuation byte, C0, C1, F5..FF
    if (len <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((p [i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p [i] & 0x3F);
    }
    //  Overlong forms, surrogates and values past U+10FFFF
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)
    ||  (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    if (code)
        *code = cp;
    return need + 1;
}

bool
hl_utf8_valid (const char *s, size_t len)
{
    size_t at = 0;
    while (at < len) {
        if (s [at] == 0)
            return false;           //  no embedded NULs either
        size_t size = hl_utf8_char (s + at, len - at, NULL);
        if (size == 0)
            return false;
        at += size;
    }
    return true;
}

size_t
hl_utf8_scrub (char *text)
{
    size_t replaced = 0;
    unsigned char *p = (unsigned char *) text;
    while (p && *p) {
        size_t need = *p < 0x80? 0: *p >= 0xC2 && *p <= 0xDF? 1:
                      *p >= 0xE0 && *p <= 0xEF? 2: *p >= 0xF0 && *p <= 0xF4? 3: 4;
        //  hl_utf8_valid stops at the terminating NUL of a cut sequence
        if (need < 4 && hl_utf8_valid ((const char *) p, need + 1))
            p += need + 1;
        else {
            *p++ = '?';
            replaced++;
        }
    }
    return replaced;
}

//  Check one field value
static int
s_check_value (const ProtobufCFieldDescriptor *field, const void *value, const char **reason, int depth)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char * const *) value;
            if (text && !hl_utf8_valid (text, strlen (text))) {
                *reason = "invalid UTF-8 in a text field";
                return -1;
            }
            break;
        }
        case PROTOBUF_C_TYPE_ENUM: {
            int number = *(const int *) value;
            if (!protobuf_c_enum_descriptor_get_value (
                    (const ProtobufCEnumDescriptor *) field->descriptor, number)) {
                *reason = "unknown enum value";
                return -1;
            }
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(ProtobufCMessage * const *) value;
            if (sub) {
                if (depth > 16) {
                    *reason = "message nested too deeply";
                    return -1;
                }
                const ProtobufCMessageDescriptor *desc = sub->descriptor;
                for (unsigned i = 0; i < desc->n_fields; i++) {
                    const ProtobufCFieldDescriptor *f = &desc->fields [i];
                    const uint8_t *base = (const uint8_t *) sub;
                    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                        uint32_t which = *(const uint32_t *) (base + f->quantifier_offset);
                        if (which != f->id)
                            continue;
                    }
                    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t count = *(const size_t *) (base + f->quantifier_offset);
                        const uint8_t *array = *(uint8_t * const *) (base + f->offset);
                        size_t size = f->type == PROTOBUF_C_TYPE_ENUM? sizeof (int): sizeof (void *);
                        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE
                        &&  f->type != PROTOBUF_C_TYPE_ENUM)
                            continue;
                        for (size_t j = 0; j < count; j++)
                            if (s_check_value (f, array + j * size, reason, depth + 1))
                                return -1;
                    }
                    else
                    if (s_check_value (f, base + f->offset, reason, depth + 1))
                        return -1;
                }
            }
            break;
        }
        default:
            break;
    }
    return 0;
}

//  Read a varint at *p (below end); false if cut or longer than 10 bytes
static bool
s_wire_varint (const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *value |= (uint64_t) (byte & 0x7F) << (shift < 64? shift: 0);
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

//  Two things the checks on the unpacked message cannot see, so walk the
//  wire (protobuf-c 1.4.1 lets both through):
//  - a string holding a NUL byte is cut short silently by the C string
//    protobuf-c makes of it ("abc\0xyz" becomes "abc");
//  - field number 0 in a non-minimal key (0x82 0x00) is kept as an unknown
//    field and packed again as 0x02, which protobuf-c then refuses: a
//    report carrying it would be stored in an event nobody can read back.
//  0 if the wire is clean at every depth, else -1 and *reason.
static int
s_wire_check (const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t size, int depth,
              const char **reason)
{
    const uint8_t *end = p + size;
    *reason = "malformed protobuf";
    while (p < end) {
        uint64_t key, length;
        if (!s_wire_varint (&p, end, &key) || key >> 3 == 0 || key >> 3 > 536870911)
            return -1;          //  field numbers are 1 .. 2^29-1
        switch (key & 7) {
            case PROTOBUF_C_WIRE_TYPE_VARINT:
                if (!s_wire_varint (&p, end, &length))
                    return -1;
                break;
            case PROTOBUF_C_WIRE_TYPE_64BIT:
                if (end - p < 8)
                    return -1;
                p += 8;
                break;
            case PROTOBUF_C_WIRE_TYPE_32BIT:
                if (end - p < 4)
                    return -1;
                p += 4;
                break;
            case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
                if (!s_wire_varint (&p, end, &length) || length > (uint64_t) (end - p))
                    return -1;
                const ProtobufCFieldDescriptor *field = key >> 3 <= UINT32_MAX?
                    protobuf_c_message_descriptor_get_field (desc, (unsigned) (key >> 3)): NULL;
                if (field && field->type == PROTOBUF_C_TYPE_STRING && memchr (p, 0, length)) {
                    *reason = "invalid UTF-8 in a text field";
                    return -1;
                }
                if (field && field->type == PROTOBUF_C_TYPE_MESSAGE
                &&  (depth > 16 || s_wire_check ((const ProtobufCMessageDescriptor *) field->descriptor,
                                                 p, length, depth + 1, reason)))
                    return -1;
                p += length;
                break;
            }
            default:
                return -1;      //  groups: not in proto3, protobuf-c refuses them too
        }
    }
    return 0;
}

int
hl_msg_check (const ProtobufCMessage *msg, const char **reason)
{
    ProtobufCFieldDescriptor root = { 0 };
    root.type = PROTOBUF_C_TYPE_MESSAGE;
    return s_check_value (&root, &msg, reason, 0);
}

Hotline__Envelope *
hl_msg_decode (const uint8_t *data, size_t size, const char **reason)
{
    static const char *dummy;
    if (!reason)
        reason = &dummy;
    if (size > HL_MAX_MSG_SIZE) {
        *reason = "message too large";
        return NULL;
    }
    if (size == 0) {
        *reason = "empty frame";
        return NULL;
    }
    Hotline__Envelope *env = hotline__envelope__unpack (NULL, size, data);
    if (!env) {
        *reason = "malformed protobuf";
        return NULL;
    }
    if (env->schema != HL_SCHEMA_VERSION) {
        *reason = "unsupported schema version";
        hl_msg_free (&env);
        return NULL;
    }
    if (env->body_case == HOTLINE__ENVELOPE__BODY__NOT_SET) {
        *reason = "envelope has no body";
        hl_msg_free (&env);
        return NULL;
    }
    if (hl_msg_check (&env->base, reason)) {
        hl_msg_free (&env);
        return NULL;
    }
    if (s_wire_check (&hotline__envelope__descriptor, data, size, 0, reason)) {
        hl_msg_free (&env);
        return NULL;
    }
    return env;
}

void
hl_msg_free (Hotline__Envelope **env_p)
{
    if (*env_p) {
        hotline__envelope__free_unpacked (*env_p, NULL);
        *env_p = NULL;
    }
}

zframe_t *
hl_msg_encode (Hotline__Envelope *env)
{
    env->schema = HL_SCHEMA_VERSION;
    if (!env->sent_ms)
        env->sent_ms = hl_clock_now ();
    if (!env->node || !*env->node)
        env->node = s_node;
    if (!env->ward || !*env->ward)
        env->ward = s_ward;
    if (!env->seq)
        env->seq = ++s_msg_seq;
    size_t size = hotline__envelope__get_packed_size (env);
    zframe_t *frame = zframe_new (NULL, size);
    hotline__envelope__pack (env, zframe_data (frame));
    return frame;
}

int
hl_msg_send (zsock_t *sock, zframe_t *routing_id, Hotline__Envelope *env)
{
    zframe_t *frame = hl_msg_encode (env);
    if (routing_id) {
        zframe_t *id = zframe_dup (routing_id);
        if (zframe_send (&id, sock, ZFRAME_MORE | ZFRAME_DONTWAIT)) {
            zframe_destroy (&id);
            zframe_destroy (&frame);
            return -1;
        }
    }
    if (zframe_send (&frame, sock, ZFRAME_DONTWAIT)) {
        zframe_destroy (&frame);
        return -1;
    }
    return 0;
}

void
hl_sock_harden (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, HL_MAX_MSG_SIZE);
    zsock_set_linger (sock, 200);
    //  Dead peers are found by TCP keepalive, not ZMTP heartbeats: libzmq
    //  4.3.4 asserts (!_io_error, stream_engine_base.cpp:331) when a
    //  heartbeat timer fires on a connection whose input was stopped by a
    //  full receive pipe and whose peer then hung up, which is exactly what
    //  a client that floods and never reads does. hl_hop and hl_clone run
    //  their own heartbeats; clients have their own timeouts.
    zsock_set_tcp_keepalive (sock, 1);
    zsock_set_tcp_keepalive_idle (sock, 30);
    zsock_set_tcp_keepalive_intvl (sock, 5);
    zsock_set_tcp_keepalive_cnt (sock, 6);
    zsock_set_sndhwm (sock, 10000);
    zsock_set_rcvhwm (sock, 10000);
    if (zsock_type (sock) == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
}

bool
hl_sock_readable (void *sock)
{
    //  Not zsock_events (sock) & ZMQ_POLLIN. czmq 4.2.1's generated getter
    //  (src/zsock_option.inc, "Return socket ZMQ_EVENTS value", line 4247)
    //  declares `int events;`, ignores what zmq_getsockopt () returns and
    //  returns events as it is. libzmq 4.3.4's socket_base_t::getsockopt
    //  (src/socket_base.cpp, the ZMQ_EVENTS branch) first runs
    //  process_commands (0, false), a poll (2) of the socket's mailbox, and
    //  returns -1 WITHOUT writing the value if that poll is interrupted by a
    //  signal (EINTR: the SIGTERM that stops a service lands there, and
    //  under valgrind, which delivers signals only inside system calls, it
    //  often does) or the context is terminating (ETERM). The caller then
    //  branched on stack garbage: valgrind's "uninitialised value" at
    //  hl_hop.c s_recv (tests/README.md) and, had the garbage had ZMQ_POLLIN set,
    //  a blocking zframe_recv () on an empty socket during shutdown.
    //  "Not readable" is the safe answer: zmq_poll (under zloop and
    //  zpoller) asks ZMQ_EVENTS itself before it sleeps, so a message that
    //  is waiting is seen again on the next wakeup; it is not lost.
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt (zsock_resolve (sock), ZMQ_EVENTS, &events, &size) == -1)
        return false;
    return (events & ZMQ_POLLIN) != 0;
}

void
hl_msg_test (bool verbose)
{
    printf (" * hl_msg: ");
    assert (hl_utf8_valid ("Phường An Biên", strlen ("Phường An Biên")));
    assert (!hl_utf8_valid ("\xC3\x28", 2));
    assert (!hl_utf8_valid ("\xE0\x80\xAF", 3));      //  overlong
    assert (!hl_utf8_valid ("\xED\xA0\x80", 3));      //  surrogate
    assert (!hl_utf8_valid ("abc\xE1\xBB", 5));       //  truncated
    //  One character at a time, with its code point
    uint32_t code = 0;
    assert (hl_utf8_char ("\xE1\xBB\x9D!", 4, &code) == 3 && code == 0x1EDD);
    assert (hl_utf8_char ("A", 1, &code) == 1 && code == 'A');
    assert (hl_utf8_char ("", 1, &code) == 1 && code == 0);        //  NUL: a character
    assert (hl_utf8_char ("\xF0\x9F\x98\x80", 4, &code) == 4 && code == 0x1F600);
    assert (hl_utf8_char ("\xF4\x90\x80\x80", 4, NULL) == 0);   //  past U+10FFFF
    assert (hl_utf8_char ("\xF0\x8F\xBF\xBF", 4, NULL) == 0);   //  overlong
    assert (hl_utf8_char ("\xC1\xBF", 2, NULL) == 0);            //  overlong
    assert (hl_utf8_char ("\xED\xBF\xBF", 3, NULL) == 0);       //  surrogate
    assert (hl_utf8_char ("\xE1\xBB\x9D", 2, NULL) == 0);       //  cut by len
    assert (hl_utf8_char ("\x9D", 1, NULL) == 0);                //  continuation
    assert (hl_utf8_char ("x", 0, NULL) == 0);
    char cut [] = "ph\xC6\xB0\xE1\xBB\x9Dng \xE1\xBB";  //  "phường " then a cut character
    assert (hl_utf8_scrub (cut) == 2 && streq (cut, "ph\xC6\xB0\xE1\xBB\x9Dng ??"));
    char mid [] = "a\xE1\xBB" "b";
    assert (hl_utf8_scrub (mid) == 2 && streq (mid, "a??b"));

    hl_msg_set_node ("ward-test", "31001");
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    report.description = "Nước thải đen, mùi hôi";
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    command.action = "submit";
    command.report = &report;
    request.request_id = "r1";
    request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request.command = &command;
    env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
    env.request = &request;
    zframe_t *frame = hl_msg_encode (&env);
    const char *reason = NULL;
    Hotline__Envelope *decoded = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
    assert (decoded);
    assert (streq (decoded->node, "ward-test"));
    assert (streq (decoded->request->command->report->description, "Nước thải đen, mùi hôi"));
    hl_msg_free (&decoded);
    zframe_destroy (&frame);

    //  Invalid UTF-8 deep inside is refused
    report.description = "bad \xC3\x28 text";
    frame = hl_msg_encode (&env);
    assert (hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason) == NULL);
    assert (streq (reason, "invalid UTF-8 in a text field"));
    zframe_destroy (&frame);
    //  Unknown enum value
    report.description = "ok";
    report.type = (Hotline__PollutionType) 99;
    frame = hl_msg_encode (&env);
    assert (hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason) == NULL);
    assert (streq (reason, "unknown enum value"));
    zframe_destroy (&frame);
    //  Wrong schema
    report.type = HOTLINE__POLLUTION_TYPE__NOISE;
    frame = hl_msg_encode (&env);
    env.schema = 2;
    size_t size = hotline__envelope__get_packed_size (&env);
    uint8_t *buffer = (uint8_t *) zmalloc (size);
    hotline__envelope__pack (&env, buffer);
    assert (hl_msg_decode (buffer, size, &reason) == NULL);
    assert (streq (reason, "unsupported schema version"));
    free (buffer);
    zframe_destroy (&frame);
    //  A NUL inside a string, even deep down: protobuf-c would cut the
    //  C string there ("0912\0..." -> "0912"), so it is refused
    report.type = HOTLINE__POLLUTION_TYPE__NOISE;
    report.description = "ok";
    frame = hl_msg_encode (&env);
    decoded = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
    assert (decoded);
    hl_msg_free (&decoded);
    uint8_t *ok = zframe_data (frame);
    uint8_t *at = (uint8_t *) memmem (ok, zframe_size (frame), "ok", 2);
    assert (at);
    at [1] = 0;
    assert (hl_msg_decode (ok, zframe_size (frame), &reason) == NULL);
    assert (streq (reason, "invalid UTF-8 in a text field"));
    zframe_destroy (&frame);
    //  Field number 0 in a non-minimal key: would not survive a round trip
    report.description = "ok";
    frame = hl_msg_encode (&env);
    size = zframe_size (frame);
    buffer = (uint8_t *) zmalloc (size + 4);
    memcpy (buffer, zframe_data (frame), size);
    memcpy (buffer + size, "\x82\x00\x01z", 4);
    decoded = hl_msg_decode (buffer, size, &reason);
    assert (decoded);
    hl_msg_free (&decoded);
    assert (hl_msg_decode (buffer, size + 4, &reason) == NULL);
    assert (streq (reason, "malformed protobuf"));
    free (buffer);
    zframe_destroy (&frame);
    //  Garbage and empty
    assert (hl_msg_decode ((const uint8_t *) "\xff\xff\xff\xff", 4, &reason) == NULL);
    assert (hl_msg_decode ((const uint8_t *) "", 0, &reason) == NULL);
    if (verbose)
        printf ("(last reason: %s) ", reason);

    //  A hardened server survives a peer that floods it past its receive
    //  pipe and then hangs up while the server is not reading. With ZMTP
    //  heartbeats on, libzmq 4.3.4 aborts here within a heartbeat interval.
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    hl_sock_harden (server);
    zsock_set_rcvhwm (server, 10);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert (port > 0);
    zsock_t *hog = zsock_new (ZMQ_DEALER);
    zsock_set_sndhwm (hog, 0);
    zsock_set_rcvhwm (hog, 1);
    zsock_connect (hog, "tcp://127.0.0.1:%d", port);
    char junk [4096] = { 0 };
    zmq_send (zsock_resolve (hog), junk, sizeof junk, 0);
    zmsg_t *first = zmsg_recv (server);
    zframe_t *hog_id = zmsg_pop (first);
    zmsg_destroy (&first);
    for (int i = 0; i < 1000; i++) {    //  answers the hog never reads
        zframe_t *id = zframe_dup (hog_id);
        zframe_send (&id, server, ZFRAME_MORE | ZFRAME_DONTWAIT);
        zmq_send (zsock_resolve (server), junk, sizeof junk, ZMQ_DONTWAIT);
    }
    zframe_destroy (&hog_id);
    for (int i = 0; i < 2000; i++)
        zmq_send (zsock_resolve (hog), junk, sizeof junk, 0);
    zclock_sleep (100);             //  the server's pipe fills, input stops
    zsock_destroy (&hog);           //  the peer resets the connection
    zclock_sleep (2500);            //  longer than any heartbeat interval
    zsock_destroy (&server);

    //  hl_sock_readable: true only with a message waiting, and false, not
    //  stack garbage, when libzmq fails the query. ETERM stands in for
    //  EINTR (the same -1 path, and one a test can cause at will): a
    //  context of our own, shut down, fails every socket of it. Under
    //  valgrind (make test) zsock_events () & ZMQ_POLLIN at that point is
    //  reported as a jump on an uninitialised value
    zsock_t *reader = zsock_new_pair ("@inproc://hl_msg-readable");
    zsock_t *writer = zsock_new_pair (">inproc://hl_msg-readable");
    assert (reader && writer);
    assert (!hl_sock_readable (reader));
    zstr_send (writer, "x");
    for (int i = 0; i < 100 && !hl_sock_readable (reader); i++)
        zclock_sleep (10);
    assert (hl_sock_readable (reader));
    assert (hl_sock_readable (reader));     //  asking does not consume
    char *got = zstr_recv (reader);
    assert (got && streq (got, "x"));
    zstr_free (&got);
    assert (!hl_sock_readable (reader));
    zsock_destroy (&writer);
    zsock_destroy (&reader);
    void *ctx = zmq_ctx_new ();
    void *bare = zmq_socket (ctx, ZMQ_PAIR);
    assert (bare && zmq_bind (bare, "inproc://hl_msg-term") == 0);
    int events = 0;
    size_t events_size = sizeof events;
    assert (zmq_getsockopt (bare, ZMQ_EVENTS, &events, &events_size) == 0);
    zmq_ctx_shutdown (ctx);
    assert (zmq_getsockopt (bare, ZMQ_EVENTS, &events, &events_size) == -1
            && zmq_errno () == ETERM);
    assert (!hl_sock_readable (bare));
    zmq_close (bare);
    zmq_ctx_term (ctx);
    printf ("OK\n");
}
