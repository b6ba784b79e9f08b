/*  hl_deadline — the deadlines of every case, derived from the event log.
 *
 *  Every rule comes from the procedure: which deadlines start or stop on a
 *  transition, their anchor, their duration under each regime and their
 *  warning percentage. This class only records instances and their fate.
 */
#include "hotline.h"

#define S_MAX_DEFS  64

const char hl_deadline_schema [] =
    "CREATE TABLE IF NOT EXISTS deadline_cases ("
    "    case_id TEXT PRIMARY KEY,"
    "    received_ms INTEGER NOT NULL,"
    "    regime TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deadlines ("
    "    id INTEGER PRIMARY KEY,"
    "    case_id TEXT NOT NULL,"
    "    name TEXT NOT NULL,"
    "    started_seq INTEGER NOT NULL,"
    "    started_ms INTEGER NOT NULL,"
    "    due_ms INTEGER NOT NULL,"
    "    warn_ms INTEGER NOT NULL DEFAULT 0,"
    "    met_ms INTEGER,"
    "    warned_seq INTEGER,"
    "    breached_seq INTEGER,"
    "    UNIQUE (case_id, name, started_seq));"
    //  Running deadlines by due time: overdue queries, watcher recovery
    "CREATE INDEX IF NOT EXISTS deadlines_running ON deadlines (due_ms) WHERE met_ms IS NULL;";

//  Times come from events (a ward's, at the city): any int64. Saturate
//  instead of overflowing.
static int64_t
s_add_sat (int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

int
hl_deadline_setup (hl_store_t *store)
{
    assert (store);
    return hl_store_exec (store, hl_deadline_schema);
}

static bool
s_empty (const char *text)
{
    return !text || !*text;
}

//  deadline_warn / deadline_breach: mark the instance, once
static int
s_apply_firing (hl_store_t *store, const Hotline__Event *event, bool warn)
{
    const char *name = hl_event_arg (event, "deadline");
    const char *seq_text = hl_event_arg (event, "started_seq");
    char *end = NULL;
    errno = 0;
    unsigned long long started_seq = strtoull (seq_text, &end, 10);
    if (!*name || !*seq_text || errno || *end) {
        //  Intake validated it; an unusable one cannot mark anything
        hl_log (HL_WARN, event->case_id, "deadline event %s without deadline/started_seq, ignored",
                event->event_id? event->event_id: "?");
        return 0;
    }
    sqlite3_stmt *stmt = hl_store_prepare (store, warn?
        "UPDATE deadlines SET warned_seq = ? "
        "WHERE case_id = ? AND name = ? AND started_seq = ? AND warned_seq IS NULL":
        "UPDATE deadlines SET breached_seq = ? "
        "WHERE case_id = ? AND name = ? AND started_seq = ? AND breached_seq IS NULL");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) event->seq);
    sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) started_seq);
    return hl_store_step_done (store, stmt);
}

