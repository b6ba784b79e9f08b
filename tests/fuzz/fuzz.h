/*  fuzz.h — shared helpers of the libFuzzer harnesses in tests/fuzz/.
 *
 *  FUZZ_CHECK (cond)   an invariant: on failure print file:line and the
 *                      expression on fd 2 (even when stderr is silenced)
 *                      and abort, so libFuzzer saves the input.
 *  fuzz_quiet ()       silence the product's logs (HOTLINE_LOG_LEVEL=error
 *                      and stdout/stderr FILEs to /dev/null) unless
 *                      FUZZ_VERBOSE is set. Sanitizer and libFuzzer reports
 *                      go straight to fd 2 and are not affected.
 *  fuzz_tmpdir ()      a private directory for the harness (TMPDIR, else
 *                      /dev/shm, else /tmp), removed at exit.
 *  fuzz_in_t           a cursor over the input for structured harnesses.
 *
 *  Define HL_FUZZ_STANDALONE to get a main () that replays the files named
 *  on the command line once each (no libFuzzer: gcc, valgrind).
 */
#ifndef HL_FUZZ_H_INCLUDED
#define HL_FUZZ_H_INCLUDED

#include "hotline.h"
#include <sys/stat.h>

#define FUZZ_CHECK(cond) do { \
    if (!(cond)) { \
        char fuzz_msg_ [512]; \
        int fuzz_len_ = snprintf (fuzz_msg_, sizeof fuzz_msg_, \
                                  "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        if (fuzz_len_ > 0 && write (2, fuzz_msg_, (size_t) fuzz_len_)) {} \
        abort (); \
    } \
} while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static inline void
fuzz_quiet (void)
{
    //  libFuzzer keeps its own signal handlers (czmq's would swallow
    //  SIGINT/SIGTERM and leave every zloop returning at once)
    setenv ("ZSYS_SIGHANDLER", "false", 1);
    //  Harnesses open and close sockets by the hundred thousand; libzmq
    //  frees a closed one asynchronously: room beyond czmq's default 1024
    zsys_set_max_sockets (0);
    setenv ("HOTLINE_LOG_LEVEL", "error", 1);
    hl_log_init ("fuzz");
    zsys_set_logstream (NULL);
    zsys_set_logsystem (false);
    if (!getenv ("FUZZ_VERBOSE")) {
        FILE *null_out = fopen ("/dev/null", "w");
        FILE *null_err = fopen ("/dev/null", "w");
        if (null_out)
            stdout = null_out;
        if (null_err)
            stderr = null_err;
    }
}

static char fuzz_tmpdir_path [256];

static inline void
fuzz_tmpdir_remove (void)
{
    if (*fuzz_tmpdir_path) {
        char cmd [300];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", fuzz_tmpdir_path);
        if (system (cmd)) {}
    }
}

static inline const char *
fuzz_tmpdir (const char *name)
{
    if (!*fuzz_tmpdir_path) {
        const char *base = getenv ("TMPDIR");
        struct stat st;
        if (!base || !*base || strlen (base) > 100)
            base = stat ("/dev/shm", &st) == 0 && access ("/dev/shm", W_OK) == 0? "/dev/shm": "/tmp";
        snprintf (fuzz_tmpdir_path, sizeof fuzz_tmpdir_path, "%s/%s_XXXXXX", base, name);
        FUZZ_CHECK (mkdtemp (fuzz_tmpdir_path));
        atexit (fuzz_tmpdir_remove);
    }
    return fuzz_tmpdir_path;
}

//  Write data to path (whole file). 0 or -1.
static inline int
fuzz_write_file (const char *path, const uint8_t *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    if (!file)
        return -1;
    size_t written = size? fwrite (data, 1, size, file): 0;
    fclose (file);
    return written == size? 0: -1;
}

// ------------------------------------------------------------------ input

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} fuzz_in_t;

static inline bool
fuzz_left (fuzz_in_t *in)
{
    return in->pos < in->size;
}

static inline uint8_t
fuzz_u8 (fuzz_in_t *in)
{
    return in->pos < in->size? in->data [in->pos++]: 0;
}

static inline uint64_t
fuzz_uint (fuzz_in_t *in, size_t bytes)
{
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; i++)
        value = (value << 8) | fuzz_u8 (in);
    return value;
}

//  A byte string: one length byte (0-254), or 255 then two length bytes
//  (up to 65535). Returns a malloc'd, NUL-terminated copy (the bytes may
//  contain NULs of their own) and its length in *len.
static inline char *
fuzz_bytes (fuzz_in_t *in, size_t *len)
{
    size_t n = fuzz_u8 (in);
    if (n == 255)
        n = (size_t) fuzz_uint (in, 2);
    if (n > in->size - in->pos)
        n = in->size - in->pos;
    char *text = (char *) malloc (n + 1);
    FUZZ_CHECK (text);
    if (n)
        memcpy (text, in->data + in->pos, n);
    text [n] = 0;
    in->pos += n;
    if (len)
        *len = n;
    return text;
}

// ------------------------------------------------------------ standalone

#ifdef HL_FUZZ_STANDALONE
int
main (int argc, char *argv [])
{
    for (int i = 1; i < argc; i++) {
        zchunk_t *chunk = zchunk_slurp (argv [i], 0);
        if (!chunk) {
            fprintf (stderr, "%s: cannot read %s\n", argv [0], argv [i]);
            return 1;
        }
        LLVMFuzzerTestOneInput (zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    return 0;
}
#endif

#endif
