/*  hl_procedure_loader — hl_procedure's loader: reads procedure.conf,
 *  tokenizes it, and checks it into the data the queries (hl_procedure.c)
 *  read, defined in hl_procedure_model.h.
 *
 *  Loading runs in passes over the tokenized file, so declarations may come
 *  in any order:
 *    1. every line: size, UTF-8, control characters and words (hl_lexer,
 *       the lexer of every configuration language), keyword and column
 *       count; then the declarations (procedure, regime, role, state);
 *    2. action and deadline lines, resolved against the declarations;
 *    3. notify lines, resolved against the actions, then the meaning lines
 *       (3b, in hl_procedure_meaning.c);
 *    4. whole-file checks: one initial state, a creating action, every state
 *       reachable from the initial state, every open state has a way out;
 *    5. every required meaning is declared (hl_procedure_meaning.c).
 *  The first error found is reported as "path:line: message", through
 *  hl_lexer_fail, as the routing rules' and the templates' are; errors
 *  that concern the whole file name the last line.
 *
 *  Rules of the format this class enforces beyond the header:
 *    - names (states, roles, regimes, actions, variants, requires, deadline
 *      names, recipients) are identifiers: a letter, then letters, digits
 *      or '_', at most 64 bytes;
 *    - template, procedure name and version are words of letters, digits
 *      and . _ - + : (starting with a letter or digit);
 *    - an action may take several lines (same NAME and VARIANT) with
 *      different FROM sets, e.g. to move to different states, or to allow
 *      other roles, from different states; their FROM sets must not overlap
 *      and their REQUIRES must be the same;
 *    - the creating action (FROM '-') must lead to the state marked initial;
 *    - a deadline's WHILE may not contain a final state, and it must give a
 *      duration for every declared regime; warn=PCT is 1..99 ('%' optional);
 *    - a notify rule without :VARIANT applies to every variant of the
 *      action; the same action, variant and recipient may appear only once;
 *    - quoted text may contain \" and \\ and nothing else escaped;
 *    - lines are at most 4096 bytes, the file at most 1 MiB.
 *
 *
 *  How to read this file: small helpers, reading (pass 1, the syntax),
 *  the declarations, action, deadline and notify lines (passes 1-3), the
 *  graph checks (pass 4), hl_procedure_load (the meaning lines are in
 *  hl_procedure_meaning.c), then the selftest: every
 *  error, each with the file and the right line.
 */
#include "hl_procedure_model.h"

#define S_MAX_LINE      4096
#define S_MAX_DURATION  (366LL * 24 * 3600 * 1000)   //  a year and a day, ms


//  --------------------------------------------------------------------------
//  Small helpers

void *
hl_proc_realloc (void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        fprintf (stderr, "hl_procedure: allocation too large\n");
        abort ();
    }
    size_t bytes = count * size;
    return hl_realloc (ptr, bytes? bytes: 1);
}

char *
hl_proc_strdup (const char *text)
{
    size_t len = strlen (text);
    char *copy = (char *) hl_proc_realloc (NULL, len + 1, 1);
    memcpy (copy, text, len + 1);
    return copy;
}

int
hl_proc_fail (hl_proc_ctx_t *ctx, size_t line, const char *format, ...)
{
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    return hl_lexer_fail (ctx->lexer, line, "%s", message);
}

static void *
s_ix_value (size_t index)
{
    return (void *) (uintptr_t) (index + 1);
}


//  Identifier: a letter, then letters, digits or '_'
static bool
s_is_ident (const char *text)
{
    if (!isascii ((unsigned char) *text) || !isalpha ((unsigned char) *text))
        return false;
    size_t len = 0;
    for (const char *s = text; *s; s++, len++)
        if (!isascii ((unsigned char) *s)
        || !(isalnum ((unsigned char) *s) || *s == '_'))
            return false;
    return len <= HL_PROC_MAX_NAME;
}

//  Word: starts with a letter or digit, then letters, digits, . _ - + :
static bool
s_is_word (const char *text)
{
    if (!isascii ((unsigned char) *text) || !isalnum ((unsigned char) *text))
        return false;
    size_t len = 0;
    for (const char *s = text; *s; s++, len++)
        if (!isascii ((unsigned char) *s)
        || !(isalnum ((unsigned char) *s) || strchr ("._-+:", *s)))
            return false;
    return len <= HL_PROC_MAX_NAME;
}

//  Split a comma list in place. Returns the number of items, or -1 if an
//  item is empty. items is allocated (caller frees).
ssize_t
hl_proc_split (char *text, char ***items_p)
{
    size_t count = 1;
    for (char *s = text; *s; s++)
        if (*s == ',')
            count++;
    char **items = (char **) hl_proc_realloc (NULL, count, sizeof (char *));
    size_t index = 0;
    char *start = text;
    for (char *s = text; ; s++) {
        if (*s == ',' || *s == 0) {
            bool end = *s == 0;
            *s = 0;
            items [index++] = start;
            if (*start == 0) {
                free (items);
                return -1;
            }
            if (end)
                break;
            start = s + 1;
        }
    }
    *items_p = items;
    return (ssize_t) count;
}




//  --------------------------------------------------------------------------
//  Reading and tokenizing

//  The file's syntax, for hl_lexer (the lexer of every configuration
//  language, which checks each line's size, UTF-8 and control characters
//  and splits it into words): "quoted text" is a whole field, with only \"
//  and \\ as escapes; '#' outside quotes starts a comment; no control
//  character but tab
static const hl_lexer_syntax_t s_syntax = {
    .max_file = HL_PROC_MAX_FILE,
    .max_line = S_MAX_LINE,
    .max_words = 0,
    .quotes = HL_LEXER_QUOTES_FIELD,
    .comment_anywhere = true,
    .controls = false
};

static void
s_lines_destroy (hl_proc_line_t *lines, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free (lines [i].tok);
        free (lines [i].buf);
    }
    free (lines);
}

//  Read every line of the file into words; only lines with words are kept
//  (the passes below read them several times). Returns 0 or -1 (error
//  reported).
static int
s_read (hl_proc_ctx_t *ctx, hl_proc_line_t **lines_p, size_t *nlines_p)
{
    hl_lexer_t *lexer = ctx->lexer;
    hl_proc_line_t *lines = NULL;
    size_t nlines = 0, clines = 0;
    int rc;
    while ((rc = hl_lexer_next (lexer)) == 1) {
        ssize_t count = hl_lexer_words (lexer, 0);
        if (count < 0) {
            rc = -1;
            break;
        }
        if (count == 0)
            continue;
        //  One buffer for the words' texts, as the lexer's are overwritten
        //  by the next line
        size_t bytes = 0;
        for (size_t i = 0; i < (size_t) count; i++)
            bytes += strlen (hl_lexer_word (lexer, i)) + 1;
        hl_proc_line_t line = { hl_lexer_line (lexer), NULL, (size_t) count, NULL };
        line.buf = (char *) hl_proc_realloc (NULL, bytes, 1);
        line.tok = (hl_proc_token_t *) hl_proc_realloc (NULL, (size_t) count, sizeof (hl_proc_token_t));
        char *at = line.buf;
        for (size_t i = 0; i < (size_t) count; i++) {
            const char *word = hl_lexer_word (lexer, i);
            size_t size = strlen (word) + 1;
            memcpy (at, word, size);
            line.tok [i].text = at;
            line.tok [i].quoted = hl_lexer_quoted (lexer, i);
            at += size;
        }
        HL_PROC_GROW (lines, nlines, clines);
        lines [nlines++] = line;
    }
    ctx->last_line = hl_lexer_line (lexer);
    *lines_p = lines;
    *nlines_p = nlines;
    return rc < 0? -1: 0;
}


