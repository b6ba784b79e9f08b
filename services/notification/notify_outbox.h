/*  notify_outbox — the notification service's outbox: rows waiting to be
 *  sent, the workers that send them, the retries, the dead letters and the
 *  ROUTER that shows and re-sends them.
 *
 *  The rows live in notify.db's outbox table (its schema and migrations are
 *  notification.c's): the caller enqueues inside its own transaction (the
 *  consumer's batch), and the outbox hands due rows to one worker thread
 *  per channel (notify_sender), e-mail by SMTP and SMS by webhook, and
 *  appends the log channel's rows to notify.log itself (one fdatasync per
 *  batch). A success marks the row sent; a failure retries with
 *  exponential backoff (retry_ms, doubling, capped at retry_max_ms) and
 *  after max_attempts the row is dead. Sent rows are deleted after
 *  retention_ms; dead rows are kept until someone re-sends them.
 *
 *  Delivery is at least once: a row delivered whose 'sent' mark cannot be
 *  committed (disk full, database locked) is never handed out again by this
 *  process, and the mark is retried on every dispatch; only a restart
 *  before the mark is written can repeat it. Destroying the outbox waits
 *  for the sends in flight and records their results, so a graceful stop
 *  never sends a message twice.
 *
 *  QUERIES on a ROUTER at opts->query_endpoint (see notification.h):
 *      deadletter | outbox (case_id?, status?, limit?) -> rows, newest first
 *      resend (case_id) | resend_all                   -> {"resent": N}
 */
#ifndef NOTIFY_OUTBOX_H_INCLUDED
#define NOTIFY_OUTBOX_H_INCLUDED

typedef struct _notify_outbox_t notify_outbox_t;

typedef struct {
    hl_store_t *store;          //  notify.db, migrated; the caller's, outlives the outbox
    zloop_t *loop;              //  NULL: no timers, readers nor query socket; the
                                //  caller drives with _tick and _settle (selftests)
    hl_metrics_t *metrics;      //  counters *_sent_total, *_failed_total, *_resent_total
    const notify_sender_config_t *sender;   //  the transports; outlives the outbox
    bool email;                 //  start e-mail workers (sender->smtp_url set)
    bool sms;                   //  start SMS workers (sender->webhook_url set)
    int64_t workers;            //  workers per channel, 1 .. 4
    int64_t retry_ms;           //  first retry delay, at least 1
    int64_t retry_max_ms;       //  backoff cap, at least retry_ms
    int64_t max_attempts;       //  a row is dead after this many, at least 1
    int64_t retention_ms;       //  sent rows deleted after this; 0: kept
    int64_t tick_ms;            //  dispatch timer on loop (0: none)
    const char *log_path;       //  notify.log, opened for appending
    const char *query_endpoint; //  bind the query ROUTER here (NULL: none)
} notify_outbox_opts_t;

//  Start the outbox: its workers, its log file, its query socket and its
//  timer on opts->loop. NULL, with the reason logged, when opts are
//  incomplete, a worker cannot start, the log cannot be opened or the
//  query endpoint cannot be bound.
notify_outbox_t *notify_outbox_new (const notify_outbox_opts_t *opts);

//  Stop: waits (up to the send timeout + 2 s) for every send in flight and
//  records its result, then stops the workers. Accepts a NULL object.
void notify_outbox_destroy (notify_outbox_t **self_p);

//  Add a pending row, due now, inside the caller's transaction. A key seen
//  before (a replayed event) adds nothing and is not an error. 0, or -1 on
//  a store error (logged): the caller rolls its transaction back.
int notify_outbox_enqueue (notify_outbox_t *self, const char *key, const char *event_id,
                           const char *case_id, const char *recipient, const char *template_name,
                           const char *channel, const char *address, const char *subject,
                           const char *body);

//  New rows were enqueued: dispatch once the loop runs again (after the
//  caller's batch has committed). Nothing without a loop.
void notify_outbox_kick (notify_outbox_t *self);

//  Dispatch (retry unrecorded marks, write due log lines, feed every idle
//  worker) and, at most once a minute, purge. The timer calls this.
void notify_outbox_tick (notify_outbox_t *self);

//  Delete the sent rows older than retention_ms at now (nothing when
//  retention is 0). Number deleted, or -1 on a store error.
int64_t notify_outbox_purge (notify_outbox_t *self, int64_t now);

//  Wait up to timeout_ms for each send in flight and record its result.
//  Number of results recorded (0: nothing was in flight).
size_t notify_outbox_settle (notify_outbox_t *self, int timeout_ms);

//  The dead letters of case_id ("" = every case) back to pending with fresh
//  attempts, due now, counted on their rows. Only dead rows move, so a
//  repeat changes nothing. Number moved, or -1 on a store error.
int64_t notify_outbox_resend (notify_outbox_t *self, const char *case_id);

//  What the last SMTP check said (-1 e-mail off, 0 unreachable, 1 yes,
//  2 not checked): a resend while it is 0 says so in its log line.
void notify_outbox_set_smtp_reachable (notify_outbox_t *self, int reachable);

//  Answer one query request (what the ROUTER does with a request). Sets
//  reply's code, error and json; *json_p is the caller's to free.
void notify_outbox_answer (notify_outbox_t *self, const Hotline__Request *request,
                           Hotline__Reply *reply, char **json_p);

//  Mask an address for logs and queries: l***@example.com, 09******78
void notify_outbox_mask (const char *address, char *out, size_t size);

void notify_outbox_test (bool verbose);
#endif
