/*  firing_heap — a binary min-heap of pending deadline firings.
 *
 *  16 bytes an entry: when it fires, and which deadline row and kind. A
 *  million open deadlines (a warning and a breach each) take 32 MB.
 *  Ordered by fire time, then row, then kind: a deadline's warning comes
 *  before its breach when both are due at once.
 */
#ifndef FIRING_HEAP_H_INCLUDED
#define FIRING_HEAP_H_INCLUDED

typedef enum { FIRING_WARN = 0, FIRING_BREACH = 1 } firing_kind_t;

typedef struct {
    int64_t fire_ms;
    uint64_t key;               //  row id << 1 | kind
} firing_t;

typedef struct _firing_heap_t firing_heap_t;

firing_heap_t *firing_heap_new (void);
void firing_heap_destroy (firing_heap_t **self_p);
//  Add a firing. Always 0: out of memory aborts (hl_alloc.h).
int firing_heap_push (firing_heap_t *self, int64_t fire_ms, int64_t row, firing_kind_t kind);
//  Add without keeping order; call firing_heap_build () after a bulk load.
int firing_heap_append (firing_heap_t *self, int64_t fire_ms, int64_t row, firing_kind_t kind);
void firing_heap_build (firing_heap_t *self);
//  The earliest firing, or NULL if empty
const firing_t *firing_heap_peek (firing_heap_t *self);
//  Remove the earliest into *firing. false if empty.
bool firing_heap_pop (firing_heap_t *self, firing_t *firing);
size_t firing_heap_size (firing_heap_t *self);
void firing_heap_clear (firing_heap_t *self);

static inline int64_t firing_row (const firing_t *firing) { return (int64_t) (firing->key >> 1); }
static inline firing_kind_t firing_kind (const firing_t *firing) { return (firing_kind_t) (firing->key & 1); }

void firing_heap_test (bool verbose);
#endif
