/*  routing_rules — jurisdiction rules loaded from routing.conf. See rules.h.  */
#include "hotline.h"
#include "rules.h"

#define S_MAX_TOKENS    64
#define S_MAX_LINE      4096
#define S_MAX_FILE      (1024 * 1024)

typedef enum {
    S_TYPE, S_SCOPE, S_SUDDEN, S_URGENT, S_CATEGORY, S_KEYWORD
} s_key_t;

static const char *s_key_names [] = {
    "type", "scope", "sudden", "urgent", "polluter_category", "keyword", NULL
};

typedef struct {
    s_key_t key;
    size_t count;
    char **values;              //  as written (for the reason)
    char **folded;              //  keywords only: lower-cased
    bool flag;                  //  sudden/urgent: the wanted value
} s_condition_t;

typedef struct {
    int number;                 //  1, 2, ... in file order
    char *variant;
    size_t count;
    s_condition_t *conditions;
} s_rule_t;

struct _routing_rules_t {
    s_rule_t *rules;
    size_t count;
    char *default_variant;
};

//  --------------------------------------------------------------------------
//  Case folding

static uint32_t
s_lower (uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z'? cp + 32: cp;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;
    if (cp >= 0x100 && cp <= 0x137 && cp != 0x130)
        return cp | 1;
    if (cp >= 0x139 && cp <= 0x148)
        return (cp & 1)? cp + 1: cp;
    if (cp >= 0x14A && cp <= 0x177)
        return cp | 1;
    if (cp == 0x178)
        return 0xFF;
    if (cp >= 0x179 && cp <= 0x17E)
        return (cp & 1)? cp + 1: cp;
    if (cp == 0x1A0 || cp == 0x1AF)         //  Ơ Ư
        return cp + 1;
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
        return cp + 0x20;
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    if ((cp >= 0x1E00 && cp <= 0x1E95) || (cp >= 0x1EA0 && cp <= 0x1EFF))
        return cp | 1;                      //  Vietnamese: Ạ ạ ... Ỹ ỹ
    return cp;
}

static size_t
s_encode (uint32_t cp, char *out)
{
    if (cp < 0x80) { out [0] = (char) cp; return 1; }
    if (cp < 0x800) {
        out [0] = (char) (0xC0 | (cp >> 6));
        out [1] = (char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out [0] = (char) (0xE0 | (cp >> 12));
        out [1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out [2] = (char) (0x80 | (cp & 0x3F));
        return 3;
    }
    out [0] = (char) (0xF0 | (cp >> 18));
    out [1] = (char) (0x80 | ((cp >> 12) & 0x3F));
    out [2] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out [3] = (char) (0x80 | (cp & 0x3F));
    return 4;
}

char *
routing_fold (const char *text)
{
    if (!text)
        text = "";
    size_t len = strlen (text);
    //  Lower-casing never lengthens a code point in the ranges above
    char *out = (char *) zmalloc (len + 1);
    const unsigned char *p = (const unsigned char *) text;
    size_t done = 0, at = 0;
    while (at < len) {
        uint32_t cp;
        size_t size = hl_utf8_char ((const char *) p + at, len - at, &cp);
        if (size == 0) {
            out [done++] = (char) p [at++];
            continue;
        }
        char buf [4];
        size_t n = s_encode (s_lower (cp), buf);
        if (n != size) {                    //  cannot happen; stay safe
            memcpy (out + done, p + at, size);
            done += size;
        }
        else {
            memcpy (out + done, buf, n);
            done += n;
        }
        at += size;
    }
    out [done] = 0;
    return out;
}

//  --------------------------------------------------------------------------
//  Parsing

//  The file's syntax, for hl_lexer (the lexer of every configuration
//  language): words separated by blanks, "double quotes" anywhere in a
//  word (keyword="tràn dầu,cá chết", with \" and \\ inside them), '#'
//  outside quotes starts a comment. Control characters are the lexer's to
//  let through here: a keyword refuses them (hl_text_check), any other
//  word is a name that cannot hold one.
static const hl_lexer_syntax_t s_syntax = {
    .max_file = S_MAX_FILE,
    .max_line = S_MAX_LINE,
    .max_words = S_MAX_TOKENS,
    .quotes = HL_LEXER_QUOTES_INLINE,
    .comment_anywhere = true,
    .controls = true
};

static void
s_condition_free (s_condition_t *condition)
{
    for (size_t i = 0; i < condition->count; i++) {
        free (condition->values [i]);
        if (condition->folded)
            free (condition->folded [i]);
    }
    free (condition->values);
    free (condition->folded);
}

void
routing_rules_destroy (routing_rules_t **self_p)
{
    assert (self_p);
    routing_rules_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->count; i++) {
            for (size_t j = 0; j < self->rules [i].count; j++)
                s_condition_free (&self->rules [i].conditions [j]);
            free (self->rules [i].conditions);
            free (self->rules [i].variant);
        }
        free (self->rules);
        free (self->default_variant);
        free (self);
        *self_p = NULL;
    }
}