int
hl_deadline_apply (hl_store_t *store, hl_procedure_t *procedure, const Hotline__Event *event)
{
    assert (store);
    assert (procedure);
    assert (event);
    if (s_empty (event->case_id))
        return 0;
    const char *action = event->action? event->action: "";
    if (streq (action, "deadline_warn"))
        return s_apply_firing (store, event, true);
    if (streq (action, "deadline_breach"))
        return s_apply_firing (store, event, false);

    const char *from = s_empty (event->from_state)? NULL: event->from_state;
    const char *to = s_empty (event->to_state)? NULL: event->to_state;
    if (!to || (from && streq (from, to)))
        return 0;               //  no state change: no deadline starts or stops

    //  The case's anchor and regime, fixed at submit: a new case stores
    //  them; a later event reads them (a case whose submit this store never
    //  saw falls back on the event itself)
    int64_t received_ms = event->at_ms;
    char regime [64];
    snprintf (regime, sizeof regime, "%s", s_empty (event->regime)? "normal": event->regime);
    bool stored_now = false;
    if (!from) {
        int64_t anchor = event->report && event->report->received_ms > 0?
                         event->report->received_ms: event->at_ms;
        sqlite3_stmt *stmt = hl_store_prepare (store,
            "INSERT OR IGNORE INTO deadline_cases (case_id, received_ms, regime) VALUES (?, ?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, anchor);
        sqlite3_bind_text (stmt, 3, regime, -1, SQLITE_STATIC);
        if (hl_store_step_done (store, stmt))
            return -1;
        if (sqlite3_changes (hl_store_db (store)) == 1) {
            stored_now = true;          //  no need to read it back
            received_ms = anchor;
        }
    }
    if (!stored_now) {
        sqlite3_stmt *stmt = hl_store_prepare (store,
            "SELECT received_ms, regime FROM deadline_cases WHERE case_id = ?");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) {
            received_ms = sqlite3_column_int64 (stmt, 0);
            const char *stored = (const char *) sqlite3_column_text (stmt, 1);
            if (!s_empty (stored))
                snprintf (regime, sizeof regime, "%s", stored);
        }
        sqlite3_reset (stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            hl_error ("deadline store: %s", hl_store_error (store));
            return -1;
        }
    }

    const hl_deadline_def_t *defs [S_MAX_DEFS];
    //  Stopping first: instances started by earlier events are met now.
    //  (started_seq < seq keeps a replayed old event from meeting a newer
    //  instance of the same deadline.)
    if (from) {
        size_t count = hl_procedure_deadlines_stopping (procedure, from, to, defs, S_MAX_DEFS);
        for (size_t i = 0; i < count; i++) {
            sqlite3_stmt *stmt = hl_store_prepare (store,
                "UPDATE deadlines SET met_ms = ? "
                "WHERE case_id = ? AND name = ? AND met_ms IS NULL AND started_seq < ?");
            if (!stmt)
                return -1;
            sqlite3_bind_int64 (stmt, 1, event->at_ms);
            sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, 3, defs [i]->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) event->seq);
            if (hl_store_step_done (store, stmt))
                return -1;
        }
    }
    size_t count = hl_procedure_deadlines_starting (procedure, from, to, defs, S_MAX_DEFS);
    for (size_t i = 0; i < count; i++) {
        int64_t duration = hl_procedure_deadline_duration (procedure, defs [i]->name, regime);
        if (duration < 0) {
            hl_log (HL_DEBUG, event->case_id, "deadline %s has no duration under regime %s",
                    defs [i]->name, regime);
            continue;
        }
        int64_t started_ms = event->at_ms;
        int64_t due_ms = s_add_sat (defs [i]->from_received? received_ms: started_ms, duration);
        int64_t warn_ms = 0;
        //  A deadline that is already due when it starts gets no warning
        if (defs [i]->warn_pct > 0 && due_ms > started_ms) {
            int64_t span = 0;
            if (due_ms > started_ms)
                span = started_ms < 0 && due_ms > INT64_MAX + started_ms? INT64_MAX:
                       due_ms - started_ms;
            int64_t pct = defs [i]->warn_pct < 100? defs [i]->warn_pct: 100;
            warn_ms = s_add_sat (started_ms, span / 100 * pct + span % 100 * pct / 100);
        }
        sqlite3_stmt *stmt = hl_store_prepare (store,
            "INSERT OR IGNORE INTO deadlines (case_id, name, started_seq, started_ms, due_ms, warn_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 2, defs [i]->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) event->seq);
        sqlite3_bind_int64 (stmt, 4, started_ms);
        sqlite3_bind_int64 (stmt, 5, due_ms);
        sqlite3_bind_int64 (stmt, 6, warn_ms);
        if (hl_store_step_done (store, stmt))
            return -1;
    }
    return 0;
}

bool
hl_deadline_pending (hl_store_t *store, const char *case_id, const char *name,
                     uint64_t started_seq, const char *kind)
{
    if (!store || !case_id || !name || !kind)
        return false;
    bool warn = streq (kind, "warn");
    if (!warn && strneq (kind, "breach"))
        return false;
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "SELECT met_ms IS NULL, warned_seq IS NULL, breached_seq IS NULL, warn_ms "
        "FROM deadlines WHERE case_id = ? AND name = ? AND started_seq = ?");
    if (!stmt)
        return false;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) started_seq);
    bool pending = false;
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        hl_error ("deadline store: cannot read deadline %s of %s: %s", name, case_id,
                  hl_store_error (store));
    if (rc == SQLITE_ROW) {
        bool running = sqlite3_column_int (stmt, 0);
        bool not_warned = sqlite3_column_int (stmt, 1);
        bool not_breached = sqlite3_column_int (stmt, 2);
        int64_t warn_ms = sqlite3_column_int64 (stmt, 3);
        if (warn)
            //  A warning comes before the breach, never after it
            pending = running && not_warned && not_breached && warn_ms > 0;
        else
            pending = running && not_breached;
    }
    sqlite3_reset (stmt);
    return pending;
}

