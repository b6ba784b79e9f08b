/*  federation_guard — a ward's check, before it sends the city anything,
 *  that its log and the city's copy of it still agree.
 *
 *  The city keeps one cursor per ward: the seq of the ward's log it has
 *  applied, after which the ward's stream resumes. A ward restored from a
 *  backup older than what the city holds (or a second node speaking for the
 *  same ward code) has a log that ends before that cursor. Its next events
 *  would reuse log seqs, intake seqs and case numbers that the city holds
 *  for other events and other cases: the city would skip them as applied,
 *  or take them for the old ones (its log is keyed by the ward's intake seq,
 *  its cases by number), and nothing would say so.
 *
 *  So the ward refuses. The first time the city asks for the log after a
 *  seq beyond the ward's head, the guard records it (table
 *  federation_diverged, in the archive's store: it holds across restarts,
 *  also once the ward's log has grown past the city's cursor) and from then
 *  on the ward sends nothing and says so: an error at once and every
 *  minute (`hotline status` shows it), the gauge hotline_federation_diverged
 *  and the counter hotline_federation_refused_total, and the archive's
 *  /readyz reason. /readyz stays 200: the ward's own work goes on (its
 *  archive serves its queries and consumers), only the city is not fed.
 *  The ward keeps its events; nothing is lost, nothing reaches the city
 *  twice or under another case's number. deploy/README.md ("Backup and
 *  restore") says what an operator does next, and why the ward does not
 *  simply carry on after the city's cursor.
 */
#ifndef FEDERATION_GUARD_H_INCLUDED
#define FEDERATION_GUARD_H_INCLUDED

typedef struct _federation_guard_t federation_guard_t;

//  The guard's table: archive.db's migration step 6 (frozen)
extern const char federation_guard_schema [];

//  stream: the ward's stream (its code); store holds the log and the
//  guard's table. Loads a refusal recorded before (and logs it), registers
//  the gauge and the /readyz reason with service. NULL on a store error
//  (logged).
federation_guard_t *federation_guard_new (hl_service_t *service, hl_store_t *store,
                                          const char *stream);
void federation_guard_destroy (federation_guard_t **self_p);
//  The city asks for our log after seq after (its cursor after a reset, or
//  what was sent last). true: send. false: refused, now or before (the
//  first time recorded and logged), or the log's head cannot be read now:
//  send nothing.
bool federation_guard_allows (federation_guard_t *self, uint64_t after);
//  Refused? Then also the city's cursor and our log's head when it was
//  found (either pointer may be NULL).
bool federation_guard_refused (federation_guard_t *self, uint64_t *city_cursor, uint64_t *ward_head);

void federation_guard_test (bool verbose);
#endif