//  --------------------------------------------------------------------------
//  Pass 1: keywords, column counts, declarations

static const char *
s_label (hl_proc_token_t *token)
{
    return (!token->quoted && streq (token->text, "-"))? "": token->text;
}

int
hl_proc_check_ident (hl_proc_ctx_t *ctx, size_t line, const char *what, const char *text)
{
    if (s_is_ident (text))
        return 0;
    return hl_proc_fail (ctx, line, "bad %s name '%.*s' (a letter, then letters, digits or '_', "
                   "at most %d bytes)", what, HL_PROC_CLIP (text), HL_PROC_MAX_NAME);
}

static int
s_declare (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line)
{
    const char *keyword = line->tok [0].quoted? "": line->tok [0].text;
    size_t ntok = line->ntok;
    size_t no = line->no;
    hl_proc_token_t *tok = line->tok;

    if (streq (keyword, "procedure")) {
        if (ntok != 3)
            return hl_proc_fail (ctx, no, "'procedure' takes 2 fields (NAME VERSION), found %zu", ntok - 1);
        if (ctx->procedure_line)
            return hl_proc_fail (ctx, no, "second 'procedure' line (first on line %zu)", ctx->procedure_line);
        if (!s_is_word (tok [1].text))
            return hl_proc_fail (ctx, no, "bad procedure name '%.*s'", HL_PROC_CLIP (tok [1].text));
        if (!s_is_word (tok [2].text))
            return hl_proc_fail (ctx, no, "bad procedure version '%.*s'", HL_PROC_CLIP (tok [2].text));
        ctx->procedure_line = no;
        self->name = hl_proc_strdup (tok [1].text);
        self->version = hl_proc_strdup (tok [2].text);
        return 0;
    }
    if (streq (keyword, "regime")) {
        if (ntok != 2)
            return hl_proc_fail (ctx, no, "'regime' takes 1 field (NAME), found %zu", ntok - 1);
        if (hl_proc_check_ident (ctx, no, "regime", tok [1].text))
            return -1;
        if (streq (tok [1].text, "warn"))
            return hl_proc_fail (ctx, no, "'warn' is reserved and cannot name a regime");
        ssize_t other = hl_procedure_ix_lookup (self->regime_ix, tok [1].text);
        if (other >= 0)
            return hl_proc_fail (ctx, no, "duplicate regime '%s' (first on line %zu)",
                           tok [1].text, self->regimes [other].line);
        HL_PROC_GROW (self->regimes, self->nregimes, self->cregimes);
        hl_procedure_regime_t *regime = &self->regimes [self->nregimes];
        regime->name = hl_proc_strdup (tok [1].text);
        regime->line = no;
        zhashx_insert (self->regime_ix, regime->name, s_ix_value (self->nregimes));
        self->nregimes++;
        return 0;
    }
    if (streq (keyword, "role")) {
        if (ntok != 3)
            return hl_proc_fail (ctx, no, "'role' takes 2 fields (NAME \"label\"), found %zu", ntok - 1);
        if (hl_proc_check_ident (ctx, no, "role", tok [1].text))
            return -1;
        ssize_t other = hl_procedure_ix_lookup (self->role_ix, tok [1].text);
        if (other >= 0)
            return hl_proc_fail (ctx, no, "duplicate role '%s' (first on line %zu)",
                           tok [1].text, self->roles [other].line);
        HL_PROC_GROW (self->roles, self->nroles, self->croles);
        hl_procedure_role_t *role = &self->roles [self->nroles];
        role->name = hl_proc_strdup (tok [1].text);
        role->label = hl_proc_strdup (s_label (&tok [2]));
        role->line = no;
        zhashx_insert (self->role_ix, role->name, s_ix_value (self->nroles));
        self->nroles++;
        return 0;
    }
    if (streq (keyword, "state")) {
        if (ntok != 4)
            return hl_proc_fail (ctx, no, "'state' takes 3 fields (NAME initial|open|final \"label\"), "
                           "found %zu", ntok - 1);
        if (hl_proc_check_ident (ctx, no, "state", tok [1].text))
            return -1;
        ssize_t other = hl_procedure_ix_lookup (self->state_ix, tok [1].text);
        if (other >= 0)
            return hl_proc_fail (ctx, no, "duplicate state '%s' (first on line %zu)",
                           tok [1].text, self->states [other].line);
        int kind;
        if (streq (tok [2].text, "initial"))
            kind = HL_PROC_KIND_INITIAL;
        else
        if (streq (tok [2].text, "open"))
            kind = HL_PROC_KIND_OPEN;
        else
        if (streq (tok [2].text, "final"))
            kind = HL_PROC_KIND_FINAL;
        else
            return hl_proc_fail (ctx, no, "state kind must be initial, open or final, not '%.*s'",
                           HL_PROC_CLIP (tok [2].text));
        if (kind == HL_PROC_KIND_INITIAL && self->has_initial)
            return hl_proc_fail (ctx, no, "second initial state '%s' ('%s' on line %zu is initial)",
                           tok [1].text, self->states [self->initial].name,
                           self->states [self->initial].line);
        HL_PROC_GROW (self->states, self->nstates, self->cstates);
        hl_procedure_state_t *state = &self->states [self->nstates];
        state->name = hl_proc_strdup (tok [1].text);
        state->label = hl_proc_strdup (s_label (&tok [3]));
        state->kind = kind;
        state->line = no;
        zhashx_insert (self->state_ix, state->name, s_ix_value (self->nstates));
        if (kind == HL_PROC_KIND_INITIAL) {
            self->initial = self->nstates;
            self->has_initial = true;
        }
        self->nstates++;
        return 0;
    }
    if (streq (keyword, "action")) {
        if (ntok != 6 && ntok != 7)
            return hl_proc_fail (ctx, no, "'action' takes 5 or 6 fields (NAME VARIANT FROM TO ACTORS "
                           "[REQUIRES]), found %zu", ntok - 1);
        return 0;
    }
    if (streq (keyword, "deadline")) {
        if (ntok < 5)
            return hl_proc_fail (ctx, no, "'deadline' takes at least 4 fields (NAME ANCHOR WHILE "
                           "REGIME=DURATION...), found %zu", ntok - 1);
        return 0;
    }
    if (streq (keyword, "notify")) {
        if (ntok != 4)
            return hl_proc_fail (ctx, no, "'notify' takes 3 fields (ACTION[:VARIANT] RECIPIENT "
                           "TEMPLATE), found %zu", ntok - 1);
        return 0;
    }
    if (streq (keyword, "meaning")) {
        if (ntok != 3 && ntok != 4)
            return hl_proc_fail (ctx, no, "'meaning' takes 2 or 3 fields (NAME VALUE [ARGUMENT]), "
                           "found %zu", ntok - 1);
        return 0;
    }
    if (line->tok [0].quoted)
        return hl_proc_fail (ctx, no, "a line must start with an unquoted keyword");
    return hl_proc_fail (ctx, no, "unknown keyword '%.*s' (expected procedure, regime, role, state, "
                   "action, deadline, notify or meaning)", HL_PROC_CLIP (line->tok [0].text));
}


