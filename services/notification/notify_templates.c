/*  notify_templates — the message texts. See notify_templates.h.  */
#include "hotline.h"
#include "notify_templates.h"

#define S_MAX_FILE      (256 * 1024)
#define S_MAX_NAME      64

struct _notify_templates_t {
    zlistx_t *templates;        //  notify_template_t *, owned
    zhashx_t *by_name;          //  name -> notify_template_t *
    zhashx_t *labels;           //  key -> text (owned)
};

static const char *s_placeholders [] = {
    "case_id",          //  31001-2026-000001
    "type",             //  pollution type, Vietnamese label
    "location",         //  where (as reported)
    "description",      //  what (as reported)
    "state",            //  state label after the event
    "deadline",         //  deadline label (deadline events)
    "due",              //  deadline due time (deadline events)
    "note",             //  the event's note (result, verification ...)
    "ward_name",        //  node/ward_name
    "received",         //  when the case was received
    "regime",           //  regime label (Thường / Khẩn)
    "action",           //  action label
    NULL
};

const char **
notify_templates_placeholders (void)
{
    return s_placeholders;
}

static bool
s_known (const char *name, size_t len)
{
    for (const char **p = s_placeholders; *p; p++)
        if (strlen (*p) == len && memcmp (*p, name, len) == 0)
            return true;
    return false;
}

