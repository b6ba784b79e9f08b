/*  web_cases — the cases under /api/v1/cases (API.md, "Cases"): the list,
 *  one case, submitting a report, and taking an action on a case.
 *
 *  Rules for callers:
 *  - Called by web_api_handle only, with a live session (and the CSRF token
 *    checked on a POST); each answers the request itself.
 *  - What a role may see or do is decided here and by the procedure, never
 *    by the page: viewer and admin submit nothing and take no action; the
 *    reporter's identity is replaced by {"redacted": true} for a role that
 *    may not see it (web_api_can_see_reporter); allowed_actions lists only
 *    what this role may do now.
 *  - A submit or an action answers 201/200 only after intake's durable
 *    acknowledgement; on any refusal nothing was stored.
 */
#ifndef WEB_CASES_H_INCLUDED
#define WEB_CASES_H_INCLUDED
#include "web_api.h"

//  GET /api/v1/cases?state=&type=&overdue=&from=&to=&q=&page=&per_page=[&ward=]
void web_cases_list (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  POST /api/v1/cases: the report's fields, as in hotline show --json
void web_cases_submit (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  File a report (the one submit path: this route's, Open311's ...): check
//  it as intake would (400 {"error", "field", "field_errors"}), then send
//  the submit command through intake as actor with request_id (NULL: one
//  made per call, kept across its tries). 0 and the new case's number in
//  case_id once intake has acknowledged it durably; -1 when refused or the
//  node did not answer (the request is answered: 400, the node's refusal,
//  or 503), nothing stored.
int web_cases_file (web_api_t *api, web_request_t *request, Hotline__Report *report,
                    const char *request_id, const char *actor, char *case_id, size_t size);
//  GET /api/v1/cases/{id}
void web_cases_get (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                    const char *case_id);
//  POST /api/v1/cases/{id}/actions/{action}
void web_cases_action (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                       const char *case_id, const char *action);

void web_cases_test (bool verbose);
#endif
