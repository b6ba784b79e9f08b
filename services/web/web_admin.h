/*  web_admin — administration under /api/v1/ (API.md, "Administration"):
 *  the web's users, the node's dead letters, and the first admin.
 *
 *  Rules for callers:
 *  - The routes are called by web_api_handle only, with a live session
 *    (and the CSRF token checked on a POST); each answers the request
 *    itself.
 *  - Users: admin only (403 otherwise); a role must be one the node knows
 *    (web_api_role_valid). Passwords are never logged or answered.
 *  - Dead letters: not for viewer; a message to the reporter has its
 *    address emptied for a role that may not see reporters.
 */
#ifndef WEB_ADMIN_H_INCLUDED
#define WEB_ADMIN_H_INCLUDED
#include "web_api.h"

//  GET|POST /api/v1/users
void web_admin_users (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  POST /api/v1/users/{name}/password | /disable (what: "password" or
//  "disable")
void web_admin_user (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                     const char *name, const char *what);
//  GET /api/v1/deadletters[?all=1&case=&limit=]
void web_admin_deadletters (web_api_t *api, web_request_t *request, hl_session_info_t *session);
//  Create the first admin if web.db has no users: a random password,
//  written with the user name to path (mode 0600). 0 done, 1 users exist
//  already (nothing written), -1 error (printed).
int web_admin_init (web_api_t *api, const char *path);

void web_admin_test (bool verbose);
#endif
