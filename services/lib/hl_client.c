/*  hl_client — a synchronous request/reply client with retries (Lazy Pirate).  */
#include "hotline.h"

struct _hl_client_t {
    char *endpoint;
    int timeout_ms;
    int tries;
    zsock_t *sock;
    zcert_t *cert;              //  own Curve certificate, if any
    char *server_key;
};

static void
s_connect (hl_client_t *self)
{
    zsock_destroy (&self->sock);
    self->sock = zsock_new (ZMQ_DEALER);
    hl_sock_harden (self->sock);
    zsock_set_linger (self->sock, 0);
    if (self->cert) {
        zcert_apply (self->cert, self->sock);
        zsock_set_curve_serverkey (self->sock, self->server_key);
    }
    if (zsock_connect (self->sock, "%s", self->endpoint))
        hl_debug ("cannot connect to %s", self->endpoint);
}

hl_client_t *
hl_client_new (const char *endpoint, int timeout_ms, int tries)
{
    assert (endpoint);
    hl_client_t *self = (hl_client_t *) zmalloc (sizeof (hl_client_t));
    self->endpoint = hl_strdup (endpoint);
    self->timeout_ms = timeout_ms > 0? timeout_ms: 3000;
    self->tries = tries > 0? tries: 1;
    return self;
}

void
hl_client_destroy (hl_client_t **self_p)
{
    assert (self_p);
    hl_client_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->sock);
        zcert_destroy (&self->cert);
        free (self->server_key);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

int
hl_client_set_curve (hl_client_t *self, const char *client_cert_path, const char *server_public_z85)
{
    zcert_destroy (&self->cert);
    self->cert = zcert_load (client_cert_path);
    if (!self->cert || !server_public_z85 || strlen (server_public_z85) != 40)
        return -1;
    free (self->server_key);
    self->server_key = hl_strdup (server_public_z85);
    zsock_destroy (&self->sock);
    return 0;
}

Hotline__Envelope *
hl_client_call (hl_client_t *self, Hotline__Request *request)
{
    char *request_id = NULL;
    if (!request->request_id || !*request->request_id) {
        zuuid_t *uuid = zuuid_new ();
        request_id = hl_strdup (zuuid_str_canonical (uuid));
        zuuid_destroy (&uuid);
        request->request_id = request_id;
    }
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
    env.request = request;
    env.msg_id = request->request_id;

    Hotline__Envelope *reply = NULL;
    for (int attempt = 0; attempt < self->tries && !reply; attempt++) {
        if (zsys_interrupted)
            break;              //  SIGTERM: the caller's work is retried after restart
        if (!self->sock || attempt > 0)
            s_connect (self);   //  a fresh socket drops any stale reply
        env.seq = 0;
        zframe_t *frame = hl_msg_encode (&env);
        if (zframe_send (&frame, self->sock, 0)) {
            zframe_destroy (&frame);
            continue;
        }
        int64_t deadline = zclock_mono () + self->timeout_ms;
        while (!reply) {
            int64_t left = deadline - zclock_mono ();
            if (left <= 0)
                break;
            zmq_pollitem_t item = { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 };
            //  In slices: SIGTERM may be taken by another thread, so no EINTR here
            int rc = zmq_poll (&item, 1, (long) (left < 100? left: 100));
            if (rc <= 0 && zsys_interrupted)
                break;
            if (rc <= 0)
                continue;
            zframe_t *answer = zframe_recv (self->sock);
            if (!answer)
                continue;
            const char *reason;
            Hotline__Envelope *decoded = hl_msg_decode (zframe_data (answer), zframe_size (answer), &reason);
            zframe_destroy (&answer);
            if (decoded && decoded->body_case == HOTLINE__ENVELOPE__BODY_REPLY
            &&  decoded->reply->request_id && streq (decoded->reply->request_id, request->request_id))
                reply = decoded;
            else
                hl_msg_free (&decoded);     //  stale or foreign reply
        }
    }
    if (request_id) {
        request->request_id = NULL;
        free (request_id);
    }
    return reply;
}

