/*  hl_deadline — the deadlines of every case, derived from the event log.
 *
 *  Intake (to validate deadline events), archive (to show them) and
 *  deadline-watcher (to fire them) all derive deadlines the same way, with
 *  this class, from the same events and the same procedure. Tables it owns
 *  in the caller's store:
 *
 *      deadline_cases (case_id PRIMARY KEY, received_ms, regime)
 *      deadlines (id INTEGER PRIMARY KEY, case_id, name, started_seq,
 *                 started_ms, due_ms, warn_ms, met_ms, warned_seq,
 *                 breached_seq, UNIQUE (case_id, name, started_seq))
 *
 *  A deadline instance is identified by (case_id, name, started_seq): the
 *  log seq of the event that started it. warn_ms is 0 when the deadline has
 *  no warning. met_ms is NULL while it runs.
 */
#ifndef HL_DEADLINE_H_INCLUDED
#define HL_DEADLINE_H_INCLUDED

//  The tables' DDL (CREATE ... IF NOT EXISTS), for the migration steps of
//  the stores that hold them (intake.db, archive.db, deadline.db: see
//  hl_store_migrate). Frozen: a later change to these tables is a new step
//  in each of those stores, never an edit here, so that a store's schema
//  version keeps meaning one schema.
extern const char hl_deadline_schema [];
//  Create the tables in a scratch store (selftests, bench); services take
//  hl_deadline_schema into their migration steps instead. 0 or -1.
int hl_deadline_setup (hl_store_t *store);
//  Apply one event's effect (call inside the caller's transaction):
//  - submit: remember received_ms and regime; start the initial deadlines;
//  - a state change from -> to: deadlines stopping are met (met_ms = at_ms),
//    deadlines starting get due = anchor + duration (regime);
//  - deadline_warn / deadline_breach (args deadline, started_seq): mark
//    warned_seq / breached_seq.
//  Idempotent for an event applied twice. 0 or -1 (store error).
int hl_deadline_apply (hl_store_t *store, hl_procedure_t *procedure, const Hotline__Event *event);
//  Is instance (case, name, started_seq) running, and not yet warned (kind
//  "warn") or breached (kind "breach")? Used by intake to refuse stale or
//  repeated deadline events. A warning is pending only if the deadline has
//  one (warn_ms > 0) and it is not breached yet (never warn after a breach).
//  A failed read is logged and answers false.
bool hl_deadline_pending (hl_store_t *store, const char *case_id, const char *name,
                          uint64_t started_seq, const char *kind);
//  The deadlines of one case as a JSON array (name, started_seq, started_ms,
//  due_ms, warn_ms, met_ms (null while running), warned, breached (booleans),
//  status: running|met|overdue|met_late), in start order. NULL if the read
//  failed (logged): never a partial list.
json_t *hl_deadline_json (hl_store_t *store, const char *case_id, int64_t now);

void hl_deadline_test (bool verbose);
#endif