static bool
s_identifier (const char *text)
{
    if (!isalpha ((unsigned char) *text))
        return false;
    for (const char *p = text; *p; p++)
        if (!isalnum ((unsigned char) *p) && *p != '_')
            return false;
    return true;
}

//  Check that variant exists for the procedure's route action (its route
//  meaning)
static const char *
s_check_variant (hl_procedure_t *procedure, const char *variant)
{
    if (!s_identifier (variant))
        return "a variant is a name (letters, digits, _)";
    if (!procedure)
        return NULL;
    const char *route = hl_procedure_meaning (procedure, "route", NULL);
    const char *states [256];
    size_t count = hl_procedure_states (procedure, states, 256);
    for (size_t i = 0; route && i < count; i++) {
        const char *to = NULL;
        int rc = hl_procedure_check (procedure, states [i], route, variant, "system", &to);
        if (rc != HL_NOT_FOUND)
            return NULL;
    }
    //  A message, not a report: loading is single-threaded, at start
    static char message [128];
    snprintf (message, sizeof message, "the procedure has no action '%s' with this variant",
              route? route: "route");
    return message;
}

//  Parse "key=v1,v2" into condition. NULL or an error message.
static const char *
s_parse_condition (char *token, s_condition_t *condition)
{
    char *equals = strchr (token, '=');
    if (!equals)
        return "a condition is key=value (type, scope, sudden, urgent, polluter_category, keyword)";
    *equals = 0;
    char *value = equals + 1;
    int key = -1;
    for (int i = 0; s_key_names [i]; i++)
        if (streq (s_key_names [i], token))
            key = i;
    if (key < 0)
        return "unknown condition (type, scope, sudden, urgent, polluter_category, keyword)";
    condition->key = (s_key_t) key;
    if (!*value)
        return "empty value";
    //  Split on commas
    size_t count = 1;
    for (char *p = value; *p; p++)
        count += *p == ',';
    condition->values = (char **) zmalloc (count * sizeof (char *));
    if (condition->key == S_KEYWORD)
        condition->folded = (char **) zmalloc (count * sizeof (char *));
    char *start = value;
    for (size_t i = 0; i < count; i++) {
        char *comma = strchr (start, ',');
        if (comma)
            *comma = 0;
        condition->values [i] = hl_strdup (start);
        condition->count = i + 1;
        if (condition->key == S_KEYWORD)
            condition->folded [i] = routing_fold (start);
        start = comma? comma + 1: start + strlen (start);
    }
    for (size_t i = 0; i < condition->count; i++) {
        const char *item = condition->values [i];
        if (!*item)
            return "empty item in a list (lists are comma separated, no spaces)";
        switch (condition->key) {
            case S_TYPE:
                if (hl_type_parse (item) < 0)
                    return "unknown pollution type (waste_water, air_emissions, solid_waste, "
                           "noise, odour, soil, other)";
                break;
            case S_SCOPE:
                if (hl_scope_parse (item) < 0)
                    return "unknown scope (within_ward, several_wards, beyond_city)";
                break;
            case S_SUDDEN:
            case S_URGENT:
                if (condition->count != 1)
                    return "a yes/no condition takes one value";
                if (streq (item, "yes") || streq (item, "true"))
                    condition->flag = true;
                else
                if (streq (item, "no") || streq (item, "false"))
                    condition->flag = false;
                else
                    return "expected yes or no";
                break;
            case S_CATEGORY:
                if (!s_identifier (item))
                    return "a polluter category is a name (letters, digits, _)";
                break;
            case S_KEYWORD:
                if (!hl_utf8_valid (item, strlen (item)))
                    return "keyword is not valid UTF-8";
                //  It is quoted in the route command's reason: text intake takes
                if (hl_text_check (item, HL_MAX_FIELD))
                    return "keyword holds control characters or is longer than 300 bytes";
                break;
        }
    }
    return NULL;
}

