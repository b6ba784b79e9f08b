/*  web_filing — the city's web files reports at its wards (API.md, "Filing
 *  at a ward"; the path: services/archive/federation.h, "Filing").
 *
 *  A case lives at its ward: the city's public form and Open311 never open
 *  one at the city. They pick the ward (web_filing_ward: one chosen from
 *  the list, or the one whose area holds the report's coordinates: config
 *  web/ward_areas, hl_areas) and send the command to the city's intake
 *  with Command.ward and a filing id as the request id (web_filing_send).
 *  Intake answers once the filing is durable; the archive carries it to
 *  the ward, whose intake files it exactly once; the ward's case number
 *  comes back in the ward's stream, and web_filing_get reads it (null
 *  until then).
 *
 *  The filing id ("file-" and 32 hex digits) is the Open311 token, and
 *  what a public tracking link at the city opens (web.db keeps only the
 *  link's hash, mapped to the filing id). From an idempotency key it is
 *  a hash of the key (web_filing_id): a client's retry with the same key
 *  is the same request to intake, answered from its memory.
 *
 *  Rules for callers: any worker thread; the city only (at a ward intake
 *  refuses a filing).
 */
#ifndef WEB_FILING_H_INCLUDED
#define WEB_FILING_H_INCLUDED
#include "web_api.h"

//  "file-" + 32 hex digits + NUL
#define WEB_FILING_ID_SIZE  38
//  The Retry-After of a refusal at a ward that does not take filings yet
#define WEB_FILING_RETRY_AFTER_S  600

typedef enum {
    WEB_FILING_WARD,            //  *ward is set
    WEB_FILING_UNKNOWN,         //  chosen is not a ward the city lists
    WEB_FILING_OUTSIDE,         //  the coordinates are in no ward's area
    WEB_FILING_NOWHERE          //  neither a ward chosen nor coordinates
} web_filing_where_t;

//  Which ward files this report: chosen (a listed code; wins over the
//  coordinates), else the one whose area holds report's coordinates
web_filing_where_t web_filing_ward (web_api_t *api, const char *chosen, const Hotline__Report *report,
                                    const char **ward);
//  A filing id into id (WEB_FILING_ID_SIZE bytes): a hash of scope and key
//  (the same key, the same id), or random when key is NULL or empty
void web_filing_id (const char *scope, const char *key, char *id);
//  Send command, to be filed at ward as actor, under filing id: HL_OK once
//  the city's intake has it durably; -1 when refused or the node did not
//  answer (answered: the refusal, or 503), nothing stored.
int web_filing_send (web_api_t *api, web_request_t *request, const char *id, const char *ward,
                     const char *actor, Hotline__Command *command);
//  The filing into *filing: {"filing_id", "ward", "action", "at_ms",
//  "case_id" (null until the ward's case reached the city), "filed_ms"}
//  (caller decrefs). 0; 1 when the city's archive does not know it (or id
//  is malformed), answered nothing; -1 answered (the refusal, or 503).
int web_filing_state (web_api_t *api, web_request_t *request, const char *id, json_t **filing);
//  Before anything of a filing is stored (its files included): does ward
//  take filings? A ward on the previous release would skip the "file"
//  event and lose the report (federation.h, "Filing", Upgrades); the city
//  files only at a ward whose archive has shown it runs this release (the
//  archive's query kind "filing_ward"). 0 it does; 1 not yet, answered
//  nothing but the request's Retry-After (WEB_FILING_RETRY_AFTER_S: the
//  caller answers 503, web_filing_not_ready or its own format); -1
//  answered (the archive's refusal, or 503).
int web_filing_ready (web_api_t *api, web_request_t *request, const char *ward);
//  Every ward that takes filings, in one archive query ("filing_ward"
//  without text): {"<code>": since_ms, ...} (caller decrefs), or NULL
//  (answered: the archive's refusal, or 503). Not cached here: the pages'
//  config caches it (web_public.c)
json_t *web_filing_wards (web_api_t *api, web_request_t *request);
//  The answer to a filing at a ward that does not take filings yet: 503,
//  field "ward", Vietnamese with English in parentheses, nothing stored
void web_filing_not_ready (web_request_t *request, const char *ward);
//  After web_filing_send: wait, at most timeout_ms, until the city's
//  archive knows the filing (intake answered once it was durable; the
//  archive follows it by a moment), so that a client reading the token or
//  opening the link at once finds it. Answers nothing, and gives up
//  quietly: the filing is durable either way.
void web_filing_wait (web_api_t *api, web_request_t *request, const char *id, int timeout_ms);

void web_filing_test (bool verbose);
#endif
