/*  archive_wards — the city Department's dashboard, read from the city's own
 *  views (cases, case_actions, deadlines, log, directory, hop_cursor):
 *
 *    wards    one row per ward for a period [since, until): received,
 *             verified, verified on time and late (the report's rule),
 *             forwarded to the Department, reporter informed; and, whatever
 *             the period, open now (the report's "Còn tồn" rule, applied
 *             today), overdue now, and the time of the ward's last event;
 *             the rank by on-time rate. Sorted by Query.order ("rank",
 *             "-received", ...), paged by limit/offset, filtered by text
 *             (the ward's code or name); Query.ward: that ward alone, with
 *             its focal points.
 *    charts   cases per day by type, the on-time verification rate per week
 *             (by the week a case was received in), open cases by age
 *    map      the cases with coordinates, newest first, as compact rows
 *
 *  The Department's own cases (ward = the city's code, each the twin of a
 *  forwarded ward case) are not a ward: no row, and not counted twice in
 *  the charts or on the map.
 *
 *  Cost. These run in the archive's loop, between batches of ingest, so
 *  each must stay short (≤ 200 ms with 3,321 wards: tests/bench row 10;
 *  15 ms of CPU there). The period's figures are one walk of a covering
 *  index over the period's cases (cases_figures, section 0); open now, a
 *  covering walk of the (state, ward) index (section 0: it replaces the
 *  state one, so ingest writes no more index entries than before); overdue
 *  now, a walk of the next_due_ms index; a ward's last event, one probe of
 *  the log per ward whose link has delivered since the last query
 *  (s_last_events: the answers are kept by link cursor).
 *
 *  How to read this file, top to bottom:
 *    1. the rows: the wards known (directory, links), the figures
 *    2. wards: rank, filter, sort, page, JSON
 *    3. charts
 *    4. map
 *    5. the dispatch (archive_wards_query)
 */
#include "hotline.h"
#include "archive.h"
#include <math.h>

#define S_SILENT_MS     (24 * 3600 * 1000LL)    //  a ward silent this long is counted as such
#define S_MAX_DAYS      400                     //  charts: the longest period
#define S_MAP_DEFAULT   2000                    //  map: cases by default
#define S_MAP_MAX       5000                    //  map: at most (about 80 bytes each)
#define S_MAP_SCAN      20000                   //  map: cases read to find those with coordinates

//  What counts, from the procedure's meanings (as the report reads them),
//  and what is open (the report's Còn tồn rule, applied now)
typedef struct {
    const char *verified, *informed, *forward, *forward_to, *on_time;
    const char *city;           //  the city's own code (its Department cases)
    char *open_in;              //  "'a','b'": the states that count as open
} s_names_t;

//  The procedure's states but those in skip1 and skip2, quoted for SQL's IN
static void
s_quote_list (zlistx_t *skip1, zlistx_t *skip2, json_t *spec, char *out, size_t size)
{
    *out = 0;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (spec, "states"), i, item) {
        const char *name = json_string_value (json_object_get (item, "name"));
        if (!name || zlistx_find (skip1, (void *) name) || zlistx_find (skip2, (void *) name)
        ||  strchr (name, '\''))
            continue;
        size_t len = strlen (out);
        snprintf (out + len, size - len, "%s'%s'", len? ",": "", name);
    }
    if (!*out)
        snprintf (out, size, "''");
}

static void
s_names_init (archive_t *self, s_names_t *names)
{
    hl_config_t *config = hl_service_config (archive_service (self));
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    //  Each declared by every procedure (checked on load)
    names->forward_to = "";
    names->verified = hl_procedure_meaning (procedure, "verified", NULL);
    names->informed = hl_procedure_meaning (procedure, "informed", NULL);
    names->forward = hl_procedure_meaning (procedure, "forward", &names->forward_to);
    names->on_time = hl_procedure_meaning (procedure, "on_time", NULL);
    assert (names->verified && names->informed && names->forward && names->on_time);
    names->city = hl_config_get (config, "node/case_prefix", "");
    if (!*names->city)
        names->city = hl_config_get (config, "node/city_code", "0");
    zlistx_t *done, *forwarded;
    archive_query_closed_states (self, &done, &forwarded);
    json_t *spec = hl_procedure_json (procedure);
    char list [2048];
    s_quote_list (done, forwarded, spec, list, sizeof list);
    json_decref (spec);
    zlistx_destroy (&done);
    zlistx_destroy (&forwarded);
    names->open_in = hl_strdup (list);
}

static void
s_names_destroy (s_names_t *names)
{
    zstr_free (&names->open_in);
}

// ------------------------------------------------------------- 0. columns
//
//  The period's figures of a case would cost five probes of case_actions
//  and deadlines per case (the report's EXISTS clauses): 240 ms of CPU for
//  33,210 cases, over the budget. So the city keeps them on the case row,
//  current with every event, in the transaction that applies it:
//
//    figure_flags      1 verified, 2 forwarded, 4 reporter informed (the
//                      meanings verified, forward, informed: ever taken)
//    on_time_due_ms,   the on_time deadline (the first one started): its
//    on_time_met_ms    due time, and when it was met (NULL: not yet)
//
//  and one index covers a period's scan: cases_figures (received_ms, ward,
//  type, anonymous, figure_flags, on_time_due_ms, on_time_met_ms), 40 ms
//  for the same cases. Its entry changes only when those do (a few times
//  in a case's life), not with every event.