routing_rules_t *
routing_rules_load (const char *path, hl_procedure_t *procedure, char *err, size_t errsize)
{
    assert (path);
    hl_lexer_t *lexer = hl_lexer_new (path, &s_syntax, err, errsize);
    if (!lexer)
        return NULL;
    routing_rules_t *self = (routing_rules_t *) zmalloc (sizeof (routing_rules_t));
    const char *error = NULL;
    while (!error && hl_lexer_next (lexer) == 1) {
        ssize_t count = hl_lexer_words (lexer, 0);
        if (count <= 0) {
            if (count < 0)
                break;              //  reported
            continue;
        }
        const char *keyword = hl_lexer_word (lexer, 0);
        const char *variant = hl_lexer_word (lexer, 1);
        if (streq (keyword, "default")) {
            if (count != 2)
                error = "expected: default VARIANT";
            else
            if (self->default_variant)
                error = "a second default";
            else
            if (!(error = s_check_variant (procedure, variant)))
                self->default_variant = hl_strdup (variant);
        }
        else
        if (streq (keyword, "rule")) {
            if (count < 3) {
                error = "expected: rule VARIANT CONDITION... (a rule that always matches is the default)";
                break;
            }
            if ((error = s_check_variant (procedure, variant)))
                break;
            //  hl_realloc aborts rather than return NULL: a plain realloc's
            //  NULL assigned over self->rules lost every rule parsed so far
            self->rules = (s_rule_t *) hl_realloc (self->rules, (self->count + 1) * sizeof (s_rule_t));
            s_rule_t *rule = &self->rules [self->count++];
            memset (rule, 0, sizeof *rule);
            rule->number = (int) self->count;
            rule->variant = hl_strdup (variant);
            rule->conditions = (s_condition_t *) zmalloc ((size_t) (count - 2) * sizeof (s_condition_t));
            for (ssize_t i = 2; i < count && !error; i++) {
                rule->count++;
                char *condition = hl_strdup (hl_lexer_word (lexer, (size_t) i));
                error = s_parse_condition (condition, &rule->conditions [i - 2]);
                free (condition);
            }
        }
        else
            error = "expected 'rule' or 'default'";
    }
    if (error)
        hl_lexer_fail (lexer, hl_lexer_line (lexer), "%s", error);
    else
    if (!self->default_variant) {
        //  A whole-file error names the last line, as procedure.conf's do
        size_t last = hl_lexer_line (lexer);
        hl_lexer_fail (lexer, last? last: 1, "no 'default VARIANT' line");
    }
    if (hl_lexer_failed (lexer))
        routing_rules_destroy (&self);
    hl_lexer_destroy (&lexer);
    return self;
}

size_t
routing_rules_count (routing_rules_t *self)
{
    return self->count;
}

//  --------------------------------------------------------------------------
//  Deciding

//  Does the condition hold? Writes the value that matched into what.
static bool
s_match (const s_condition_t *condition, const routing_facts_t *facts, const char *folded,
         const char **what)
{
    const char *fact = NULL;
    switch (condition->key) {
        case S_SUDDEN:
            *what = condition->values [0];
            return facts->sudden == condition->flag;
        case S_URGENT:
            *what = condition->values [0];
            return facts->urgent == condition->flag;
        case S_TYPE:     fact = facts->type; break;
        case S_SCOPE:    fact = facts->scope; break;
        case S_CATEGORY: fact = facts->polluter_category; break;
        case S_KEYWORD:
            for (size_t i = 0; i < condition->count; i++)
                if (strstr (folded, condition->folded [i])) {
                    *what = condition->values [i];
                    return true;
                }
            return false;
    }
    if (!fact || !*fact)
        return false;
    for (size_t i = 0; i < condition->count; i++)
        if (streq (fact, condition->values [i])) {
            *what = condition->values [i];
            return true;
        }
    return false;
}

