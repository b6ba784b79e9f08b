/*  hl_procedure — the case lifecycle as data (Decision 174/QĐ-BTNMT).
 *
 *  One text file declares the states, the actions (transitions) and who may
 *  take them, the deadlines of each state under each regime, and the
 *  notification rules. It is loaded at start and checked on load; any error
 *  names the file and line. Nothing in any service hard-codes a state name:
 *  services ask this class. The format is documented in
 *  deploy/config/procedure.conf (the default procedure) and in
 *  deploy/README.md.
 *
 *  Line format (whitespace separated, '#' starts a comment, "double quotes"
 *  for text with spaces, '-' for an empty column, lists are comma separated):
 *
 *      procedure NAME VERSION
 *      regime    NAME                          (normal, urgent, ...)
 *      role      NAME "label"
 *      state     NAME initial|open|final "label"
 *      action    NAME VARIANT FROM TO ACTORS [REQUIRES]
 *                FROM: state list, '*' any non-final state, '-' none (creates a case)
 *                TO:   a state, or '=' (stays in the state it is in)
 *                REQUIRES: argument names that must be non-empty (note, reason, of, to ...)
 *      deadline  NAME ANCHOR WHILE REGIME=DURATION... [warn=PCT%]
 *                ANCHOR: received (case received time) | entered (time it
 *                starts); WHILE: states in which it runs; it starts when the
 *                case enters WHILE from outside it, and is met when the case
 *                leaves WHILE. Durations: 90s, 15m, 24h, 2d.
 *      notify    ACTION[:VARIANT] RECIPIENT TEMPLATE
 *                RECIPIENT: leaders, division_head, department, assignee,
 *                reporter, ... (resolved by the notification service)
 */
#ifndef HL_PROCEDURE_H_INCLUDED
#define HL_PROCEDURE_H_INCLUDED

typedef struct _hl_procedure_t hl_procedure_t;

typedef struct {
    const char *name;
    bool from_received;         //  anchor: received time (else: start time)
    int64_t warn_pct;           //  warn at this % of the duration (0 = no warning)
} hl_deadline_def_t;

typedef struct {
    const char *recipient;
    const char *template_name;
} hl_notify_rule_t;

//  One item of a meaning (see hl_procedure_meaning below)
typedef struct {
    const char *action;         //  an action name (on_time: a deadline name)
    const char *variant;        //  "" if the meaning names none
    const char *follow;         //  advance: the follow-up action, else NULL
    const char *follow_variant; //  advance: its variant ("" if none)
} hl_meaning_item_t;

//  Load and check. On error returns NULL and writes "path:line: message"
//  into err.
hl_procedure_t *hl_procedure_load (const char *path, char *err, size_t errsize);
void hl_procedure_destroy (hl_procedure_t **self_p);
const char *hl_procedure_name (hl_procedure_t *self);
const char *hl_procedure_version (hl_procedure_t *self);

//  The state a new case starts in (the TO of the action whose FROM is '-').
const char *hl_procedure_initial (hl_procedure_t *self);
bool hl_procedure_state_exists (hl_procedure_t *self, const char *state);
bool hl_procedure_state_final (hl_procedure_t *self, const char *state);
//  Human label of a state ("" if none). State names are stable identifiers.
const char *hl_procedure_state_label (hl_procedure_t *self, const char *state);
bool hl_procedure_regime_exists (hl_procedure_t *self, const char *regime);
bool hl_procedure_role_exists (hl_procedure_t *self, const char *role);
//  All state names, in file order; returns count.
size_t hl_procedure_states (hl_procedure_t *self, const char **out, size_t max);

//  May role take action/variant on a case in state? variant may be "" or
//  NULL. Returns HL_OK and sets *to_state (never "=": resolved to state);
//  HL_NOT_FOUND if no such action/variant exists at all; HL_CONFLICT if not
//  allowed from this state; HL_FORBIDDEN if allowed but not for this role.
//  For a creating action pass state NULL.
int hl_procedure_check (hl_procedure_t *self, const char *state, const char *action,
                        const char *variant, const char *role, const char **to_state);