#define S_VERIFIED      1
#define S_FORWARDED     2
#define S_INFORMED      4

static bool
s_city (archive_t *self)
{
    return streq (hl_service_role (archive_service (self)), "city");
}

int
archive_wards_add_figures (hl_store_t *store, void *arg)
{
    archive_t *self = (archive_t *) arg;
    if (!s_city (self))
        return 0;
    int has = (int) hl_store_int (store, "SELECT count(*) FROM pragma_table_info('cases')"
                                         " WHERE name = 'figure_flags'", -1);
    if (has != 0)
        return has < 0? -1: 0;
    hl_info ("adding the dashboard's figures to the cases table");
    s_names_t names;
    s_names_init (self, &names);
    int rc = hl_store_exec (store, "ALTER TABLE cases ADD COLUMN figure_flags INTEGER NOT NULL DEFAULT 0;"
                                   "ALTER TABLE cases ADD COLUMN on_time_due_ms INTEGER;"
                                   "ALTER TABLE cases ADD COLUMN on_time_met_ms INTEGER;");
    sqlite3_stmt *fill = rc? NULL: hl_store_prepare (store,
        "UPDATE cases SET figure_flags ="
        "   EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = cases.case_id AND a.action = ?1)"
        " | 2 * EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = cases.case_id AND a.action = ?2"
        "               AND a.variant = ?3)"
        " | 4 * EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = cases.case_id AND a.action = ?4),"
        " (on_time_due_ms, on_time_met_ms) = (SELECT due_ms, met_ms FROM deadlines d"
        "   WHERE d.case_id = cases.case_id AND d.name = ?5 ORDER BY started_seq LIMIT 1)");
    if (fill) {
        sqlite3_bind_text (fill, 1, names.verified, -1, SQLITE_STATIC);
        sqlite3_bind_text (fill, 2, names.forward, -1, SQLITE_STATIC);
        sqlite3_bind_text (fill, 3, names.forward_to, -1, SQLITE_STATIC);
        sqlite3_bind_text (fill, 4, names.informed, -1, SQLITE_STATIC);
        sqlite3_bind_text (fill, 5, names.on_time, -1, SQLITE_STATIC);
        rc = sqlite3_step (fill) == SQLITE_DONE? 0: -1;
        sqlite3_reset (fill);
    }
    else
        rc = -1;
    if (rc == 0)
        rc = hl_store_exec (store, "CREATE INDEX IF NOT EXISTS cases_figures ON cases (received_ms, ward, type,"
                                   " anonymous, figure_flags, on_time_due_ms, on_time_met_ms)");
    s_names_destroy (&names);
    return rc;
}

//  archive.db's step 6 (the city only): the index open now reads. With
//  cases_state (state) alone, counting each ward's open cases read every
//  open case's row for its ward, and as most cases of a busy period are
//  open SQLite scanned the whole table instead (17 ms for 33,210 cases,
//  tests/bench row 10). The same index with the ward as second column
//  covers the count (2 ms) and replaces it: as many index entries to write
//  at ingest as before, and a state filter reads it by its first column.
//  (Overdue now reads cases_due and each overdue case's row: 0.6 ms for
//  8,262; with the ward in that index it would be 0.3, but the case list's
//  order=due, next_due_ms then rowid, would need a sort.) 0 or -1.
int
archive_wards_add_ward_indexes (hl_store_t *store, void *arg)
{
    if (!s_city ((archive_t *) arg))
        return 0;
    return hl_store_exec (store, "CREATE INDEX IF NOT EXISTS cases_state_ward ON cases (state, ward);"
                                 "DROP INDEX IF EXISTS cases_state;");
}

