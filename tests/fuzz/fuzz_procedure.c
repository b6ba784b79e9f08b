/*  fuzz_procedure — libFuzzer harness for hl_procedure_load.
 *
 *  Each input is written to a temporary file and loaded as a procedure.
 *  Whatever the input, loading must either fail with a "path:line: message"
 *  error or succeed; when it succeeds, every query is exercised on every
 *  state so the loaded tables are walked too, and every meaning through
 *  its getters: each required one is declared, names what exists, and
 *  means its own items.
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

//  The meanings (hl_procedure.h), and whether a procedure must declare each
static const struct {
    const char *name;
    bool required;
} s_meanings [] = {
    { "forward", true }, { "create", true }, { "report", true }, { "route", true },
    { "deadline_warn", true }, { "deadline_breach", true }, { "assign", true },
    { "advance", false }, { "verified", true }, { "accurate", true },
    { "resolved", true }, { "informed", true }, { "on_time", true }, { "done", true },
    { NULL, false }
};

static void
s_exercise_meanings (hl_procedure_t *procedure)
{
    const hl_meaning_item_t *items [64];
    for (int m = 0; s_meanings [m].name; m++) {
        const char *name = s_meanings [m].name;
        const char *variant = NULL;
        const char *action = hl_procedure_meaning (procedure, name, &variant);
        size_t count = hl_procedure_meaning_items (procedure, name, items, 64);
        assert (!s_meanings [m].required || (action && count > 0));
        assert ((action != NULL) == (count > 0));
        if (!action)
            continue;
        assert (variant);
        assert (streq (action, items [0]->action));
        bool deadline = streq (name, "on_time");
        for (size_t i = 0; i < count && i < 64; i++) {
            assert (items [i]->action && items [i]->variant);
            if (deadline)
                assert (hl_procedure_deadline_duration (procedure, items [i]->action, "normal") >= -1);
            else {
                assert (hl_procedure_requires (procedure, items [i]->action,
                                               *items [i]->variant? items [i]->variant: NULL));
                assert (hl_procedure_means (procedure, name, items [i]->action, items [i]->variant));
            }
            if (streq (name, "advance"))
                assert (items [i]->follow && items [i]->follow_variant);
        }
        //  The creating meanings name an action that creates a case
        if (streq (name, "create") || streq (name, "report")) {
            const char *creating [64];
            size_t ncreating = hl_procedure_allowed (procedure, NULL, NULL, creating, 64);
            bool found = false;
            for (size_t c = 0; c < ncreating && !found; c++) {
                size_t len = strcspn (creating [c], " ");
                found = strlen (action) == len && strncmp (creating [c], action, len) == 0;
            }
            assert (found);
        }
        const char *arg = hl_procedure_meaning_arg (procedure, name);
        assert (streq (name, "assign")? arg != NULL: true);
    }
    //  Nothing means an unknown meaning, and no meaning means a made-up action
    assert (!hl_procedure_meaning (procedure, "no such meaning", NULL));
    assert (hl_procedure_meaning_items (procedure, "no such meaning", items, 64) == 0);
    assert (!hl_procedure_means (procedure, "forward", "no such action", ""));
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
    s_exercise_meanings (procedure);
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
