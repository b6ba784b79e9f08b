/*  firing_heap — a binary min-heap of pending deadline firings. See heap.h.  */
#include "hotline.h"
#include "heap.h"

struct _firing_heap_t {
    firing_t *items;
    size_t size;
    size_t capacity;
};

static inline bool
s_less (const firing_t *a, const firing_t *b)
{
    return a->fire_ms < b->fire_ms || (a->fire_ms == b->fire_ms && a->key < b->key);
}

static void
s_sift_up (firing_heap_t *self, size_t at)
{
    firing_t item = self->items [at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (!s_less (&item, &self->items [parent]))
            break;
        self->items [at] = self->items [parent];
        at = parent;
    }
    self->items [at] = item;
}

static void
s_sift_down (firing_heap_t *self, size_t at)
{
    firing_t item = self->items [at];
    size_t half = self->size / 2;
    while (at < half) {
        size_t child = 2 * at + 1;
        if (child + 1 < self->size && s_less (&self->items [child + 1], &self->items [child]))
            child++;
        if (!s_less (&self->items [child], &item))
            break;
        self->items [at] = self->items [child];
        at = child;
    }
    self->items [at] = item;
}

firing_heap_t *
firing_heap_new (void)
{
    return (firing_heap_t *) zmalloc (sizeof (firing_heap_t));
}

void
firing_heap_destroy (firing_heap_t **self_p)
{
    assert (self_p);
    firing_heap_t *self = *self_p;
    if (self) {
        free (self->items);
        free (self);
        *self_p = NULL;
    }
}

int
firing_heap_append (firing_heap_t *self, int64_t fire_ms, int64_t row, firing_kind_t kind)
{
    if (self->size == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 1024;
        self->items = (firing_t *) hl_realloc (self->items, capacity * sizeof (firing_t));
        self->capacity = capacity;
    }
    self->items [self->size].fire_ms = fire_ms;
    self->items [self->size].key = ((uint64_t) row << 1) | (uint64_t) kind;
    self->size++;
    return 0;
}

int
firing_heap_push (firing_heap_t *self, int64_t fire_ms, int64_t row, firing_kind_t kind)
{
    if (firing_heap_append (self, fire_ms, row, kind))
        return -1;
    s_sift_up (self, self->size - 1);
    return 0;
}

void
firing_heap_build (firing_heap_t *self)
{
    for (size_t at = self->size / 2; at-- > 0; )
        s_sift_down (self, at);
}

const firing_t *
firing_heap_peek (firing_heap_t *self)
{
    return self->size? &self->items [0]: NULL;
}

bool
firing_heap_pop (firing_heap_t *self, firing_t *firing)
{
    if (!self->size)
        return false;
    *firing = self->items [0];
    self->items [0] = self->items [--self->size];
    if (self->size)
        s_sift_down (self, 0);
    //  Give memory back after a big drain
    if (self->capacity > 4096 && self->size < self->capacity / 4) {
        self->items = (firing_t *) hl_realloc (self->items, self->capacity / 2 * sizeof (firing_t));
        self->capacity /= 2;
    }
    return true;
}

size_t
firing_heap_size (firing_heap_t *self)
{
    return self->size;
}

void
firing_heap_clear (firing_heap_t *self)
{
    free (self->items);
    self->items = NULL;
    self->size = self->capacity = 0;
}

void
firing_heap_test (bool verbose)
{
    printf (" * firing_heap: ");
    assert (sizeof (firing_t) == 16);
    firing_heap_t *heap = firing_heap_new ();
    firing_t firing;
    assert (!firing_heap_pop (heap, &firing));
    assert (firing_heap_peek (heap) == NULL);
    //  Warn and breach at the same moment: warn first
    assert (firing_heap_push (heap, 100, 7, FIRING_BREACH) == 0);
    assert (firing_heap_push (heap, 100, 7, FIRING_WARN) == 0);
    assert (firing_heap_push (heap, 50, 9, FIRING_BREACH) == 0);
    assert (firing_heap_pop (heap, &firing) && firing.fire_ms == 50 && firing_row (&firing) == 9);
    assert (firing_heap_pop (heap, &firing) && firing_kind (&firing) == FIRING_WARN && firing_row (&firing) == 7);
    assert (firing_heap_pop (heap, &firing) && firing_kind (&firing) == FIRING_BREACH && firing_row (&firing) == 7);
    assert (firing_heap_size (heap) == 0);
    //  Random load, both by push and by bulk build: pops come out sorted
    for (int round = 0; round < 2; round++) {
        srandom (42 + round);
        size_t count = 200000;
        for (size_t i = 0; i < count; i++) {
            int64_t when = random () % 100000;
            if (round == 0)
                assert (firing_heap_push (heap, when, (int64_t) i + 1, (firing_kind_t) (i & 1)) == 0);
            else
                assert (firing_heap_append (heap, when, (int64_t) i + 1, (firing_kind_t) (i & 1)) == 0);
        }
        if (round == 1)
            firing_heap_build (heap);
        assert (firing_heap_size (heap) == count);
        firing_t last = { -1, 0 };
        size_t popped = 0;
        while (firing_heap_pop (heap, &firing)) {
            assert (firing.fire_ms > last.fire_ms
                || (firing.fire_ms == last.fire_ms && firing.key > last.key));
            last = firing;
            popped++;
        }
        assert (popped == count);
    }
    firing_heap_push (heap, 1, 1, FIRING_WARN);
    firing_heap_clear (heap);
    assert (firing_heap_size (heap) == 0);
    firing_heap_destroy (&heap);
    if (verbose)
        printf ("(2 x 200000 entries) ");
    printf ("OK\n");
}
