/*  web_open311 — Open311 GeoReport v2 under /open311/v2/ (API.md, "Open311"),
 *  on every node, in .json and .xml:
 *
 *      GET  discovery.(json|xml)
 *      GET  services.(json|xml)              one service per pollution type
 *      GET  services/{code}.(json|xml)       its attributes: urgent, scope,
 *                                            polluter, occurred
 *      POST requests.(json|xml)              form-encoded, api_key required
 *      GET  requests.(json|xml)              service_request_id, service_code,
 *                                            start_date, end_date, status,
 *                                            page, page_size
 *      GET  requests/{id}.(json|xml)
 *      GET  tokens/{token}.(json|xml)        the token is the case number
 *
 *  Config section open311 (defaults in brackets):
 *      rate_per_min        POSTs one API key may make in a minute [60]
 *      department_name     agency_responsible of a case the Department
 *                          handles ["Sở Nông nghiệp và Môi trường " node/city]
 *  and report/informed_action ["inform"], the action whose note is the
 *  public answer (status_notes), and report/done_actions (through the
 *  archive's report rule: the states that count as done are "closed").
 *
 *  Rules for callers:
 *  - web_open311_handle is called by web_api_handle for every path under
 *    /open311/, without a session: a POST is authorised by its api_key
 *    alone (no cookie is read, so there is nothing for CSRF to borrow).
 *  - Every answer, errors included, is Open311's: a JSON array, or an XML
 *    document (root services, service_definition, service_requests,
 *    errors, discovery); errors are [{"code", "description"}].
 *  - No GET answer carries anything of the reporter: each request object
 *    is built field by field from the case, never copied from it.
 *  - The submit goes through web_cases_file (the console's own path): a
 *    POST answers only after intake's durable acknowledgement.
 */
#ifndef WEB_OPEN311_H_INCLUDED
#define WEB_OPEN311_H_INCLUDED
#include "web_api.h"

typedef struct _web_open311_t web_open311_t;

//  NULL on a config error (printed)
web_open311_t *web_open311_new (web_api_t *api, hl_config_t *config);
void web_open311_destroy (web_open311_t **self_p);
//  Answer one request under /open311/ (any worker thread)
void web_open311_handle (web_open311_t *self, web_request_t *request);

void web_open311_test (bool verbose);
#endif
