/*  hl_procedure_model — the procedure's data, as the loader builds it and
 *  the queries read it (internal: included by hl_procedure.c and
 *  hl_procedure_loader.c, not by hotline.h). One class, hl_procedure, in
 *  two files: the loader (parser and checker) and the queries.
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

//  Index of name in hash, or -1 (name may be NULL)
ssize_t hl_procedure_ix_lookup (zhashx_t *hash, const char *name);
//  qsort/bsearch comparison of two size_t indexes
int hl_procedure_ix_cmp (const void *a, const void *b);
//  Is index in list?
bool hl_procedure_ix_in (const size_t *list, size_t count, size_t index);

#endif
