/*  hl_procedure — the case lifecycle as data (Decision 174/QĐ-BTNMT): the
 *  queries every service asks. The loader (parser and checker) is in
 *  hl_procedure_loader.c; the data both share is in hl_procedure_model.h.
 *
 *  See hl_procedure.h for the API and the line format, and
 *  deploy/config/procedure.conf for the default procedure, documented.
 *
 *  All lists returned by the query functions point into the procedure and
 *  stay valid until it is destroyed. Functions that fill an out array
 *  return the number of entries stored (at most max).
 *
 *  How to read this file: destroy, the index helpers the loader shares, the
 *  queries (states, actions, deadlines, notification rules), the selftest
 *  (the default procedure, queried), and hl_procedure_json.
 */
#include "hl_procedure_model.h"

static const char *s_empty_list [] = { NULL };

void
hl_procedure_destroy (hl_procedure_t **self_p)
{
    assert (self_p);
    hl_procedure_t *self = *self_p;
    if (!self)
        return;
    free (self->name);
    free (self->version);
    for (size_t i = 0; i < self->nstates; i++) {
        free (self->states [i].name);
        free (self->states [i].label);
    }
    free (self->states);
    for (size_t i = 0; i < self->nroles; i++) {
        free (self->roles [i].name);
        free (self->roles [i].label);
    }
    free (self->roles);
    for (size_t i = 0; i < self->nregimes; i++)
        free (self->regimes [i].name);
    free (self->regimes);
    for (size_t i = 0; i < self->nactions; i++) {
        hl_procedure_action_t *action = &self->actions [i];
        free (action->name);
        free (action->variant);
        free (action->display);
        if (action->requires)
            for (size_t k = 0; action->requires [k]; k++)
                free (action->requires [k]);
        free (action->requires);
        for (size_t r = 0; r < action->nrules; r++) {
            free (action->rules [r].from);
            free (action->rules [r].actors);
        }
        free (action->rules);
    }
    free (self->actions);
    for (size_t i = 0; i < self->ndeadlines; i++) {
        free (self->deadlines [i].name);
        free (self->deadlines [i].states);
        free (self->deadlines [i].duration);
    }
    free (self->deadlines);
    for (size_t i = 0; i < self->nnotifies; i++) {
        free (self->notifies [i].action);
        free (self->notifies [i].variant);
        free (self->notifies [i].recipient);
        free (self->notifies [i].template_name);
    }
    free (self->notifies);
    for (size_t i = 0; i < self->nmeanings; i++) {
        for (size_t k = 0; k < self->meanings [i].ntexts; k++)
            free (self->meanings [i].texts [k]);
        free (self->meanings [i].texts);
        free (self->meanings [i].items);
        free (self->meanings [i].arg);
    }
    free (self->meanings);
    zhashx_destroy (&self->state_ix);
    zhashx_destroy (&self->role_ix);
    zhashx_destroy (&self->regime_ix);
    zhashx_destroy (&self->action_ix);
    zhashx_destroy (&self->action_names);
    zhashx_destroy (&self->deadline_ix);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Index helpers (shared with the loader)

//  Index of name in hash, or -1
ssize_t
hl_procedure_ix_lookup (zhashx_t *hash, const char *name)
{
    if (!name)
        return -1;
    void *value = zhashx_lookup (hash, name);
    return value? (ssize_t) ((uintptr_t) value - 1): -1;
}

int
hl_procedure_ix_cmp (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y? -1: x > y? 1: 0;
}

bool
hl_procedure_ix_in (const size_t *list, size_t count, size_t index)
{
    for (size_t i = 0; i < count; i++)
        if (list [i] == index)
            return true;
    return false;
}


//  --------------------------------------------------------------------------
//  Queries

const char *
hl_procedure_name (hl_procedure_t *self)
{
    assert (self);
    return self->name;
}

const char *
hl_procedure_version (hl_procedure_t *self)
{
    assert (self);
    return self->version;
}

const char *
hl_procedure_initial (hl_procedure_t *self)
{
    assert (self);
    return self->states [self->initial].name;
}

bool
hl_procedure_state_exists (hl_procedure_t *self, const char *state)
{
    assert (self);
    return hl_procedure_ix_lookup (self->state_ix, state) >= 0;
}

bool
hl_procedure_state_final (hl_procedure_t *self, const char *state)
{
    assert (self);
    ssize_t index = hl_procedure_ix_lookup (self->state_ix, state);
    return index >= 0 && self->states [index].kind == HL_PROC_KIND_FINAL;
}

const char *
hl_procedure_state_label (hl_procedure_t *self, const char *state)
{
    assert (self);
    ssize_t index = hl_procedure_ix_lookup (self->state_ix, state);
    return index >= 0? self->states [index].label: "";
}

bool
hl_procedure_regime_exists (hl_procedure_t *self, const char *regime)
{
    assert (self);
    return hl_procedure_ix_lookup (self->regime_ix, regime) >= 0;
}

bool
hl_procedure_role_exists (hl_procedure_t *self, const char *role)
{
    assert (self);
    return hl_procedure_ix_lookup (self->role_ix, role) >= 0;
}

size_t
hl_procedure_states (hl_procedure_t *self, const char **out, size_t max)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < self->nstates && count < max; i++)
        out [count++] = self->states [i].name;
    return count;
}

