/*  web_report — the report for a period under /api/v1/report (API.md,
 *  "Reports"): the JSON of the node's `report` query, the same as CSV, and
 *  the prose sections (2.1-2.3 and the letter) the ward writes per period.
 *
 *  The CSV is byte for byte what `hotline report --format csv` prints:
 *  section 2's figures (one row per type, or per ward at the city, then the
 *  totals), a blank line, then section 1's focal points. Fields are quoted,
 *  quotes doubled; figures are bare integers.
 *
 *  Rules for callers:
 *  - The routes are called by web_api_handle only, with a live session
 *    (and the CSRF token checked on a PUT); each answers the request itself.
 *  - Any logged-in role reads the report and its prose; only officer,
 *    leader, department and admin write the prose (403 otherwise). A PUT
 *    saves all four texts or nothing.
 */
#ifndef WEB_REPORT_H_INCLUDED
#define WEB_REPORT_H_INCLUDED
#include "web_api.h"

//  GET /api/v1/report?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=json|csv][&ward=]
void web_report_get (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  GET|PUT /api/v1/report/text?from=&to=
void web_report_text (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  The CSV text (caller frees) of a report query's JSON, and its size
char *web_report_csv (json_t *report, size_t *size);

void web_report_test (bool verbose);
#endif