json_t *
hl_deadline_json (hl_store_t *store, const char *case_id, int64_t now)
{
    json_t *array = json_array ();
    if (!store || !case_id)
        return array;
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "SELECT name, started_seq, started_ms, due_ms, warn_ms, met_ms, warned_seq, breached_seq "
        "FROM deadlines WHERE case_id = ? ORDER BY started_seq, id");
    if (!stmt)
        return array;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        json_t *item = json_object ();
        const char *name = (const char *) sqlite3_column_text (stmt, 0);
        int64_t due_ms = sqlite3_column_int64 (stmt, 3);
        bool met = sqlite3_column_type (stmt, 5) != SQLITE_NULL;
        int64_t met_ms = sqlite3_column_int64 (stmt, 5);
        json_object_set_new (item, "name", json_string (name? name: ""));
        json_object_set_new (item, "started_seq", json_integer (sqlite3_column_int64 (stmt, 1)));
        json_object_set_new (item, "started_ms", json_integer (sqlite3_column_int64 (stmt, 2)));
        json_object_set_new (item, "due_ms", json_integer (due_ms));
        json_object_set_new (item, "warn_ms", json_integer (sqlite3_column_int64 (stmt, 4)));
        json_object_set_new (item, "met_ms", met? json_integer (met_ms): json_null ());
        json_object_set_new (item, "warned", json_boolean (sqlite3_column_type (stmt, 6) != SQLITE_NULL));
        json_object_set_new (item, "breached", json_boolean (sqlite3_column_type (stmt, 7) != SQLITE_NULL));
        const char *status = met? (met_ms > due_ms? "met_late": "met"):
                                  (now > due_ms? "overdue": "running");
        json_object_set_new (item, "status", json_string (status));
        json_array_append_new (array, item);
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        //  Not a shorter list: a case shown without its deadlines would
        //  read as "none running"
        hl_error ("deadline store: cannot read the deadlines of %s: %s", case_id,
                  hl_store_error (store));
        json_decref (array);
        return NULL;
    }
    return array;
}

//  --------------------------------------------------------------------------
//  Selftest
//
//  Drives synthetic cases through deploy/config/procedure.conf. No state
//  name is written here: the test finds its way by action names (submit,
//  route, verify, reopen ...) and asks the procedure which state each leads
//  to and which deadlines start and stop, then checks the store agrees.

#define S_T0    1700000000000LL     //  a fixed clock for the test events
#define S_HOUR  3600000LL

typedef struct {
    hl_store_t *store;
    hl_procedure_t *procedure;
    uint64_t seq;               //  log seq of the last event
    int64_t now;                //  at_ms of the next event
    bool verbose;
} s_test_t;

typedef struct {
    char case_id [32];
    char state [64];
    char regime [16];
    int64_t received_ms;
} s_case_t;

//  Find action among those allowed from state (any role); sets *variant_p
//  to the first allowed variant. Returns the "action [variant]" entry or NULL.
static const char *
s_test_find (hl_procedure_t *procedure, const char *state, const char *action,
             const char **variant_p)
{
    const char *allowed [128];
    size_t count = hl_procedure_allowed (procedure, state, NULL, allowed, 128);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen (action);
        if (strncmp (allowed [i], action, len) == 0
        &&  (allowed [i][len] == 0 || allowed [i][len] == ' ')) {
            if (variant_p)
                *variant_p = allowed [i][len]? allowed [i] + len + 1: "";
            return allowed [i];
        }
    }
    return NULL;
}