static hl_procedure_action_t *
s_action_find (hl_procedure_t *self, const char *name, const char *variant)
{
    if (!name)
        return NULL;
    char *key = zsys_sprintf ("%s\x1f%s", name, variant? variant: "");
    assert (key);
    ssize_t index = hl_procedure_ix_lookup (self->action_ix, key);
    zstr_free (&key);
    return index >= 0? &self->actions [index]: NULL;
}

//  The rule of action that applies in state (index; -1: creating a case)
static hl_procedure_rule_t *
s_rule_for (hl_procedure_t *self, hl_procedure_action_t *action, ssize_t state)
{
    for (size_t r = 0; r < action->nrules; r++) {
        hl_procedure_rule_t *rule = &action->rules [r];
        if (state < 0) {
            if (rule->from_kind == HL_PROC_FROM_NONE)
                return rule;
        }
        else
        if (rule->from_kind == HL_PROC_FROM_ANY) {
            if (self->states [state].kind != HL_PROC_KIND_FINAL)
                return rule;
        }
        else
        if (rule->from_kind == HL_PROC_FROM_LIST) {
            if (hl_procedure_ix_in (rule->from, rule->nfrom, (size_t) state))
                return rule;
        }
    }
    return NULL;
}

int
hl_procedure_check (hl_procedure_t *self, const char *state, const char *action,
                    const char *variant, const char *role, const char **to_state)
{
    assert (self);
    if (to_state)
        *to_state = NULL;
    hl_procedure_action_t *found = s_action_find (self, action, variant);
    if (!found)
        return HL_NOT_FOUND;
    ssize_t index = -1;
    if (state) {
        index = hl_procedure_ix_lookup (self->state_ix, state);
        if (index < 0)
            return HL_CONFLICT;
    }
    hl_procedure_rule_t *rule = s_rule_for (self, found, index);
    if (!rule)
        return HL_CONFLICT;
    //  A NULL or unknown role may do nothing (fail closed)
    ssize_t role_index = hl_procedure_ix_lookup (self->role_ix, role);
    if (role_index < 0 || !hl_procedure_ix_in (rule->actors, rule->nactors, (size_t) role_index))
        return HL_FORBIDDEN;
    if (to_state)
        *to_state = rule->to == HL_PROC_TO_STAY? self->states [index].name
                                         : self->states [rule->to].name;
    return HL_OK;
}

const char **
hl_procedure_requires (hl_procedure_t *self, const char *action, const char *variant)
{
    assert (self);
    hl_procedure_action_t *found = s_action_find (self, action, variant);
    return found? (const char **) found->requires: s_empty_list;
}

size_t
hl_procedure_allowed (hl_procedure_t *self, const char *state, const char *role,
                      const char **out, size_t max)
{
    assert (self);
    ssize_t index = -1;
    if (state) {
        index = hl_procedure_ix_lookup (self->state_ix, state);
        if (index < 0)
            return 0;
    }
    ssize_t role_index = -1;
    if (role) {
        role_index = hl_procedure_ix_lookup (self->role_ix, role);
        if (role_index < 0)
            return 0;
    }
    size_t count = 0;
    for (size_t a = 0; a < self->nactions && count < max; a++) {
        hl_procedure_rule_t *rule = s_rule_for (self, &self->actions [a], index);
        if (rule && (role_index < 0
                  || hl_procedure_ix_in (rule->actors, rule->nactors, (size_t) role_index)))
            out [count++] = self->actions [a].display;
    }
    return count;
}

//  Is state (may be NULL or unknown) in the deadline's WHILE?
static bool
s_deadline_has (hl_procedure_t *self, hl_procedure_deadline_t *deadline, const char *state)
{
    ssize_t index = hl_procedure_ix_lookup (self->state_ix, state);
    if (index < 0)
        return false;
    size_t key = (size_t) index;
    return bsearch (&key, deadline->states, deadline->nstates, sizeof (size_t),
                    hl_procedure_ix_cmp) != NULL;
}