int
archive_wards_case_changed (archive_t *self, const Hotline__Event *event)
{
    if (!event->case_id || !*event->case_id || !s_city (self))
        return 0;
    hl_procedure_t *procedure = hl_service_procedure (archive_service (self));
    hl_store_t *store = archive_store (self);
    const char *variant = event->variant? event->variant: "";
    int flags = (hl_procedure_means (procedure, "verified", event->action, variant)? S_VERIFIED: 0)
              | (hl_procedure_means (procedure, "forward", event->action, variant)? S_FORWARDED: 0)
              | (hl_procedure_means (procedure, "informed", event->action, variant)? S_INFORMED: 0);
    if (flags) {
        sqlite3_stmt *stmt = hl_store_prepare (store,
            "UPDATE cases SET figure_flags = figure_flags | ?1 WHERE case_id = ?2 AND figure_flags & ?1 <> ?1");
        if (!stmt)
            return -1;
        sqlite3_bind_int (stmt, 1, flags);
        sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step (stmt);
        sqlite3_reset (stmt);
        if (rc != SQLITE_DONE)
            return -1;
    }
    //  Deadlines start and stop only when the state changes (or a case is new)
    if (!event->to_state || !*event->to_state
    ||  (event->from_state && streq (event->from_state, event->to_state)))
        return 0;
    sqlite3_stmt *stmt = hl_store_prepare (store,
        "UPDATE cases SET (on_time_due_ms, on_time_met_ms) = (SELECT due_ms, met_ms FROM deadlines d"
        "   WHERE d.case_id = ?1 AND d.name = ?2 ORDER BY started_seq LIMIT 1)"
        " WHERE case_id = ?1 AND EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = ?1 AND d.name = ?2"
        "   AND (d.due_ms IS NOT cases.on_time_due_ms OR d.met_ms IS NOT cases.on_time_met_ms))");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, hl_procedure_meaning (procedure, "on_time", NULL), -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

// ------------------------------------------------------------- 1. the rows

typedef struct {
    char ward [24];
    char *name;
    int64_t received, open, overdue, verified, on_time, late, forwarded, informed, informable;
    int64_t last_ms;            //  0: no event yet
    uint64_t heard;             //  its link's cursor (hop_cursor), 0: none
    bool excluded;              //  not a ward's row (s_row)
    double on_time_pct;         //  < 0: nothing to rate yet
    double informed_pct;
    int rank;                   //  0: not ranked (no rate)
} s_row_t;

//  The rows by ward code. Each case of the period (33,210 in tests/bench
//  row 10) and each open and overdue case looks its ward's row up: through
//  czmq's zhashx (its hash, then strcmp through a callback) that was a
//  sixth of the query's CPU (perf). An open-addressing table instead, at
//  most half full: one FNV-1a hash of a short code and, mostly, one strcmp.
typedef struct {
    s_row_t **slots;
    size_t mask;                //  the number of slots (a power of two) - 1
    size_t count;
} s_rows_t;

static s_row_t **
s_rows_slot (s_rows_t *rows, const char *ward)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const char *c = ward; *c; c++)
        hash = (hash ^ (uint8_t) *c) * 1099511628211ULL;
    size_t i = (size_t) hash & rows->mask;
    while (rows->slots [i] && strneq (rows->slots [i]->ward, ward))
        i = (i + 1) & rows->mask;
    return &rows->slots [i];
}

static void
s_rows_grow (s_rows_t *rows)
{
    s_row_t **old = rows->slots;
    size_t old_size = old? rows->mask + 1: 0;
    size_t size = old? 2 * old_size: 64;
    rows->slots = (s_row_t **) zmalloc (size * sizeof (s_row_t *));
    rows->mask = size - 1;
    for (size_t i = 0; i < old_size; i++)
        if (old [i])
            *s_rows_slot (rows, old [i]->ward) = old [i];
    free (old);
}

static void
s_rows_destroy (s_rows_t *rows)
{
    for (size_t i = 0; rows->slots && i <= rows->mask; i++)
        if (rows->slots [i]) {
            free (rows->slots [i]->name);
            free (rows->slots [i]);
        }
    free (rows->slots);
    memset (rows, 0, sizeof *rows);
}

//  The next ward's row after slot *index (start with 0), or NULL
static s_row_t *
s_rows_next (s_rows_t *rows, size_t *index)
{
    while (rows->slots && *index <= rows->mask) {
        s_row_t *row = rows->slots [(*index)++];
        if (row && !row->excluded)
            return row;
    }
    return NULL;
}

//  The row of ward, made on first sight (NULL for the city's own code, or
//  for a code that is not one, or for another ward than the one asked:
//  decided once, when the code is first seen, and kept as excluded)
static s_row_t *
s_row (s_rows_t *rows, const s_names_t *names, const char *ward, const char *only)
{
    if (!ward || !*ward || strlen (ward) >= sizeof ((s_row_t *) 0)->ward)
        return NULL;
    if (2 * (rows->count + 1) > (rows->slots? rows->mask + 1: 0))
        s_rows_grow (rows);
    s_row_t **slot = s_rows_slot (rows, ward);
    if (!*slot) {
        s_row_t *row = (s_row_t *) zmalloc (sizeof (s_row_t));
        snprintf (row->ward, sizeof row->ward, "%s", ward);
        row->name = hl_strdup ("");
        row->excluded = streq (ward, names->city) || (only && *only && strneq (ward, only));
        *slot = row;
        rows->count++;
    }
    return (*slot)->excluded? NULL: *slot;
}