Hotline__Envelope *
hl_client_command (hl_client_t *self, const char *request_id, const char *actor,
                   Hotline__Command *command)
{
    assert (self);
    assert (request_id && *request_id);     //  a random id would break idempotency
    assert (actor && command);
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = (char *) request_id;
    request.actor = (char *) actor;
    request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request.command = command;
    Hotline__Envelope *reply = hl_client_call (self, &request);
    //  hl_client_call returns only a Reply with our request id, or NULL
    if (!reply || reply->reply->code == HL_UNAVAILABLE) {
        const char *case_id = command->case_id && *command->case_id? command->case_id: NULL;
        hl_log (HL_WARN, case_id, "intake unavailable: %s will be retried (request %s)",
                command->action? command->action: "", request_id);
        hl_msg_free (&reply);
        return NULL;
    }
    return reply;
}

//  Selftest responder: answers every command, the first with
//  HL_UNAVAILABLE, then HL_OK with the request id as the case id
static void
s_test_responder (zsock_t *pipe, void *args)
{
    zsock_t *server = (zsock_t *) args;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, server, NULL);
    int answered = 0;
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != server)
            break;              //  $TERM, or interrupted
        zmsg_t *msg = zmsg_recv (server);
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Hotline__Envelope *env = hl_msg_decode (zframe_data (body), zframe_size (body), NULL);
        assert (env && env->request->kind_case == HOTLINE__REQUEST__KIND_COMMAND);
        Hotline__Reply reply = HOTLINE__REPLY__INIT;
        reply.request_id = env->request->request_id;
        reply.code = answered++? HL_OK: HL_UNAVAILABLE;
        reply.case_id = env->request->request_id;
        Hotline__Envelope out = HOTLINE__ENVELOPE__INIT;
        out.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
        out.reply = &reply;
        zframe_t *frame = hl_msg_encode (&out);
        zframe_send (&id, server, ZFRAME_MORE);
        zframe_send (&frame, server, 0);
        hl_msg_free (&env);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
}

void
hl_client_test (bool verbose)
{
    printf (" * hl_client: ");
    //  A tiny echo server on a ROUTER; the first request is ignored once so
    //  the client has to retry with the same request id.
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    hl_client_t *client = hl_client_new (endpoint, 300, 3);
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = "req-1";
    request.kind_case = HOTLINE__REQUEST__KIND_PING;
    request.ping = true;
    //  Nobody answers: after three tries of the same request id the call
    //  reports the node unavailable (NULL)
    Hotline__Envelope *reply = hl_client_call (client, &request);
    assert (reply == NULL);
    //  The server saw three tries of the same request id
    int seen = 0;
    while (hl_sock_readable (server)) {
        zmsg_t *msg = zmsg_recv (server);
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Hotline__Envelope *env = hl_msg_decode (zframe_data (body), zframe_size (body), NULL);
        assert (env && streq (env->request->request_id, "req-1"));
        hl_msg_free (&env);
        zframe_destroy (&id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        seen++;
    }
    assert (seen == 3);
    hl_client_destroy (&client);

    //  hl_client_command: HL_UNAVAILABLE is "unavailable" like silence
    //  (NULL); the next try of the same request id gets its answer
    zactor_t *responder = zactor_new (s_test_responder, server);
    assert (responder);
    client = hl_client_new (endpoint, 2000, 2);
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "route";
    command.case_id = "31001-2026-000001";
    assert (hl_client_command (client, "routing:e1", "system:routing", &command) == NULL);
    reply = hl_client_command (client, "routing:e1", "system:routing", &command);
    assert (reply && reply->reply->code == HL_OK);
    assert (streq (reply->reply->case_id, "routing:e1"));
    hl_msg_free (&reply);
    zactor_destroy (&responder);
    hl_client_destroy (&client);
    zsock_destroy (&server);
    if (verbose)
        printf ("(%d tries) ", seen);
    printf ("OK\n");
}
