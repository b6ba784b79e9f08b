/*  hl_lexer — the one lexer of the configuration languages. See hl_lexer.h.
 *
 *  How to read this file: reading (a file or a string), the error function,
 *  lines (hl_lexer_next: the checks every language shares), words
 *  (hl_lexer_words: the three quote styles), then the selftest, which
 *  makes every error happen once.
 */
#include "hotline.h"

struct _hl_lexer_t {
    char *path;
    hl_lexer_syntax_t syntax;
    char *err;                  //  the caller's, may be NULL
    size_t errsize;
    bool failed;                //  first error wins
    char *data;                 //  the whole file, one byte more for a NUL
    size_t size;
    size_t at;                  //  where the next line starts
    size_t number;              //  the current line's number
    char *text;                 //  the current line, NUL-terminated in data
    size_t len;
    char *buf;                  //  the words' bytes, each NUL-terminated
    size_t bufsize;
    char **words;
    bool *quoted;
    size_t nwords;
    size_t cwords;
};


//  --------------------------------------------------------------------------
//  Reading

//  A whole-file error, before there is a lexer: "path: message"
static void
s_file_error (const char *path, char *err, size_t errsize, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_file_error (const char *path, char *err, size_t errsize, const char *format, ...)
{
    if (!err || !errsize)
        return;
    char message [512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    snprintf (err, errsize, "%s: %s", path, message);
}

//  A lexer over data (size bytes, data [size] writable), which it takes
static hl_lexer_t *
s_new (const char *path, char *data, size_t size, const hl_lexer_syntax_t *syntax,
       char *err, size_t errsize)
{
    hl_lexer_t *self = (hl_lexer_t *) zmalloc (sizeof (hl_lexer_t));
    self->path = hl_strdup (path);
    self->syntax = *syntax;
    self->err = err;
    self->errsize = errsize;
    self->data = data;
    self->size = size;
    self->data [size] = 0;
    if (err && errsize)
        *err = 0;
    return self;
}

hl_lexer_t *
hl_lexer_new (const char *path, const hl_lexer_syntax_t *syntax, char *err, size_t errsize)
{
    assert (path && syntax && syntax->max_file > 0);
    FILE *file = fopen (path, "rb");
    if (!file) {
        s_file_error (path, err, errsize, "cannot open: %s", strerror (errno));
        return NULL;
    }
    //  Read at most max_file + 1 bytes (one more tells "too large"),
    //  growing the buffer as the file turns out larger
    size_t limit = syntax->max_file + 1;
    size_t capacity = limit < 16 * 1024? limit: 16 * 1024;
    char *data = (char *) hl_realloc (NULL, capacity + 1);
    size_t size = 0;
    while (true) {
        size_t want = capacity - size;
        size_t got = fread (data + size, 1, want, file);
        size += got;
        if (got < want || size >= limit)
            break;
        capacity = capacity * 2 > limit? limit: capacity * 2;
        data = (char *) hl_realloc (data, capacity + 1);
    }
    bool error = ferror (file);
    int saved_errno = errno;
    fclose (file);
    if (error) {
        free (data);
        s_file_error (path, err, errsize, "cannot read: %s", strerror (saved_errno));
        return NULL;
    }
    if (size > syntax->max_file) {
        free (data);
        s_file_error (path, err, errsize, "file too large (more than %zu bytes)", syntax->max_file);
        return NULL;
    }
    return s_new (path, data, size, syntax, err, errsize);
}

hl_lexer_t *
hl_lexer_new_text (const char *path, const char *text, size_t size,
                   const hl_lexer_syntax_t *syntax, char *err, size_t errsize)
{
    assert (path && (text || !size) && syntax && syntax->max_file > 0);
    if (size > syntax->max_file) {
        s_file_error (path, err, errsize, "file too large (more than %zu bytes)", syntax->max_file);
        return NULL;
    }
    char *data = (char *) hl_realloc (NULL, size + 1);
    if (size)
        memcpy (data, text, size);
    return s_new (path, data, size, syntax, err, errsize);
}

void
hl_lexer_destroy (hl_lexer_t **self_p)
{
    assert (self_p);
    hl_lexer_t *self = *self_p;
    if (self) {
        free (self->path);
        free (self->data);
        free (self->buf);
        free (self->words);
        free (self->quoted);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Errors: the one place that writes "path:line: message"

int
hl_lexer_fail (hl_lexer_t *self, size_t line, const char *format, ...)
{
    assert (self);
    if (self->failed)
        return -1;
    self->failed = true;
    if (self->err && self->errsize) {
        char message [512];
        va_list args;
        va_start (args, format);
        vsnprintf (message, sizeof message, format, args);
        va_end (args);
        if (line)
            snprintf (self->err, self->errsize, "%s:%zu: %s", self->path, line, message);
        else
            snprintf (self->err, self->errsize, "%s: %s", self->path, message);
    }
    return -1;
}

bool
hl_lexer_failed (hl_lexer_t *self)
{
    assert (self);
    return self->failed;
}

int
hl_lexer_clip (const char *text, size_t max)
{
    size_t len = strlen (text);
    if (len <= max)
        return (int) len;
    len = max;
    while (len > 0 && ((unsigned char) text [len] & 0xC0) == 0x80)
        len--;
    return (int) len;
}


//  --------------------------------------------------------------------------
//  Lines

int
hl_lexer_next (hl_lexer_t *self)
{
    assert (self);
    if (self->failed)
        return -1;
    self->text = NULL;
    self->nwords = 0;
    if (self->at >= self->size)
        return 0;
    char *text = self->data + self->at;
    char *end = (char *) memchr (text, '\n', self->size - self->at);
    size_t len = end? (size_t) (end - text): self->size - self->at;
    self->at += len + 1;
    self->number++;
    //  The limit counts a CRLF line's '\r', as the limit always has
    if (self->syntax.max_line && len > self->syntax.max_line)
        return hl_lexer_fail (self, self->number, "line too long (%zu bytes, at most %zu)",
                              len, self->syntax.max_line);
    if (len > 0 && text [len - 1] == '\r')
        len--;
    if (self->number == 1 && len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    //  hl_utf8_valid refuses a NUL too: a line with one is reported as the
    //  control character it is, below
    if (!memchr (text, 0, len) && !hl_utf8_valid (text, len))
        return hl_lexer_fail (self, self->number, "invalid UTF-8");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c == 0 || (!self->syntax.controls && ((c < 0x20 && c != '\t') || c == 0x7F)))
            return hl_lexer_fail (self, self->number, "control character (byte 0x%02X) in line", c);
    }
    text [len] = 0;         //  the '\r', the '\n', or data [size]
    self->text = text;
    self->len = len;
    return 1;
}

const char *
hl_lexer_text (hl_lexer_t *self)
{
    assert (self);
    return self->text? self->text: "";
}

size_t
hl_lexer_line (hl_lexer_t *self)
{
    assert (self);
    return self->number;
}


//  --------------------------------------------------------------------------
//  Words

static bool
s_blank (char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

//  Start a word at buf + pos
static void
s_word (hl_lexer_t *self, size_t pos, bool quoted)
{
    if (self->nwords == self->cwords) {
        self->cwords = self->cwords? self->cwords * 2: 16;
        self->words = (char **) hl_realloc (self->words, self->cwords * sizeof (char *));
        self->quoted = (bool *) hl_realloc (self->quoted, self->cwords * sizeof (bool));
    }
    self->words [self->nwords] = self->buf + pos;
    self->quoted [self->nwords] = quoted;
    self->nwords++;
}

ssize_t
hl_lexer_words (hl_lexer_t *self, size_t limit)
{
    assert (self);
    self->nwords = 0;
    if (self->failed)
        return -1;
    if (!self->text)
        return 0;
    const char *text = self->text;
    size_t len = self->len;
    const hl_lexer_syntax_t *syntax = &self->syntax;
    //  A word's bytes never outnumber the bytes it was read from, and each
    //  word read at least one byte for its NUL
    if (self->bufsize < len + 2) {
        self->bufsize = len + 2;
        self->buf = (char *) hl_realloc (self->buf, self->bufsize);
    }
    char *buf = self->buf;
    size_t pos = 0;
    size_t i = 0;
    size_t no = self->number;
    while (true) {
        while (i < len && s_blank (text [i]))
            i++;
        if (i >= len)
            break;
        if (text [i] == '#' && (syntax->comment_anywhere || self->nwords == 0))
            break;
        if (limit && self->nwords + 1 == limit) {
            //  The rest of the line, as it is
            size_t end = len;
            while (end > i && s_blank (text [end - 1]))
                end--;
            s_word (self, pos, false);
            memcpy (buf + pos, text + i, end - i);
            pos += end - i;
            buf [pos++] = 0;
            break;
        }
        if (syntax->max_words && self->nwords == syntax->max_words)
            return hl_lexer_fail (self, no, "too many fields (at most %zu)", syntax->max_words);
        bool ends_at_hash = syntax->comment_anywhere;
        if (syntax->quotes == HL_LEXER_QUOTES_FIELD && text [i] == '"') {
            s_word (self, pos, true);
            i++;
            while (true) {
                if (i >= len)
                    return hl_lexer_fail (self, no, "unterminated quoted text");
                char c = text [i];
                if (c == '"') {
                    i++;
                    break;
                }
                if (c == '\\') {
                    if (i + 1 < len && (text [i + 1] == '"' || text [i + 1] == '\\')) {
                        buf [pos++] = text [i + 1];
                        i += 2;
                        continue;
                    }
                    return hl_lexer_fail (self, no, "bad escape in quoted text "
                                          "(only \\\" and \\\\ are allowed)");
                }
                buf [pos++] = c;
                i++;
            }
            if (i < len && !s_blank (text [i]) && !(ends_at_hash && text [i] == '#'))
                return hl_lexer_fail (self, no, "quoted text must be followed by a space");
        }
        else
        if (syntax->quotes == HL_LEXER_QUOTES_INLINE) {
            s_word (self, pos, false);
            bool inside = false;
            while (i < len && (inside || !(s_blank (text [i]) || (ends_at_hash && text [i] == '#')))) {
                char c = text [i++];
                if (c == '"') {
                    inside = !inside;
                    self->quoted [self->nwords - 1] = true;
                    continue;
                }
                if (inside && c == '\\' && i < len && (text [i] == '"' || text [i] == '\\'))
                    c = text [i++];
                buf [pos++] = c;
            }
            if (inside)
                return hl_lexer_fail (self, no, "unterminated quoted text");
        }
        else {
            s_word (self, pos, false);
            while (i < len && !s_blank (text [i]) && !(ends_at_hash && text [i] == '#')) {
                if (text [i] == '"' && syntax->quotes == HL_LEXER_QUOTES_FIELD)
                    return hl_lexer_fail (self, no, "'\"' inside a word (quote the whole field)");
                buf [pos++] = text [i++];
            }
        }
        buf [pos++] = 0;
    }
    return (ssize_t) self->nwords;
}

const char *
hl_lexer_word (hl_lexer_t *self, size_t index)
{
    assert (self);
    return index < self->nwords? self->words [index]: NULL;
}

bool
hl_lexer_quoted (hl_lexer_t *self, size_t index)
{
    assert (self);
    return index < self->nwords && self->quoted [index];
}


//  --------------------------------------------------------------------------
//  Selftest

//  The three languages' syntaxes, as their loaders declare them
static const hl_lexer_syntax_t s_fields = {
    1024, 64, 0, HL_LEXER_QUOTES_FIELD, true, false
};
static const hl_lexer_syntax_t s_inline = {
    1024, 64, 4, HL_LEXER_QUOTES_INLINE, true, true
};
static const hl_lexer_syntax_t s_plain = {
    1024, 0, 0, HL_LEXER_QUOTES_NONE, false, true
};

//  text (size bytes; 0: up to its NUL) must fail on line `line` with a
//  message holding fragment
static void
s_expect (const hl_lexer_syntax_t *syntax, const char *text, size_t size, size_t line,
          const char *fragment, bool verbose)
{
    char err [256];
    if (size == 0)
        size = strlen (text);
    hl_lexer_t *lexer = hl_lexer_new_text ("test.conf", text, size, syntax, err, sizeof err);
    assert (lexer);
    int rc;
    while ((rc = hl_lexer_next (lexer)) == 1)
        if (hl_lexer_words (lexer, 0) < 0)
            break;
    assert (hl_lexer_failed (lexer));
    assert (hl_lexer_next (lexer) == -1);           //  nothing more after an error
    assert (hl_lexer_words (lexer, 0) == -1);
    char prefix [64];
    snprintf (prefix, sizeof prefix, "test.conf:%zu: ", line);
    if (verbose)
        printf ("\n   %s", err);
    if (strncmp (err, prefix, strlen (prefix)) != 0 || !strstr (err, fragment))
        printf ("\nexpected %s...%s, got: %s\n", prefix, fragment, err);
    assert (strncmp (err, prefix, strlen (prefix)) == 0);
    assert (strstr (err, fragment));
    hl_lexer_destroy (&lexer);
}

//  Load text; check its line `line` splits into the words of `expect`
//  ('|'-separated, "" for none)
static void
s_expect_words (const hl_lexer_syntax_t *syntax, const char *text, size_t line, size_t limit,
                const char *expect)
{
    char err [256];
    hl_lexer_t *lexer = hl_lexer_new_text ("test.conf", text, strlen (text), syntax,
                                           err, sizeof err);
    assert (lexer);
    while (hl_lexer_next (lexer) == 1 && hl_lexer_line (lexer) < line)
        ;
    assert (hl_lexer_line (lexer) == line);
    ssize_t count = hl_lexer_words (lexer, limit);
    if (count < 0)
        printf ("\n%s\n", err);
    assert (count >= 0);
    char got [256] = "";
    for (ssize_t i = 0; i < count; i++) {
        assert (strlen (got) + strlen (hl_lexer_word (lexer, (size_t) i)) + 2 < sizeof got);
        if (i)
            strcat (got, "|");
        strcat (got, hl_lexer_word (lexer, (size_t) i));
    }
    if (!streq (got, expect))
        printf ("\nexpected '%s', got '%s'\n", expect, got);
    assert (streq (got, expect));
    hl_lexer_destroy (&lexer);
}

void
hl_lexer_test (bool verbose)
{
    printf (" * hl_lexer: ");
    //  @selftest
    char err [256];

    //  A file, line by line: CRLF, a byte order mark, blank and comment
    //  lines, line numbers, quoted fields
    char path [] = "/tmp/hl_lexer_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *file_text = "\xEF\xBB\xBFrole officer \"Cán bộ \\\"trực\\\"\"\r\n"
                            "\n"
                            "   # a comment\n"
                            "state new initial - # the first\n"
                            "last \"\"";
    assert (write (fd, file_text, strlen (file_text)) == (ssize_t) strlen (file_text));
    close (fd);
    hl_lexer_t *lexer = hl_lexer_new (path, &s_fields, err, sizeof err);
    assert (lexer);
    assert (hl_lexer_line (lexer) == 0);
    assert (hl_lexer_next (lexer) == 1);
    assert (hl_lexer_line (lexer) == 1);
    assert (streq (hl_lexer_text (lexer), "role officer \"Cán bộ \\\"trực\\\"\""));
    assert (hl_lexer_words (lexer, 0) == 3);
    assert (streq (hl_lexer_word (lexer, 0), "role") && !hl_lexer_quoted (lexer, 0));
    assert (streq (hl_lexer_word (lexer, 2), "Cán bộ \"trực\"") && hl_lexer_quoted (lexer, 2));
    assert (hl_lexer_word (lexer, 3) == NULL && !hl_lexer_quoted (lexer, 3));
    assert (hl_lexer_next (lexer) == 1 && hl_lexer_words (lexer, 0) == 0);
    assert (hl_lexer_next (lexer) == 1 && hl_lexer_words (lexer, 0) == 0);
    assert (hl_lexer_next (lexer) == 1 && hl_lexer_line (lexer) == 4);
    assert (hl_lexer_words (lexer, 0) == 4);
    assert (streq (hl_lexer_word (lexer, 3), "-"));
    assert (hl_lexer_next (lexer) == 1 && hl_lexer_words (lexer, 0) == 2);
    assert (streq (hl_lexer_word (lexer, 1), "") && hl_lexer_quoted (lexer, 1));
    assert (hl_lexer_next (lexer) == 0);
    assert (hl_lexer_next (lexer) == 0);
    assert (hl_lexer_line (lexer) == 5);            //  the last line, for whole-file errors
    assert (!hl_lexer_failed (lexer));
    //  The caller's errors take the same form; the first one wins
    assert (hl_lexer_fail (lexer, 5, "no 'procedure' line (%d)", 1) == -1);
    assert (hl_lexer_fail (lexer, 2, "a later error") == -1);
    char expected [300];
    snprintf (expected, sizeof expected, "%s:5: no 'procedure' line (1)", path);
    assert (streq (err, expected));
    assert (hl_lexer_failed (lexer));
    hl_lexer_destroy (&lexer);
    assert (lexer == NULL);
    hl_lexer_destroy (&lexer);

    //  Whole-file errors: "path: message"
    hl_lexer_syntax_t tiny = s_fields;
    tiny.max_file = 16;
    assert (hl_lexer_new (path, &tiny, err, sizeof err) == NULL);
    snprintf (expected, sizeof expected, "%s: file too large (more than 16 bytes)", path);
    assert (streq (err, expected));
    assert (hl_lexer_new_text ("t.conf", "12345678901234567", 17, &tiny, err, sizeof err) == NULL);
    assert (streq (err, "t.conf: file too large (more than 16 bytes)"));
    lexer = hl_lexer_new_text ("t.conf", "1234567890123456", 16, &tiny, err, sizeof err);
    assert (lexer);                                 //  exactly the limit
    hl_lexer_destroy (&lexer);
    unlink (path);
    assert (hl_lexer_new (path, &s_fields, err, sizeof err) == NULL);
    snprintf (expected, sizeof expected, "%s: cannot open: ", path);
    assert (strncmp (err, expected, strlen (expected)) == 0);
    assert (hl_lexer_new ("/", &s_fields, err, sizeof err) == NULL);
    assert (streq (err, "/: cannot read: Is a directory"));
    assert (hl_lexer_new (path, &s_fields, NULL, 0) == NULL);      //  err may be NULL
    lexer = hl_lexer_new_text ("t.conf", "x\n", 2, &s_fields, NULL, 0);
    assert (hl_lexer_next (lexer) == 1);
    assert (hl_lexer_fail (lexer, 1, "nowhere to write") == -1 && hl_lexer_failed (lexer));
    hl_lexer_destroy (&lexer);
    lexer = hl_lexer_new_text ("t.conf", NULL, 0, &s_fields, err, sizeof err);
    assert (lexer && hl_lexer_next (lexer) == 0 && hl_lexer_line (lexer) == 0);
    assert (hl_lexer_fail (lexer, 0, "empty") == -1 && streq (err, "t.conf: empty"));
    hl_lexer_destroy (&lexer);

    //  Every line error, each on its line
    s_expect (&s_fields, "ok\n# bad UTF-8 \xC3\x28\n", 0, 2, "invalid UTF-8", verbose);
    s_expect (&s_fields, "# overlong \xC0\xAF", 0, 1, "invalid UTF-8", verbose);
    s_expect (&s_fields, "\n\n# surrogate \xED\xA0\x80\n", 0, 3, "invalid UTF-8", verbose);
    s_expect (&s_fields, "# cut \xE1\xBB", 0, 1, "invalid UTF-8", verbose);
    s_expect (&s_fields, "a\nb \x07 c\n", 0, 2, "control character (byte 0x07) in line", verbose);
    s_expect (&s_fields, "a\r\rb\n", 0, 1, "control character (byte 0x0D)", verbose);
    s_expect (&s_fields, "a\x7F\n", 0, 1, "control character (byte 0x7F)", verbose);
    s_expect (&s_plain, "a\nb\0c\n", 6, 2, "control character (byte 0x00)", verbose);
    s_expect (&s_fields, "# \xC3\x28\0\n", 6, 1, "control character (byte 0x00)", verbose);
    s_expect (&s_fields, "x \"unterminated\n", 0, 1, "unterminated quoted text", verbose);
    s_expect (&s_inline, "\nkey=\"open", 0, 2, "unterminated quoted text", verbose);
    s_expect (&s_fields, "x \"bad \\n escape\"", 0, 1, "bad escape in quoted text", verbose);
    s_expect (&s_fields, "x \"a\"b", 0, 1, "quoted text must be followed by a space", verbose);
    s_expect (&s_fields, "x ab\"c\"", 0, 1, "'\"' inside a word", verbose);
    s_expect (&s_inline, "a b c d\na b c d e\n", 0, 2, "too many fields (at most 4)", verbose);
    {
        char line [80];
        memset (line, 'x', sizeof line);
        line [0] = '\n';
        s_expect (&s_fields, line, 66, 2, "line too long (65 bytes, at most 64)", verbose);
        //  The limit counts a CRLF line's '\r'
        line [65] = '\r';
        s_expect (&s_fields, line, 66, 2, "line too long (65 bytes, at most 64)", verbose);
        lexer = hl_lexer_new_text ("t.conf", line, 65, &s_fields, err, sizeof err);
        assert (hl_lexer_next (lexer) == 1 && hl_lexer_next (lexer) == 1);  //  exactly 64
        assert (strlen (hl_lexer_text (lexer)) == 64);
        hl_lexer_destroy (&lexer);
        //  No limit
        lexer = hl_lexer_new_text ("t.conf", line, sizeof line, &s_plain, err, sizeof err);
        assert (hl_lexer_next (lexer) == 1 && hl_lexer_next (lexer) == 1);
        hl_lexer_destroy (&lexer);
    }
    //  Control characters, where a language allows them (never NUL)
    s_expect_words (&s_plain, "a\x07 b\x1B\n", 1, 0, "a\x07|b\x1B");
    //  A byte order mark only at the start of the file
    s_expect_words (&s_fields, "a\n\xEF\xBB\xBFx", 2, 0, "\xEF\xBB\xBFx");

    //  Words in each quote style
    s_expect_words (&s_fields, "a  \"b c\"\t\"\" d#e", 1, 0, "a|b c||d");
    s_expect_words (&s_fields, "\"q\"# comment", 1, 0, "q");
    s_expect_words (&s_inline, "rule x keyword=\"tràn dầu,cá \\\"chết\\\"\" # c", 1, 0,
                    "rule|x|keyword=tràn dầu,cá \"chết\"");
    s_expect_words (&s_inline, "a\\b \"c\\d\" \"\"", 1, 0, "a\\b|c\\d|");
    s_expect_words (&s_inline, "x\"a#b\"c#d e", 1, 0, "xa#bc");
    s_expect_words (&s_inline, "a\rb", 1, 0, "a|b");
    s_expect_words (&s_plain, "subject \"Case\" #5  ", 1, 0, "subject|\"Case\"|#5");
    s_expect_words (&s_plain, "  # only at the start", 1, 0, "");
    //  A limit: the last word is the rest of the line, as it is
    s_expect_words (&s_plain, "label  regime.urgent   Khẩn cấp #1  \t", 1, 3,
                    "label|regime.urgent|Khẩn cấp #1");
    s_expect_words (&s_plain, "label  regime.urgent   Khẩn cấp #1", 1, 2,
                    "label|regime.urgent   Khẩn cấp #1");
    s_expect_words (&s_plain, "body", 1, 2, "body");
    s_expect_words (&s_fields, "a \"b\" c d e", 1, 2, "a|\"b\" c d e");
    {
        //  A limit is not "too many fields"; words may be asked for again
        lexer = hl_lexer_new_text ("t.conf", "a b c d e f", 11, &s_inline, err, sizeof err);
        assert (hl_lexer_next (lexer) == 1);
        assert (hl_lexer_words (lexer, 2) == 2 && streq (hl_lexer_word (lexer, 1), "b c d e f"));
        assert (hl_lexer_words (lexer, 5) == 5 && streq (hl_lexer_word (lexer, 4), "e f"));
        assert (!hl_lexer_failed (lexer));
        assert (hl_lexer_words (lexer, 0) == -1 && strstr (err, "too many fields"));
        hl_lexer_destroy (&lexer);
    }

    //  Clipping user text on a character boundary
    assert (hl_lexer_clip ("short", 40) == 5);
    assert (hl_lexer_clip ("ắắắ", 4) == 3);       //  3-byte characters
    assert (hl_lexer_clip ("ắắắ", 6) == 6);
    snprintf (expected, sizeof expected, "'%.*s'", HL_LEXER_CLIP ("aắ", 2));
    assert (streq (expected, "'a'"));
    //  @end
    if (verbose)
        printf ("\n   ");
    printf ("OK\n");
}
