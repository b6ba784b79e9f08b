/*  hl_procedure_model — the procedure's data, as the loader builds it and
 *  the queries read it (internal: included by hl_procedure.c,
 *  hl_procedure_loader.c and hl_procedure_meaning.c, not by hotline.h). One
 *  class, hl_procedure, in three files: the loader (parser and checker), its
 *  meaning lines, and the queries.
 *
 *  Indexes: states, roles, regimes, actions and deadlines are arrays in
 *  file order; the zhashx indexes map a name to its index + 1 (so that a
 *  missing name, NULL, is not index 0).
 */
#ifndef HL_PROCEDURE_MODEL_H_INCLUDED
#define HL_PROCEDURE_MODEL_H_INCLUDED

#include "hotline.h"

#define HL_PROC_MAX_FILE      (1024 * 1024)

#define HL_PROC_FROM_LIST     0
#define HL_PROC_FROM_ANY      1       //  '*': any non-final state
#define HL_PROC_FROM_NONE     2       //  '-': creates a case
#define HL_PROC_TO_STAY       ((size_t) -1)

#define HL_PROC_KIND_INITIAL  0
#define HL_PROC_KIND_OPEN     1
#define HL_PROC_KIND_FINAL    2

typedef struct {
    char *name;
    char *label;
    int kind;
    size_t line;
} hl_procedure_state_t;

typedef struct {
    char *name;
    char *label;
    size_t line;
} hl_procedure_role_t;

typedef struct {
    char *name;
    size_t line;
} hl_procedure_regime_t;

typedef struct {
    int from_kind;
    size_t *from;               //  state indexes (HL_PROC_FROM_LIST)
    size_t nfrom;
    size_t to;                  //  state index or HL_PROC_TO_STAY
    size_t *actors;             //  role indexes
    size_t nactors;
    size_t line;
} hl_procedure_rule_t;

typedef struct {
    char *name;
    char *variant;              //  "" if none
    char *display;              //  "name" or "name variant"
    char **requires;            //  NULL-terminated
    size_t nrequires;
    hl_procedure_rule_t *rules;
    size_t nrules, crules;
    size_t line;                //  first line
    size_t none_line;           //  line of the FROM '-' rule, 0 if none
    size_t any_line;            //  line of the FROM '*' rule, 0 if none
    size_t nonfinal_line;       //  first rule listing a non-final state
} hl_procedure_action_t;

typedef struct {
    hl_deadline_def_t def;      //  first, so &deadline->def is stable
    char *name;
    size_t *states;             //  WHILE, sorted state indexes
    size_t nstates;
    int64_t *duration;          //  per regime index, ms
    size_t line;
} hl_procedure_deadline_t;

typedef struct {
    hl_notify_rule_t rule;
    char *action;
    char *variant;              //  "" = every variant
    char *recipient;
    char *template_name;
    size_t line;
} hl_procedure_notify_t;

typedef struct {
    const char *name;           //  the loader's table's own string
    bool exact;                 //  an item without a variant means the action's '-' variant
    hl_meaning_item_t *items;
    size_t nitems;
    char **texts;               //  the items' strings, 2 per item (NULL where none)
    size_t ntexts;
    char *arg;                  //  assign: the argument naming the assignee
    size_t line;
} hl_procedure_meaning_t;

struct _hl_procedure_t {
    char *name;
    char *version;
    hl_procedure_state_t *states;
    size_t nstates, cstates;
    hl_procedure_role_t *roles;
    size_t nroles, croles;
    hl_procedure_regime_t *regimes;
    size_t nregimes, cregimes;
    hl_procedure_action_t *actions;
    size_t nactions, cactions;
    hl_procedure_deadline_t *deadlines;
    size_t ndeadlines, cdeadlines;
    hl_procedure_notify_t *notifies;
    size_t nnotifies, cnotifies;
    hl_procedure_meaning_t *meanings;
    size_t nmeanings, cmeanings;
    zhashx_t *state_ix;         //  name -> index + 1
    zhashx_t *role_ix;
    zhashx_t *regime_ix;
    zhashx_t *action_ix;        //  "name\x1fvariant" -> index + 1
    zhashx_t *action_names;     //  name -> index + 1 (first action of that name)
    zhashx_t *deadline_ix;
    size_t initial;             //  state index
    bool has_initial;
};

