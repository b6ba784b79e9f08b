/*  hl_procedure_meaning — hl_procedure's loader, its 'meaning' lines: what
 *  the services need to know of the procedure's actions (which event is
 *  forwarded whole, which action creates a case, routes, assigns ...), read
 *  through hl_procedure_meaning () and its siblings (hl_procedure.h).
 *
 *  The loader (hl_procedure_loader.c) calls hl_proc_load_meaning for
 *  every meaning line once the actions, deadlines and notify lines are
 *  known (pass 3b), and hl_proc_check_meanings after the graph checks
 *  (pass 5). Errors go through the loader's context, "path:line: message",
 *  first error wins; the shared data and helpers are in
 *  hl_procedure_model.h (internal).
 *
 *  How to read this file: the table of meanings and their shapes, one
 *  item's reference to an action, one meaning line, the whole-file check,
 *  then the selftest: every error a meaning line can make, each on its line.
 */
#include "hl_procedure_model.h"


//  --------------------------------------------------------------------------
//  Pass 3b: meanings

//  What the services need to know of the procedure's actions (see the
//  header): each meaning's shape and whether a procedure must declare it.
//  The shapes:
//    S_MEAN_EXACT    one ACTION[:VARIANT] that exists as written (an action
//                    with variants must be named with one: the forward
//                    meaning decides which event leaves the ward with the
//                    full report, so "route" must not mean every route)
//    S_MEAN_ACTION   one action name, every variant
//    S_MEAN_CREATE   one action name that creates a case
//    S_MEAN_ARG      ACTION ARG: an action and an argument it requires
//    S_MEAN_LIST     action names, comma separated
//    S_MEAN_DEADLINE one deadline name
//    S_MEAN_ADVANCE  ACTION=FOLLOW[:VARIANT],... (FOLLOW as S_MEAN_EXACT)
#define S_MEAN_EXACT    0
#define S_MEAN_ACTION   1
#define S_MEAN_CREATE   2
#define S_MEAN_ARG      3
#define S_MEAN_LIST     4
#define S_MEAN_DEADLINE 5
#define S_MEAN_ADVANCE  6

static const struct {
    const char *name;
    int shape;
    bool required;
} s_meaning_defs [] = {
    { "forward",         S_MEAN_EXACT,    true },
    { "create",          S_MEAN_CREATE,   true },
    { "report",          S_MEAN_CREATE,   true },
    { "route",           S_MEAN_ACTION,   true },
    { "deadline_warn",   S_MEAN_ACTION,   true },
    { "deadline_breach", S_MEAN_ACTION,   true },
    { "assign",          S_MEAN_ARG,      true },
    { "advance",         S_MEAN_ADVANCE,  false },
    { "verified",        S_MEAN_ACTION,   true },
    { "accurate",        S_MEAN_EXACT,    true },
    { "resolved",        S_MEAN_ACTION,   true },
    { "informed",        S_MEAN_ACTION,   true },
    { "on_time",         S_MEAN_DEADLINE, true },
    { "done",            S_MEAN_LIST,     true },
    { NULL, 0, false }
};

//  Split "action[:variant]" in place; variant "" if none. 0 or -1 (reported).
static int
s_meaning_ref (hl_procedure_t *self, hl_proc_ctx_t *ctx, size_t no, const char *meaning, char *text,
               bool exact, const char **variant_p)
{
    char *colon = strchr (text, ':');
    const char *variant = "";
    if (colon) {
        *colon = 0;
        variant = colon + 1;
        if (!exact)
            return hl_proc_fail (ctx, no, "meaning %s names actions without a variant ('%s:%.*s')",
                           meaning, text, HL_PROC_CLIP (variant));
        if (hl_proc_check_ident (ctx, no, "variant", variant))
            return -1;
    }
    if (hl_proc_check_ident (ctx, no, "action", text))
        return -1;
    if (hl_procedure_ix_lookup (self->action_names, text) < 0)
        return hl_proc_fail (ctx, no, "meaning %s refers to unknown action '%s'", meaning, text);
    if (exact) {
        char *key = zsys_sprintf ("%s\x1f%s", text, variant);
        assert (key);
        bool known = zhashx_lookup (self->action_ix, key) != NULL;
        zstr_free (&key);
        if (!known && *variant)
            return hl_proc_fail (ctx, no, "meaning %s refers to unknown action '%s %s'", meaning, text,
                           variant);
        if (!known)
            return hl_proc_fail (ctx, no, "meaning %s: action '%s' has variants; name one (%s:VARIANT)",
                           meaning, text, text);
    }
    *variant_p = variant;
    return 0;
}

