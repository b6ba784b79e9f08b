/*  hl_clock — the node clock, in milliseconds since the Unix epoch.
 *
 *  Tests accelerate time without sleeping: when HOTLINE_CLOCK_FILE names a
 *  file, its content (an integer, milliseconds) is added to the real clock.
 *  The file is re-read when it changes. Every service uses this clock for
 *  received times and deadlines, so a test can jump 24 hours in one write.
 */
#ifndef HL_CLOCK_H_INCLUDED
#define HL_CLOCK_H_INCLUDED
#include <stdint.h>
#include <stdbool.h>

int64_t hl_clock_now (void);
//  Format ms as "2026-11-29 15:04" in local time (buf >= 32)
const char *hl_clock_format (int64_t ms, char *buf, size_t size);
//  Parse "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DDTHH:MM[:SS]"
//  (local time). Returns 0 and sets *ms, or -1.
int hl_clock_parse (const char *text, int64_t *ms);
//  Parse a duration "90s", "15m", "24h", "2d", "0" into ms; -1 if invalid.
int hl_clock_parse_duration (const char *text, int64_t *ms);

void hl_clock_test (bool verbose);
#endif
