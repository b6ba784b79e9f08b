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
//  Set CurveZMQ client keys (z85) for a node behind Curve; call before the
//  first call. 0 or -1.
int hl_client_set_curve (hl_client_t *self, const char *client_cert_path,
                         const char *server_public_z85);

void hl_client_test (bool verbose);
#endif