int
hl_proc_load_meaning (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line)
{
    hl_proc_token_t *tok = line->tok;
    size_t no = line->no;
    const char *name = tok [1].text;
    int def = 0;
    while (s_meaning_defs [def].name && strneq (s_meaning_defs [def].name, name))
        def++;
    if (!s_meaning_defs [def].name)
        return hl_proc_fail (ctx, no, "unknown meaning '%.*s' (expected forward, create, route, "
                       "deadline_warn, deadline_breach, assign, advance, verified, accurate, "
                       "resolved, informed, on_time or done)", HL_PROC_CLIP (name));
    int shape = s_meaning_defs [def].shape;
    if ((shape == S_MEAN_ARG) != (line->ntok == 4))
        return hl_proc_fail (ctx, no, "'meaning %s' takes %s, found %zu field(s)", name,
                       shape == S_MEAN_ARG? "ACTION ARGUMENT": "one field", line->ntok - 2);
    char *key = zsys_sprintf ("meaning\x1f%s", name);
    assert (key);
    void *other = zhashx_lookup (ctx->seen, key);
    if (other) {
        zstr_free (&key);
        return hl_proc_fail (ctx, no, "meaning %s declared twice (first on line %zu)", name,
                       (size_t) (uintptr_t) other);
    }
    zhashx_insert (ctx->seen, key, (void *) (uintptr_t) no);
    zstr_free (&key);

    HL_PROC_GROW (self->meanings, self->nmeanings, self->cmeanings);
    hl_procedure_meaning_t *meaning = &self->meanings [self->nmeanings++];
    memset (meaning, 0, sizeof *meaning);
    meaning->name = s_meaning_defs [def].name;
    meaning->exact = shape == S_MEAN_EXACT;
    meaning->line = no;
    char **items = NULL;
    ssize_t count = hl_proc_split (tok [2].text, &items);
    if (count <= 0) {
        free (items);
        return hl_proc_fail (ctx, no, "meaning %s: empty item in '%.*s'", name, HL_PROC_CLIP (tok [2].text));
    }
    if (count > 1 && shape != S_MEAN_LIST && shape != S_MEAN_ADVANCE) {
        free (items);
        return hl_proc_fail (ctx, no, "meaning %s takes one item, found %zd", name, count);
    }
    meaning->items = (hl_meaning_item_t *) hl_proc_realloc (NULL, (size_t) count, sizeof (hl_meaning_item_t));
    meaning->texts = (char **) hl_proc_realloc (NULL, (size_t) count * 2, sizeof (char *));
    memset (meaning->texts, 0, (size_t) count * 2 * sizeof (char *));
    meaning->ntexts = (size_t) count * 2;
    int rc = 0;
    for (ssize_t i = 0; i < count && rc == 0; i++) {
        hl_meaning_item_t *item = &meaning->items [i];
        memset (item, 0, sizeof *item);
        item->variant = "";
        char *text = items [i];
        if (shape == S_MEAN_DEADLINE) {
            if (hl_procedure_ix_lookup (self->deadline_ix, text) < 0)
                rc = hl_proc_fail (ctx, no, "meaning %s refers to unknown deadline '%.*s'", name,
                             HL_PROC_CLIP (text));
            else
                item->action = meaning->texts [2 * i] = hl_proc_strdup (text);
            meaning->nitems++;
            continue;
        }
        char *follow = NULL;
        if (shape == S_MEAN_ADVANCE) {
            follow = strchr (text, '=');
            if (!follow || follow == text || !follow [1]) {
                rc = hl_proc_fail (ctx, no, "meaning %s: '%.*s' is not ACTION=FOLLOW[:VARIANT]", name,
                             HL_PROC_CLIP (text));
                break;
            }
            *follow++ = 0;
        }
        const char *variant = "";
        rc = s_meaning_ref (self, ctx, no, name, text, shape == S_MEAN_EXACT, &variant);
        if (rc)
            break;
        item->action = meaning->texts [2 * i] = hl_proc_strdup (text);
        item->variant = variant;            //  points into texts below, or ""
        if (*variant) {
            meaning->texts [2 * i + 1] = hl_proc_strdup (variant);
            item->variant = meaning->texts [2 * i + 1];
        }
        meaning->nitems++;
        if (follow) {
            const char *follow_variant = "";
            rc = s_meaning_ref (self, ctx, no, name, follow, true, &follow_variant);
            if (rc)
                break;
            //  The follow-up's strings live in the procedure's other tables
            char *fkey = zsys_sprintf ("%s\x1f%s", follow, follow_variant);
            assert (fkey);
            hl_procedure_action_t *action = &self->actions [hl_procedure_ix_lookup (self->action_ix, fkey)];
            zstr_free (&fkey);
            item->follow = action->name;
            item->follow_variant = action->variant;
        }
        if (shape == S_MEAN_CREATE) {
            bool creates = false;
            for (size_t a = 0; a < self->nactions; a++)
                creates = creates || (streq (self->actions [a].name, text) && self->actions [a].none_line);
            if (!creates)
                rc = hl_proc_fail (ctx, no, "meaning %s: action '%s' does not create a case (FROM '-')",
                             name, text);
        }
        if (shape == S_MEAN_ARG) {
            const char *arg = tok [3].text;
            if (hl_proc_check_ident (ctx, no, "argument", arg)) {
                rc = -1;
                break;
            }
            for (size_t a = 0; a < self->nactions && rc == 0; a++) {
                hl_procedure_action_t *action = &self->actions [a];
                bool has = false;
                for (size_t r = 0; action->requires && action->requires [r]; r++)
                    has = has || streq (action->requires [r], arg);
                if (streq (action->name, text) && !has)
                    rc = hl_proc_fail (ctx, no, "meaning %s: action '%s' does not require '%s'", name,
                                 action->display, arg);
            }
            meaning->arg = hl_proc_strdup (arg);
        }
    }
    free (items);
    return rc;
}

