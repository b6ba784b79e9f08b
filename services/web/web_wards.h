/*  web_wards — the city dashboard's figures (API.md, "The city dashboard"):
 *
 *      GET /api/v1/wards?from=&to=&page=&per_page=&sort=&q=
 *                                  one row per ward for the period, ranked
 *                                  by on-time verification rate, sorted
 *                                  and paged (the archive's query "wards")
 *      GET /api/v1/wards/{code}?from=&to=
 *                                  one ward's row and its focal points
 *      GET /api/v1/charts?from=&to=&ward=
 *                                  cases per day by type, on-time rate per
 *                                  week, open cases by age ("charts")
 *      GET /api/v1/map?from=&to=&ward=&limit=
 *                                  the cases with coordinates ("map")
 *
 *  The period: from and to (YYYY-MM-DD in the node's zone, to inclusive);
 *  both optional, by default the 30 days up to today. None of these carry
 *  personal data: any role with a session at the city may read them; at a
 *  ward they are a 404.
 *
 *  Many dashboards refetch after the same event, so the answers are cached
 *  (web/dashboard_cache, entries [32]) and reused while the city's stream
 *  has brought no new event (web_stream_last), or, during a burst, while
 *  younger than web/dashboard_burst_ms [1000], and for at most
 *  web/dashboard_cache_ms [10000]: one archive query serves them all, and
 *  the archive's loop, which also ingests, answers once. While one thread
 *  asks the archive for a key, the others missing on it wait for that
 *  answer. Every answer carries "as_of", the stream's last event when the
 *  archive was asked; metrics hotline_web_dashboard_cache_hits_total and
 *  _misses_total (the archive was asked).
 *
 *  Rules for callers:
 *  - Called by web_api_handle only, with a live session; each answers the
 *    request itself.
 *  - web_wards_init reads the config once, at start (main), before the
 *    server's threads run; web_wards_shutdown frees the cache.
 */
#ifndef WEB_WARDS_H_INCLUDED
#define WEB_WARDS_H_INCLUDED
#include "web_api.h"

//  Read web/dashboard_cache(_ms), dashboard_burst_ms. 0, or -1 on a bad value (printed)
int web_wards_init (hl_service_t *service);
void web_wards_shutdown (void);

void web_wards_list (web_api_t *api, web_request_t *request, hl_session_info_t *session);
void web_wards_one (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                    const char *ward);
void web_wards_charts (web_api_t *api, web_request_t *request, hl_session_info_t *session);
void web_wards_map (web_api_t *api, web_request_t *request, hl_session_info_t *session);

void web_wards_test (bool verbose);
#endif
