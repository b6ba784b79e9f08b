/*  watcher — fires deadline warnings and breaches (deadline-watcher).
 *
 *  Follows the node's event log (hl_consumer) and applies every event to
 *  its own store, deadline.db, with hl_deadline_apply: the same deadlines
 *  intake and archive derive. Pending firings (a warning at warn_ms, a
 *  breach at due_ms) wait in an in-memory min-heap, rebuilt from the store
 *  at start (open deadlines not yet warned/breached): nothing depends on a
 *  timer surviving a restart. Every tick (deadlines/tick_ms, 100 ms) due
 *  firings are checked against the store and submitted to intake as
 *  "deadline_warn" / "deadline_breach" {deadline, started_seq, due_ms},
 *  request id "deadline:<case>:<name>:<started_seq>:<warn|breach>".
 *  Intake deduplicates request ids and refuses a firing that is no longer
 *  pending (409: dropped), so each fires exactly once. Intake down (no
 *  reply, 503): the firing stays in the heap and is retried.
 */
#ifndef WATCHER_H_INCLUDED
#define WATCHER_H_INCLUDED

typedef struct _watcher_t watcher_t;

watcher_t *watcher_new (hl_service_t *service);
void watcher_destroy (watcher_t **self_p);

#endif