//  --------------------------------------------------------------------------
//  Pass 2: actions and deadlines

//  Resolve a comma list of states into indexes (allocated, caller frees).
//  Returns count or -1 (error reported).
static ssize_t
s_state_list (hl_procedure_t *self, hl_proc_ctx_t *ctx, size_t no, char *text, size_t **out_p,
              bool allow_final)
{
    char **items;
    ssize_t count = hl_proc_split (text, &items);
    if (count < 0)
        return hl_proc_fail (ctx, no, "empty item in state list (no spaces around ',')");
    size_t *out = (size_t *) hl_proc_realloc (NULL, (size_t) count, sizeof (size_t));
    for (ssize_t i = 0; i < count; i++) {
        ssize_t index = hl_procedure_ix_lookup (self->state_ix, items [i]);
        if (index < 0) {
            hl_proc_fail (ctx, no, "unknown state '%.*s'", HL_PROC_CLIP (items [i]));
            goto error;
        }
        if (hl_procedure_ix_in (out, (size_t) i, (size_t) index)) {
            hl_proc_fail (ctx, no, "state '%s' listed twice", items [i]);
            goto error;
        }
        if (!allow_final && self->states [index].kind == HL_PROC_KIND_FINAL) {
            hl_proc_fail (ctx, no, "final state '%s' cannot be in a deadline's WHILE", items [i]);
            goto error;
        }
        out [i] = (size_t) index;
    }
    free (items);
    *out_p = out;
    return count;
error:
    free (items);
    free (out);
    return -1;
}

static hl_procedure_action_t *
s_action_get (hl_procedure_t *self, const char *name, const char *variant, size_t no)
{
    char *key = zsys_sprintf ("%s\x1f%s", name, variant);
    assert (key);
    ssize_t index = hl_procedure_ix_lookup (self->action_ix, key);
    if (index < 0) {
        HL_PROC_GROW (self->actions, self->nactions, self->cactions);
        hl_procedure_action_t *action = &self->actions [self->nactions];
        memset (action, 0, sizeof *action);
        action->name = hl_proc_strdup (name);
        action->variant = hl_proc_strdup (variant);
        action->display = *variant? zsys_sprintf ("%s %s", name, variant): hl_proc_strdup (name);
        assert (action->display);
        action->line = no;
        index = (ssize_t) self->nactions++;
        zhashx_insert (self->action_ix, key, s_ix_value ((size_t) index));
        if (!zhashx_lookup (self->action_names, name))
            zhashx_insert (self->action_names, name, s_ix_value ((size_t) index));
    }
    zstr_free (&key);
    return &self->actions [index];
}

static int
s_action (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line)
{
    hl_proc_token_t *tok = line->tok;
    size_t no = line->no;
    const char *name = tok [1].text;
    if (hl_proc_check_ident (ctx, no, "action", name))
        return -1;
    const char *variant = s_label (&tok [2]);
    if (*variant && hl_proc_check_ident (ctx, no, "variant", variant))
        return -1;

    hl_procedure_rule_t rule = { HL_PROC_FROM_LIST, NULL, 0, HL_PROC_TO_STAY, NULL, 0, no };
    char **items = NULL;
    char **requires = NULL;
    ssize_t nrequires = 0;
    //  FROM
    if (!tok [3].quoted && streq (tok [3].text, "-"))
        rule.from_kind = HL_PROC_FROM_NONE;
    else
    if (!tok [3].quoted && streq (tok [3].text, "*"))
        rule.from_kind = HL_PROC_FROM_ANY;
    else {
        ssize_t count = s_state_list (self, ctx, no, tok [3].text, &rule.from, true);
        if (count < 0)
            goto error;
        rule.nfrom = (size_t) count;
    }
    //  TO
    if (!tok [4].quoted && streq (tok [4].text, "=")) {
        if (rule.from_kind == HL_PROC_FROM_NONE) {
            hl_proc_fail (ctx, no, "an action that creates a case (FROM '-') cannot stay ('=')");
            goto error;
        }
        rule.to = HL_PROC_TO_STAY;
    }
    else {
        ssize_t index = hl_procedure_ix_lookup (self->state_ix, tok [4].text);
        if (index < 0) {
            hl_proc_fail (ctx, no, "unknown state '%.*s'", HL_PROC_CLIP (tok [4].text));
            goto error;
        }
        rule.to = (size_t) index;
        if (rule.from_kind == HL_PROC_FROM_NONE && self->has_initial && rule.to != self->initial) {
            hl_proc_fail (ctx, no, "an action that creates a case must lead to the initial state "
                    "'%s', not '%s'", self->states [self->initial].name, tok [4].text);
            goto error;
        }
    }
    //  ACTORS
    if (!tok [5].quoted && streq (tok [5].text, "-")) {
        hl_proc_fail (ctx, no, "an action needs at least one actor role");
        goto error;
    }
    ssize_t nactors = hl_proc_split (tok [5].text, &items);
    if (nactors < 0) {
        hl_proc_fail (ctx, no, "empty item in role list (no spaces around ',')");
        goto error;
    }
    rule.actors = (size_t *) hl_proc_realloc (NULL, (size_t) nactors, sizeof (size_t));
    for (ssize_t i = 0; i < nactors; i++) {
        ssize_t index = hl_procedure_ix_lookup (self->role_ix, items [i]);
        if (index < 0) {
            hl_proc_fail (ctx, no, "unknown role '%.*s'", HL_PROC_CLIP (items [i]));
            goto error;
        }
        if (hl_procedure_ix_in (rule.actors, (size_t) i, (size_t) index)) {
            hl_proc_fail (ctx, no, "role '%s' listed twice", items [i]);
            goto error;
        }
        rule.actors [i] = (size_t) index;
    }
    rule.nactors = (size_t) nactors;
    free (items);
    items = NULL;
    //  REQUIRES
    if (line->ntok == 7 && !(!tok [6].quoted && streq (tok [6].text, "-"))) {
        nrequires = hl_proc_split (tok [6].text, &requires);
        if (nrequires < 0) {
            requires = NULL;
            hl_proc_fail (ctx, no, "empty item in REQUIRES list (no spaces around ',')");
            goto error;
        }
        for (ssize_t i = 0; i < nrequires; i++) {
            if (hl_proc_check_ident (ctx, no, "argument", requires [i]))
                goto error;
            for (ssize_t k = 0; k < i; k++)
                if (streq (requires [k], requires [i])) {
                    hl_proc_fail (ctx, no, "argument '%s' required twice", requires [i]);
                    goto error;
                }
        }
    }

    //  Merge into the action, checking against its other lines
    hl_procedure_action_t *action = s_action_get (self, name, variant, no);
    if (action->nrules > 0) {
        bool same = action->nrequires == (size_t) nrequires;
        for (ssize_t i = 0; same && i < nrequires; i++) {
            same = false;
            for (size_t k = 0; k < action->nrequires; k++)
                if (streq (action->requires [k], requires [i]))
                    same = true;
        }
        if (!same) {
            hl_proc_fail (ctx, no, "action '%s' requires different arguments on line %zu",
                    action->display, action->line);
            goto error;
        }
    }
    else {
        action->requires = (char **) hl_proc_realloc (NULL, (size_t) nrequires + 1, sizeof (char *));
        for (ssize_t i = 0; i < nrequires; i++)
            action->requires [i] = hl_proc_strdup (requires [i]);
        action->requires [nrequires] = NULL;
        action->nrequires = (size_t) nrequires;
    }
    if (rule.from_kind == HL_PROC_FROM_NONE) {
        if (action->none_line) {
            hl_proc_fail (ctx, no, "action '%s' already creates a case on line %zu",
                    action->display, action->none_line);
            goto error;
        }
        action->none_line = no;
    }
    else
    if (rule.from_kind == HL_PROC_FROM_ANY) {
        if (action->any_line || action->nonfinal_line) {
            hl_proc_fail (ctx, no, "action '%s' from '*' overlaps its line %zu",
                    action->display, action->any_line? action->any_line: action->nonfinal_line);
            goto error;
        }
        action->any_line = no;
    }
    else {
        for (size_t i = 0; i < rule.nfrom; i++) {
            hl_procedure_state_t *state = &self->states [rule.from [i]];
            if (state->kind != HL_PROC_KIND_FINAL && action->any_line) {
                hl_proc_fail (ctx, no, "action '%s' from '%s' overlaps its '*' on line %zu",
                        action->display, state->name, action->any_line);
                goto error;
            }
            char *key = zsys_sprintf ("%zu\x1f%s", (size_t) (action - self->actions), state->name);
            assert (key);
            void *other = zhashx_lookup (ctx->seen, key);
            if (other) {
                zstr_free (&key);
                hl_proc_fail (ctx, no, "action '%s' from '%s' is already defined on line %zu",
                        action->display, state->name, (size_t) (uintptr_t) other);
                goto error;
            }
            zhashx_insert (ctx->seen, key, (void *) (uintptr_t) no);
            zstr_free (&key);
            if (state->kind != HL_PROC_KIND_FINAL && !action->nonfinal_line)
                action->nonfinal_line = no;
        }
    }
    free (requires);
    HL_PROC_GROW (action->rules, action->nrules, action->crules);
    action->rules [action->nrules++] = rule;
    return 0;

error:
    free (items);
    free (requires);
    free (rule.from);
    free (rule.actors);
    return -1;
}

