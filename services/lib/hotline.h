/*  hotline.h — the shared library every Hotline service links.
 *
 *  One class per .h/.c pair, czmq style (RFC 21): hl_x_new / hl_x_destroy,
 *  0/-1 returns, s_ for statics, and hl_x_test (verbose) as selftest and
 *  example of use.
 */
#ifndef HOTLINE_H_INCLUDED
#define HOTLINE_H_INCLUDED

#include <czmq.h>
#include <sqlite3.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "hotline.pb-c.h"

#define HOTLINE_VERSION     "0.1.0"
#define HL_SCHEMA_VERSION   1
//  Largest frame any node-facing socket accepts (ZMQ_MAXMSGSIZE)
#define HL_MAX_MSG_SIZE     (1024 * 1024)

//  Node-level event: a ward's focal points directory (Event.case_id empty)
//  A node's feeds (intake -> archive -> its followers): how long a sender
//  gathers new events before sending them (config feeds/coalesce_ms), so
//  that each follower commits once per interval, not once per intake commit
#define HL_FEED_COALESCE_MS 5

#define HL_ACTION_DIRECTORY "directory"
//  Node-level event, the city only: a command to be filed at a ward
//  (Command.ward), carried to it by the archive's return stream
//  (services/archive/federation.h, "Filing")
#define HL_ACTION_FILE      "file"
//  A filing's id (its request id at the city and at the ward): this prefix
//  and 32 hex digits
#define HL_FILING_PREFIX    "file-"
//  Node-level event, a ward only: its intake refused the city's filing
//  (request id: the filing id; args code, reason, field). Written once, with
//  the refusal remembered under the filing id; reaches the city in the
//  ward's stream, which marks the filing refused (federation.h, "Filing")
#define HL_ACTION_FILING_REFUSED "filing_refused"
//  A filing's received time (Command.received_ms) older than this is taken
//  as this old: the legal clock of a filing delivered late starts when the
//  city took it, but never more than 7 days back
#define HL_FILING_MAX_AGE_MS (7 * 24 * 3600 * 1000LL)

//  Reply codes (Reply.code)
#define HL_OK               0
#define HL_BAD_INPUT        400
#define HL_FORBIDDEN        403
#define HL_NOT_FOUND        404
#define HL_CONFLICT         409
#define HL_TOO_LARGE        413
//  A request id already used for a different command: nothing was done (a
//  client reusing ids by mistake would otherwise get another report's case)
#define HL_REQUEST_REUSED   422
#define HL_UNAVAILABLE      503

#include "hl_alloc.h"
#include "hl_log.h"
#include "hl_clock.h"
#include "hl_store.h"
#include "hl_config.h"
#include "hl_msg.h"
#include "hl_report.h"
#include "hl_lexer.h"
#include "hl_procedure.h"
#include "hl_hop.h"
#include "hl_deadline.h"
#include "hl_clone.h"
#include "hl_client.h"
#include "hl_keyring.h"
#include "hl_metrics.h"
#include "hl_service.h"
#include "hl_consumer.h"
#include "hl_accounts.h"
#include "hl_evidence.h"
#include "hl_jpeg.h"
#include "hl_public.h"
#include "hl_areas.h"

#endif