//  If text [0] starts "{name}", returns the name length and sets *name.
static size_t
s_placeholder_at (const char *text, const char **name)
{
    if (*text != '{')
        return 0;
    const char *p = text + 1;
    while ((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9'))
        p++;
    if (*p != '}' || p == text + 1 || p - text - 1 > S_MAX_NAME)
        return 0;
    *name = text + 1;
    return (size_t) (p - text - 1);
}

static void
s_template_free (void **item)
{
    notify_template_t *tmpl = (notify_template_t *) *item;
    if (tmpl) {
        free ((char *) tmpl->name);
        free ((char *) tmpl->subject);
        free ((char *) tmpl->sms);
        free ((char *) tmpl->body);
        free (tmpl);
        *item = NULL;
    }
}

static bool
s_name_valid (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > S_MAX_NAME || !islower ((unsigned char) *name))
        return false;
    for (const char *p = name; *p; p++)
        if (!islower ((unsigned char) *p) && !isdigit ((unsigned char) *p) && *p != '_' && *p != '.')
            return false;
    return true;
}

//  Check placeholders in text: NULL if fine, else the bad name (static buf)
static const char *
s_check_text (const char *text)
{
    static char bad [S_MAX_NAME + 1];
    for (const char *p = text; *p; p++) {
        const char *name;
        size_t len = s_placeholder_at (p, &name);
        if (len && !s_known (name, len)) {
            snprintf (bad, sizeof bad, "%.*s", (int) len, name);
            return bad;
        }
    }
    return NULL;
}

//  The file's syntax, for hl_lexer (the lexer of every configuration
//  language, which checks each line's UTF-8 and splits it into words): no
//  quotes, a text is the rest of its line as written; '#' starts a comment
//  line, only at the start of a line (and not in a body: a body is
//  verbatim); control characters are let through, as a body may hold them
//  and a one-line text is rendered with them turned into spaces; no limit
//  on a line but the file's
static const hl_lexer_syntax_t s_syntax = {
    .max_file = S_MAX_FILE,
    .max_line = 0,
    .max_words = 0,
    .quotes = HL_LEXER_QUOTES_NONE,
    .comment_anywhere = false,
    .controls = true
};

notify_templates_t *
notify_templates_load (const char *path, char *err, size_t errsize)
{
    hl_lexer_t *lexer = hl_lexer_new (path, &s_syntax, err, errsize);
    if (!lexer)
        return NULL;            //  "path: cannot open ..." reported
    notify_templates_t *self = (notify_templates_t *) zmalloc (sizeof (notify_templates_t));
    self->templates = zlistx_new ();
    zlistx_set_destructor (self->templates, s_template_free);
    self->by_name = zhashx_new ();
    self->labels = zhashx_new ();
    zhashx_set_destructor (self->labels, (zhashx_destructor_fn *) zstr_free);

    notify_template_t *current = NULL;
    bool in_body = false;
    size_t body_line = 0;
    zchunk_t *body = NULL;
    size_t lineno = 0;
#   define FAIL(...) do { hl_lexer_fail (lexer, lineno, __VA_ARGS__); goto done; } while (0)
    while (hl_lexer_next (lexer) == 1) {
        lineno = hl_lexer_line (lexer);
        const char *line = hl_lexer_text (lexer);
        if (in_body) {
            if (streq (line, ".")) {
                in_body = false;
                zchunk_extend (body, "", 1);
                //  Drop the final newline
                char *text = (char *) zchunk_data (body);
                size_t text_len = strlen (text);
                if (text_len && text [text_len - 1] == '\n')
                    text [text_len - 1] = 0;
                current->body = hl_strdup (text);
                zchunk_destroy (&body);
                const char *bad = s_check_text (current->body);
                if (bad) {
                    lineno = body_line;
                    FAIL ("unknown placeholder {%s} in the body of '%s'", bad, current->name);
                }
                continue;
            }
            const char *text = line [0] == '.' && line [1] == '.'? line + 1: line;
            zchunk_extend (body, text, strlen (text));
            zchunk_extend (body, "\n", 1);
            continue;
        }
        //  KEYWORD REST: REST is the rest of the line, blanks trimmed
        ssize_t count = hl_lexer_words (lexer, 2);
        if (count <= 0)
            continue;           //  a blank or comment line
        const char *keyword = hl_lexer_word (lexer, 0);
        const char *rest = count > 1? hl_lexer_word (lexer, 1): "";
        if (streq (keyword, "template")) {
            if (!s_name_valid (rest))
                FAIL ("template name '%.*s' is not valid (a-z, 0-9, '_', '.')",
                      HL_LEXER_CLIP (rest, S_MAX_NAME));
            if (zhashx_lookup (self->by_name, rest))
                FAIL ("template '%s' is declared twice", rest);
            current = (notify_template_t *) zmalloc (sizeof (notify_template_t));
            current->name = hl_strdup (rest);
            current->line = lineno;
            zlistx_add_end (self->templates, current);
            zhashx_insert (self->by_name, current->name, current);
        }
        else
        if (streq (keyword, "label")) {
            //  label KEY TEXT
            if (hl_lexer_words (lexer, 3) != 3)
                FAIL ("'label' takes a key and a text");
            zhashx_update (self->labels, hl_lexer_word (lexer, 1),
                           hl_strdup (hl_lexer_word (lexer, 2)));
        }
        else
        if (streq (keyword, "subject") || streq (keyword, "sms")) {
            if (!current)
                FAIL ("'%s' outside a template", keyword);
            if (!*rest)
                FAIL ("empty %s in '%s'", keyword, current->name);
            const char **field = streq (keyword, "subject")? &current->subject: &current->sms;
            if (*field)
                FAIL ("second '%s' in '%s'", keyword, current->name);
            const char *bad = s_check_text (rest);
            if (bad)
                FAIL ("unknown placeholder {%s} in '%s'", bad, current->name);
            *field = hl_strdup (rest);
        }
        else
        if (streq (keyword, "body")) {
            if (!current)
                FAIL ("'body' outside a template");
            if (current->body)
                FAIL ("second 'body' in '%s'", current->name);
            if (*rest)
                FAIL ("the body starts on the line after 'body'");
            in_body = true;
            body_line = lineno;
            body = zchunk_new (NULL, 256);
        }
        else
            FAIL ("unknown keyword '%.*s' (template, subject, sms, body, label)",
                  HL_LEXER_CLIP (keyword, 32));
    }
    if (hl_lexer_failed (lexer))
        goto done;              //  a line the lexer refused
    if (in_body) {
        lineno = body_line;
        FAIL ("body of '%s' has no closing line \".\"", current->name);
    }
    for (notify_template_t *tmpl = (notify_template_t *) zlistx_first (self->templates);
         tmpl; tmpl = (notify_template_t *) zlistx_next (self->templates)) {
        if (!tmpl->subject) {
            lineno = tmpl->line;
            FAIL ("template '%s' has no subject", tmpl->name);
        }
        if (!tmpl->sms)
            tmpl->sms = hl_strdup (tmpl->subject);
        if (!tmpl->body)
            tmpl->body = hl_strdup (tmpl->subject);
    }
done:
#   undef FAIL
    zchunk_destroy (&body);
    if (hl_lexer_failed (lexer))
        notify_templates_destroy (&self);
    hl_lexer_destroy (&lexer);
    return self;
}

void
notify_templates_destroy (notify_templates_t **self_p)
{
    assert (self_p);
    notify_templates_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->by_name);
        zhashx_destroy (&self->labels);
        zlistx_destroy (&self->templates);
        free (self);
        *self_p = NULL;
    }
}

