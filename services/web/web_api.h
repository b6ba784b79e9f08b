/*  web_api — the JSON API under /api/v1/ (services/web/API.md): the router,
 *  the session (login, logout, /me, the procedure), and what every handler
 *  shares: the node, the web's own store, and the checks of who may see or
 *  do what.
 *
 *  Config section web, besides the server's (web_server.h; defaults in
 *  brackets):
 *      node_timeout_ms, node_tries     towards intake: per try, tries [3000, 3]
 *      session_idle_s, session_max_s   session expiry [1800, 43200]
 *      login_max_failures(_ip), login_window_s   throttling [5, 20, 900]
 *      tile_url            the map's tile URL template, e.g.
 *                          https://tile.openstreetmap.org/{z}/{x}/{y}.png
 *                          (http or https; "{s}." allowed first in the
 *                          host) [none: the page draws a coordinate grid]
 *      tile_attribution    the tiles' credit line (Leaflet shows it as HTML) [""]
 *      tile_host           the origin img-src allows [tile_url's origin]
 *      map_center          "LAT,LON" where the map opens [20.86,106.68,
 *                          Hải Phòng]
 *      map_zoom            1-19 [14]
 *      ward_areas          the city only: a file of the wards and their
 *                          areas (hl_areas.h) [none: the two demo wards]
 *
 *  The handlers live in their own classes and read the same way: parse
 *  (web_request), check (the session, the role, against the procedure),
 *  call (the node through intake's front door with hl_client, or the web's
 *  own store hl_accounts), answer (JSON):
 *      web_cases    the case list, a case, submitting, actions
 *      web_report   the report (JSON, CSV) and its prose
 *      web_admin    users, dead letters, the first admin
 *  The server decides what a role may see or do; the page shows what it
 *  gets.
 *
 *  Rules for callers:
 *  - web_api_handle runs in any of the HTTP server's worker threads. The
 *    object itself is read-only after web_api_new; each worker thread gets
 *    its own hl_client_t (intake, notification) and hl_accounts_t, made on
 *    first use and destroyed when the thread ends (hl_client and zsock are
 *    not thread-safe, nor is a SQLite connection shared between threads).
 *  - The request's body has been read whole (at most web/max_body bytes)
 *    before web_api_handle is called. The answer is written into the
 *    request: status, a malloc'ed body, its content type, and the extra
 *    headers (Set-Cookie, Retry-After, Content-Disposition).
 *  - A handler is called only with a live session, and for a write (POST,
 *    PUT, PATCH, DELETE) only with its CSRF token checked: the router does
 *    both before any handler runs.
 *  - Never a 500 for anything a client sends: bad input is a 4xx naming the
 *    field; a node that does not answer is a 503 and nothing was stored.
 */
#ifndef WEB_API_H_INCLUDED
#define WEB_API_H_INCLUDED
#include "hl_accounts.h"
#include "web_request.h"

typedef struct _web_api_t web_api_t;

//  Read the web section of the service's config. NULL on a config error
//  (printed).
web_api_t *web_api_new (hl_service_t *service);
void web_api_destroy (web_api_t **self_p);
//  Answer one request under /api/v1/
void web_api_handle (web_api_t *self, web_request_t *request);
//  Live sessions, for the gauge (the calling thread's own store); -1 on error
int web_api_session_count (web_api_t *self);
//  The map tiles' origin for the CSP's img-src: web/tile_host if set, else
//  the origin of web/tile_url ("" if neither)
const char *web_api_tile_origin (web_api_t *self);

//  --- For the handlers
hl_procedure_t *web_api_procedure (web_api_t *self);
//  The map the pages draw: {"tiles", "attribution", "center": [lat, lon],
//  "zoom"} (caller decrefs)
json_t *web_api_map (web_api_t *self);
//  The citizens' routes and evidence files (web_public.h)
typedef struct _web_public_t web_public_t;
web_public_t *web_api_public (web_api_t *self);
//  The logged-in user, for a handler the router does not call (a streamed
//  upload): 0, or -1 (answered 401, or 403 without the CSRF token)
int web_api_auth (web_api_t *self, web_request_t *request, hl_session_info_t *session);
//  Is this node the city aggregator
bool web_api_city (web_api_t *self);
//  The city's wards and their areas (web/ward_areas, else the demo wards:
//  hl_areas_default); NULL at a ward
hl_areas_t *web_api_areas (web_api_t *self);
//  The node's ward code ("" at the city)
const char *web_api_ward_code (web_api_t *self);
//  The web's own store's file (web.db in the node's data directory)
const char *web_api_db_path (web_api_t *self);
//  The calling thread's own store, opened on first use; NULL if it cannot
//  be opened (logged)
hl_accounts_t *web_api_accounts (web_api_t *self);
//  Send a request to the node (intake's front door, or the notification
//  service when notification is true) as actor. The reply (caller frees
//  with hl_msg_free; it has a reply), or NULL when the node did not answer
//  (answered 503).
Hotline__Envelope *web_api_call (web_api_t *self, web_request_t *request,
                                 Hotline__Request *message, const char *actor,
                                 bool notification);
//  A query: its JSON result (caller decrefs), or NULL (answered: the
//  node's refusal, or 503)
json_t *web_api_query (web_api_t *self, web_request_t *request, Hotline__Query *query,
                       const char *actor, bool notification);
//  Roles a web user may have: the procedure's people (not its "system"),
//  viewer and admin
bool web_api_role_valid (web_api_t *self, const char *role);
//  May this role take actions at all (the procedure still decides which)
bool web_api_can_act (web_api_t *self, const char *role);
//  Who sees a reporter's identity: at a ward the officer, the division and
//  the leaders; at the city only the Department, and only on the city's
//  own cases (those a ward forwarded: they carry origin_case). Never viewer
//  or admin. case_json NULL: "in general" (for /me, and for a list that is
//  not of one case).
bool web_api_can_see_reporter (web_api_t *self, const char *role, json_t *case_json);
//  The actor recorded for the session's user: "<role>:<user>"
void web_api_actor (hl_session_info_t *session, char *actor, size_t size);
//  true for an admin; otherwise false, answered 403
bool web_api_is_admin (web_request_t *request, hl_session_info_t *session);

void web_api_test (bool verbose);
#endif
