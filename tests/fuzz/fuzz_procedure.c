/*  fuzz_procedure — libFuzzer harness for hl_procedure_load.
 *
 *  Each input is written to a temporary file and loaded as a procedure.
 *  Whatever the input, loading must either fail with a "path:line: message"
 *  error or succeed; when it succeeds, every query is exercised on every
 *  state so the loaded tables are walked too.
 *
 *  Build (clang with libFuzzer):
 *      clang -g -O1 -fsanitize=fuzzer,address,undefined ... \
 *          tests/fuzz/fuzz_procedure.c build-asan/libhotline.a ...
 *      ./fuzz_procedure tests/fuzz/corpus/procedure
 *  Without libFuzzer (e.g. gcc), define HL_FUZZ_STANDALONE to get a main
 *  that runs each file named on the command line once (corpus replay).
 */
#include "hotline.h"

static char s_path [64];

static void
s_cleanup (void)
{
    if (*s_path)
        unlink (s_path);
}

static void
s_exercise (hl_procedure_t *procedure)
{
    const char *states [64];
    const char *actions [64];
    const hl_deadline_def_t *deadlines [64];
    const hl_notify_rule_t *rules [64];
    assert (hl_procedure_name (procedure));
    assert (hl_procedure_version (procedure));
    const char *initial = hl_procedure_initial (procedure);
    assert (hl_procedure_state_exists (procedure, initial));
    assert (!hl_procedure_state_final (procedure, initial));
    size_t nstates = hl_procedure_states (procedure, states, 64);
    size_t ncreate = hl_procedure_allowed (procedure, NULL, NULL, actions, 64);
    assert (ncreate > 0);
    hl_procedure_deadlines_starting (procedure, NULL, initial, deadlines, 64);
    for (size_t i = 0; i < nstates; i++) {
        const char *state = states [i];
        assert (hl_procedure_state_exists (procedure, state));
        hl_procedure_state_label (procedure, state);
        size_t nactions = hl_procedure_allowed (procedure, state, NULL, actions, 64);
        for (size_t a = 0; a < nactions; a++) {
            //  "name" or "name variant"
            char name [160];
            snprintf (name, sizeof name, "%s", actions [a]);
            char *variant = strchr (name, ' ');
            if (variant)
                *variant++ = 0;
            const char *to = NULL;
            int rc = hl_procedure_check (procedure, state, name, variant, "system", &to);
            assert (rc == HL_OK || rc == HL_FORBIDDEN);
            if (rc == HL_OK) {
                assert (to && hl_procedure_state_exists (procedure, to));
                hl_procedure_deadlines_starting (procedure, state, to, deadlines, 64);
                hl_procedure_deadlines_stopping (procedure, state, to, deadlines, 64);
            }
            const char **requires = hl_procedure_requires (procedure, name, variant);
            assert (requires);
            hl_procedure_notify_rules (procedure, name, variant, rules, 64);
        }
        size_t n = hl_procedure_deadlines_stopping (procedure, state, NULL, deadlines, 64);
        for (size_t d = 0; d < n; d++) {
            assert (hl_procedure_deadline_active (procedure, deadlines [d]->name, state));
            assert (deadlines [d]->warn_pct >= 0 && deadlines [d]->warn_pct < 100);
            assert (hl_procedure_deadline_duration (procedure, deadlines [d]->name, "normal") >= -1);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!*s_path) {
        const char *tmp = getenv ("TMPDIR");
        snprintf (s_path, sizeof s_path, "%s/fuzz_procedure_XXXXXX",
                  tmp && strlen (tmp) < 32? tmp: "/tmp");
        int fd = mkstemp (s_path);
        assert (fd >= 0);
        close (fd);
        atexit (s_cleanup);
    }
    FILE *file = fopen (s_path, "wb");
    assert (file);
    if (size)
        assert (fwrite (data, 1, size, file) == size);
    fclose (file);

    char err [256];
    hl_procedure_t *procedure = hl_procedure_load (s_path, err, sizeof err);
    if (procedure) {
        s_exercise (procedure);
        hl_procedure_destroy (&procedure);
    }
    else {
        //  Every error names the file
        assert (strncmp (err, s_path, strlen (s_path)) == 0);
        assert (err [strlen (s_path)] == ':');
    }
    return 0;
}

#ifdef HL_FUZZ_STANDALONE
int
main (int argc, char *argv [])
{
    for (int i = 1; i < argc; i++) {
        zchunk_t *chunk = zchunk_slurp (argv [i], 0);
        if (!chunk) {
            fprintf (stderr, "fuzz_procedure: cannot read %s\n", argv [i]);
            return 1;
        }
        LLVMFuzzerTestOneInput (zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    return 0;
}
#endif
