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
//  GET /api/v1/cases/{id}
void web_cases_get (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                    const char *case_id);
//  POST /api/v1/cases/{id}/actions/{action}
void web_cases_action (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                       const char *case_id, const char *action);

void web_cases_test (bool verbose);
#endif