size_t
hl_procedure_deadlines_starting (hl_procedure_t *self, const char *from, const char *to,
                                 const hl_deadline_def_t **out, size_t max)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < self->ndeadlines && count < max; i++) {
        hl_procedure_deadline_t *deadline = &self->deadlines [i];
        if (s_deadline_has (self, deadline, to) && !s_deadline_has (self, deadline, from))
            out [count++] = &deadline->def;
    }
    return count;
}

size_t
hl_procedure_deadlines_stopping (hl_procedure_t *self, const char *from, const char *to,
                                 const hl_deadline_def_t **out, size_t max)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < self->ndeadlines && count < max; i++) {
        hl_procedure_deadline_t *deadline = &self->deadlines [i];
        if (s_deadline_has (self, deadline, from) && !s_deadline_has (self, deadline, to))
            out [count++] = &deadline->def;
    }
    return count;
}

bool
hl_procedure_deadline_active (hl_procedure_t *self, const char *deadline, const char *state)
{
    assert (self);
    ssize_t index = hl_procedure_ix_lookup (self->deadline_ix, deadline);
    return index >= 0 && s_deadline_has (self, &self->deadlines [index], state);
}

int64_t
hl_procedure_deadline_duration (hl_procedure_t *self, const char *deadline, const char *regime)
{
    assert (self);
    ssize_t index = hl_procedure_ix_lookup (self->deadline_ix, deadline);
    ssize_t regime_index = hl_procedure_ix_lookup (self->regime_ix, regime);
    if (index < 0 || regime_index < 0)
        return -1;
    return self->deadlines [index].duration [regime_index];
}

size_t
hl_procedure_notify_rules (hl_procedure_t *self, const char *action, const char *variant,
                           const hl_notify_rule_t **out, size_t max)
{
    assert (self);
    if (!action)
        return 0;
    size_t count = 0;
    for (size_t i = 0; i < self->nnotifies && count < max; i++) {
        hl_procedure_notify_t *notify = &self->notifies [i];
        if (streq (notify->action, action)
        && (*notify->variant == 0 || (variant && streq (notify->variant, variant))))
            out [count++] = &notify->rule;
    }
    return count;
}

//  Meanings (see the header and pass 3b)
static hl_procedure_meaning_t *
s_meaning_find (hl_procedure_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->nmeanings; i++)
        if (streq (self->meanings [i].name, name))
            return &self->meanings [i];
    return NULL;
}

const char *
hl_procedure_meaning (hl_procedure_t *self, const char *meaning, const char **variant)
{
    assert (self);
    hl_procedure_meaning_t *found = s_meaning_find (self, meaning);
    if (variant)
        *variant = found? found->items [0].variant: "";
    return found? found->items [0].action: NULL;
}

bool
hl_procedure_means (hl_procedure_t *self, const char *meaning, const char *action,
                    const char *variant)
{
    assert (self);
    hl_procedure_meaning_t *found = s_meaning_find (self, meaning);
    if (!found || !action)
        return false;
    for (size_t i = 0; i < found->nitems; i++) {
        hl_meaning_item_t *item = &found->items [i];
        if (streq (item->action, action)
        &&  (*item->variant == 0? !found->exact
                               || !variant || *variant == 0
                               : variant && streq (item->variant, variant)))
            return true;
    }
    return false;
}

size_t
hl_procedure_meaning_items (hl_procedure_t *self, const char *meaning,
                            const hl_meaning_item_t **out, size_t max)
{
    assert (self);
    hl_procedure_meaning_t *found = s_meaning_find (self, meaning);
    size_t count = 0;
    for (size_t i = 0; found && i < found->nitems && count < max; i++)
        out [count++] = &found->items [i];
    return count;
}

const char *
hl_procedure_meaning_arg (hl_procedure_t *self, const char *meaning)
{
    assert (self);
    hl_procedure_meaning_t *found = s_meaning_find (self, meaning);
    return found? found->arg: NULL;
}


//  --------------------------------------------------------------------------
//  Selftest: the default procedure, queried. Loading and its errors are
//  tested in hl_procedure_loader_test.

#define S_DEFAULT_PATH "deploy/config/procedure.conf"

static bool
s_test_has (const char **list, size_t count, const char *item)
{
    for (size_t i = 0; i < count; i++)
        if (streq (list [i], item))
            return true;
    return false;
}

