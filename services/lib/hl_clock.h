/*  hl_clock — the node clock, in milliseconds since the Unix epoch, and the
 *  node's time zone.
 *
 *  Tests accelerate time without sleeping: when HOTLINE_CLOCK_FILE names a
 *  file, its content (an integer, milliseconds) is added to the real clock.
 *  The file is re-read when it changes. Every service uses this clock for
 *  received times and deadlines, so a test can jump 24 hours in one write.
 *
 *  Time zone: stored times are UTC milliseconds, always. What a person sees
 *  or types is in the node's zone (config node/timezone, an IANA name,
 *  default Asia/Ho_Chi_Minh), never the machine's: containers and servers
 *  run in UTC, and a ward's officers, case numbers and reports live in
 *  Vietnam time. A service is a single-zone process, so hl_service_new sets
 *  the zone once, at start, before any thread reads it (hl_clock_set_zone:
 *  TZ + tzset); after that localtime/mktime, and so every function here,
 *  work in the node's zone. The `hotline` CLI asks the node it talks to for
 *  its zone (the ping answer) and sets its own the same way.
 */
#ifndef HL_CLOCK_H_INCLUDED
#define HL_CLOCK_H_INCLUDED
#include <stdint.h>
#include <stdbool.h>
#include <jansson.h>

//  The zone of a node whose configuration says none
#define HL_CLOCK_ZONE_DEFAULT   "Asia/Ho_Chi_Minh"

int64_t hl_clock_now (void);

//  Is name an IANA zone this machine has: a plain name (A-Z a-z 0-9 / _ + -,
//  no "..") naming a TZif file under $TZDIR or /usr/share/zoneinfo. 0 if so;
//  else -1 with the reason in error.
int hl_clock_zone_check (const char *name, char *error, size_t size);
//  Check name as above, then make it this process's zone (TZ, tzset). Call
//  once at start, before other threads format times. 0 or -1 (error set).
int hl_clock_set_zone (const char *name, char *error, size_t size);
//  The zone set by hl_clock_set_zone ("" if none was)
const char *hl_clock_zone (void);

//  Format ms as "2026-11-29 15:04" in the zone (buf >= 32): for people
const char *hl_clock_format (int64_t ms, char *buf, size_t size);
//  Format ms as ISO 8601 with the zone's offset, "2026-11-29T15:04:05+07:00"
//  (buf >= 40): for JSON and CSV
const char *hl_clock_format_iso (int64_t ms, char *buf, size_t size);
//  Year of ms in the zone (case numbers take it)
int hl_clock_year (int64_t ms);
//  The same wall-clock time one calendar day later, in the zone (the end of
//  an inclusive "--to DATE"; not +24 h, which a clock change would shift)
int64_t hl_clock_next_day (int64_t ms);

//  Parse a time a person typed or a program sent:
//      YYYY-MM-DD                              midnight, in the zone
//      YYYY-MM-DD HH:MM[:SS[.fff]]             in the zone ('T' for ' ' too)
//      any of these followed by a zone: Z, +07:00, +0700, +07, -05:00,
//      UTC+7, GMT+7 (UTC+7 means seven hours ahead of UTC, as people mean it)
//  Years 1000-9999; nothing may follow. Returns 0 and sets *ms, or -1.
int hl_clock_parse (const char *text, int64_t *ms);
//  The same, and on -1 the reason in why, naming what was not understood
//  ("'extra' after the time is not understood", "2026-02-30: February has
//  28 days", ...); why is valid UTF-8 and quotes at most 40 bytes of input.
int hl_clock_parse_reason (const char *text, int64_t *ms, char *why, size_t size);
//  Parse a duration "90s", "15m", "24h", "2d", "0" into ms; -1 if invalid.
int hl_clock_parse_duration (const char *text, int64_t *ms);

//  JSON answers carry times as UTC milliseconds (*_ms, read by programs).
//  Beside each non-zero integer time this adds its ISO 8601 twin in the zone:
//  received_ms -> received_at, at_ms -> at, due_ms -> due_at, ... (at any
//  depth; durations such as retry_ms are not times and are left alone).
void hl_clock_json_times (json_t *json);

void hl_clock_test (bool verbose);
#endif