static void
s_test_event (s_test_t *test, s_case_t *kase, const char *action, const char *variant,
              const char *to_state, Hotline__Report *report, const char *arg_deadline,
              uint64_t arg_seq)
{
    Hotline__Event event = HOTLINE__EVENT__INIT;
    char event_id [32];
    test->seq++;
    snprintf (event_id, sizeof event_id, "test/%" PRIu64, test->seq);
    event.event_id = event_id;
    event.seq = test->seq;
    event.case_id = kase->case_id;
    event.ward = "31001";
    event.at_ms = test->now;
    event.actor = "test:deadline";
    event.action = (char *) action;
    event.variant = (char *) (variant? variant: "");
    event.from_state = kase->state;
    event.to_state = (char *) (to_state? to_state: kase->state);
    event.regime = kase->regime;
    event.report = report;
    Hotline__Event__ArgsEntry entries [2] = { HOTLINE__EVENT__ARGS_ENTRY__INIT,
                                              HOTLINE__EVENT__ARGS_ENTRY__INIT };
    Hotline__Event__ArgsEntry *args [2] = { &entries [0], &entries [1] };
    char seq_text [24];
    if (arg_deadline) {
        snprintf (seq_text, sizeof seq_text, "%" PRIu64, arg_seq);
        entries [0].key = "deadline";
        entries [0].value = (char *) arg_deadline;
        entries [1].key = "started_seq";
        entries [1].value = seq_text;
        event.n_args = 2;
        event.args = args;
    }
    //  Applied twice in the same transaction: must change nothing more
    assert (hl_store_begin (test->store) == 0);
    assert (hl_deadline_apply (test->store, test->procedure, &event) == 0);
    assert (hl_deadline_apply (test->store, test->procedure, &event) == 0);
    assert (hl_store_commit (test->store) == 0);
    if (to_state)
        snprintf (kase->state, sizeof kase->state, "%s", to_state);
    if (test->verbose)
        printf ("\n   %s %s %s -> %s", kase->case_id, action, variant? variant: "", kase->state);
}

//  Move a case by action (any allowed variant, or the one given). Returns
//  false if the action is not allowed from the case's state.
static bool
s_test_move (s_test_t *test, s_case_t *kase, const char *action, const char *want_variant)
{
    const char *variant = NULL;
    const char *found = s_test_find (test->procedure, kase->state, action, &variant);
    if (!found)
        return false;
    if (want_variant)
        variant = want_variant;
    //  Find a role that may take it, to resolve to_state
    const char *to_state = NULL;
    int rc = HL_FORBIDDEN;
    const char *roles [] = { "system", "officer", "leader", "division", "department", NULL };
    for (int i = 0; roles [i] && rc != HL_OK; i++)
        if (hl_procedure_role_exists (test->procedure, roles [i]))
            rc = hl_procedure_check (test->procedure, kase->state, action, variant,
                                     roles [i], &to_state);
    if (rc != HL_OK)
        return false;
    s_test_event (test, kase, action, variant, to_state, NULL, NULL, 0);
    return true;
}

//  Count the instances of a deadline for a case (met or not)
static int64_t
s_test_count (s_test_t *test, const char *case_id, const char *where)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM deadlines WHERE case_id = '%s' %s", case_id, where);
    return hl_store_int (test->store, sql, -1);
}

//  After each move: every deadline the procedure says is active in the
//  case's state has exactly one running instance, and no other runs.
static void
s_test_check_running (s_test_t *test, s_case_t *kase)
{
    sqlite3_stmt *stmt = hl_store_prepare (test->store,
        "SELECT name FROM deadlines WHERE case_id = ? AND met_ms IS NULL");
    sqlite3_bind_text (stmt, 1, kase->case_id, -1, SQLITE_STATIC);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);
        assert (hl_procedure_deadline_active (test->procedure, name, kase->state));
    }
    sqlite3_reset (stmt);
}

//  Check every running instance of the case: due = anchor + duration (regime),
//  warn = started + pct of the span
static int
s_test_check_due (s_test_t *test, s_case_t *kase)
{
    int checked = 0;
    sqlite3_stmt *stmt = hl_store_prepare (test->store,
        "SELECT name, started_ms, due_ms, warn_ms FROM deadlines WHERE case_id = ? ORDER BY id");
    sqlite3_bind_text (stmt, 1, kase->case_id, -1, SQLITE_STATIC);
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);
        int64_t started_ms = sqlite3_column_int64 (stmt, 1);
        int64_t due_ms = sqlite3_column_int64 (stmt, 2);
        int64_t warn_ms = sqlite3_column_int64 (stmt, 3);
        int64_t duration = hl_procedure_deadline_duration (test->procedure, name, kase->regime);
        assert (duration >= 0);
        assert (due_ms == started_ms + duration || due_ms == kase->received_ms + duration);
        assert (warn_ms == 0 || (warn_ms >= started_ms && warn_ms <= due_ms));
        checked++;
    }
    sqlite3_reset (stmt);
    return checked;
}

