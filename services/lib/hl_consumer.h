/*  hl_consumer — a service that follows the archive's event log.
 *
 *  Routing, deadline-watcher and notification each follow the log from
 *  their own durable cursor, through hl_hop. For each batch the consumer
 *  opens one transaction in the service's own store, calls the handler for
 *  every event, records the cursor and commits. A handler that cannot act
 *  now (intake unreachable, store busy) returns -1: nothing of the batch is
 *  kept and the batch comes again. So every event is handled, and a handler
 *  that submits commands uses deterministic request ids to stay idempotent.
 */
#ifndef HL_CONSUMER_H_INCLUDED
#define HL_CONSUMER_H_INCLUDED

typedef struct _hl_consumer_t hl_consumer_t;

//  Called inside the batch transaction. 0 = handled, -1 = retry the batch.
typedef int (hl_consumer_fn) (void *arg, const Hotline__Event *event);

//  The cursor's table, hop_cursor (stream, seq), for the migration steps
//  of each consumer's store (routing.db, notify.db, deadline.db: see
//  hl_store_migrate). Frozen, as every step is.
extern const char hl_consumer_schema [];

//  Follow stream "log" at endpoint (the archive's feed); cursor kept in
//  store table hop_cursor, which the store's migrations made (NULL,
//  logged, if it has none).
hl_consumer_t *hl_consumer_new (zloop_t *loop, const char *endpoint, hl_store_t *store,
                                hl_consumer_fn *handler, void *arg);
void hl_consumer_destroy (hl_consumer_t **self_p);
//  Last applied seq
uint64_t hl_consumer_cursor (hl_consumer_t *self);
//  By default the handler sees only events written by this node (origin ==
//  the node name): a ward's log also holds the city's events about the
//  cases it forwarded, and the city's log holds every ward's events, which
//  are not this node's to act on. Pass false to see them all.
void hl_consumer_set_local_only (hl_consumer_t *self, bool local_only);

void hl_consumer_test (bool verbose);
#endif