const char *
routing_rules_decide (routing_rules_t *self, const routing_facts_t *facts, char *reason, size_t size)
{
    char *folded = NULL;
    const char *variant = NULL;
    for (size_t i = 0; i < self->count && !variant; i++) {
        const s_rule_t *rule = &self->rules [i];
        for (size_t j = 0; j < rule->count && !folded; j++)
            if (rule->conditions [j].key == S_KEYWORD)
                folded = routing_fold (facts->description);
        size_t used = (size_t) snprintf (reason, size, "rule %d:", rule->number);
        bool all = true;
        for (size_t j = 0; j < rule->count && all; j++) {
            const s_condition_t *condition = &rule->conditions [j];
            const char *what = "";
            all = s_match (condition, facts, folded, &what);
            if (all && used < size) {
                const char *quote = condition->key == S_KEYWORD? "\"": "";
                used += (size_t) snprintf (reason + used, size - used, "%s %s %s%s%s",
                                           j? ",": "", s_key_names [condition->key],
                                           quote, what, quote);
            }
        }
        if (all)
            variant = rule->variant;
    }
    free (folded);
    if (!variant) {
        variant = self->default_variant;
        snprintf (reason, size, "default: no rule matched");
    }
    //  The reason is an argument of the route command: intake takes at
    //  most HL_MAX_FIELD bytes of UTF-8 text there
    if (strlen (reason) > HL_MAX_FIELD) {
        size_t cut = HL_MAX_FIELD;
        while (cut > 0 && ((unsigned char) reason [cut] & 0xC0) == 0x80)
            cut--;
        reason [cut] = 0;
    }
    hl_utf8_scrub (reason);         //  a keyword cut by the buffer's end
    return variant;
}

//  --------------------------------------------------------------------------
//  Selftest (hotline-routing --selftest)

//  Load size bytes of text (0: up to its NUL) as dir/routing.conf
static routing_rules_t *
s_test_load_size (const char *dir, const char *text, size_t size, char *err, size_t errsize)
{
    char path [256];
    snprintf (path, sizeof path, "%s/routing.conf", dir);
    FILE *file = fopen (path, "w");
    assert (file);
    if (size == 0)
        size = strlen (text);
    assert (fwrite (text, 1, size, file) == size);
    fclose (file);
    return routing_rules_load (path, NULL, err, errsize);
}

static routing_rules_t *
s_test_load (const char *dir, const char *text, char *err, size_t errsize)
{
    return s_test_load_size (dir, text, 0, err, errsize);
}

