/*  hl_client — a synchronous request/reply client with retries (Lazy Pirate).
 *
 *  Used by the `hotline` CLI and by services that submit commands to intake.
 *  A request keeps its request_id across retries, so intake's idempotency
 *  turns at-least-once delivery into exactly-once effect.
 */
#ifndef HL_CLIENT_H_INCLUDED
#define HL_CLIENT_H_INCLUDED

typedef struct _hl_client_t hl_client_t;

//  timeout_ms per try, tries >= 1.
hl_client_t *hl_client_new (const char *endpoint, int timeout_ms, int tries);
void hl_client_destroy (hl_client_t **self_p);
//  Send request (request_id is generated if empty) and wait for its reply.
//  Returns the reply envelope (free with hl_msg_free) or NULL when the node
//  did not answer after all tries.
Hotline__Envelope *hl_client_call (hl_client_t *self, Hotline__Request *request);
//  Submit one command to this node's intake on behalf of a service (routing,
//  the deadline watcher, notification): the one way a service acts on a
//  case. request_id must be deterministic: derived from what made the
//  service act (the event id, or the deadline and its start), never random.
//  Returns the reply (free with hl_msg_free): code HL_OK, or a refusal
//  (400, 403, 404, 409 ...) that retrying will not change, to be logged by
//  the caller and then dropped. Returns NULL, logged at WARN under the
//  command's case, when intake is unavailable: no answer after all tries,
//  or HL_UNAVAILABLE. Nothing is known to be done then: the caller returns
//  -1 so that its work is retried (a consumer's batch is rolled back and
//  redelivered; a deadline stays in the heap).
//
//  It blocks, for up to timeout_ms x tries, and the caller's loop with it:
//  a consumer's handler calls it INSIDE the transaction that will store the
//  consumer's cursor. That is safe, because
//    - the request id is deterministic, and intake is idempotent on it: if
//      the transaction rolls back (a failed commit, a crash) after intake
//      did the command, the redelivered event resubmits the same id and
//      gets the original answer, so nothing happens twice;
//    - intake never waits on its followers (it commits and replies; the
//      archive pulls from it), so waiting for it cannot deadlock;
//    - the hop tolerates the pause: batches queue in the socket, and a
//      resend after a timeout is skipped as duplicates.
//  The cost is only latency: a slow intake slows the follower.
Hotline__Envelope *hl_client_command (hl_client_t *self, const char *request_id,
                                      const char *actor, Hotline__Command *command);
//  Set CurveZMQ client keys (z85) for a node behind Curve; call before the
//  first call. 0 or -1.
int hl_client_set_curve (hl_client_t *self, const char *client_cert_path,
                         const char *server_public_z85);

void hl_client_test (bool verbose);
#endif