//  Parse "warn=75%" value: 1..99
static int
s_parse_pct (const char *text, int64_t *pct)
{
    int64_t value = 0;
    size_t digits = 0;
    while (isdigit ((unsigned char) text [digits]) && digits < 4) {
        value = value * 10 + (text [digits] - '0');
        digits++;
    }
    if (digits == 0)
        return -1;
    const char *rest = text + digits;
    if (*rest == '%')
        rest++;
    if (*rest)
        return -1;
    *pct = value;
    return 0;
}

static int
s_deadline (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line)
{
    hl_proc_token_t *tok = line->tok;
    size_t no = line->no;
    const char *name = tok [1].text;
    if (hl_proc_check_ident (ctx, no, "deadline", name))
        return -1;
    ssize_t other = hl_procedure_ix_lookup (self->deadline_ix, name);
    if (other >= 0)
        return hl_proc_fail (ctx, no, "duplicate deadline '%s' (first on line %zu)",
                       name, self->deadlines [other].line);
    bool from_received;
    if (streq (tok [2].text, "received"))
        from_received = true;
    else
    if (streq (tok [2].text, "entered"))
        from_received = false;
    else
        return hl_proc_fail (ctx, no, "deadline anchor must be 'received' or 'entered', not '%.*s'",
                       HL_PROC_CLIP (tok [2].text));

    size_t *states = NULL;
    ssize_t nstates = s_state_list (self, ctx, no, tok [3].text, &states, false);
    if (nstates < 0)
        return -1;
    int64_t *duration = (int64_t *) hl_proc_realloc (NULL, self->nregimes, sizeof (int64_t));
    for (size_t i = 0; i < self->nregimes; i++)
        duration [i] = -1;
    int64_t warn_pct = 0;
    bool has_warn = false;
    for (size_t t = 4; t < line->ntok; t++) {
        char *text = tok [t].text;
        char *equals = strchr (text, '=');
        if (!equals) {
            hl_proc_fail (ctx, no, "expected REGIME=DURATION or warn=PCT%%, not '%.*s'", HL_PROC_CLIP (text));
            goto error;
        }
        *equals = 0;
        const char *value = equals + 1;
        if (streq (text, "warn")) {
            if (has_warn) {
                hl_proc_fail (ctx, no, "warn given twice");
                goto error;
            }
            has_warn = true;
            if (s_parse_pct (value, &warn_pct)) {
                hl_proc_fail (ctx, no, "bad warn percentage '%.*s' (use e.g. warn=75%%)", HL_PROC_CLIP (value));
                goto error;
            }
            if (warn_pct < 1 || warn_pct > 99) {
                hl_proc_fail (ctx, no, "warn percentage %" PRId64 "%% out of range (1..99)", warn_pct);
                goto error;
            }
            continue;
        }
        ssize_t regime = hl_procedure_ix_lookup (self->regime_ix, text);
        if (regime < 0) {
            hl_proc_fail (ctx, no, "unknown regime '%.*s'", HL_PROC_CLIP (text));
            goto error;
        }
        if (duration [regime] >= 0) {
            hl_proc_fail (ctx, no, "duration for regime '%s' given twice", text);
            goto error;
        }
        int64_t ms;
        if (hl_clock_parse_duration (value, &ms)) {
            hl_proc_fail (ctx, no, "bad duration '%.*s' (use e.g. 90s, 15m, 24h, 2d)", HL_PROC_CLIP (value));
            goto error;
        }
        if (ms > S_MAX_DURATION) {
            hl_proc_fail (ctx, no, "duration '%.*s' too long (at most 366d)", HL_PROC_CLIP (value));
            goto error;
        }
        duration [regime] = ms;
    }
    for (size_t i = 0; i < self->nregimes; i++)
        if (duration [i] < 0) {
            hl_proc_fail (ctx, no, "deadline '%s' has no duration for regime '%s'",
                    name, self->regimes [i].name);
            goto error;
        }
    qsort (states, (size_t) nstates, sizeof (size_t), hl_procedure_ix_cmp);
    HL_PROC_GROW (self->deadlines, self->ndeadlines, self->cdeadlines);
    hl_procedure_deadline_t *deadline = &self->deadlines [self->ndeadlines];
    deadline->name = hl_proc_strdup (name);
    deadline->states = states;
    deadline->nstates = (size_t) nstates;
    deadline->duration = duration;
    deadline->line = no;
    deadline->def.from_received = from_received;
    deadline->def.warn_pct = warn_pct;
    zhashx_insert (self->deadline_ix, deadline->name, s_ix_value (self->ndeadlines));
    self->ndeadlines++;
    return 0;

error:
    free (states);
    free (duration);
    return -1;
}