static void
s_test_submit (s_test_t *test, s_case_t *kase, int number, bool urgent)
{
    snprintf (kase->case_id, sizeof kase->case_id, "31001-2026-%06d", number);
    kase->state [0] = 0;
    snprintf (kase->regime, sizeof kase->regime, "%s", urgent? "urgent": "normal");
    //  Intake received it a little before the event was written
    kase->received_ms = test->now - 60000;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    report.received_ms = kase->received_ms;
    report.urgent = urgent;
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    report.description = "Nước thải đổ ra kênh";
    const char *initial = hl_procedure_initial (test->procedure);
    assert (initial);
    s_test_event (test, kase, "submit", "", initial, &report, NULL, 0);
    assert (hl_store_int (test->store, "SELECT count(*) FROM deadline_cases", 0) >= 1);
}

//  Expected due of the first running instance of a deadline, from the
//  procedure's definition for the transition that started it
static void
s_test_expect_starts (s_test_t *test, s_case_t *kase, const char *from, const char *to)
{
    const hl_deadline_def_t *defs [S_MAX_DEFS];
    size_t count = hl_procedure_deadlines_starting (test->procedure, from, to, defs, S_MAX_DEFS);
    for (size_t i = 0; i < count; i++) {
        int64_t duration = hl_procedure_deadline_duration (test->procedure, defs [i]->name, kase->regime);
        if (duration < 0)
            continue;
        int64_t started_ms = test->now;
        int64_t due_ms = (defs [i]->from_received? kase->received_ms: started_ms) + duration;
        int64_t warn_ms = 0;
        if (defs [i]->warn_pct > 0 && due_ms > started_ms)
            warn_ms = started_ms + (due_ms > started_ms? due_ms - started_ms: 0)
                                 * (defs [i]->warn_pct < 100? defs [i]->warn_pct: 100) / 100;
        char sql [400];
        snprintf (sql, sizeof sql,
            "SELECT count(*) FROM deadlines WHERE case_id = '%s' AND name = '%s' AND started_seq = %"
            PRIu64 " AND started_ms = %" PRId64 " AND due_ms = %" PRId64 " AND warn_ms = %" PRId64
            " AND met_ms IS NULL", kase->case_id, defs [i]->name, test->seq, started_ms, due_ms, warn_ms);
        assert (hl_store_int (test->store, sql, -1) == 1);
    }
}

//  Move and check the starts against the procedure
static bool
s_test_step (s_test_t *test, s_case_t *kase, const char *action, const char *variant)
{
    char from [64];
    snprintf (from, sizeof from, "%s", kase->state);
    if (!s_test_move (test, kase, action, variant))
        return false;
    s_test_expect_starts (test, kase, from, kase->state);
    s_test_check_running (test, kase);
    return true;
}

