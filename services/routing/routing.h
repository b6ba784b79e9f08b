/*  routing — decides jurisdiction (thẩm quyền) for new cases.
 *
 *  Follows the node's event log (hl_consumer). It keeps what it needs of
 *  each report (type, scope, sudden, urgent, polluter category, description)
 *  from the submit event in its own store, routing.db. When a case enters a
 *  state from which the procedure lets the system "route" it, and the case
 *  has never been routed, it applies the rules of routing.conf and submits
 *  "route <variant>" with {reason} to intake, as system:routing, request id
 *  "routing:<event_id>". A 409 means someone routed the case first (the
 *  override): handled. Intake down: the batch is retried. At the city node
 *  routing only logs.
 */
#ifndef ROUTING_H_INCLUDED
#define ROUTING_H_INCLUDED

typedef struct _routing_t routing_t;

routing_t *routing_new (hl_service_t *service);
void routing_destroy (routing_t **self_p);

#endif