//  --------------------------------------------------------------------------
//  Pass 3: notification rules

static int
s_notify (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line)
{
    hl_proc_token_t *tok = line->tok;
    size_t no = line->no;
    char *name = tok [1].text;
    const char *variant = "";
    char *colon = strchr (name, ':');
    if (colon) {
        *colon = 0;
        variant = colon + 1;
        if (*variant == 0)
            return hl_proc_fail (ctx, no, "empty variant after ':'");
    }
    if (hl_proc_check_ident (ctx, no, "action", name))
        return -1;
    if (hl_procedure_ix_lookup (self->action_names, name) < 0)
        return hl_proc_fail (ctx, no, "notify refers to unknown action '%s'", name);
    if (*variant) {
        if (hl_proc_check_ident (ctx, no, "variant", variant))
            return -1;
        char *key = zsys_sprintf ("%s\x1f%s", name, variant);
        assert (key);
        bool known = zhashx_lookup (self->action_ix, key) != NULL;
        zstr_free (&key);
        if (!known)
            return hl_proc_fail (ctx, no, "notify refers to unknown action '%s %s'", name, variant);
    }
    const char *recipient = tok [2].text;
    if (hl_proc_check_ident (ctx, no, "recipient", recipient))
        return -1;
    const char *template_name = tok [3].text;
    if (!s_is_word (template_name))
        return hl_proc_fail (ctx, no, "bad template name '%.*s'", HL_PROC_CLIP (template_name));
    char *key = zsys_sprintf ("notify\x1f%s\x1f%s\x1f%s", name, variant, recipient);
    assert (key);
    void *other = zhashx_lookup (ctx->seen, key);
    if (other) {
        zstr_free (&key);
        return hl_proc_fail (ctx, no, "duplicate notify rule for '%s' (first on line %zu)",
                       recipient, (size_t) (uintptr_t) other);
    }
    zhashx_insert (ctx->seen, key, (void *) (uintptr_t) no);
    zstr_free (&key);

    HL_PROC_GROW (self->notifies, self->nnotifies, self->cnotifies);
    hl_procedure_notify_t *notify = &self->notifies [self->nnotifies++];
    notify->action = hl_proc_strdup (name);
    notify->variant = hl_proc_strdup (variant);
    notify->recipient = hl_proc_strdup (recipient);
    notify->template_name = hl_proc_strdup (template_name);
    notify->line = no;
    return 0;
}


//  --------------------------------------------------------------------------
//  Pass 4: the whole file

static int
s_check_graph (hl_procedure_t *self, hl_proc_ctx_t *ctx)
{
    size_t end = ctx->last_line? ctx->last_line: 1;
    if (!ctx->procedure_line)
        return hl_proc_fail (ctx, end, "no 'procedure NAME VERSION' line");
    if (self->nregimes == 0)
        return hl_proc_fail (ctx, end, "no regime declared");
    if (!self->has_initial)
        return hl_proc_fail (ctx, end, "no state is marked initial");
    bool creating = false;
    for (size_t i = 0; i < self->nactions; i++)
        if (self->actions [i].none_line)
            creating = true;
    if (!creating)
        return hl_proc_fail (ctx, end, "no action creates a case (an action with FROM '-')");

    //  Reachability from the initial state, breadth first. Edges: rules
    //  listing a state; '*' rules from the first reached non-final state.
    size_t **edges = (size_t **) hl_proc_realloc (NULL, self->nstates, sizeof (size_t *));
    size_t *nedges = (size_t *) hl_proc_realloc (NULL, self->nstates, sizeof (size_t));
    size_t *cedges = (size_t *) hl_proc_realloc (NULL, self->nstates, sizeof (size_t));
    bool *exits = (bool *) hl_proc_realloc (NULL, self->nstates, sizeof (bool));
    for (size_t i = 0; i < self->nstates; i++) {
        edges [i] = NULL;
        nedges [i] = cedges [i] = 0;
        exits [i] = false;
    }
    size_t *any_to = NULL;
    size_t nany = 0, cany = 0;
    for (size_t a = 0; a < self->nactions; a++) {
        hl_procedure_action_t *action = &self->actions [a];
        for (size_t r = 0; r < action->nrules; r++) {
            hl_procedure_rule_t *rule = &action->rules [r];
            if (rule->from_kind == HL_PROC_FROM_ANY) {
                if (rule->to != HL_PROC_TO_STAY) {
                    HL_PROC_GROW (any_to, nany, cany);
                    any_to [nany++] = rule->to;
                }
            }
            else
            if (rule->from_kind == HL_PROC_FROM_LIST && rule->to != HL_PROC_TO_STAY)
                for (size_t f = 0; f < rule->nfrom; f++) {
                    size_t from = rule->from [f];
                    if (rule->to != from)
                        exits [from] = true;
                    HL_PROC_GROW (edges [from], nedges [from], cedges [from]);
                    edges [from][nedges [from]++] = rule->to;
                }
        }
    }
    bool *reached = (bool *) hl_proc_realloc (NULL, self->nstates, sizeof (bool));
    size_t *queue = (size_t *) hl_proc_realloc (NULL, self->nstates, sizeof (size_t));
    for (size_t i = 0; i < self->nstates; i++)
        reached [i] = false;
    size_t head = 0, tail = 0;
    bool any_done = false;
    reached [self->initial] = true;
    queue [tail++] = self->initial;
    while (head < tail) {
        size_t state = queue [head++];
        for (size_t i = 0; i < nedges [state]; i++)
            if (!reached [edges [state][i]]) {
                reached [edges [state][i]] = true;
                queue [tail++] = edges [state][i];
            }
        if (!any_done && self->states [state].kind != HL_PROC_KIND_FINAL) {
            any_done = true;
            for (size_t i = 0; i < nany; i++)
                if (!reached [any_to [i]]) {
                    reached [any_to [i]] = true;
                    queue [tail++] = any_to [i];
                }
        }
    }
    //  A '*' rule is a way out of every non-final state but its target
    bool any_two = false;
    for (size_t i = 1; i < nany; i++)
        if (any_to [i] != any_to [0])
            any_two = true;
    int rc = 0;
    for (size_t i = 0; i < self->nstates && rc == 0; i++) {
        hl_procedure_state_t *state = &self->states [i];
        if (!reached [i])
            rc = hl_proc_fail (ctx, state->line, "state '%s' cannot be reached from the initial "
                         "state '%s'", state->name, self->states [self->initial].name);
        else
        if (state->kind != HL_PROC_KIND_FINAL && !exits [i]
        &&  !(nany > 0 && (any_two || any_to [0] != i)))
            rc = hl_proc_fail (ctx, state->line, "state '%s' is not final but no action leaves it",
                         state->name);
    }
    for (size_t i = 0; i < self->nstates; i++)
        free (edges [i]);
    free (edges);
    free (nedges);
    free (cedges);
    free (exits);
    free (any_to);
    free (reached);
    free (queue);
    return rc;
}