void
hl_deadline_test (bool verbose)
{
    printf (" * hl_deadline: ");
    char dir [] = "/tmp/hl_deadline_XXXXXX";
    assert (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/deadline.db", dir);
    s_test_t test = { NULL, NULL, 0, S_T0, verbose };
    test.store = hl_store_new (path, NULL);
    assert (test.store);
    assert (hl_deadline_setup (test.store) == 0);
    assert (hl_deadline_setup (test.store) == 0);       //  idempotent DDL
    char err [512];
    test.procedure = hl_procedure_load ("deploy/config/procedure.conf", err, sizeof err);
    if (!test.procedure)
        printf ("(%s) ", err);
    assert (test.procedure);
    hl_procedure_t *procedure = test.procedure;

    //  1. Two cases, normal and urgent, submitted at the same moment
    s_case_t normal, urgent;
    s_test_submit (&test, &normal, 1, false);
    s_test_expect_starts (&test, &normal, NULL, normal.state);
    s_test_submit (&test, &urgent, 2, true);
    s_test_expect_starts (&test, &urgent, NULL, urgent.state);
    assert (hl_store_int (test.store, "SELECT count(*) FROM deadline_cases", 0) == 2);
    assert (hl_store_int (test.store,
        "SELECT count(*) FROM deadline_cases WHERE case_id = '31001-2026-000002' AND regime = 'urgent'", 0) == 1);

    //  2. Drive both along the main path: whatever informs the leaders,
    //  then route to the ward, then verify. The procedure decides which
    //  deadlines that starts and stops.
    const char *path_actions [] = { "inform_leaders", "route", "assign", "verify", NULL };
    for (int i = 0; path_actions [i]; i++) {
        test.now += S_HOUR;
        const char *variant = streq (path_actions [i], "route")? "ward":
                              streq (path_actions [i], "verify")? "accurate": NULL;
        assert (s_test_step (&test, &normal, path_actions [i], variant));
        assert (s_test_step (&test, &urgent, path_actions [i], variant));
    }
    assert (s_test_check_due (&test, &normal) > 0);
    assert (s_test_check_due (&test, &urgent) > 0);

    //  Every deadline defined under both regimes: the urgent one is never
    //  longer (Khẩn)
    sqlite3_stmt *stmt = hl_store_prepare (test.store, "SELECT DISTINCT name FROM deadlines");
    int names = 0;
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);
        int64_t n = hl_procedure_deadline_duration (procedure, name, "normal");
        int64_t u = hl_procedure_deadline_duration (procedure, name, "urgent");
        if (n >= 0 && u >= 0)
            assert (u <= n);
        names++;
    }
    sqlite3_reset (stmt);
    assert (names > 0);

    //  3. Firing: warn then breach of a running instance of the normal case
    //  (if the case's state still runs one), exactly once each
    int64_t id = hl_store_int (test.store,
        "SELECT id FROM deadlines WHERE case_id = '31001-2026-000001' AND met_ms IS NULL "
        "ORDER BY warn_ms DESC LIMIT 1", -1);
    s_case_t fresh;
    if (id < 0) {
        //  Path ended where nothing runs: use a fresh case
        test.now += S_HOUR;
        s_test_submit (&test, &fresh, 3, false);
        id = hl_store_int (test.store,
            "SELECT id FROM deadlines WHERE case_id = '31001-2026-000003' AND met_ms IS NULL "
            "ORDER BY warn_ms DESC LIMIT 1", -1);
    }
    else
        fresh = normal;
    assert (id > 0);
    char sql [200];
    snprintf (sql, sizeof sql, "SELECT name FROM deadlines WHERE id = %" PRId64, id);
    stmt = hl_store_prepare (test.store, sql);
    assert (sqlite3_step (stmt) == SQLITE_ROW);
    char name [64];
    snprintf (name, sizeof name, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_reset (stmt);
    snprintf (sql, sizeof sql, "SELECT started_seq FROM deadlines WHERE id = %" PRId64, id);
    uint64_t started_seq = (uint64_t) hl_store_int (test.store, sql, -1);
    snprintf (sql, sizeof sql, "SELECT warn_ms FROM deadlines WHERE id = %" PRId64, id);
    bool has_warning = hl_store_int (test.store, sql, 0) > 0;
    assert (hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "warn") == has_warning);
    assert (hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "breach"));
    assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq + 1000, "breach"));
    assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "bogus"));
    assert (!hl_deadline_pending (test.store, "31001-2026-999999", name, started_seq, "breach"));
    if (has_warning) {
        test.now += S_HOUR;
        s_test_event (&test, &fresh, "deadline_warn", "", NULL, NULL, name, started_seq);
        assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "warn"));
        assert (hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "breach"));
        snprintf (sql, sizeof sql, "SELECT warned_seq FROM deadlines WHERE id = %" PRId64, id);
        uint64_t warned_seq = (uint64_t) hl_store_int (test.store, sql, 0);
        assert (warned_seq == test.seq);
        //  A repeated warning (e.g. replayed) does not move warned_seq
        s_test_event (&test, &fresh, "deadline_warn", "", NULL, NULL, name, started_seq);
        assert ((uint64_t) hl_store_int (test.store, sql, 0) == warned_seq);
    }
    //  JSON before the breach, at a time past due: overdue
    snprintf (sql, sizeof sql, "SELECT due_ms FROM deadlines WHERE id = %" PRId64, id);
    int64_t due_ms = hl_store_int (test.store, sql, 0);
    json_t *json = hl_deadline_json (test.store, fresh.case_id, due_ms + 1);
    assert (json_is_array (json) && json_array_size (json) > 0);
    bool seen = false;
    size_t index;
    json_t *item;
    json_array_foreach (json, index, item) {
        if (json_integer_value (json_object_get (item, "started_seq")) == (json_int_t) started_seq
        &&  streq (json_string_value (json_object_get (item, "name")), name)) {
            seen = true;
            assert (streq (json_string_value (json_object_get (item, "status")), "overdue"));
            assert (json_is_null (json_object_get (item, "met_ms")));
            assert (json_integer_value (json_object_get (item, "due_ms")) == due_ms);
            assert (json_is_true (json_object_get (item, "warned")) == has_warning);
            assert (json_is_false (json_object_get (item, "breached")));
        }
    }
    assert (seen);
    json_decref (json);
    json = hl_deadline_json (test.store, fresh.case_id, due_ms - 1);
    json_array_foreach (json, index, item)
        if (json_integer_value (json_object_get (item, "started_seq")) == (json_int_t) started_seq
        &&  streq (json_string_value (json_object_get (item, "name")), name))
            assert (streq (json_string_value (json_object_get (item, "status")), "running"));
    json_decref (json);

    test.now = due_ms + 1;
    s_test_event (&test, &fresh, "deadline_breach", "", NULL, NULL, name, started_seq);
    assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "breach"));
    assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "warn"));

    //  4. Leave the state: the deadline is met (late), and a later replay of
    //  the leaving event does not touch a newer instance. Try the actions
    //  that move a case on, in order, until one leaves a state where it runs.
    const char *onward [] = { "contain", "resolve", "inform", "close", NULL };
    bool met = false;
    for (int i = 0; onward [i] && !met; i++) {
        char before [64];
        snprintf (before, sizeof before, "%s", fresh.state);
        test.now += S_HOUR;
        if (!s_test_move (&test, &fresh, onward [i], NULL))
            continue;
        if (!hl_procedure_deadline_active (procedure, name, fresh.state)) {
            snprintf (sql, sizeof sql, "SELECT met_ms FROM deadlines WHERE id = %" PRId64, id);
            assert (hl_store_int (test.store, sql, -1) == test.now);
            met = true;
        }
    }
    if (met) {
        json = hl_deadline_json (test.store, fresh.case_id, test.now);
        json_array_foreach (json, index, item)
            if (json_integer_value (json_object_get (item, "started_seq")) == (json_int_t) started_seq
            &&  streq (json_string_value (json_object_get (item, "name")), name)) {
                assert (streq (json_string_value (json_object_get (item, "status")), "met_late"));
                assert (json_is_true (json_object_get (item, "breached")));
            }
        json_decref (json);
        assert (!hl_deadline_pending (test.store, fresh.case_id, name, started_seq, "breach"));
    }

    //  5. Take the urgent case to the end, then reopen it if the procedure
    //  allows: the deadlines that restart are new instances (new started_seq)
    const char *finish [] = { "contain", "resolve", "inform", "close", NULL };
    for (int round = 0; round < 3 && !hl_procedure_state_final (procedure, urgent.state); round++)
        for (int i = 0; finish [i]; i++) {
            test.now += S_HOUR;
            s_test_step (&test, &urgent, finish [i], NULL);
        }
    //  Nothing runs once the case no longer is in any deadline's states
    s_test_check_running (&test, &urgent);
    int64_t before_reopen = s_test_count (&test, urgent.case_id, "");
    test.now += S_HOUR;
    char closed_state [64];
    snprintf (closed_state, sizeof closed_state, "%s", urgent.state);
    assert (s_test_step (&test, &urgent, "reopen", NULL));
    {
        const hl_deadline_def_t *defs [S_MAX_DEFS];
        size_t starting = hl_procedure_deadlines_starting (procedure, closed_state, urgent.state,
                                                           defs, S_MAX_DEFS);
        char where [64];
        snprintf (where, sizeof where, "AND met_ms IS NULL AND started_seq = %" PRIu64, test.seq);
        assert (s_test_count (&test, urgent.case_id, where) == (int64_t) starting);
        assert (s_test_count (&test, urgent.case_id, "") == before_reopen + (int64_t) starting);
        if (verbose)
            printf ("\n   reopen started %zu deadline(s)", starting);
        s_test_check_due (&test, &urgent);
    }
    //  An action that keeps the state ('=') starts and stops nothing
    int64_t running = s_test_count (&test, urgent.case_id, "AND met_ms IS NULL");
    test.now += S_HOUR;
    if (s_test_step (&test, &urgent, "consult", NULL))
        assert (s_test_count (&test, urgent.case_id, "AND met_ms IS NULL") == running);

    //  A case routed elsewhere leaves the deadlines that do not run there
    s_case_t away;
    test.now += S_HOUR;
    s_test_submit (&test, &away, 4, false);
    assert (s_test_step (&test, &away, "inform_leaders", NULL));
    assert (s_test_count (&test, away.case_id, "AND met_ms IS NULL") > 0);
    test.now += S_HOUR;
    char away_from [64];
    snprintf (away_from, sizeof away_from, "%s", away.state);
    int64_t away_running = s_test_count (&test, away.case_id, "AND met_ms IS NULL");
    assert (s_test_step (&test, &away, "route", "department"));
    {
        //  Each running deadline the procedure stops on this move is met now
        const hl_deadline_def_t *defs [S_MAX_DEFS];
        size_t stopping = hl_procedure_deadlines_stopping (procedure, away_from, away.state,
                                                           defs, S_MAX_DEFS);
        assert (stopping > 0);
        char where [64];
        snprintf (where, sizeof where, "AND met_ms = %" PRId64, test.now);
        int64_t met_now = s_test_count (&test, away.case_id, where);
        assert (met_now > 0 && met_now <= (int64_t) stopping);
        assert (s_test_count (&test, away.case_id, "AND met_ms IS NULL") == away_running - met_now);
    }

    //  6. Replaying the whole history is a no-op: re-apply a submit for the
    //  normal case changes nothing
    int64_t rows = hl_store_int (test.store, "SELECT count(*) FROM deadlines", -1);
    int64_t cases = hl_store_int (test.store, "SELECT count(*) FROM deadline_cases", -1);
    int64_t sum = hl_store_int (test.store,
        "SELECT total(due_ms + warn_ms + coalesce(met_ms,0) + coalesce(warned_seq,0) "
        "+ coalesce(breached_seq,0)) FROM deadlines", -1);
    s_case_t replay = normal;
    replay.state [0] = 0;
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.event_id = "test/1";
    event.seq = 1;
    event.case_id = replay.case_id;
    event.at_ms = S_T0;
    event.action = "submit";
    event.from_state = "";
    event.to_state = (char *) hl_procedure_initial (procedure);
    event.regime = "normal";
    assert (hl_deadline_apply (test.store, procedure, &event) == 0);
    assert (hl_store_int (test.store, "SELECT count(*) FROM deadlines", -1) == rows);
    assert (hl_store_int (test.store, "SELECT count(*) FROM deadline_cases", -1) == cases);
    assert (hl_store_int (test.store,
        "SELECT total(due_ms + warn_ms + coalesce(met_ms,0) + coalesce(warned_seq,0) "
        "+ coalesce(breached_seq,0)) FROM deadlines", -1) == sum);
    //  A deadline event without arguments marks nothing
    event.action = "deadline_breach";
    event.from_state = event.to_state;
    assert (hl_deadline_apply (test.store, procedure, &event) == 0);
    //  An event without a case does nothing
    event.case_id = "";
    assert (hl_deadline_apply (test.store, procedure, &event) == 0);

    //  The JSON of an unknown case is an empty array
    json = hl_deadline_json (test.store, "31001-2026-999999", S_T0);
    assert (json_is_array (json) && json_array_size (json) == 0);
    json_decref (json);

    hl_procedure_destroy (&test.procedure);
    hl_store_destroy (&test.store);
    char cmd [96];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("\n   ");
    printf ("OK\n");
}
