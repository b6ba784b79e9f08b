/*  intake — the write path of a node.
 *
 *  Takes commands (new reports and officer/system actions) on the node's
 *  front door, validates each against the record rules and the procedure,
 *  numbers new cases, commits a whole batch in one transaction (group
 *  commit, fsync), and only then replies. Committed events go to the
 *  archive through the reliable hop (stream "intake"). Queries are relayed
 *  to the archive untouched.
 */
#ifndef INTAKE_H_INCLUDED
#define INTAKE_H_INCLUDED

typedef struct _intake_t intake_t;

intake_t *intake_new (hl_service_t *service);
void intake_destroy (intake_t **self_p);

#endif