void
routing_rules_test (bool verbose)
{
    printf (" * routing_rules: ");
    //  Folding
    char *folded = routing_fold ("TRÀN DẦU Ở SÔNG ĐÀO, Ơ Ư Ỹ ABC xyz Ñ Ж");
    assert (streq (folded, "tràn dầu ở sông đào, ơ ư ỹ abc xyz ñ ж"));
    free (folded);
    folded = routing_fold ("bad \xff byte");
    assert (streq (folded, "bad \xff byte"));
    free (folded);

    char dir [] = "/tmp/routing_rules_XXXXXX";
    assert (mkdtemp (dir));
    char err [256];
    routing_rules_t *rules = s_test_load (dir,
        "# test rules\n"
        "rule department scope=several_wards,beyond_city\n"
        "rule department polluter_category=licensed_facility,industrial_zone   # big ones\n"
        "rule department type=waste_water sudden=yes keyword=\"tràn dầu,cá chết\"\n"
        "rule ward       urgent=yes\n"
        "default ward\n", err, sizeof err);
    if (!rules)
        printf ("%s ", err);
    assert (rules);
    assert (routing_rules_count (rules) == 4);
    char reason [200];
    routing_facts_t facts = { "noise", "within_ward", "household", "Karaoke ồn ào", false, false };
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "ward"));
    assert (streq (reason, "default: no rule matched"));
    facts.scope = "beyond_city";
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "department"));
    assert (streq (reason, "rule 1: scope beyond_city"));
    facts.scope = "";
    facts.polluter_category = "industrial_zone";
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "department"));
    assert (streq (reason, "rule 2: polluter_category industrial_zone"));
    facts.polluter_category = "";
    facts.type = "waste_water";
    facts.sudden = true;
    facts.description = "Phát hiện CÁ CHẾT trên kênh";
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "department"));
    assert (streq (reason, "rule 3: type waste_water, sudden yes, keyword \"cá chết\""));
    facts.sudden = false;           //  not all conditions hold
    facts.urgent = true;
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "ward"));
    assert (streq (reason, "rule 4: urgent yes"));
    routing_rules_destroy (&rules);

    //  Errors name the file and line: "path:line: message"
    struct {
        const char *text;
        int line;
        const char *message;
        size_t size;                //  0: up to the NUL
    } bad [] = {
        { "rule department scope=galaxy\ndefault ward\n", 1, "unknown scope", 0 },
        { "default ward\nrule department\n", 2, "expected: rule VARIANT", 0 },
        { "default ward\nrule department colour=red\n", 2, "unknown condition", 0 },
        { "default ward\nrule department sudden=maybe\n", 2, "expected yes or no", 0 },
        { "default ward\nrule department keyword=\"open\n", 2, "unterminated quoted text", 0 },
        { "default ward\nroute department\n", 2, "expected 'rule' or 'default'", 0 },
        { "rule department type=noise\n# end\n", 2, "no 'default VARIANT' line", 0 },
        { "", 1, "no 'default VARIANT' line", 0 },
        { "default ward\ndefault department\n", 2, "a second default", 0 },
        { "default ward\nrule department type=noise,,odour\n", 2, "empty item", 0 },
        { "default ward\nrule -bad type=noise\n", 2, "a variant is a name", 0 },
        { "default ward\n\nrule department keyword=\xC3\x28\n", 3, "invalid UTF-8", 0 },
        { "default ward\nrule department keyword=\"a\x07\"\n", 2, "control characters", 0 },
        { "default ward\nrule department keyword=a\0b\n", 2, "control character (byte 0x00)", 41 },
        { NULL, 0, NULL, 0 }
    };
    char where [300];
    for (int i = 0; bad [i].text; i++) {
        rules = s_test_load_size (dir, bad [i].text, bad [i].size, err, sizeof err);
        if (verbose)
            printf ("\n   %s", err);
        assert (rules == NULL);
        snprintf (where, sizeof where, "%s/routing.conf:%d: ", dir, bad [i].line);
        if (strncmp (err, where, strlen (where)) || !strstr (err, bad [i].message))
            printf ("\nexpected %s...%s, got: %s\n", where, bad [i].message, err);
        assert (strncmp (err, where, strlen (where)) == 0 && strstr (err, bad [i].message));
    }
    //  Too many fields; a line too long
    {
        char *text = (char *) zmalloc (S_MAX_LINE + 64);
        strcpy (text, "default ward\nrule department");
        for (int i = 0; i < S_MAX_TOKENS - 1; i++)
            strcat (text, " urgent=yes");
        rules = s_test_load (dir, text, err, sizeof err);
        assert (!rules && strstr (err, "routing.conf:2: too many fields (at most 64)"));
        memset (text, 'x', S_MAX_LINE + 1);
        text [0] = '#';
        text [S_MAX_LINE + 1] = 0;
        rules = s_test_load (dir, text, err, sizeof err);
        assert (!rules && strstr (err, "routing.conf:1: line too long (4097 bytes, at most 4096)"));
        free (text);
    }
    assert (routing_rules_load ("/nonexistent/routing.conf", NULL, err, sizeof err) == NULL);
    assert (strstr (err, "/nonexistent/routing.conf: cannot open: "));
    //  CRLF, a byte order mark, a control character in a comment, as before
    rules = s_test_load (dir, "\xEF\xBB\xBF# rules\x0C\r\nrule department keyword=\"a \\\"b\\\"\"\r\n"
                         "default ward\r\n", err, sizeof err);
    assert (rules && routing_rules_count (rules) == 1);
    facts.description = "x a \"B\" y";
    assert (streq (routing_rules_decide (rules, &facts, reason, sizeof reason), "department"));
    assert (streq (reason, "rule 1: keyword \"a \"b\"\""));
    routing_rules_destroy (&rules);

    //  The default rules file loads against the default procedure
    char perr [512];
    hl_procedure_t *procedure = hl_procedure_load ("deploy/config/procedure.conf", perr, sizeof perr);
    if (procedure) {
        rules = routing_rules_load ("deploy/config/routing.conf", procedure, err, sizeof err);
        if (!rules)
            printf ("%s ", err);
        assert (rules);
        routing_rules_destroy (&rules);
        //  A variant the procedure does not know is refused
        rules = s_test_load (dir, "default nowhere\n", err, sizeof err);
        assert (rules);             //  without a procedure any name goes
        routing_rules_destroy (&rules);
        char path [256];
        snprintf (path, sizeof path, "%s/routing.conf", dir);
        rules = routing_rules_load (path, procedure, err, sizeof err);
        assert (rules == NULL && strstr (err, "no action 'route'"));
        hl_procedure_destroy (&procedure);
    }
    char cmd [96];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("\n   ");
    printf ("OK\n");
}
