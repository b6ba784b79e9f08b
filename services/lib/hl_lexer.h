/*  hl_lexer — the one lexer of the three configuration languages:
 *  procedure.conf (hl_procedure_loader.c), the routing rules
 *  (services/routing/rules.c) and the notification templates
 *  (services/notification/notify_templates.c).
 *
 *  It reads a whole file (or a string: the fuzz harnesses and selftests),
 *  hands it out line by line with line numbers, splits a line into words,
 *  and reports every error, its own and its caller's, in one form:
 *
 *      path:line: message          an error on a line (line from 1)
 *      path: message               the file as a whole (cannot open, too large)
 *
 *  The first error wins: later ones are ignored, so the message names the
 *  first thing wrong. Errors are written into the err buffer the caller
 *  gave hl_lexer_new (err may be NULL).
 *
 *  What every language shares (not configurable):
 *    - a line ends at '\n'; a '\r' before it is dropped (CRLF files load);
 *      a UTF-8 byte order mark at the start of the file is dropped;
 *    - a line is valid UTF-8 (hl_utf8_valid: no overlong forms, surrogates
 *      or values past U+10FFFF) and holds no NUL byte;
 *    - words are separated by spaces, tabs and carriage returns.
 *  What differs is an hl_lexer_syntax_t, one per language, kept by the
 *  loader beside its grammar (see those files: the three side by side):
 *    - max_file / max_line: size limits (a line's bytes without its end);
 *    - max_words: more words on a line is an error ("too many fields");
 *    - quotes: none (a '"' is an ordinary byte), whole fields ("text with
 *      spaces" is one word, marked quoted; only \" and \\ are escapes; the
 *      quote ends the word), or inline (quotes may open and close anywhere
 *      inside a word, key="a b"; \" and \\ are escapes inside them, any
 *      other backslash is kept as it is);
 *    - comments: '#' outside quotes ends the line's words, or only a line
 *      whose first non-blank byte is '#' is a comment;
 *    - controls: whether control characters other than tab (bytes < 0x20,
 *      0x7F) may appear in a line.
 *
 *  Rules for callers:
 *    - hl_lexer_text, hl_lexer_word are valid until the next call of
 *      hl_lexer_next or hl_lexer_words; copy what must last longer.
 *    - After an error (hl_lexer_next or hl_lexer_words returned -1, or
 *      the caller reported one) stop reading: the error is already written.
 *
 *  Example (hl_lexer_test has the complete one):
 *
 *      hl_lexer_t *lexer = hl_lexer_new (path, &s_syntax, err, errsize);
 *      int rc;
 *      while (lexer && (rc = hl_lexer_next (lexer)) == 1) {
 *          ssize_t count = hl_lexer_words (lexer, 0);
 *          if (count > 0 && !streq (hl_lexer_word (lexer, 0), "rule"))
 *              hl_lexer_fail (lexer, hl_lexer_line (lexer), "expected 'rule'");
 *          ...
 *      }
 */
#ifndef HL_LEXER_H_INCLUDED
#define HL_LEXER_H_INCLUDED

typedef struct _hl_lexer_t hl_lexer_t;

typedef enum {
    HL_LEXER_QUOTES_NONE,       //  '"' is an ordinary byte
    HL_LEXER_QUOTES_FIELD,      //  "a whole field", \" and \\ only
    HL_LEXER_QUOTES_INLINE      //  key="anywhere in a word"
} hl_lexer_quotes_t;

typedef struct {
    size_t max_file;            //  bytes in the file (> 0)
    size_t max_line;            //  bytes in a line without its end; 0: no limit
    size_t max_words;           //  words in a line; 0: no limit
    hl_lexer_quotes_t quotes;
    bool comment_anywhere;      //  '#' outside quotes starts a comment (else
                                //  only a line whose first non-blank is '#')
    bool controls;              //  control characters other than tab allowed
} hl_lexer_syntax_t;

//  Read the file at path, at most syntax->max_file bytes. Returns the lexer,
//  or NULL with "path: cannot open: ...", "path: cannot read: ..." or
//  "path: file too large (more than N bytes)" in err. syntax is copied.
hl_lexer_t *
    hl_lexer_new (const char *path, const hl_lexer_syntax_t *syntax, char *err, size_t errsize);

//  The same for size bytes of text (which may hold NULs), named path in
//  errors. Returns the lexer, or NULL with "path: file too large ..." in err.
hl_lexer_t *
    hl_lexer_new_text (const char *path, const char *text, size_t size,
                       const hl_lexer_syntax_t *syntax, char *err, size_t errsize);

//  Destroy the lexer (NULL is fine); sets *self_p to NULL. Nothing it wrote
//  into err is undone.
void
    hl_lexer_destroy (hl_lexer_t **self_p);

//  Move to the next line and check it: its length, UTF-8, NUL and control
//  characters. Returns 1 (a line; blank and comment lines too), 0 at the
//  end of the file, or -1 (the error is reported: "line too long (N bytes,
//  at most M)", "invalid UTF-8", "control character (byte 0xNN) in line").
int
    hl_lexer_next (hl_lexer_t *self);

//  The current line, without its end, its '\r' or the byte order mark.
const char *
    hl_lexer_text (hl_lexer_t *self);

//  The current line's number, from 1 (0 before the first hl_lexer_next).
//  After the end of the file: the number of the last line.
size_t
    hl_lexer_line (hl_lexer_t *self);

//  Split the current line into words, as the syntax says. limit 0: every
//  word; limit N > 0: at most N words, the Nth being the rest of the line
//  from its first non-blank byte, trailing blanks dropped, taken as it is
//  (no quotes, no comment): "label KEY some text" with limit 3 is "label",
//  "KEY", "some text". Returns the number of words (0: a blank or comment
//  line), or -1 (the error is reported: "unterminated quoted text", "bad
//  escape in quoted text ...", "quoted text must be followed by a space",
//  "'\"' inside a word ...", "too many fields (at most N)").
ssize_t
    hl_lexer_words (hl_lexer_t *self, size_t limit);

//  Word index of the last hl_lexer_words (index < its count), or NULL.
const char *
    hl_lexer_word (hl_lexer_t *self, size_t index);

//  Was word index written in quotes (any quote, for inline quotes)?
bool
    hl_lexer_quoted (hl_lexer_t *self, size_t index);

//  Report an error: "path:line: message" (line 0: "path: message") into
//  the caller's err, unless an error was reported before. Returns -1.
int
    hl_lexer_fail (hl_lexer_t *self, size_t line, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Has an error been reported?
bool
    hl_lexer_failed (hl_lexer_t *self);

//  How many bytes of text to print in a message, "%.*s": at most max, cut
//  on a UTF-8 character boundary (so a message stays valid UTF-8). Use
//  HL_LEXER_CLIP (text, max) for both arguments.
int
    hl_lexer_clip (const char *text, size_t max);
#define HL_LEXER_CLIP(text, max) hl_lexer_clip ((text), (max)), (text)

//  Selftest
void
    hl_lexer_test (bool verbose);

#endif