//  Every ward the city knows: from the directory each sends (with its name)
//  and from the links it has heard (hop_cursor "ward:CODE"), so a ward that
//  sent nothing in the period, or never a case, still has its row
static int
s_known_wards (archive_t *self, s_rows_t *rows, const s_names_t *names, const char *only)
{
    hl_store_t *store = archive_store (self);
    sqlite3_stmt *stmt = hl_store_prepare (store, "SELECT ward, ward_name FROM directory");
    if (!stmt)
        return -1;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_row_t *row = s_row (rows, names, (const char *) sqlite3_column_text (stmt, 0), only);
        if (row) {
            free (row->name);
            row->name = hl_strdup ((const char *) sqlite3_column_text (stmt, 1));
        }
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        return -1;
    stmt = hl_store_prepare (store, "SELECT substr (stream, 6), seq FROM hop_cursor WHERE stream LIKE 'ward:%'");
    if (!stmt)
        return -1;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_row_t *row = s_row (rows, names, (const char *) sqlite3_column_text (stmt, 0), only);
        if (row)
            row->heard = (uint64_t) sqlite3_column_int64 (stmt, 1);
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

//  A case's on-time verdict from its columns: 1 on time, 2 late (met late,
//  or still running past due), 0 neither yet
static int
s_on_time (sqlite3_stmt *stmt, int due_column, int64_t now)
{
    if (sqlite3_column_type (stmt, due_column) == SQLITE_NULL)
        return 0;
    int64_t due = sqlite3_column_int64 (stmt, due_column);
    if (sqlite3_column_type (stmt, due_column + 1) == SQLITE_NULL)
        return due < now? 2: 0;
    return sqlite3_column_int64 (stmt, due_column + 1) <= due? 1: 2;
}

//  The period's figures, by ward, with the report's definitions (so the
//  dashboard and the city's report agree), from the columns above: one
//  walk of cases_figures. Verified on time counts the verified cases whose
//  on_time deadline was met in time; late, those met late or past due.
//  Forwarded counts a case forwarded at any time (the report: before the
//  period's end). Reporter informed counts the cases that have a reporter
//  to tell (not anonymous) and that the ward answers (not forwarded: the
//  Department informs those, on its own case).
static int
s_period_figures (archive_t *self, s_rows_t *rows, const s_names_t *names,
                  const Hotline__Query *query, int64_t now)
{
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT ward, anonymous, figure_flags, on_time_due_ms, on_time_met_ms FROM cases"
        " WHERE received_ms >= ?1 AND received_ms < ?2 AND (?3 = '' OR ward = ?3)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, query->since_ms);
    sqlite3_bind_int64 (stmt, 2, query->until_ms? query->until_ms: INT64_MAX);
    sqlite3_bind_text (stmt, 3, query->ward? query->ward: "", -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        s_row_t *row = s_row (rows, names, (const char *) sqlite3_column_text (stmt, 0), query->ward);
        if (!row)
            continue;
        int flags = sqlite3_column_int (stmt, 2);
        int verdict = s_on_time (stmt, 3, now);
        bool informable = !(flags & S_FORWARDED) && !sqlite3_column_int (stmt, 1);
        row->received++;
        row->verified += (flags & S_VERIFIED) != 0;
        row->on_time += (flags & S_VERIFIED) && verdict == 1;
        row->late += verdict == 2;
        row->forwarded += (flags & S_FORWARDED) != 0;
        row->informable += informable;
        row->informed += informable && (flags & S_INFORMED);
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

//  Open now and overdue now, by ward, whatever the period: walks of
//  cases_state_ward (step 6) and cases_due, counted here (GROUP BY ward
//  would sort, and GROUP BY state, ward copies each group's key: 2 and
//  1.5 ms more for 33,210 cases)
static int
s_now_figures (archive_t *self, s_rows_t *rows, const s_names_t *names, const char *only, int64_t now)
{
    char sql [2400];
    snprintf (sql, sizeof sql, "SELECT ward FROM cases WHERE state IN (%s)"
              " AND (?1 = '' OR ward = ?1)", names->open_in);
    for (int pass = 0; pass < 2; pass++) {
        sqlite3_stmt *stmt = hl_store_prepare (archive_store (self), pass == 0? sql:
            "SELECT ward FROM cases WHERE next_due_ms < ?2 AND (?1 = '' OR ward = ?1)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, only? only: "", -1, SQLITE_STATIC);
        if (pass == 1)
            sqlite3_bind_int64 (stmt, 2, now);
        int rc;
        s_row_t *row = NULL;
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
            const char *ward = (const char *) sqlite3_column_text (stmt, 0);
            if (!row || strneq (row->ward, ward))
                row = s_row (rows, names, ward, only);
            if (row) {
                if (pass == 0)
                    row->open++;
                else
                    row->overdue++;
            }
        }
        sqlite3_reset (stmt);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

//  Each ward's last event: the newest the city has from its link, one
//  probe of the log's (origin, origin_seq) index and its row per ward
//  (3,321 of them: 15-37 ms, tests/bench row 10). A ward's newest event
//  changes only when its link delivers, which moves the link's cursor
//  (hop_cursor) in the same transaction; so each answer is kept with the
//  cursor it was read at, and only the wards whose cursor moved since are
//  read again. Archive queries run in the archive's one loop thread.
typedef struct {
    uint64_t heard;             //  the link's cursor when read
    int64_t last_ms;
} s_last_t;

static zhashx_t *s_lasts = NULL;        //  ward -> s_last_t

static void
s_last_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

void
archive_wards_forget (void)
{
    zhashx_destroy (&s_lasts);
}

static int
s_last_events (archive_t *self, s_rows_t *rows)
{
    if (!s_lasts) {
        s_lasts = zhashx_new ();
        zhashx_set_destructor (s_lasts, s_last_destroy);
    }
    sqlite3_stmt *stmt = NULL;
    size_t index = 0;
    for (s_row_t *row = s_rows_next (rows, &index); row; row = s_rows_next (rows, &index)) {
        s_last_t *last = (s_last_t *) zhashx_lookup (s_lasts, row->ward);
        if (last && last->heard == row->heard) {
            row->last_ms = last->last_ms;
            continue;
        }
        if (!stmt)
            stmt = hl_store_prepare (archive_store (self),
                "SELECT at_ms FROM log WHERE origin = ?1 ORDER BY origin_seq DESC LIMIT 1");
        if (!stmt)
            return -1;
        char origin [40];
        snprintf (origin, sizeof origin, "ward:%s", row->ward);
        sqlite3_bind_text (stmt, 1, origin, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW)
            row->last_ms = sqlite3_column_int64 (stmt, 0);
        sqlite3_reset (stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return -1;
        if (!last) {
            last = (s_last_t *) zmalloc (sizeof (s_last_t));
            zhashx_insert (s_lasts, row->ward, last);
        }
        last->heard = row->heard;
        last->last_ms = row->last_ms;
    }
    return 0;
}

// ------------------------------------------------------------- 2. wards

//  A percentage with one decimal, or -1 when there is nothing to rate
static double
s_pct (int64_t part, int64_t whole)
{
    return whole > 0? round (1000.0 * (double) part / (double) whole) / 10.0: -1;
}

//  The ranking 1022 publishes: by on-time rate, then by the number verified
//  on time (a ward at 100% of 40 before one at 100% of 1), then by code.
//  Wards with nothing to rate are not ranked and come last.
static int
s_by_rank (const void *a, const void *b)
{
    const s_row_t *x = *(const s_row_t * const *) a, *y = *(const s_row_t * const *) b;
    if ((x->on_time_pct < 0) != (y->on_time_pct < 0))
        return x->on_time_pct < 0? 1: -1;
    if (x->on_time_pct != y->on_time_pct)
        return x->on_time_pct > y->on_time_pct? -1: 1;
    if (x->on_time != y->on_time)
        return x->on_time > y->on_time? -1: 1;
    return strcmp (x->ward, y->ward);
}

//  Sort keys (Query.order, "-" first for descending)
static const char *s_keys [] = {
    "rank", "ward", "name", "received", "open", "overdue", "verified", "on_time",
    "late", "forwarded", "informed", "last_event", NULL
};

typedef struct {
    int key;
    bool descending;
} s_sort_t;

static s_sort_t s_sort_by;      //  archive queries run in the archive's one loop thread

//  The key's value as a number; false when the row has none (sorted last)
static bool
s_value (const s_row_t *row, int key, double *value)
{
    switch (key) {
        case 0: *value = row->rank; return row->rank > 0;
        case 3: *value = (double) row->received; return true;
        case 4: *value = (double) row->open; return true;
        case 5: *value = (double) row->overdue; return true;
        case 6: *value = (double) row->verified; return true;
        case 7: *value = row->on_time_pct; return row->on_time_pct >= 0;
        case 8: *value = (double) row->late; return true;
        case 9: *value = (double) row->forwarded; return true;
        case 10: *value = row->informed_pct; return row->informed_pct >= 0;
        case 11: *value = (double) row->last_ms; return row->last_ms > 0;
    }
    return false;
}

static int
s_by_key (const void *a, const void *b)
{
    const s_row_t *x = *(const s_row_t * const *) a, *y = *(const s_row_t * const *) b;
    int order = 0;
    if (s_sort_by.key == 1)
        order = strcmp (x->ward, y->ward);
    else
    if (s_sort_by.key == 2)
        order = strcmp (*x->name? x->name: x->ward, *y->name? y->name: y->ward);
    else {
        double vx = 0, vy = 0;
        bool hx = s_value (x, s_sort_by.key, &vx), hy = s_value (y, s_sort_by.key, &vy);
        if (hx != hy)
            return hx? -1: 1;           //  no value: last, either way
        order = vx < vy? -1: vx > vy? 1: 0;
    }
    if (s_sort_by.descending)
        order = -order;
    return order? order: strcmp (x->ward, y->ward);
}

//  Does the row match the text: the code's start, or anywhere in the name
//  (ASCII letters in any case)
static bool
s_matches (const s_row_t *row, const char *text)
{
    return !text || !*text || strncmp (row->ward, text, strlen (text)) == 0
        || strcasestr (row->name, text) != NULL;
}

static json_t *
s_row_json (const s_row_t *row)
{
    json_t *json = json_object ();
    json_object_set_new (json, "ward", json_string (row->ward));
    json_object_set_new (json, "ward_name", json_string (row->name));
    json_object_set_new (json, "received", json_integer (row->received));
    json_object_set_new (json, "open", json_integer (row->open));
    json_object_set_new (json, "overdue", json_integer (row->overdue));
    json_object_set_new (json, "verified", json_integer (row->verified));
    json_object_set_new (json, "verified_on_time", json_integer (row->on_time));
    json_object_set_new (json, "verified_late", json_integer (row->late));
    json_object_set_new (json, "on_time_pct", row->on_time_pct >= 0? json_real (row->on_time_pct): json_null ());
    json_object_set_new (json, "forwarded", json_integer (row->forwarded));
    json_object_set_new (json, "informed", json_integer (row->informed));
    json_object_set_new (json, "informable", json_integer (row->informable));
    json_object_set_new (json, "informed_pct", row->informed_pct >= 0? json_real (row->informed_pct): json_null ());
    json_object_set_new (json, "last_event_ms", row->last_ms? json_integer (row->last_ms): json_null ());
    json_object_set_new (json, "rank", row->rank? json_integer (row->rank): json_null ());
    return json;
}

//  A ward's focal points, from the directory it sent
static json_t *
s_focal_points (archive_t *self, const char *ward)
{
    json_t *points = NULL;
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT focal_points FROM directory WHERE ward = ?");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, ward, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) == SQLITE_ROW)
            points = json_loads ((const char *) sqlite3_column_text (stmt, 0), 0, NULL);
        sqlite3_reset (stmt);
    }
    if (!json_is_array (points)) {
        json_decref (points);
        points = json_array ();
    }
    return points;
}

static json_t *
s_query_wards (archive_t *self, const Hotline__Query *query, const s_names_t *names,
               int *code, char *error, size_t size)
{
    const char *order = query->order && *query->order? query->order: "rank";
    s_sort_t sort = { -1, *order == '-' };
    for (int i = 0; s_keys [i]; i++)
        if (streq (s_keys [i], order + sort.descending))
            sort.key = i;
    if (sort.key < 0) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "unknown order '%.32s' (rank, ward, name, received, open, overdue, verified,"
                  " on_time, late, forwarded, informed, last_event; -KEY descending)", order);
        return NULL;
    }
    const char *only = query->ward && *query->ward? query->ward: NULL;
    int64_t now = hl_clock_now ();
    s_rows_t table = { NULL, 0, 0 }, *rows = &table;
    json_t *result = NULL;
    int64_t t0 = zclock_usecs (), t1 = 0, t2 = 0, t3 = 0;
    if (s_known_wards (self, rows, names, only)
    ||  (t1 = zclock_usecs (), s_period_figures (self, rows, names, query, now))
    ||  (t2 = zclock_usecs (), s_now_figures (self, rows, names, only, now))
    ||  (t3 = zclock_usecs (), s_last_events (self, rows)))
        goto done;
    hl_debug ("wards query: %zu wards; known %.1f ms, period %.1f ms, now %.1f ms, last events %.1f ms",
              rows->count, (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (zclock_usecs () - t3) / 1e3);
    s_row_t *asked = only && rows->count? *s_rows_slot (rows, only): NULL;
    if (only && (!asked || asked->excluded)) {
        *code = HL_NOT_FOUND;
        snprintf (error, size, "unknown ward %.24s", only);
        goto done;
    }
    //  Rates, then the rank over every ward
    s_row_t **list = (s_row_t **) zmalloc ((rows->count + 1) * sizeof (s_row_t *));
    size_t n = 0, index = 0;
    int64_t totals [9] = { 0 };
    int64_t silent = 0;
    for (s_row_t *row = s_rows_next (rows, &index); row; row = s_rows_next (rows, &index)) {
        row->on_time_pct = s_pct (row->on_time, row->on_time + row->late);
        row->informed_pct = s_pct (row->informed, row->informable);
        list [n++] = row;
        int64_t values [9] = { row->received, row->open, row->overdue, row->verified, row->on_time,
                               row->late, row->forwarded, row->informed, row->informable };
        for (int i = 0; i < 9; i++)
            totals [i] += values [i];
        if (!row->last_ms || now - row->last_ms > S_SILENT_MS)
            silent++;
    }
    qsort (list, n, sizeof list [0], s_by_rank);
    for (size_t i = 0; i < n && list [i]->on_time_pct >= 0; i++)
        list [i]->rank = i > 0 && list [i]->on_time_pct == list [i - 1]->on_time_pct
                                && list [i]->on_time == list [i - 1]->on_time? list [i - 1]->rank: (int) i + 1;
    //  Filter, sort, page
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (s_matches (list [i], query->text))
            list [kept++] = list [i];
    s_sort_by = sort;
    qsort (list, kept, sizeof list [0], s_by_key);
    uint32_t limit = query->limit && query->limit <= 1000? query->limit: 50;
    json_t *page = json_array ();
    for (size_t i = query->offset; i < kept && i < (size_t) query->offset + limit; i++)
        json_array_append_new (page, s_row_json (list [i]));
    free (list);
    result = json_object ();
    json_object_set_new (result, "wards", page);
    json_object_set_new (result, "total", json_integer ((json_int_t) kept));
    json_object_set_new (result, "ward_count", json_integer ((json_int_t) n));
    const char *names_out [9] = { "received", "open", "overdue", "verified", "verified_on_time",
                                  "verified_late", "forwarded", "informed", "informable" };
    json_t *sum = json_object ();
    for (int i = 0; i < 9; i++)
        json_object_set_new (sum, names_out [i], json_integer (totals [i]));
    double pct = s_pct (totals [4], totals [4] + totals [5]);
    json_object_set_new (sum, "on_time_pct", pct >= 0? json_real (pct): json_null ());
    pct = s_pct (totals [7], totals [8]);
    json_object_set_new (sum, "informed_pct", pct >= 0? json_real (pct): json_null ());
    json_object_set_new (sum, "silent_wards", json_integer (silent));
    json_object_set_new (result, "totals", sum);
    json_object_set_new (result, "order", json_string (order));
    json_object_set_new (result, "department_ward", json_string (names->city));
    json_object_set_new (result, "silent_after_ms", json_integer (S_SILENT_MS));
    json_object_set_new (result, "since_ms", json_integer (query->since_ms));
    json_object_set_new (result, "until_ms", json_integer (query->until_ms));
    json_object_set_new (result, "now_ms", json_integer (now));
    if (only)
        json_object_set_new (result, "focal_points", s_focal_points (self, only));
done:
    s_rows_destroy (rows);
    return result;
}

// ------------------------------------------------------------- 3. charts

//  Cases per day by type, the on-time verification rate per week and open
//  cases by age, for the period (at most S_MAX_DAYS days) and one ward or all
static json_t *
s_query_charts (archive_t *self, const Hotline__Query *query, const s_names_t *names,
                int *code, char *error, size_t size)
{
    if (query->since_ms <= 0 || query->until_ms <= query->since_ms) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "charts need a period (since and until)");
        return NULL;
    }
    //  The days of the period, in the node's zone (a day is not always 24 h)
    int64_t starts [S_MAX_DAYS + 1];
    size_t days = 0;
    for (int64_t day = query->since_ms; day < query->until_ms; day = hl_clock_next_day (day)) {
        if (days == S_MAX_DAYS) {
            *code = HL_BAD_INPUT;
            snprintf (error, size, "charts cover at most %d days", S_MAX_DAYS);
            return NULL;
        }
        starts [days++] = day;
    }
    starts [days] = query->until_ms;
    json_t *labels = json_array ();
    json_t *weeks = json_array ();
    int week_of [S_MAX_DAYS];           //  day -> its week's index
    int week = -1;
    for (size_t i = 0; i < days; i++) {
        time_t secs = (time_t) (starts [i] / 1000);
        struct tm tm;
        localtime_r (&secs, &tm);
        char label [16];
        strftime (label, sizeof label, "%Y-%m-%d", &tm);
        json_array_append_new (labels, json_string (label));
        if (week < 0 || tm.tm_wday == 1) {      //  weeks start on Monday
            week++;
            json_array_append_new (weeks, json_pack ("{s:s, s:I, s:I}", "week", label,
                                                     "on_time", (json_int_t) 0, "late", (json_int_t) 0));
        }
        week_of [i] = week;
    }
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT received_ms, type, figure_flags, on_time_due_ms, on_time_met_ms FROM cases"
        " WHERE received_ms >= ?1 AND received_ms < ?2 AND (?3 = '' OR ward = ?3) AND ward <> ?4");
    if (!stmt) {
        json_decref (labels);
        json_decref (weeks);
        return NULL;
    }
    int64_t now = hl_clock_now ();
    sqlite3_bind_int64 (stmt, 1, query->since_ms);
    sqlite3_bind_int64 (stmt, 2, query->until_ms);
    sqlite3_bind_text (stmt, 3, query->ward? query->ward: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, names->city, -1, SQLITE_STATIC);
    json_t *per_type = json_object ();      //  type -> [count per day]
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        int64_t received = sqlite3_column_int64 (stmt, 0);
        //  The day it falls in: the last start at or before it
        size_t lo = 0, hi = days;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (starts [mid] <= received)
                lo = mid;
            else
                hi = mid;
        }
        const char *type = (const char *) sqlite3_column_text (stmt, 1);
        json_t *counts = json_object_get (per_type, type);
        if (!counts) {
            counts = json_array ();
            for (size_t i = 0; i < days; i++)
                json_array_append_new (counts, json_integer (0));
            json_object_set_new (per_type, type, counts);
        }
        json_integer_set (json_array_get (counts, lo), json_integer_value (json_array_get (counts, lo)) + 1);
        json_t *bucket = json_array_get (weeks, (size_t) week_of [lo]);
        int verdict = s_on_time (stmt, 3, now);
        if ((sqlite3_column_int (stmt, 2) & S_VERIFIED) && verdict == 1)
            json_object_set_new (bucket, "on_time", json_integer (json_integer_value (json_object_get (bucket, "on_time")) + 1));
        if (verdict == 2)
            json_object_set_new (bucket, "late", json_integer (json_integer_value (json_object_get (bucket, "late")) + 1));
    }
    sqlite3_reset (stmt);
    size_t index;
    json_t *bucket;
    json_array_foreach (weeks, index, bucket) {
        double pct = s_pct (json_integer_value (json_object_get (bucket, "on_time")),
                            json_integer_value (json_object_get (bucket, "on_time"))
                          + json_integer_value (json_object_get (bucket, "late")));
        json_object_set_new (bucket, "pct", pct >= 0? json_real (pct): json_null ());
    }
    //  Open now, by age since received
    static const struct { const char *name; int64_t below_ms; } ages [] = {
        { "lt_1d", 24 * 3600 * 1000LL }, { "1_3d", 3 * 24 * 3600 * 1000LL },
        { "3_7d", 7 * 24 * 3600 * 1000LL }, { "7_30d", 30 * 24 * 3600 * 1000LL },
        { "gt_30d", INT64_MAX }
    };
    int64_t by_age [5] = { 0 };
    char sql [2400];
    snprintf (sql, sizeof sql, "SELECT received_ms FROM cases WHERE state IN (%s)"
              " AND (?1 = '' OR ward = ?1) AND ward <> ?2", names->open_in);
    sqlite3_stmt *open = rc == SQLITE_DONE? hl_store_prepare (archive_store (self), sql): NULL;
    if (open) {
        sqlite3_bind_text (open, 1, query->ward? query->ward: "", -1, SQLITE_STATIC);
        sqlite3_bind_text (open, 2, names->city, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step (open)) == SQLITE_ROW) {
            int64_t age = now - sqlite3_column_int64 (open, 0);
            int i = 0;
            while (i < 4 && age >= ages [i].below_ms)
                i++;
            by_age [i]++;
        }
        sqlite3_reset (open);
    }
    if (!open || rc != SQLITE_DONE) {
        json_decref (labels);
        json_decref (weeks);
        json_decref (per_type);
        return NULL;
    }
    json_t *age_list = json_array ();
    for (int i = 0; i < 5; i++)
        json_array_append_new (age_list, json_pack ("{s:s, s:I}", "age", ages [i].name,
                                                    "count", (json_int_t) by_age [i]));
    json_t *result = json_object ();
    json_object_set_new (result, "days", labels);
    json_object_set_new (result, "per_day", per_type);
    json_object_set_new (result, "weeks", weeks);
    json_object_set_new (result, "open_by_age", age_list);
    json_object_set_new (result, "since_ms", json_integer (query->since_ms));
    json_object_set_new (result, "until_ms", json_integer (query->until_ms));
    json_object_set_new (result, "now_ms", json_integer (now));
    return result;
}