const notify_template_t *
notify_templates_find (notify_templates_t *self, const char *name, const char *recipient)
{
    if (!name)
        return NULL;
    if (recipient && *recipient) {
        char key [2 * S_MAX_NAME + 2];
        snprintf (key, sizeof key, "%s.%s", name, recipient);
        notify_template_t *tmpl = (notify_template_t *) zhashx_lookup (self->by_name, key);
        if (tmpl)
            return tmpl;
    }
    return (notify_template_t *) zhashx_lookup (self->by_name, name);
}

const char *
notify_templates_label (notify_templates_t *self, const char *key)
{
    return key? (const char *) zhashx_lookup (self->labels, key): NULL;
}

static const char *
s_uses_other (const char *text, const char **allowed)
{
    for (const char *p = text; *p; p++) {
        const char *name;
        size_t len = s_placeholder_at (p, &name);
        if (!len)
            continue;
        bool ok = false;
        for (const char **a = allowed; *a && !ok; a++)
            ok = strlen (*a) == len && memcmp (*a, name, len) == 0;
        if (!ok) {
            for (const char **known = s_placeholders; *known; known++)
                if (strlen (*known) == len && memcmp (*known, name, len) == 0)
                    return *known;
        }
    }
    return NULL;
}

const char *
notify_templates_uses_other (const notify_template_t *tmpl, const char **allowed)
{
    const char *other = s_uses_other (tmpl->subject, allowed);
    if (!other)
        other = s_uses_other (tmpl->sms, allowed);
    if (!other)
        other = s_uses_other (tmpl->body, allowed);
    return other;
}

//  Append, optionally turning control characters into spaces
static void
s_append (zchunk_t *out, const char *text, size_t len, bool single_line)
{
    if (!single_line) {
        zchunk_extend (out, text, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char c = (unsigned char) text [i] < 0x20 || text [i] == 0x7f? ' ': text [i];
        zchunk_extend (out, &c, 1);
    }
}

char *
notify_templates_render (const char *text, notify_value_fn *fn, void *arg,
                         bool single_line, size_t max)
{
    zchunk_t *out = zchunk_new (NULL, strlen (text) + 64);
    const char *p = text;
    while (*p) {
        const char *name;
        size_t len = s_placeholder_at (p, &name);
        if (len && s_known (name, len)) {
            char key [S_MAX_NAME + 1];
            snprintf (key, sizeof key, "%.*s", (int) len, name);
            const char *value = fn (arg, key);
            if (value)
                s_append (out, value, strlen (value), single_line);
            p += len + 2;
        }
        else {
            s_append (out, p, 1, single_line);
            p++;
        }
    }
    zchunk_extend (out, "", 1);
    char *result = hl_strdup ((char *) zchunk_data (out));
    zchunk_destroy (&out);
    if (max && strlen (result) > max) {
        //  Cut at a character boundary, leaving room for "…" (3 bytes)
        size_t cut = max > 3? max - 3: 0;
        while (cut > 0 && ((unsigned char) result [cut] & 0xC0) == 0x80)
            cut--;
        memcpy (result + cut, "\xE2\x80\xA6", 4);
    }
    return result;
}

//  --------------------------------------------------------------------------
//  Selftest

static const char *
s_test_value (void *arg, const char *name)
{
    (void) arg;
    if (streq (name, "case_id"))
        return "31001-2026-000001";
    if (streq (name, "location"))
        return "Ngõ 5\nAn Biên";
    return NULL;
}

static int
s_test_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fputs (text, file);
    fclose (file);
    return 0;
}