//  Pass 5: every required meaning is declared
int
hl_proc_check_meanings (hl_procedure_t *self, hl_proc_ctx_t *ctx)
{
    for (size_t def = 0; s_meaning_defs [def].name; def++) {
        bool found = false;
        for (size_t i = 0; i < self->nmeanings && !found; i++)
            found = streq (self->meanings [i].name, s_meaning_defs [def].name);
        if (!found && s_meaning_defs [def].required)
            return hl_proc_fail (ctx, ctx->last_line, "no 'meaning %s' line (every procedure declares"
                           " it: see the FORMAT in procedure.conf)", s_meaning_defs [def].name);
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Selftest

void
hl_procedure_meaning_test (bool verbose)
{
    printf (" * hl_procedure_meaning: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    char path [] = "/tmp/hl_procedure_meaning_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);

    //  The base procedure with its meanings loads, and serves them
    char err [512];
    char *base = zsys_sprintf ("%s%s", hl_proc_test_base, hl_proc_test_meanings);
    assert (base);
    FILE *file = fopen (path, "wb");
    assert (file);
    assert (fwrite (base, 1, strlen (base), file) == strlen (base));
    assert (fclose (file) == 0);
    zstr_free (&base);
    hl_procedure_t *small = hl_procedure_load (path, err, sizeof err);
    if (!small)
        printf ("\n%s\n", err);
    assert (small);
    assert (streq (hl_procedure_meaning (small, "forward", NULL), "take"));
    assert (streq (hl_procedure_meaning (small, "report", NULL), "submit"));
    assert (streq (hl_procedure_meaning_arg (small, "assign"), "note"));
    const hl_meaning_item_t *items [4];
    assert (hl_procedure_meaning_items (small, "done", items, 4) == 2);
    assert (hl_procedure_meaning_items (small, "advance", items, 4) == 0);
    hl_procedure_destroy (&small);

    //  Meanings: each names what exists, in the shape it takes
    hl_proc_expect_line_error (path, "meaning fly take", "unknown meaning 'fly'", verbose);
    hl_proc_expect_line_error (path, "meaning route", "'meaning' takes 2 or 3", verbose);
    hl_proc_expect_line_error (path, "meaning route take extra", "takes one field", verbose);
    hl_proc_expect_line_error (path, "meaning assign finish", "ACTION ARGUMENT", verbose);
    hl_proc_expect_line_error (path, "meaning forward nowhere", "meaning forward refers to unknown action 'nowhere'", verbose);
    hl_proc_expect_line_error (path, "meaning forward take:fast", "unknown action 'take fast'", verbose);
    hl_proc_expect_line_error (path, "meaning route take:fast", "without a variant", verbose);
    hl_proc_expect_line_error (path, "meaning route take,finish", "takes one item", verbose);
    hl_proc_expect_line_error (path, "meaning done take,,finish", "empty item", verbose);
    hl_proc_expect_line_error (path, "meaning done take,nowhere", "unknown action 'nowhere'", verbose);
    hl_proc_expect_line_error (path, "meaning create take", "does not create a case", verbose);
    hl_proc_expect_line_error (path, "meaning report take", "does not create a case", verbose);
    hl_proc_expect_line_error (path, "meaning assign finish to", "does not require 'to'", verbose);
    hl_proc_expect_line_error (path, "meaning on_time finish", "unknown deadline 'finish'", verbose);
    hl_proc_expect_line_error (path, "meaning advance submit", "not ACTION=FOLLOW", verbose);
    hl_proc_expect_line_error (path, "meaning advance submit=fly", "unknown action 'fly'", verbose);
    {
        //  An action with variants only: forward must name one
        char *bad = zsys_sprintf ("%saction zoom fast new open officer\nmeaning forward zoom\n", hl_proc_test_base);
        assert (bad);
        hl_proc_expect_error (path, bad, 15, "has variants; name one", verbose);
        zstr_free (&bad);
        bad = zsys_sprintf ("%smeaning route take\nmeaning route finish\n", hl_proc_test_base);
        assert (bad);
        hl_proc_expect_error (path, bad, 15, "meaning route declared twice (first on line 14)", verbose);
        zstr_free (&bad);
        //  A required meaning missing names the last line; advance is optional
        hl_proc_expect_error (path, hl_proc_test_base, 13, "no 'meaning forward' line", verbose);
        char *text = zsys_sprintf ("%s%s", hl_proc_test_base, hl_proc_test_meanings);
        assert (text);
        char *cut = strstr (text, "meaning on_time take\n");
        memmove (cut, cut + strlen ("meaning on_time take\n"), strlen (cut + strlen ("meaning on_time take\n")) + 1);
        hl_proc_expect_error (path, text, 25, "no 'meaning on_time' line", verbose);
        zstr_free (&text);
    }

    unlink (path);
    //  @end
    printf ("%sOK\n", verbose? "\n": "");
}