// ------------------------------------------------------------- 4. map

//  The cases with coordinates, newest first: compact rows (the field names
//  once), at most limit of them among the S_MAP_SCAN newest of the period
static json_t *
s_query_map (archive_t *self, const Hotline__Query *query, const s_names_t *names)
{
    uint32_t limit = query->limit && query->limit <= S_MAP_MAX? query->limit: S_MAP_DEFAULT;
    sqlite3_stmt *stmt = hl_store_prepare (archive_store (self),
        "SELECT case_id, ward, state, type, urgent, next_due_ms, report, received_ms FROM cases"
        " WHERE received_ms >= ?1 AND received_ms < ?2 AND (?3 = '' OR ward = ?3) AND ward <> ?4"
        " ORDER BY received_ms DESC LIMIT ?5");
    if (!stmt)
        return NULL;
    int64_t now = hl_clock_now ();
    sqlite3_bind_int64 (stmt, 1, query->since_ms);
    sqlite3_bind_int64 (stmt, 2, query->until_ms? query->until_ms: INT64_MAX);
    sqlite3_bind_text (stmt, 3, query->ward? query->ward: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, names->city, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, S_MAP_SCAN);
    json_t *cases = json_array ();
    int64_t scanned = 0;
    bool truncated = false;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        scanned++;
        Hotline__Event *submit = hotline__event__unpack (NULL, (size_t) sqlite3_column_bytes (stmt, 6),
                                                         (const uint8_t *) sqlite3_column_blob (stmt, 6));
        if (submit && submit->report && submit->report->has_coordinates
        &&  isfinite (submit->report->latitude) && isfinite (submit->report->longitude)) {
            if (json_array_size (cases) == limit) {
                truncated = true;
                hotline__event__free_unpacked (submit, NULL);
                break;
            }
            bool overdue = sqlite3_column_type (stmt, 5) != SQLITE_NULL && sqlite3_column_int64 (stmt, 5) < now;
            json_array_append_new (cases, json_pack ("[s, s, s, s, b, b, f, f, I]",
                (const char *) sqlite3_column_text (stmt, 0), (const char *) sqlite3_column_text (stmt, 1),
                (const char *) sqlite3_column_text (stmt, 2), (const char *) sqlite3_column_text (stmt, 3),
                sqlite3_column_int (stmt, 4), overdue,
                submit->report->latitude, submit->report->longitude,
                (json_int_t) sqlite3_column_int64 (stmt, 7)));
        }
        if (submit)
            hotline__event__free_unpacked (submit, NULL);
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        json_decref (cases);
        return NULL;
    }
    if (scanned == S_MAP_SCAN)
        truncated = true;
    json_t *result = json_object ();
    json_object_set_new (result, "fields", json_pack ("[s, s, s, s, s, s, s, s, s]", "case_id", "ward",
                         "state", "type", "urgent", "overdue", "lat", "lon", "received_ms"));
    json_object_set_new (result, "cases", cases);
    json_object_set_new (result, "truncated", json_boolean (truncated));
    json_object_set_new (result, "now_ms", json_integer (now));
    return result;
}

// ------------------------------------------------------------- 5. dispatch

bool
archive_wards_kind (const char *kind)
{
    return kind && (streq (kind, "wards") || streq (kind, "charts") || streq (kind, "map"));
}

json_t *
archive_wards_query (archive_t *self, const Hotline__Query *query, int *code, char *error, size_t size)
{
    if (!s_city (self)) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "the dashboard's figures are the city's: ask the city");
        return NULL;
    }
    if (query->ward && *query->ward && (strlen (query->ward) > 10
    ||  strspn (query->ward, "0123456789") != strlen (query->ward))) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "'%.24s' is not a ward code (digits)", query->ward);
        return NULL;
    }
    if (query->text && strlen (query->text) > 200) {
        *code = HL_BAD_INPUT;
        snprintf (error, size, "the search text is longer than 200 bytes");
        return NULL;
    }
    s_names_t names;
    s_names_init (self, &names);
    json_t *result = streq (query->kind, "wards")? s_query_wards (self, query, &names, code, error, size):
                     streq (query->kind, "charts")? s_query_charts (self, query, &names, code, error, size):
                     s_query_map (self, query, &names);
    s_names_destroy (&names);
    return result;
}