//  --------------------------------------------------------------------------
//  The loader's internals, shared by its two files: hl_procedure_loader.c
//  (reading, tokenizing, the declarations, actions, deadlines, notify lines,
//  the graph) and hl_procedure_meaning.c (the meaning lines)

#define HL_PROC_MAX_NAME      64  //  bytes in an identifier

typedef struct {
    char *text;
    bool quoted;
} hl_proc_token_t;

typedef struct {
    size_t no;                  //  line number, from 1
    hl_proc_token_t *tok;
    size_t ntok;
    char *buf;                  //  storage for the token texts
} hl_proc_line_t;

//  Load context: the file's lexer (which writes every error, "path:line:
//  message", the first one winning) and the load's own state
typedef struct {
    hl_lexer_t *lexer;
    size_t last_line;           //  for whole-file errors
    size_t procedure_line;
    zhashx_t *seen;             //  load-time keys for duplicate checks
} hl_proc_ctx_t;

//  Allocation that aborts on failure (as zmalloc), and a copy of text
void *hl_proc_realloc (void *ptr, size_t count, size_t size);
char *hl_proc_strdup (const char *text);
//  Make room for one more element in a dynamic array
#define HL_PROC_GROW(array, count, capacity) \
    do { \
        if ((count) >= (capacity)) { \
            (capacity) = (capacity)? (capacity) * 2: 8; \
            (array) = hl_proc_realloc ((array), (capacity), sizeof *(array)); \
        } \
    } while (0)
//  User text in an error message, "%.*s": at most 40 bytes, cut on a UTF-8
//  boundary (hl_lexer_clip)
#define HL_PROC_CLIP(text) HL_LEXER_CLIP ((text), 40)
//  Record the first error as "path:line: message" (through hl_lexer_fail);
//  always returns -1
int hl_proc_fail (hl_proc_ctx_t *ctx, size_t line, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
//  0 if text is an identifier, else -1 with the error recorded
int hl_proc_check_ident (hl_proc_ctx_t *ctx, size_t line, const char *what, const char *text);
//  Split a comma list in place: the number of items, or -1 if an item is
//  empty; *items_p is allocated (caller frees)
ssize_t hl_proc_split (char *text, char ***items_p);

//  hl_procedure_meaning.c: one 'meaning' line (pass 3b, after the actions,
//  deadlines and notify lines are known), and the check that every required
//  meaning was declared (pass 5). 0, or -1 with the error recorded.
int hl_proc_load_meaning (hl_procedure_t *self, hl_proc_ctx_t *ctx, hl_proc_line_t *line);
int hl_proc_check_meanings (hl_procedure_t *self, hl_proc_ctx_t *ctx);

//  The loader's selftest fixtures, shared with the meanings' selftest: a
//  small valid procedure of 13 lines without its meanings, the meaning
//  lines it needs, and expected errors ("path:line: ...fragment...";
//  _line_error: base + one line, the error on line 14)
extern const char *hl_proc_test_base;
extern const char *hl_proc_test_meanings;
void hl_proc_expect_error (const char *path, const char *text, size_t line,
                           const char *fragment, bool verbose);
void hl_proc_expect_line_error (const char *path, const char *extra, const char *fragment,
                                bool verbose);

//  Index of name in hash, or -1 (name may be NULL)
ssize_t hl_procedure_ix_lookup (zhashx_t *hash, const char *name);
//  qsort/bsearch comparison of two size_t indexes
int hl_procedure_ix_cmp (const void *a, const void *b);
//  Is index in list?
bool hl_procedure_ix_in (const size_t *list, size_t count, size_t index);

#endif