void
notify_templates_test (bool verbose)
{
    printf (" * notify_templates: ");
    char path [] = "/tmp/notify_templates_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    char err [400];
    assert (s_test_write (path,
        "# test\n"
        "label regime.urgent Khẩn\n"
        "template intake\n"
        "subject Phản ánh mới {case_id} tại {location}\n"
        "body\n"
        "Mã: {case_id}\n"
        "..dot\n"
        "Vị trí: {location} {Not} {note}\n"
        ".\n"
        "template result.reporter\n"
        "subject Kết quả {case_id}\n"
        "sms KQ {case_id}: {note}\n") == 0);
    notify_templates_t *templates = notify_templates_load (path, err, sizeof err);
    assert (templates);
    assert (streq (notify_templates_label (templates, "regime.urgent"), "Khẩn"));
    assert (notify_templates_label (templates, "regime.normal") == NULL);
    const notify_template_t *tmpl = notify_templates_find (templates, "intake", "leaders");
    assert (tmpl && streq (tmpl->name, "intake"));
    assert (streq (tmpl->sms, tmpl->subject));
    char *subject = notify_templates_render (tmpl->subject, s_test_value, NULL, true, 0);
    assert (streq (subject, "Phản ánh mới 31001-2026-000001 tại Ngõ 5 An Biên"));
    free (subject);
    char *body = notify_templates_render (tmpl->body, s_test_value, NULL, false, 0);
    assert (streq (body, "Mã: 31001-2026-000001\n.dot\nVị trí: Ngõ 5\nAn Biên {Not} "));
    free (body);
    //  Cut at a character boundary
    char *cut = notify_templates_render ("ắắắắ", s_test_value, NULL, true, 8);
    assert (streq (cut, "ắ…"));
    free (cut);
    //  Recipient-specific variant, and the reporter whitelist check
    assert (streq (notify_templates_find (templates, "result", "reporter")->name, "result.reporter"));
    assert (notify_templates_find (templates, "result", "leaders") == NULL);
    const char *allowed [] = { "case_id", "note", NULL };
    assert (notify_templates_uses_other (notify_templates_find (templates, "result", "reporter"),
                                         allowed) == NULL);
    const char *used = notify_templates_uses_other (tmpl, allowed);
    assert (used && streq (used, "location"));
    notify_templates_destroy (&templates);

    //  Errors name the file and line
    assert (s_test_write (path, "template a\nsubject {case_id} {typo}\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":2: unknown placeholder {typo}"));
    assert (s_test_write (path, "template a\nsubject x\nbody\nno end\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":3: body of 'a' has no closing line"));
    assert (s_test_write (path, "template a\n\ntemplate b\nsubject x\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":1: template 'a' has no subject"));
    assert (s_test_write (path, "subject x\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":1: 'subject' outside a template"));
    assert (s_test_write (path, "template a\nsubject x\ntemplate a\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":3: template 'a' is declared twice"));
    assert (s_test_write (path, "template a\nsubject \xC3\x28\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":2: invalid UTF-8"));
    assert (s_test_write (path, "template a\nsubject x\nlabel regime.urgent\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":3: 'label' takes a key and a text"));
    assert (s_test_write (path, "template a\nsubject x\nSubject y\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strstr (err, ":3: unknown keyword 'Subject'"));
    //  Every error is "path:line: message", the first line 1
    char where [300];
    snprintf (where, sizeof where, "%s:1: template name", path);
    assert (s_test_write (path, "template A\n") == 0);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    assert (strncmp (err, where, strlen (where)) == 0);
    //  CRLF, a byte order mark; '#' starts a comment only at the start of
    //  a line; a body is verbatim
    assert (s_test_write (path, "\xEF\xBB\xBF# test\r\n  # indented\r\n"
                                "label  case.x   Vụ #1 \r\n"
                                "template a\r\nsubject  Vụ #{case_id}  \r\nbody\r\n"
                                "# not a comment\r\n\r\n\tindented\r\n.\r\n") == 0);
    templates = notify_templates_load (path, err, sizeof err);
    if (!templates)
        printf ("%s\n", err);
    assert (templates);
    assert (streq (notify_templates_label (templates, "case.x"), "Vụ #1"));
    tmpl = notify_templates_find (templates, "a", NULL);
    assert (tmpl && streq (tmpl->subject, "Vụ #{case_id}"));
    assert (streq (tmpl->body, "# not a comment\n\n\tindented"));
    notify_templates_destroy (&templates);
    //  A file too large
    {
        FILE *file = fopen (path, "w");
        assert (file);
        for (size_t i = 0; i < S_MAX_FILE / 64 + 1; i++)
            fputs ("#23456789012345678901234567890123456789012345678901234567890123\n", file);
        fclose (file);
        assert (notify_templates_load (path, err, sizeof err) == NULL);
        snprintf (where, sizeof where, "%s: file too large (more than %d bytes)", path, S_MAX_FILE);
        assert (streq (err, where));
    }
    unlink (path);
    assert (notify_templates_load (path, err, sizeof err) == NULL);
    snprintf (where, sizeof where, "%s: cannot open: ", path);
    assert (strncmp (err, where, strlen (where)) == 0);
    if (verbose)
        printf ("(%s) ", err);
    printf ("OK\n");
}