static bool
s_test_has_deadline (const hl_deadline_def_t **list, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (streq (list [i]->name, name))
            return true;
    return false;
}

void
hl_procedure_test (bool verbose)
{
    printf (" * hl_procedure: ");
    if (verbose)
        printf ("\n");
    char err [512];
    const char *to = NULL;
    const char *list [64];
    const hl_deadline_def_t *deadlines [16];
    const hl_notify_rule_t *rules [16];

    //  @selftest
    //  The default procedure
    hl_procedure_t *procedure = hl_procedure_load (S_DEFAULT_PATH, err, sizeof err);
    if (!procedure)
        printf ("\n%s\n", err);
    assert (procedure);
    assert (*hl_procedure_name (procedure));
    assert (*hl_procedure_version (procedure));
    assert (streq (hl_procedure_initial (procedure), "received"));
    assert (hl_procedure_states (procedure, list, 64) == 14);
    assert (streq (list [0], "received"));
    assert (hl_procedure_states (procedure, list, 3) == 3);
    assert (hl_procedure_state_exists (procedure, "verifying"));
    assert (!hl_procedure_state_exists (procedure, "nowhere"));
    assert (!hl_procedure_state_exists (procedure, NULL));
    assert (hl_procedure_state_final (procedure, "closed"));
    //  Meanings: what the services act on, as procedure.conf declares them
    const char *variant = NULL;
    assert (streq (hl_procedure_meaning (procedure, "forward", &variant), "route"));
    assert (streq (variant, "department"));
    assert (hl_procedure_means (procedure, "forward", "route", "department"));
    assert (!hl_procedure_means (procedure, "forward", "route", "ward"));
    assert (!hl_procedure_means (procedure, "forward", "route", NULL));
    assert (!hl_procedure_means (procedure, "forward", NULL, NULL));
    assert (hl_procedure_means (procedure, "verified", "verify", "inaccurate"));
    assert (hl_procedure_means (procedure, "accurate", "verify", "accurate"));
    assert (!hl_procedure_means (procedure, "accurate", "verify", "inaccurate"));
    assert (hl_procedure_means (procedure, "done", "close", NULL));
    assert (hl_procedure_means (procedure, "done", "duplicate", ""));
    assert (!hl_procedure_means (procedure, "done", "route", "ward"));
    assert (streq (hl_procedure_meaning (procedure, "create", NULL), "submit"));
    assert (streq (hl_procedure_meaning (procedure, "route", &variant), "route") && !*variant);
    assert (streq (hl_procedure_meaning (procedure, "deadline_warn", NULL), "deadline_warn"));
    assert (streq (hl_procedure_meaning (procedure, "on_time", NULL), "verify"));
    assert (streq (hl_procedure_meaning_arg (procedure, "assign"), "to"));
    assert (hl_procedure_meaning_arg (procedure, "route") == NULL);
    assert (hl_procedure_meaning (procedure, "nonsense", &variant) == NULL && !*variant);
    const hl_meaning_item_t *items [8];
    assert (hl_procedure_meaning_items (procedure, "done", items, 8) == 5);
    assert (streq (items [0]->action, "resolve") && streq (items [4]->action, "duplicate"));
    assert (hl_procedure_meaning_items (procedure, "done", items, 2) == 2);
    assert (hl_procedure_meaning_items (procedure, "advance", items, 8) == 1);
    assert (streq (items [0]->action, "submit") && streq (items [0]->follow, "inform_leaders"));
    assert (streq (items [0]->follow_variant, ""));
    assert (hl_procedure_meaning_items (procedure, "nonsense", items, 8) == 0);
    assert (hl_procedure_state_final (procedure, "duplicate"));
    assert (!hl_procedure_state_final (procedure, "received"));
    assert (!hl_procedure_state_final (procedure, "nowhere"));
    assert (streq (hl_procedure_state_label (procedure, "verifying"), "Đang xác minh"));
    assert (streq (hl_procedure_state_label (procedure, "nowhere"), ""));
    assert (hl_procedure_regime_exists (procedure, "normal"));
    assert (hl_procedure_regime_exists (procedure, "urgent"));
    assert (!hl_procedure_regime_exists (procedure, "slow"));
    const char *roles [] = { "officer", "leader", "division", "department", "system" };
    for (size_t i = 0; i < 5; i++)
        assert (hl_procedure_role_exists (procedure, roles [i]));
    assert (!hl_procedure_role_exists (procedure, "reporter"));

    //  Creating a case
    assert (hl_procedure_check (procedure, NULL, "submit", NULL, "officer", &to) == HL_OK);
    assert (streq (to, "received"));
    assert (hl_procedure_check (procedure, NULL, "submit", "", "system", &to) == HL_OK);
    assert (hl_procedure_check (procedure, NULL, "submit", NULL, "leader", &to) == HL_FORBIDDEN);
    assert (to == NULL);
    assert (hl_procedure_check (procedure, "received", "submit", NULL, "officer", &to) == HL_CONFLICT);
    assert (hl_procedure_check (procedure, NULL, "verify", "accurate", "officer", &to) == HL_CONFLICT);
    //  The main line of a ward case
    assert (hl_procedure_check (procedure, "received", "inform_leaders", NULL, "system", &to) == HL_OK);
    assert (streq (to, "leaders_informed"));
    assert (hl_procedure_check (procedure, "leaders_informed", "route", "ward", "system", &to) == HL_OK);
    assert (streq (to, "routed_ward"));
    assert (hl_procedure_check (procedure, "received", "route", "ward", "system", &to) == HL_CONFLICT);
    assert (hl_procedure_check (procedure, "leaders_informed", "route", NULL, "system", &to) == HL_NOT_FOUND);
    assert (hl_procedure_check (procedure, "leaders_informed", "route", "city", "system", &to) == HL_NOT_FOUND);
    assert (hl_procedure_check (procedure, "leaders_informed", "fly", NULL, "system", &to) == HL_NOT_FOUND);
    assert (hl_procedure_check (procedure, "routed_ward", "assign", NULL, "division", &to) == HL_OK);
    assert (streq (to, "verifying"));
    assert (hl_procedure_check (procedure, "routed_ward", "assign", NULL, "system", &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (procedure, "verifying", "assign", NULL, "leader", &to) == HL_OK);
    assert (streq (to, "verifying"));
    assert (hl_procedure_check (procedure, "verifying", "consult", NULL, "division", &to) == HL_OK);
    assert (streq (to, "verifying"));             //  '=' resolved to the state
    assert (hl_procedure_check (procedure, "contained", "consult", NULL, "division", &to) == HL_OK);
    assert (streq (to, "contained"));
    assert (hl_procedure_check (procedure, "verifying", "verify", "accurate", "division", &to) == HL_OK);
    assert (streq (to, "verified_accurate"));
    assert (hl_procedure_check (procedure, "verifying", "verify", "inaccurate", "division", &to) == HL_OK);
    assert (streq (to, "verified_inaccurate"));
    assert (hl_procedure_check (procedure, "received", "verify", "accurate", "division", &to) == HL_CONFLICT);
    assert (hl_procedure_check (procedure, "verifying", "verify", "accurate", "system", &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (procedure, "verifying", "verify", "accurate", NULL, &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (procedure, "verifying", "verify", "accurate", "nobody", &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (procedure, "verified_accurate", "contain", NULL, "division", &to) == HL_OK);
    assert (streq (to, "contained"));
    assert (hl_procedure_check (procedure, "contained", "resolve", NULL, "division", &to) == HL_OK);
    assert (streq (to, "resolved"));
    assert (hl_procedure_check (procedure, "resolved", "inform", NULL, "officer", &to) == HL_OK);
    assert (streq (to, "reporter_informed"));
    assert (hl_procedure_check (procedure, "reporter_informed", "close", NULL, "leader", &to) == HL_OK);
    assert (streq (to, "closed"));
    assert (hl_procedure_check (procedure, "resolved", "close", NULL, "leader", &to) == HL_CONFLICT);
    //  Reopening; a final state is left only by the actions that name it
    assert (hl_procedure_check (procedure, "closed", "reopen", NULL, "officer", &to) == HL_OK);
    assert (streq (to, "reopened"));
    assert (hl_procedure_check (procedure, "reopened", "assign", NULL, "division", &to) == HL_OK);
    assert (streq (to, "reopened"));
    assert (hl_procedure_check (procedure, "reopened", "verify", "accurate", "division", &to) == HL_OK);
    assert (hl_procedure_check (procedure, "closed", "duplicate", NULL, "officer", &to) == HL_CONFLICT);
    assert (hl_procedure_check (procedure, "closed", "deadline_warn", NULL, "system", &to) == HL_CONFLICT);
    assert (hl_procedure_check (procedure, "nowhere", "duplicate", NULL, "officer", &to) == HL_CONFLICT);
    //  '*': any non-final state
    assert (hl_procedure_check (procedure, "received", "duplicate", NULL, "officer", &to) == HL_OK);
    assert (streq (to, "duplicate"));
    assert (hl_procedure_check (procedure, "reporter_informed", "duplicate", NULL, "division", &to) == HL_OK);
    assert (hl_procedure_check (procedure, "verifying", "deadline_warn", NULL, "system", &to) == HL_OK);
    assert (streq (to, "verifying"));
    assert (hl_procedure_check (procedure, "verifying", "deadline_breach", NULL, "officer", &to) == HL_FORBIDDEN);
    //  Rejection
    assert (hl_procedure_check (procedure, "received", "reject", NULL, "leader", &to) == HL_OK);
    assert (streq (to, "rejected"));
    assert (hl_procedure_check (procedure, "rejected", "inform", NULL, "officer", &to) == HL_OK);
    assert (hl_procedure_check (procedure, "contained", "reject", NULL, "leader", &to) == HL_CONFLICT);
    //  Forwarding, and the Department working the case at the city
    assert (hl_procedure_check (procedure, "verifying", "route", "department", "leader", &to) == HL_OK);
    assert (streq (to, "forwarded"));
    assert (hl_procedure_check (procedure, "forwarded", "assign", NULL, "department", &to) == HL_OK);
    assert (streq (to, "verifying"));
    assert (hl_procedure_check (procedure, "forwarded", "assign", NULL, "officer", &to) == HL_FORBIDDEN);
    assert (hl_procedure_check (procedure, "forwarded", "consult", NULL, "department", &to) == HL_OK);
    assert (streq (to, "forwarded"));
    assert (hl_procedure_check (procedure, "verifying", "verify", "accurate", "department", &to) == HL_OK);
    assert (hl_procedure_check (procedure, "resolved", "inform", NULL, "department", &to) == HL_OK);
    //  to_state may be NULL
    assert (hl_procedure_check (procedure, "received", "reject", NULL, "leader", NULL) == HL_OK);

    //  Required arguments
    const char **requires = hl_procedure_requires (procedure, "verify", "accurate");
    assert (requires [0] && streq (requires [0], "note") && requires [1] == NULL);
    requires = hl_procedure_requires (procedure, "consult", NULL);
    assert (requires [0] && requires [1] && requires [2] == NULL);
    assert (streq (requires [0], "with") && streq (requires [1], "note"));
    assert (streq (hl_procedure_requires (procedure, "assign", "") [0], "to"));
    assert (streq (hl_procedure_requires (procedure, "reject", NULL) [0], "reason"));
    assert (streq (hl_procedure_requires (procedure, "duplicate", NULL) [0], "of"));
    assert (streq (hl_procedure_requires (procedure, "deadline_breach", NULL) [0], "deadline"));
    assert (hl_procedure_requires (procedure, "close", NULL) [0] == NULL);
    assert (hl_procedure_requires (procedure, "submit", NULL) [0] == NULL);
    assert (hl_procedure_requires (procedure, "fly", NULL) [0] == NULL);
    assert (hl_procedure_requires (procedure, "verify", NULL) [0] == NULL);

    //  Allowed actions
    size_t count = hl_procedure_allowed (procedure, NULL, NULL, list, 64);
    assert (count == 1 && streq (list [0], "submit"));
    count = hl_procedure_allowed (procedure, "received", "officer", list, 64);
    assert (s_test_has (list, count, "inform_leaders"));
    assert (s_test_has (list, count, "reject"));
    assert (s_test_has (list, count, "duplicate"));
    assert (!s_test_has (list, count, "verify accurate"));
    assert (!s_test_has (list, count, "deadline_warn"));
    count = hl_procedure_allowed (procedure, "received", "system", list, 64);
    assert (s_test_has (list, count, "deadline_warn"));
    assert (!s_test_has (list, count, "reject"));
    count = hl_procedure_allowed (procedure, "verifying", "division", list, 64);
    assert (s_test_has (list, count, "verify accurate"));
    assert (s_test_has (list, count, "verify inaccurate"));
    assert (s_test_has (list, count, "consult"));
    assert (!s_test_has (list, count, "route department"));
    count = hl_procedure_allowed (procedure, "leaders_informed", NULL, list, 64);
    assert (s_test_has (list, count, "route ward"));
    assert (s_test_has (list, count, "route department"));
    count = hl_procedure_allowed (procedure, "closed", NULL, list, 64);
    assert (count == 1 && streq (list [0], "reopen"));
    assert (hl_procedure_allowed (procedure, "duplicate", NULL, list, 64) == 0);
    assert (hl_procedure_allowed (procedure, "nowhere", NULL, list, 64) == 0);
    assert (hl_procedure_allowed (procedure, "received", "nobody", list, 64) == 0);
    assert (hl_procedure_allowed (procedure, "received", NULL, list, 2) == 2);

    //  Deadlines
    count = hl_procedure_deadlines_starting (procedure, NULL, "received", deadlines, 16);
    assert (count == 3);
    assert (s_test_has_deadline (deadlines, count, "inform_leaders"));
    assert (s_test_has_deadline (deadlines, count, "route"));
    assert (s_test_has_deadline (deadlines, count, "verify"));
    for (size_t i = 0; i < count; i++) {
        assert (deadlines [i]->from_received);
        assert (deadlines [i]->warn_pct == 75);
    }
    count = hl_procedure_deadlines_stopping (procedure, "received", "leaders_informed", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "inform_leaders"));
    assert (hl_procedure_deadlines_starting (procedure, "received", "leaders_informed", deadlines, 16) == 0);
    count = hl_procedure_deadlines_stopping (procedure, "leaders_informed", "routed_ward", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "route"));
    count = hl_procedure_deadlines_stopping (procedure, "leaders_informed", "forwarded", deadlines, 16);
    assert (count == 2);
    assert (hl_procedure_deadlines_stopping (procedure, "routed_ward", "verifying", deadlines, 16) == 0);
    assert (hl_procedure_deadlines_stopping (procedure, "verifying", "verifying", deadlines, 16) == 0);
    assert (hl_procedure_deadlines_starting (procedure, "verifying", "verifying", deadlines, 16) == 0);
    count = hl_procedure_deadlines_stopping (procedure, "verifying", "verified_accurate", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "verify"));
    count = hl_procedure_deadlines_starting (procedure, "verifying", "verified_accurate", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "contain"));
    assert (!deadlines [0]->from_received);
    count = hl_procedure_deadlines_starting (procedure, "verifying", "verified_inaccurate", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "inform"));
    count = hl_procedure_deadlines_starting (procedure, "closed", "reopened", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "reverify"));
    //  Forwarded at the city: assigning restarts verify, counted from receipt
    count = hl_procedure_deadlines_starting (procedure, "forwarded", "verifying", deadlines, 16);
    assert (count == 1 && streq (deadlines [0]->name, "verify") && deadlines [0]->from_received);
    count = hl_procedure_deadlines_stopping (procedure, "verifying", "duplicate", deadlines, 16);
    assert (count == 1);
    assert (hl_procedure_deadlines_starting (procedure, "verifying", "nowhere", deadlines, 16) == 0);
    assert (hl_procedure_deadlines_starting (procedure, NULL, "received", deadlines, 1) == 1);
    assert (hl_procedure_deadline_active (procedure, "verify", "routed_ward"));
    assert (hl_procedure_deadline_active (procedure, "verify", "verifying"));
    assert (!hl_procedure_deadline_active (procedure, "verify", "forwarded"));
    assert (!hl_procedure_deadline_active (procedure, "verify", "closed"));
    assert (!hl_procedure_deadline_active (procedure, "nothing", "received"));
    assert (hl_procedure_deadline_duration (procedure, "verify", "normal") == 24 * 3600 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "verify", "urgent") == 4 * 3600 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "inform_leaders", "normal") == 15 * 60 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "inform_leaders", "urgent") == 5 * 60 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "contain", "urgent") == 3600 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "inform", "normal") == 48 * 3600 * 1000LL);
    assert (hl_procedure_deadline_duration (procedure, "verify", "slow") == -1);
    assert (hl_procedure_deadline_duration (procedure, "nothing", "normal") == -1);

    //  Notification rules
    count = hl_procedure_notify_rules (procedure, "submit", NULL, rules, 16);
    assert (count == 2);
    assert (streq (rules [0]->recipient, "leaders") && streq (rules [0]->template_name, "intake"));
    assert (streq (rules [1]->recipient, "division_head"));
    count = hl_procedure_notify_rules (procedure, "route", "department", rules, 16);
    assert (count == 1 && streq (rules [0]->recipient, "department")
         && streq (rules [0]->template_name, "forwarded"));
    assert (hl_procedure_notify_rules (procedure, "route", "ward", rules, 16) == 0);
    assert (hl_procedure_notify_rules (procedure, "route", NULL, rules, 16) == 0);
    count = hl_procedure_notify_rules (procedure, "deadline_warn", NULL, rules, 16);
    assert (count == 2 && streq (rules [0]->recipient, "assignee")
         && streq (rules [1]->recipient, "division_head")
         && streq (rules [0]->template_name, "warning"));
    count = hl_procedure_notify_rules (procedure, "deadline_breach", "", rules, 16);
    assert (count == 1 && streq (rules [0]->recipient, "leaders")
         && streq (rules [0]->template_name, "breach"));
    count = hl_procedure_notify_rules (procedure, "inform", NULL, rules, 16);
    assert (count == 1 && streq (rules [0]->recipient, "reporter")
         && streq (rules [0]->template_name, "result"));
    count = hl_procedure_notify_rules (procedure, "verify", "accurate", rules, 16);
    assert (count == 1 && streq (rules [0]->recipient, "leaders")
         && streq (rules [0]->template_name, "verified"));
    assert (hl_procedure_notify_rules (procedure, "verify", "inaccurate", rules, 16) == 0);
    assert (hl_procedure_notify_rules (procedure, "close", NULL, rules, 16) == 0);
    assert (hl_procedure_notify_rules (procedure, "submit", NULL, rules, 1) == 1);

    hl_procedure_destroy (&procedure);
    //  @end
    printf ("%sOK\n", verbose? "\n": "");
}

