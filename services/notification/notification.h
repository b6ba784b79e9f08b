/*  notification — tells people about events, reliably, without ever
 *  blocking the log.
 *
 *  Follows the archive's log (hl_consumer, store notify.db). For each event
 *  the procedure's notify rules give (recipient, template). Inside the
 *  consumer's batch transaction the service only ENQUEUES rows in an outbox:
 *
 *      outbox (idempotency_key UNIQUE = EVENT_ID|RECIPIENT|CHANNEL, channel,
 *              address, subject, body, attempts, next_attempt_ms,
 *              status pending|sent|dead, last_error, ...)
 *
 *  with INSERT OR IGNORE, so a replayed event enqueues nothing new. A timer
 *  (notify/tick_ms, 200 ms) hands due rows to one worker thread per channel
 *  (notify_sender): e-mail by SMTP, phone numbers to the SMS webhook; the
 *  log channel appends one JSON line per (event, recipient) to notify.log in
 *  the data directory. A success marks the row sent; a failure retries with
 *  exponential backoff (notify/retry_ms 1000, doubling, capped at
 *  notify/retry_max_ms 300000) and after notify/max_attempts (5) the row is
 *  dead: the dead letters, visible by query. Sent rows are deleted after
 *  notify/retention_days (90); dead rows are kept.
 *
 *  Delivery is AT LEAST ONCE: a crash after the receiver accepted a message
 *  and before the row was marked sent re-sends that message after restart
 *  (at most one message per channel worker, the one in flight). Every
 *  message carries its idempotency key for receivers to drop a repeat:
 *  SMTP in Message-ID <KEY@domain> and X-Hotline-Key, the webhook in the JSON
 *  field idempotency_key and the Idempotency-Key header, notify.log in "key".
 *  A graceful stop waits for the message in flight and records its result.
 *
 *  RECIPIENTS (procedure notify rules) resolve from node configuration:
 *      reporter        e-mail and/or phone of the submit event's reporter,
 *                      never for an anonymous reporter
 *      assignee        the last `assign` (notify/assign_action) event's
 *                      args.to (notify/assign_arg): an address itself, or a
 *                      name looked up in contacts/staff/NAME ("officer:lan"
 *                      looks up contacts/staff/lan)
 *      anything else   contacts/RECIPIENT, e.g. contacts/leaders
 *  A contact value is a comma-separated list of e-mail addresses (channel
 *  email) and phone numbers (channel sms). notify/channels/RECIPIENT
 *  ("email,sms" by default) limits the channels a recipient is sent on; a
 *  channel without its transport configured (notify/smtp_url,
 *  notify/webhook_url) is skipped, and the log line says so.
 *
 *  CONFIDENTIALITY: staff messages never contain the reporter's identity
 *  (there is no placeholder for it). Reporter messages are rendered with a
 *  whitelist of placeholders (case_id, type, location, state, note,
 *  ward_name, received, regime); a template for a reporter rule that uses
 *  another placeholder is refused at start. notify.log masks reporter
 *  addresses.
 *
 *  FOLLOW-UP ACTIONS: notify/advance ("submit=inform_leaders") maps an event
 *  action to an action the service then submits to intake for the case,
 *  actor notify/actor ("system:notification"), request id
 *  "notify:<event_id>:<action>", if the procedure allows it from the
 *  event's to_state for the actor's role. 409 is fine (the case moved on);
 *  no answer or 503 fails the batch, which comes again.
 *
 *  QUERIES on a ROUTER at endpoints/notification (base port + 6):
 *      Request {query {kind: "deadletter" | "outbox", case_id?, status?, limit?}}
 *      -> Reply {code 0, json: [ {row}, ... ]}, newest first
 *  (status filters "outbox": pending, sent or dead; limit default 100, at
 *  most 1000). Unknown kind -> 400.
 */
#ifndef NOTIFICATION_H_INCLUDED
#define NOTIFICATION_H_INCLUDED

typedef struct _notification_t notification_t;

//  Start the service on the service's loop. NULL on a configuration error
//  (logged, with the file and line for templates).
notification_t *notification_new (hl_service_t *service);
void notification_destroy (notification_t **self_p);

//  notify.db's migration steps (hl_store_migrate), ended by { 0 }: the
//  outbox's selftest builds its store with them, so it tests the real table
const hl_store_migration_t *notification_migrations (void);

void notification_test (bool verbose);
#endif
