/*  web_public — citizens without an account, and evidence files (see
 *  API.md "Citizens" and "Evidence"):
 *
 *      GET  /api/v1/public/config                  the map and the file limits, for the pages
 *      POST /api/v1/public/reports                 a report with files (multipart)
 *      GET  /api/v1/public/track/{token}           the case, as its reporter sees it
 *      POST /api/v1/public/track/{token}/rate      {"satisfied": bool[, "note"]}
 *      POST /api/v1/public/track/{token}/reopen    {"note"}: "not fixed"
 *      POST /api/v1/public/track/{token}/evidence  one more photo (multipart)
 *      POST /api/v1/cases/{id}/evidence            an officer attaches files (multipart)
 *      GET  /api/v1/cases/{id}/evidence/{sha256}   a case's file
 *
 *  The multipart bodies are streamed (web_upload): web_server hands each
 *  piece to the upload as it arrives, the limits refuse a file while it
 *  arrives, and the files go to evidence/tmp/ until the request is
 *  accepted; a refusal, at any point, unlinks them. On acceptance every
 *  file is made durable under its content address (hl_evidence) BEFORE the
 *  command naming it is sent; the answer follows intake's durable ack.
 *
 *  Config section web (defaults in brackets):
 *      evidence_max_bytes      one file [10485760]
 *      evidence_max_files      files in one request [5]
 *      public_window_s         the rate limits' window [3600]
 *      public_max_per_ip       public reports (and added photos) from one
 *                              address in the window [20]
 *      public_max_per_phone    public reports with one phone number in
 *                              the window [5]
 *
 *  Actors: a public report is submitted as "system:web" (the procedure's
 *  submit: "the system logs a web report") with channel web; the
 *  reporter's own actions as "citizen:web" (the procedure's role
 *  citizen decides what they may do, and until when). Never the phone.
 *
 *  At the city (API.md, "Filing at a ward"): a report is filed at its ward
 *  (web_filing: the ward chosen in the field "ward", else the one whose
 *  area holds the pin), without files; its tracking token opens the
 *  filing (pending until the ward's case reaches the city, then the
 *  city's copy of the case), and rate and reopen are filed at the ward.
 */
#ifndef WEB_PUBLIC_H_INCLUDED
#define WEB_PUBLIC_H_INCLUDED
#include "web_api.h"

typedef struct _web_public_t web_public_t;
typedef struct _web_upload_t web_upload_t;

//  Read the config. NULL on a config error (printed).
web_public_t *web_public_new (hl_service_t *service, web_api_t *api);
void web_public_destroy (web_public_t **self_p);

//  --- Streamed uploads (called by web_server)
//  Is this request a streamed multipart upload
bool web_public_is_upload (const char *method, const char *url);
//  The largest body such an upload may declare (413 above, unread)
size_t web_public_upload_max (web_public_t *self);
//  A new upload for a body of this Content-Type (never NULL: a bad type
//  is answered when the request is)
web_upload_t *web_upload_new (web_public_t *self, const char *content_type);
//  The next piece of the body: kept or refused, never an error to the
//  connection (the answer says what was wrong once the body is in)
void web_upload_feed (web_upload_t *self, const char *data, size_t size);
//  Unlinks every file not committed
void web_upload_destroy (web_upload_t **self_p);
//  The body is all in: answer the request
void web_public_upload_handle (web_public_t *self, web_request_t *request, web_upload_t *upload);

//  --- The JSON routes (called by web_api's router)
//  GET /api/v1/public/config: no session
void web_public_config (web_public_t *self, web_request_t *request);
//  /api/v1/public/track/{token}[/rate|/reopen]: no session
void web_public_track (web_public_t *self, web_request_t *request, const char *token,
                       const char *what);
//  GET /api/v1/cases/{id}/evidence/{sha256}
void web_public_evidence_get (web_public_t *self, web_request_t *request,
                              hl_session_info_t *session, const char *case_id, const char *sha);

void web_public_test (bool verbose);
#endif
