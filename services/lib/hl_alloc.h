/*  hl_alloc — the one allocation policy: out of memory aborts.
 *
 *  A service that cannot allocate cannot keep its promises (persist before
 *  acknowledging, deliver at least once): it stops, and its supervisor
 *  restarts it from its durable state. So no caller checks for NULL from
 *  these, and no other allocation policy exists:
 *    - zeroed memory: czmq's zmalloc (calloc that aborts; free with free);
 *    - copies of strings: hl_strdup / hl_strndup;
 *    - growing a buffer: hl_realloc.
 *  This file is the only place in services/ that calls malloc, calloc,
 *  realloc or strdup directly.
 */
#ifndef HL_ALLOC_H_INCLUDED
#define HL_ALLOC_H_INCLUDED

#include <stddef.h>
#include <stdbool.h>

//  A copy of string (free it with free), or NULL if string is NULL (an
//  absent optional field stays absent). Aborts when out of memory.
char *
    hl_strdup (const char *string);

//  A copy of at most size bytes of string, always terminated; NULL if
//  string is NULL. Aborts when out of memory.
char *
    hl_strndup (const char *string, size_t size);

//  memory resized to size bytes (memory may be NULL: a new block). Never
//  returns NULL for size > 0: aborts when out of memory, so the caller's
//  pointer is never lost by assigning a NULL result over it. The bytes
//  past the old size are not zeroed. size 0 frees memory, returns NULL.
void *
    hl_realloc (void *memory, size_t size);

//  Selftest
void
    hl_alloc_test (bool verbose);

#endif
