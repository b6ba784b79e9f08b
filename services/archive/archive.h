/*  archive — the node's system of record.
 *
 *  Pulls every event from intake through the reliable hop (stream
 *  "intake"), appends it to the append-only log and derives the current
 *  view of each case, in one transaction per batch. Serves the log to the
 *  node's consumers (stream "log") and answers queries: one case with its
 *  history and deadlines, lists, counts and the periodic report.
 */
#ifndef ARCHIVE_H_INCLUDED
#define ARCHIVE_H_INCLUDED

typedef struct _archive_t archive_t;

archive_t *archive_new (hl_service_t *service);
void archive_destroy (archive_t **self_p);

//  Queries (archive_query.c): answer one query as JSON text (caller frees)
//  and a reply code.
char *archive_query (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size);
hl_store_t *archive_store (archive_t *self);
//  The case list's columns (archive_query.c): archive.db's migration steps
//  that add them to the cases table and fill them (next_due_ms and
//  next_deadline; the search index), hl_store_step_fn's with the archive
//  as arg; a new case's search text (rowid: its row in cases); the next
//  deadline of a case after an event moved its deadlines. Inside the
//  caller's transaction. 0 or -1.
int archive_query_add_due (hl_store_t *store, void *arg);
int archive_query_add_search (hl_store_t *store, void *arg);
int archive_query_case_created (archive_t *self, const Hotline__Event *event, int64_t rowid);
int archive_query_case_changed (archive_t *self, const Hotline__Event *event);
//  The report's rule of what is still open: the states that count as done
//  and as forwarded (caller destroys both lists)
void archive_query_closed_states (archive_t *self, zlistx_t **done, zlistx_t **forwarded);
//  The city dashboard's queries (archive_wards.c): kinds "wards", "charts"
//  and "map". archive_wards_kind says whether kind is one of them;
//  archive_wards_query answers like archive_query, as JSON (caller decrefs)
//  or NULL with code and error set (code HL_OK: a store error).
//  archive_wards_add_figures, archive.db's migration step (arg: the
//  archive), adds the columns and index it reads to the cases table (the
//  city only; filled from the case_actions and deadlines at hand) and
//  archive_wards_case_changed keeps them current, inside the transaction
//  that applies the event. 0 or -1. archive_wards_add_ward_indexes, step 6
//  (the city only): the (state, ward) index open now reads, in place of
//  the state one. 0 or -1. archive_wards_forget frees what the queries
//  keep between calls (each ward's last event); archive_destroy calls it.
int archive_wards_add_figures (hl_store_t *store, void *arg);
int archive_wards_add_ward_indexes (hl_store_t *store, void *arg);
int archive_wards_case_changed (archive_t *self, const Hotline__Event *event);
void archive_wards_forget (void);
bool archive_wards_kind (const char *kind);
json_t *archive_wards_query (archive_t *self, const Hotline__Query *query, int *code,
                             char *error, size_t size);
//  hl_hop callbacks (arg = the archive): apply a batch of a stream (intake's,
//  or a ward's at the city) / of the city's return stream at a ward; the
//  durable cursor of a stream
int archive_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count);
//  Apply a batch from another node: stream (e.g. "ward:31001", "city") is
//  both the cursor key and the origin the log records, whatever the
//  payload claims. returned: the city's events about our Department cases.
int archive_apply_from (archive_t *self, const char *stream, const hl_hop_item_t *items,
                        size_t count, bool returned);
//  Apply a batch of items that are not events (a ward's evidence pieces at
//  the city): each (each_arg, item) for every item, then the cursor of
//  stream, in one transaction, or in a savepoint of the open group, as for
//  events. 0, or -1 when each did (nothing of the batch is kept in the
//  store; it is redelivered).
int archive_apply_each (archive_t *self, const char *stream, const hl_hop_item_t *items,
                        size_t count, int (*each) (void *, const hl_hop_item_t *), void *each_arg);
int archive_cursor (void *arg, const char *stream, uint64_t *cursor);
//  hl_hop group commit (the city's ward links): batches of many wards in
//  one transaction, each batch in a savepoint. 0 or -1.
int archive_group_begin (void *arg);
int archive_group_commit (void *arg);
hl_service_t *archive_service (archive_t *self);
//  The city's filings at its wards (archive_filings.c; federation.h,
//  "Filing"): the table (archive.db's migration step 8); inside the
//  apply transaction, our intake's "file" event recorded, and a ward's
//  event whose request id is a filing id recorded as that filing's case
//  (0 or -1); the query kind "filing" (text: the filing id) answered as
//  {"filing_id", "ward", "action", "at_ms", "case_id" (null until the ward
//  has filed it), "filed_ms"; once the ward refused it, "refused":
//  {"code", "reason", "field", "at_ms"}}, or NULL with code and error set
//  (code HL_OK: a store error). A ward's HL_ACTION_FILING_REFUSED event
//  marks its filing refused (step 9: the columns; 0 or -1).
extern const char archive_filings_schema [];
int archive_filings_add_refused (hl_store_t *store, void *arg);
int archive_filings_queued (archive_t *self, const Hotline__Event *event);
int archive_filings_filed (archive_t *self, const Hotline__Event *event);
int archive_filings_refused (archive_t *self, const Hotline__Event *event);
json_t *archive_filings_query (archive_t *self, const Hotline__Query *query, int *code,
                               char *error, size_t size);
//  The wards that take filings (step 12: the table filing_wards, written
//  by the federation; federation.h, "Filing", Upgrades): the query kind
//  "filing_ward" (text: the ward code) answered as {"ward", "since_ms"},
//  or NULL with code HL_NOT_FOUND (not shown yet), HL_BAD_INPUT, or HL_OK
//  (a store error). Without text (or text ""): every ward recorded, in
//  one answer {"wards": {"<code>": since_ms, ...}} (the pages' config marks
//  the wards not in it), or NULL with code HL_OK (a store error)
extern const char archive_filings_wards_schema [];
json_t *archive_filings_ward_query (archive_t *self, const Hotline__Query *query, int *code,
                                    char *error, size_t size);

#endif