//  --------------------------------------------------------------------------
//  Load and destroy

hl_procedure_t *
hl_procedure_load (const char *path, char *err, size_t errsize)
{
    assert (path);
    if (err && errsize)
        *err = 0;
    hl_proc_ctx_t ctx = { hl_lexer_new (path, &s_syntax, err, errsize), 0, 0, NULL };
    if (!ctx.lexer)
        return NULL;            //  "path: cannot open ..." reported
    hl_proc_line_t *lines = NULL;
    size_t nlines = 0;
    if (s_read (&ctx, &lines, &nlines)) {
        s_lines_destroy (lines, nlines);
        hl_lexer_destroy (&ctx.lexer);
        return NULL;
    }
    hl_procedure_t *self = (hl_procedure_t *) hl_proc_realloc (NULL, 1, sizeof (hl_procedure_t));
    memset (self, 0, sizeof *self);
    self->state_ix = zhashx_new ();
    self->role_ix = zhashx_new ();
    self->regime_ix = zhashx_new ();
    self->action_ix = zhashx_new ();
    self->action_names = zhashx_new ();
    self->deadline_ix = zhashx_new ();
    ctx.seen = zhashx_new ();
    assert (self->state_ix && self->role_ix && self->regime_ix && self->action_ix
         && self->action_names && self->deadline_ix && ctx.seen);

    int rc = 0;
    for (size_t i = 0; i < nlines && rc == 0; i++)
        rc = s_declare (self, &ctx, &lines [i]);
    for (size_t i = 0; i < nlines && rc == 0; i++) {
        const char *keyword = lines [i].tok [0].text;
        if (streq (keyword, "action"))
            rc = s_action (self, &ctx, &lines [i]);
        else
        if (streq (keyword, "deadline"))
            rc = s_deadline (self, &ctx, &lines [i]);
    }
    for (size_t i = 0; i < nlines && rc == 0; i++)
        if (streq (lines [i].tok [0].text, "notify"))
            rc = s_notify (self, &ctx, &lines [i]);
    for (size_t i = 0; i < nlines && rc == 0; i++)
        if (streq (lines [i].tok [0].text, "meaning"))
            rc = hl_proc_load_meaning (self, &ctx, &lines [i]);
    if (rc == 0)
        rc = s_check_graph (self, &ctx);
    if (rc == 0)
        rc = hl_proc_check_meanings (self, &ctx);

    //  Notification rules point at their own strings
    for (size_t i = 0; i < self->nnotifies; i++) {
        self->notifies [i].rule.recipient = self->notifies [i].recipient;
        self->notifies [i].rule.template_name = self->notifies [i].template_name;
    }
    for (size_t i = 0; i < self->ndeadlines; i++)
        self->deadlines [i].def.name = self->deadlines [i].name;

    zhashx_destroy (&ctx.seen);
    s_lines_destroy (lines, nlines);
    hl_lexer_destroy (&ctx.lexer);
    if (rc)
        hl_procedure_destroy (&self);
    return self;
}


//  --------------------------------------------------------------------------
//  Selftest

#define S_DEFAULT_PATH "deploy/config/procedure.conf"

//  A small valid procedure; the error cases below add one line (line 14)
//  or change it.
const char *hl_proc_test_base =
    "procedure test 1\n"                                    //  1
    "regime normal\n"                                       //  2
    "regime urgent\n"                                       //  3
    "role officer \"Officer\"\n"                            //  4
    "role system -\n"                                       //  5
    "state new initial \"Mới\"   # comment\n"               //  6
    "state open open \"Open \\\"quoted\\\"\"\n"             //  7
    "state done final \"Done\"\n"                           //  8
    "action submit - - new officer,system\n"                //  9
    "action take - new open officer\n"                      //  10
    "action finish - new,open done officer note\n"          //  11
    "deadline take entered new normal=1h urgent=10m warn=50%\n"   //  12
    "notify submit officer intake\n";                       //  13

//  The meanings every procedure declares, for the base's actions: the line
//  errors above come first (line 14); loading the base alone fails only
//  for want of these, on its last line
const char *hl_proc_test_meanings =
    "meaning forward take\n"
    "meaning create submit\n"
    "meaning report submit\n"
    "meaning route take\n"
    "meaning deadline_warn take\n"
    "meaning deadline_breach take\n"
    "meaning assign finish note\n"
    "meaning verified take\n"
    "meaning accurate finish\n"
    "meaning resolved finish\n"
    "meaning informed finish\n"
    "meaning on_time take\n"
    "meaning done finish,take\n";

static void
s_test_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "wb");
    assert (file);
    assert (fwrite (text, 1, strlen (text), file) == strlen (text));
    assert (fclose (file) == 0);
}

static hl_procedure_t *
s_test_load (const char *path, const char *text, char *err, size_t errsize)
{
    s_test_write (path, text);
    return hl_procedure_load (path, err, errsize);
}

//  text must fail to load with an error at line, containing fragment
void
hl_proc_expect_error (const char *path, const char *text, size_t line, const char *fragment,
                bool verbose)
{
    char err [512];
    hl_procedure_t *procedure = s_test_load (path, text, err, sizeof err);
    if (verbose)
        printf ("\n    %s", err);
    char prefix [300];
    snprintf (prefix, sizeof prefix, "%s:%zu: ", path, line);
    if (procedure || strncmp (err, prefix, strlen (prefix)) || !strstr (err, fragment)) {
        printf ("\nexpected '%s...%s', got '%s'\n", prefix, fragment, procedure? "(loaded)": err);
        assert (false);
    }
}

//  base + one line: error on line 14
void
hl_proc_expect_line_error (const char *path, const char *extra, const char *fragment, bool verbose)
{
    char *text = zsys_sprintf ("%s%s\n", hl_proc_test_base, extra);
    assert (text);
    hl_proc_expect_error (path, text, 14, fragment, verbose);
    zstr_free (&text);
}