//  Arguments the action requires (NULL-terminated list, may be empty).
const char **hl_procedure_requires (hl_procedure_t *self, const char *action,
                                    const char *variant);
//  Actions allowed from state for role (role NULL: any role), as "action" or
//  "action variant" strings (owned by the procedure). Returns count.
size_t hl_procedure_allowed (hl_procedure_t *self, const char *state, const char *role,
                             const char **out, size_t max);

//  Deadlines that start when a case moves from -> to (from NULL: new case).
size_t hl_procedure_deadlines_starting (hl_procedure_t *self, const char *from,
                                        const char *to, const hl_deadline_def_t **out,
                                        size_t max);
//  Deadlines that are met (stop) when a case moves from -> to.
size_t hl_procedure_deadlines_stopping (hl_procedure_t *self, const char *from,
                                        const char *to, const hl_deadline_def_t **out,
                                        size_t max);
//  Is deadline running while a case is in state?
bool hl_procedure_deadline_active (hl_procedure_t *self, const char *deadline,
                                   const char *state);
//  Duration of deadline under regime, ms; -1 if unknown.
int64_t hl_procedure_deadline_duration (hl_procedure_t *self, const char *deadline,
                                        const char *regime);
//  Notification rules for an event (action, variant); returns count.
size_t hl_procedure_notify_rules (hl_procedure_t *self, const char *action,
                                  const char *variant, const hl_notify_rule_t **out,
                                  size_t max);

//  Meanings: which of the procedure's actions the services act on or count,
//  declared once by the file's `meaning` lines (procedure.conf documents
//  them) and checked on load, so no service names an action itself:
//    forward ACTION:VARIANT  the event that hands a case to the Department:
//                            the only one a ward sends the city with the
//                            full report; the city opens a case from it
//    create ACTION           the creating action the city opens it with
//    report ACTION           the creating action a new report is filed
//                            with (the web's forms, Open311)
//    route ACTION            what routing submits, in the variant its rules
//                            choose
//    deadline_warn ACTION, deadline_breach ACTION   what the watcher records
//    assign ACTION ARG       the action that assigns, the argument naming whom
//    advance ACTION=FOLLOW[:VARIANT],...   (optional) once the notifications
//                            of ACTION are queued, record FOLLOW
//    verified ACTION, accurate ACTION:VARIANT, resolved ACTION,
//    informed ACTION         the report's columns
//    on_time DEADLINE        the deadline of the report's on-time figures
//    done ACTION,...         the report's "Còn tồn": the states these lead
//                            to (and the final states) count as done
//  The (first) action of a meaning, and its variant ("" if it names none)
//  in *variant if not NULL; NULL if the procedure does not declare it.
const char *hl_procedure_meaning (hl_procedure_t *self, const char *meaning,
                                  const char **variant);
//  Has an event of action/variant this meaning? An item naming a variant
//  matches only it; forward and accurate items without one match only
//  events without one; the others match every variant.
bool hl_procedure_means (hl_procedure_t *self, const char *meaning, const char *action,
                         const char *variant);
//  The items of a meaning (several for done and advance), in file order;
//  returns the count (0 if not declared).
size_t hl_procedure_meaning_items (hl_procedure_t *self, const char *meaning,
                                   const hl_meaning_item_t **out, size_t max);
//  assign's argument ("to"); NULL if not declared
const char *hl_procedure_meaning_arg (hl_procedure_t *self, const char *meaning);

//  Selftests: the queries (hl_procedure.c), the loader with every error
//  it names (hl_procedure_loader.c) and its meaning lines with theirs
//  (hl_procedure_meaning.c)
void hl_procedure_test (bool verbose);
void hl_procedure_loader_test (bool verbose);
void hl_procedure_meaning_test (bool verbose);
//  The whole procedure as JSON (states, roles, regimes, one entry per action
//  rule with its from, to, actors and requires), for clients that build
//  their forms from it. Caller json_decref's it.
json_t *hl_procedure_json (hl_procedure_t *self);
#endif