//  --------------------------------------------------------------------------
//  The whole procedure as JSON, for clients that build their forms from it
//  (the web console): {"name", "version", "states": [{"name", "label",
//  "kind"}], "roles": [{"name", "label"}], "regimes": [NAME...], "actions":
//  [{"name", "variant", "from": [...], "to", "actors": [...], "requires":
//  [...]}]}, one action entry per rule. FROM "*" is any non-final state,
//  "-" creates a case; TO "=" stays. Caller json_decref's it.

json_t *
hl_procedure_json (hl_procedure_t *self)
{
    assert (self);
    static const char *kinds [] = { "initial", "open", "final" };
    json_t *result = json_object ();
    json_object_set_new (result, "name", json_string (self->name));
    json_object_set_new (result, "version", json_string (self->version));
    json_t *states = json_array ();
    for (size_t i = 0; i < self->nstates; i++) {
        json_t *state = json_object ();
        json_object_set_new (state, "name", json_string (self->states [i].name));
        json_object_set_new (state, "label", json_string (self->states [i].label? self->states [i].label: ""));
        json_object_set_new (state, "kind", json_string (kinds [self->states [i].kind]));
        json_array_append_new (states, state);
    }
    json_object_set_new (result, "states", states);
    json_t *roles = json_array ();
    for (size_t i = 0; i < self->nroles; i++) {
        json_t *role = json_object ();
        json_object_set_new (role, "name", json_string (self->roles [i].name));
        json_object_set_new (role, "label", json_string (self->roles [i].label? self->roles [i].label: ""));
        json_array_append_new (roles, role);
    }
    json_object_set_new (result, "roles", roles);
    json_t *regimes = json_array ();
    for (size_t i = 0; i < self->nregimes; i++)
        json_array_append_new (regimes, json_string (self->regimes [i].name));
    json_object_set_new (result, "regimes", regimes);
    json_t *actions = json_array ();
    for (size_t a = 0; a < self->nactions; a++) {
        hl_procedure_action_t *action = &self->actions [a];
        for (size_t r = 0; r < action->nrules; r++) {
            hl_procedure_rule_t *rule = &action->rules [r];
            json_t *item = json_object ();
            json_object_set_new (item, "name", json_string (action->name));
            json_object_set_new (item, "variant", json_string (action->variant));
            json_t *from = json_array ();
            if (rule->from_kind == HL_PROC_FROM_ANY)
                json_array_append_new (from, json_string ("*"));
            else
            if (rule->from_kind == HL_PROC_FROM_NONE)
                json_array_append_new (from, json_string ("-"));
            else
                for (size_t i = 0; i < rule->nfrom; i++)
                    json_array_append_new (from, json_string (self->states [rule->from [i]].name));
            json_object_set_new (item, "from", from);
            json_object_set_new (item, "to", json_string (rule->to == HL_PROC_TO_STAY? "=":
                                                          self->states [rule->to].name));
            json_t *actors = json_array ();
            for (size_t i = 0; i < rule->nactors; i++)
                json_array_append_new (actors, json_string (self->roles [rule->actors [i]].name));
            json_object_set_new (item, "actors", actors);
            json_t *requires = json_array ();
            for (size_t i = 0; i < action->nrequires; i++)
                json_array_append_new (requires, json_string (action->requires [i]));
            json_object_set_new (item, "requires", requires);
            json_array_append_new (actions, item);
        }
    }
    json_object_set_new (result, "actions", actions);
    return result;
}