void
hl_procedure_loader_test (bool verbose)
{
    printf (" * hl_procedure_loader: ");
    if (verbose)
        printf ("\n");
    char err [512];
    const char *to = NULL;
    const char *list [64];
    const hl_deadline_def_t *deadlines [16];
    size_t count;

    //  @selftest
    //  The default procedure, to compare a modified copy with
    hl_procedure_t *procedure = hl_procedure_load (S_DEFAULT_PATH, err, sizeof err);
    if (!procedure)
        printf ("\n%s\n", err);
    assert (procedure);

    //  Errors: each class names the file and the right line
    char path [] = "/tmp/hl_procedure_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);

    //  The base procedure itself loads, and a rule without variant in
    //  notify matches every variant
    char *base = zsys_sprintf ("%s%s", hl_proc_test_base, hl_proc_test_meanings);
    assert (base);
    hl_procedure_t *small = s_test_load (path, base, err, sizeof err);
    if (!small)
        printf ("\n%s\n", err);
    assert (small);
    assert (streq (hl_procedure_name (small), "test"));
    assert (streq (hl_procedure_state_label (small, "new"), "Mới"));
    assert (streq (hl_procedure_state_label (small, "open"), "Open \"quoted\""));
    assert (streq (hl_procedure_state_label (small, "done"), "Done"));
    assert (hl_procedure_deadline_duration (small, "take", "urgent") == 600000);
    count = hl_procedure_deadlines_starting (small, NULL, "new", deadlines, 16);
    assert (count == 1 && deadlines [0]->warn_pct == 50 && !deadlines [0]->from_received);
    assert (hl_procedure_check (small, "new", "finish", NULL, "officer", &to) == HL_OK);
    assert (streq (to, "done"));
    hl_procedure_destroy (&small);
    zstr_free (&base);
    assert (small == NULL);
    hl_procedure_destroy (&small);          //  destroying NULL is safe

    //  Lexical
    hl_proc_expect_line_error (path, "# bad UTF-8: \xC3\x28", "invalid UTF-8", verbose);
    hl_proc_expect_line_error (path, "# overlong: \xC0\xAF", "invalid UTF-8", verbose);
    hl_proc_expect_line_error (path, "# surrogate: \xED\xA0\x80", "invalid UTF-8", verbose);
    hl_proc_expect_line_error (path, "role x \"bell \x07\"", "control character", verbose);
    hl_proc_expect_line_error (path, "role x \"unterminated", "unterminated", verbose);
    hl_proc_expect_line_error (path, "role x \"bad \\n escape\"", "escape", verbose);
    hl_proc_expect_line_error (path, "role x ab\"c\"", "inside a word", verbose);
    char *long_line = (char *) zmalloc (S_MAX_LINE + 16);
    memset (long_line, 'x', S_MAX_LINE + 8);
    long_line [0] = '#';
    hl_proc_expect_line_error (path, long_line, "line too long", verbose);
    //  A line of exactly the limit, a comment, is fine
    long_line [S_MAX_LINE] = 0;
    char *text = zsys_sprintf ("%s%s\n%s", hl_proc_test_base, long_line, hl_proc_test_meanings);
    small = s_test_load (path, text, err, sizeof err);
    assert (small);
    hl_procedure_destroy (&small);
    zstr_free (&text);
    free (long_line);
    //  NUL byte: strlen stops at it, so write it by hand
    {
        FILE *file = fopen (path, "wb");
        assert (file);
        fputs (hl_proc_test_base, file);
        fputs ("# nul", file);
        fputc (0, file);
        fputs ("\n", file);
        fclose (file);
        assert (hl_procedure_load (path, err, sizeof err) == NULL);
        char prefix [300];
        snprintf (prefix, sizeof prefix, "%s:14: ", path);
        assert (strncmp (err, prefix, strlen (prefix)) == 0);
        assert (strstr (err, "control character"));
    }
    //  Keywords and column counts
    hl_proc_expect_line_error (path, "stat x open -", "unknown keyword 'stat'", verbose);
    hl_proc_expect_line_error (path, "\"role\" x -", "unquoted keyword", verbose);
    hl_proc_expect_line_error (path, "role leader", "'role' takes 2 fields", verbose);
    hl_proc_expect_line_error (path, "state x open", "'state' takes 3 fields", verbose);
    hl_proc_expect_line_error (path, "action x - new", "'action' takes 5 or 6 fields", verbose);
    hl_proc_expect_line_error (path, "action x - new open officer note extra", "'action' takes", verbose);
    hl_proc_expect_line_error (path, "deadline x entered new", "'deadline' takes at least", verbose);
    hl_proc_expect_line_error (path, "notify submit officer", "'notify' takes 3", verbose);
    hl_proc_expect_line_error (path, "regime", "'regime' takes 1", verbose);
    hl_proc_expect_line_error (path, "procedure again 2", "second 'procedure' line (first on line 1)", verbose);
    //  Declarations
    hl_proc_expect_line_error (path, "state open open -", "duplicate state 'open' (first on line 7)", verbose);
    hl_proc_expect_line_error (path, "role officer -", "duplicate role 'officer' (first on line 4)", verbose);
    hl_proc_expect_line_error (path, "regime urgent", "duplicate regime 'urgent' (first on line 3)", verbose);
    hl_proc_expect_line_error (path, "regime warn", "reserved", verbose);
    hl_proc_expect_line_error (path, "state x closing -", "state kind", verbose);
    hl_proc_expect_line_error (path, "state other initial -", "second initial state", verbose);
    hl_proc_expect_line_error (path, "state 9lives open -", "bad state name", verbose);
    hl_proc_expect_line_error (path, "role a,b -", "bad role name", verbose);
    //  Actions
    hl_proc_expect_line_error (path, "action x - open nowhere officer", "unknown state 'nowhere'", verbose);
    hl_proc_expect_line_error (path, "action x - nowhere,open done officer", "unknown state 'nowhere'", verbose);
    hl_proc_expect_line_error (path, "action x - open done boss", "unknown role 'boss'", verbose);
    hl_proc_expect_line_error (path, "action x - open done officer,,system", "empty item", verbose);
    hl_proc_expect_line_error (path, "action x - open done -", "at least one actor", verbose);
    hl_proc_expect_line_error (path, "action x - open,open done officer", "listed twice", verbose);
    hl_proc_expect_line_error (path, "action x - open done officer note,note", "required twice", verbose);
    hl_proc_expect_line_error (path, "action x - - = officer", "cannot stay", verbose);
    hl_proc_expect_line_error (path, "action x - - open officer", "initial state 'new'", verbose);
    hl_proc_expect_line_error (path, "action finish - open done system note", "already defined on line 11", verbose);
    hl_proc_expect_line_error (path, "action finish - * done system note", "overlaps", verbose);
    hl_proc_expect_line_error (path, "action finish - done open officer reason", "different arguments", verbose);
    hl_proc_expect_line_error (path, "action submit - - new officer", "already creates a case", verbose);
    //  Deadlines
    hl_proc_expect_line_error (path, "deadline y entered nowhere normal=1h urgent=1h", "unknown state 'nowhere'", verbose);
    hl_proc_expect_line_error (path, "deadline y entered done normal=1h urgent=1h", "final state", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h urgent=1h slow=2h", "unknown regime 'slow'", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h", "no duration for regime 'urgent'", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h normal=2h urgent=1h", "given twice", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1x urgent=1h", "bad duration '1x'", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=-1h urgent=1h", "bad duration", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=24 urgent=1h", "bad duration", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=400d urgent=1h", "too long", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h urgent=1h warn=100%", "out of range", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h urgent=1h warn=0%", "out of range", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h urgent=1h warn=lots", "bad warn", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open normal=1h urgent=1h warn=5% warn=6%", "twice", verbose);
    hl_proc_expect_line_error (path, "deadline y sometime open normal=1h urgent=1h", "anchor", verbose);
    hl_proc_expect_line_error (path, "deadline y entered open 1h", "expected REGIME=DURATION", verbose);
    hl_proc_expect_line_error (path, "deadline take entered open normal=1h urgent=1h", "duplicate deadline 'take' (first on line 12)", verbose);
    //  Notify
    hl_proc_expect_line_error (path, "notify fly officer x", "unknown action 'fly'", verbose);
    hl_proc_expect_line_error (path, "notify take:fast officer x", "unknown action 'take fast'", verbose);
    hl_proc_expect_line_error (path, "notify take: officer x", "empty variant", verbose);
    hl_proc_expect_line_error (path, "notify submit officer other", "duplicate notify rule", verbose);
    hl_proc_expect_line_error (path, "notify submit officer ../../etc/passwd", "bad template", verbose);
    //  The whole graph
    hl_proc_expect_line_error (path, "state orphan open -", "'orphan' cannot be reached", verbose);
    {
        char *stuck = zsys_sprintf ("%sstate stuck open -\naction park - open stuck officer\n", hl_proc_test_base);
        assert (stuck);
        hl_proc_expect_error (path, stuck, 14, "no action leaves it", verbose);
        zstr_free (&stuck);
    }
    //  Whole-file errors name the last line
    hl_proc_expect_error (path, "procedure t 1\nregime normal\nrole r -\nstate a initial -\n"
                    "state b final -\naction go - a b r\n# end\n", 7,
                    "no action creates a case", verbose);
    hl_proc_expect_error (path, "procedure t 1\nregime normal\nrole r -\nstate a open -\n"
                    "action go - - a r\n", 5, "no state is marked initial", verbose);
    hl_proc_expect_error (path, "regime normal\nrole r -\nstate a initial -\nstate b final -\n"
                    "action new - - a r\naction go - a b r\n", 6, "no 'procedure", verbose);
    hl_proc_expect_error (path, "procedure t 1\nrole r -\nstate a initial -\nstate b final -\n"
                    "action new - - a r\naction go - a b r\n", 6, "no regime", verbose);
    hl_proc_expect_error (path, "", 1, "no 'procedure", verbose);
    //  First error wins: pass 1 errors come before reference errors
    hl_proc_expect_error (path, "procedure t 1\naction x - nowhere a r\nbogus\n", 3, "unknown keyword", verbose);
    //  Declarations in any order, CRLF and a byte order mark are fine
    small = s_test_load (path, "\xEF\xBB\xBFnotify new:fast r t\r\naction go - a b r\r\n"
                         "meaning forward new:fast\r\nmeaning create new\r\nmeaning report new\r\nmeaning route go\r\n"
                         "meaning deadline_warn go\r\nmeaning deadline_breach go\r\n"
                         "meaning assign new x\r\nmeaning verified go\r\nmeaning accurate go\r\n"
                         "meaning resolved go\r\nmeaning informed go\r\nmeaning on_time d\r\n"
                         "meaning done go\r\ndeadline d entered a normal=1h\r\n"
                         "action new fast - a r x\r\nstate b final -\r\nstate a initial -\r\n"
                         "role r -\r\nregime normal\r\nprocedure t 1\r\n", err, sizeof err);
    if (!small)
        printf ("\n%s\n", err);
    assert (small);
    assert (hl_procedure_check (small, NULL, "new", "fast", "r", &to) == HL_OK);
    assert (streq (to, "a"));
    assert (hl_procedure_check (small, NULL, "new", NULL, "r", &to) == HL_NOT_FOUND);
    hl_procedure_destroy (&small);
    //  A file over 1 MiB
    {
        FILE *file = fopen (path, "wb");
        assert (file);
        for (size_t i = 0; i < HL_PROC_MAX_FILE / 64 + 1; i++)
            fputs ("#23456789012345678901234567890123456789012345678901234567890123\n", file);
        fclose (file);
        assert (hl_procedure_load (path, err, sizeof err) == NULL);
        assert (strstr (err, "file too large"));
    }
    //  A missing file
    assert (hl_procedure_load ("/nonexistent/procedure.conf", err, sizeof err) == NULL);
    assert (strstr (err, "/nonexistent/procedure.conf: cannot open"));
    assert (hl_procedure_load ("/nonexistent/procedure.conf", NULL, 0) == NULL);

    //  A modified procedure: verify within 12 hours, and an extra state
    //  'escalated' that leaders may send a case to while verifying
    char *modified = NULL;
    {
        FILE *file = fopen (S_DEFAULT_PATH, "rb");
        assert (file);
        zchunk_t *chunk = zchunk_read (file, HL_PROC_MAX_FILE);
        fclose (file);
        assert (chunk);
        char *original = zchunk_strdup (chunk);
        zchunk_destroy (&chunk);
        size_t size = strlen (original) + 1024;
        modified = (char *) zmalloc (size);
        size_t replaced = 0;
        char *line = original;
        while (line && *line) {
            char *next = strchr (line, '\n');
            if (next)
                *next++ = 0;
            const char *out = line;
            if (strncmp (line, "deadline verify ", 16) == 0) {
                out = "deadline verify received received,leaders_informed,routed_ward,verifying "
                      "normal=12h urgent=4h warn=75%";
                replaced++;
            }
            strcat (modified, out);
            strcat (modified, "\n");
            line = next;
        }
        assert (replaced == 1);
        strcat (modified, "state escalated open \"Chuyển cấp trên\"\n"
                          "action escalate - verifying escalated leader reason\n"
                          "action assign - escalated verifying leader,division,officer to\n");
        free (original);
    }
    small = s_test_load (path, modified, err, sizeof err);
    if (!small)
        printf ("\n%s\n", err);
    assert (small);
    assert (hl_procedure_deadline_duration (small, "verify", "normal") == 12 * 3600 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "verify", "normal") == 24 * 3600 * 1000LL);
    assert (hl_procedure_states (small, list, 64) == 15);
    assert (hl_procedure_state_exists (small, "escalated"));
    assert (!hl_procedure_state_exists (procedure, "escalated"));
    assert (hl_procedure_check (small, "verifying", "escalate", NULL, "leader", &to) == HL_OK);
    assert (streq (to, "escalated"));
    assert (hl_procedure_check (procedure, "verifying", "escalate", NULL, "leader", &to) == HL_NOT_FOUND);
    assert (hl_procedure_check (small, "verifying", "escalate", NULL, "officer", &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (small, "escalated", "assign", NULL, "division", &to) == HL_OK);
    assert (streq (to, "verifying"));
    count = hl_procedure_allowed (small, "verifying", "leader", list, 64);
    bool escalate = false;
    for (size_t i = 0; i < count; i++)
        escalate = escalate || streq (list [i], "escalate");
    assert (escalate);
    count = hl_procedure_deadlines_stopping (small, "verifying", "escalated", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "verify"));
    hl_procedure_destroy (&small);
    free (modified);

    unlink (path);
    hl_procedure_destroy (&procedure);
    //  @end
    printf ("%sOK\n", verbose? "\n": "");
}
