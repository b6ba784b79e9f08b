/*  hl_alloc — the one allocation policy: out of memory aborts (hl_alloc.h). */
#include "hotline.h"

//  As czmq's safe_malloc (zmalloc) does: say where, and abort. Not through
//  hl_log, which may itself need memory.
static void
s_out_of_memory (const char *what, size_t size)
{
    fprintf (stderr, "FATAL: out of memory (%s of %zu bytes)\n", what, size);
    fflush (stderr);
    abort ();
}

char *
hl_strdup (const char *string)
{
    if (!string)
        return NULL;
    char *copy = strdup (string);
    if (!copy)
        s_out_of_memory ("strdup", strlen (string) + 1);
    return copy;
}

char *
hl_strndup (const char *string, size_t size)
{
    if (!string)
        return NULL;
    char *copy = strndup (string, size);
    if (!copy)
        s_out_of_memory ("strndup", size + 1);
    return copy;
}

void *
hl_realloc (void *memory, size_t size)
{
    if (size == 0) {
        free (memory);
        return NULL;
    }
    void *resized = realloc (memory, size);
    if (!resized)
        s_out_of_memory ("realloc", size);
    return resized;
}

// ---------------------------------------------------------------- selftest

void
hl_alloc_test (bool verbose)
{
    printf (" * hl_alloc: ");
    if (verbose)
        printf ("\n");

    char *copy = hl_strdup ("Phường An Biên");
    assert (copy && streq (copy, "Phường An Biên"));
    free (copy);
    assert (hl_strdup (NULL) == NULL);

    copy = hl_strndup ("31001-2026-000001", 5);
    assert (copy && streq (copy, "31001"));
    free (copy);
    copy = hl_strndup ("ab", 10);               //  shorter than size
    assert (copy && streq (copy, "ab"));
    free (copy);
    assert (hl_strndup (NULL, 3) == NULL);

    //  Grows, keeping the bytes; a NULL block is a new one; 0 frees
    char *buffer = (char *) hl_realloc (NULL, 4);
    memcpy (buffer, "abc", 4);
    buffer = (char *) hl_realloc (buffer, 1 << 20);
    assert (streq (buffer, "abc"));
    assert (hl_realloc (buffer, 0) == NULL);

    printf ("OK\n");
}
