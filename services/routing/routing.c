/*  routing — decides jurisdiction for new cases. See routing.h.
 *
 *    s_handle      one log event: remember the report, notice routes, and
 *                  when a case enters a routable state, decide and submit
 *    s_routable    "may the system route a case in this state?" (asks the
 *                  procedure; no state name is known here)
 */
#include "hotline.h"
#include "routing.h"
#include "rules.h"

//  Step 1 of routing.db: the schema of the last unversioned release
static const char s_schema [] =
    //  What routing needs of each report, until the case is routed
    "CREATE TABLE IF NOT EXISTS routing_cases ("
    "  case_id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL DEFAULT '', scope TEXT NOT NULL DEFAULT '',"
    "  sudden INTEGER NOT NULL DEFAULT 0, urgent INTEGER NOT NULL DEFAULT 0,"
    "  polluter_category TEXT NOT NULL DEFAULT '', description TEXT,"
    "  done_ms INTEGER);"            //  routed (by anyone) or ended: nothing more to do
    //  Every decision routing took, and intake's answer
    "CREATE TABLE IF NOT EXISTS routing_decisions ("
    "  event_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  variant TEXT NOT NULL, reason TEXT NOT NULL, code INTEGER NOT NULL);";

//  routing.db's schema versions (hl_store_migrate): append, never edit.
//  2: the consumer's cursor, which hl_consumer_new used to make itself (so
//  every store of the previous release has it: IF NOT EXISTS)
static const hl_store_migration_t s_migrations [] = {
    { 1, s_schema, NULL },
    { 2, hl_consumer_schema, NULL },
    { 0, NULL, NULL }
};

struct _routing_t {
    hl_service_t *service;
    hl_procedure_t *procedure;
    hl_store_t *store;
    routing_rules_t *rules;
    hl_client_t *client;
    hl_consumer_t *consumer;
    bool city;
    char actor [64];
    const char *route_action;       //  the procedure's route meaning
    const char *create_action;      //  city: its create meaning, to open a Department case
};

//  Where routing.conf is: routing/rules, else beside the procedure
static char *
s_rules_path (hl_config_t *config)
{
    return hl_config_file (config, "routing/rules", "routing.conf");
}

//  May the system take the route action (any variant) from state?
static bool
s_routable (routing_t *self, const char *state)
{
    const char *allowed [128];
    size_t count = hl_procedure_allowed (self->procedure, state, "system", allowed, 128);
    size_t len = strlen (self->route_action);
    for (size_t i = 0; i < count; i++)
        if (strncmp (allowed [i], self->route_action, len) == 0
        &&  (allowed [i][len] == 0 || allowed [i][len] == ' '))
            return true;
    return false;
}

static int
s_remember (routing_t *self, const Hotline__Event *event)
{
    const Hotline__Report *report = event->report;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR IGNORE INTO routing_cases (case_id, type, scope, sudden, urgent,"
        " polluter_category, description) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, hl_type_name (report->type), -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, hl_scope_name (report->scope), -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 4, report->sudden);
    //  The case's regime was fixed at submit; the report's flag is the ask
    sqlite3_bind_int (stmt, 5, report->urgent || (event->regime && streq (event->regime, "urgent")));
    sqlite3_bind_text (stmt, 6, report->polluter_category? report->polluter_category: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, report->description? report->description: "", -1, SQLITE_STATIC);
    return hl_store_step_done (self->store, stmt);
}

//  The case is routed, or ended unrouted: keep only that fact (the report
//  content is confidential and no longer needed here)
static int
s_mark_done (routing_t *self, const char *case_id, int64_t at_ms)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO routing_cases (case_id, done_ms) VALUES (?1, ?2) "
        "ON CONFLICT (case_id) DO UPDATE SET done_ms = coalesce (done_ms, ?2),"
        " description = NULL, polluter_category = ''");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, at_ms);
    return hl_store_step_done (self->store, stmt);
}

static int
s_record (routing_t *self, const Hotline__Event *event, const char *variant,
          const char *reason, int code)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR REPLACE INTO routing_decisions (event_id, case_id, at_ms, variant, reason, code)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->event_id? event->event_id: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, hl_clock_now ());
    sqlite3_bind_text (stmt, 4, variant, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 6, code);
    return hl_store_step_done (self->store, stmt);
}

//  The case entered a routable state: decide and submit
static int
s_route (routing_t *self, const Hotline__Event *event)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT type, scope, sudden, urgent, polluter_category, description, done_ms IS NOT NULL"
        " FROM routing_cases WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_reset (stmt);
        if (rc != SQLITE_DONE) {
            hl_error ("routing store: %s", hl_store_error (self->store));
            return -1;
        }
        hl_log (HL_WARN, event->case_id, "no report known for this case: not routing it");
        return 0;
    }
    if (sqlite3_column_int (stmt, 6)) {
        sqlite3_reset (stmt);
        hl_log (HL_DEBUG, event->case_id, "already routed: leaving it to people");
        return 0;
    }
    char type [32], scope [32], category [HL_MAX_FIELD + 1];
    snprintf (type, sizeof type, "%s", (const char *) sqlite3_column_text (stmt, 0));
    snprintf (scope, sizeof scope, "%s", (const char *) sqlite3_column_text (stmt, 1));
    snprintf (category, sizeof category, "%s", (const char *) sqlite3_column_text (stmt, 4));
    const char *text = (const char *) sqlite3_column_text (stmt, 5);
    char *description = hl_strdup (text? text: "");
    routing_facts_t facts = {
        type, scope, category, description,
        sqlite3_column_int (stmt, 2) != 0, sqlite3_column_int (stmt, 3) != 0
    };
    sqlite3_reset (stmt);
    char reason [400];
    const char *variant = routing_rules_decide (self->rules, &facts, reason, sizeof reason);
    free (description);

    //  Submit "route <variant>" {reason}
    char request_id [160];
    snprintf (request_id, sizeof request_id, "routing:%s", event->event_id);
    Hotline__Command__ArgsEntry entry = HOTLINE__COMMAND__ARGS_ENTRY__INIT;
    Hotline__Command__ArgsEntry *args [1] = { &entry };
    entry.key = "reason";
    entry.value = reason;
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) self->route_action;
    command.variant = (char *) variant;
    command.case_id = event->case_id;
    command.n_args = 1;
    command.args = args;
    //  Blocks inside the consumer's transaction: safe, see hl_client.h
    Hotline__Envelope *reply = hl_client_command (self->client, request_id, self->actor, &command);
    if (!reply)
        return -1;              //  intake unavailable (logged): the batch is retried
    int code = reply->reply->code;
    if (code == HL_OK) {
        hl_log (HL_INFO, event->case_id, "routed: %s (%s)", variant, reason);
        //  Decisions, not replays: a replayed answer is a decision another
        //  replica (or this one, before a restart) took and counted
        if (!reply->reply->replayed)
            hl_metrics_add (hl_service_metrics (self->service), "hotline_routing_decisions_total", 1);
    }
    else
    if (code == HL_CONFLICT || code == HL_FORBIDDEN)
        //  Someone routed it first (the officer's override), or it moved on
        //  to a state where the system may not route it
        hl_log (HL_INFO, event->case_id, "not routed: the case has moved on (%d %s)", code,
                reply->reply->error? reply->reply->error: "");
    else
        hl_log (HL_ERROR, event->case_id, "intake refused route %s: %d %s", variant, code,
                reply->reply->error? reply->reply->error: "");
    hl_msg_free (&reply);
    if (s_record (self, event, variant, reason, code)
    ||  s_mark_done (self, event->case_id, event->at_ms))
        return -1;
    return 0;
}

//  City: a ward forwarded a case to the Department. The forwarding event
//  carries the full report; it becomes a Department case in the city's
//  own procedure, linked to the ward's case (origin_case, origin_ward).
static int
s_receive_forwarded (routing_t *self, const Hotline__Event *event)
{
    //  The procedure's forward meaning: the same event the ward's
    //  federation sent unredacted (federation.c)
    if (!hl_procedure_means (self->procedure, "forward", event->action, event->variant))
        return 0;
    if (!event->report) {
        hl_log (HL_ERROR, event->case_id, "forwarded by ward %s without its report: cannot open"
                " a Department case", event->ward);
        return 0;
    }
    char request_id [160];
    snprintf (request_id, sizeof request_id, "forward:%s", event->event_id);
    Hotline__Command__ArgsEntry entries [3];
    Hotline__Command__ArgsEntry *args [3] = { &entries [0], &entries [1], &entries [2] };
    for (int i = 0; i < 3; i++)
        hotline__command__args_entry__init (&entries [i]);
    entries [0].key = "origin_case";
    entries [0].value = event->case_id;
    entries [1].key = "origin_ward";
    entries [1].value = event->ward;
    entries [2].key = "reason";
    entries [2].value = (char *) (hl_event_arg (event, "reason")? hl_event_arg (event, "reason"): "");
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) self->create_action;
    command.report = event->report;
    command.n_args = *entries [2].value? 3: 2;
    command.args = args;
    command.note = event->note;
    Hotline__Envelope *reply = hl_client_command (self->client, request_id, self->actor, &command);
    if (!reply) {
        hl_log (HL_WARN, event->case_id, "forwarded case will be retried");
        return -1;
    }
    if (reply->reply->code == HL_OK)
        hl_log (HL_INFO, event->case_id, "forwarded by ward %s: Department case %s", event->ward,
                reply->reply->case_id);
    else
        hl_log (HL_ERROR, event->case_id, "city intake refused the forwarded case: %d %s",
                reply->reply->code, reply->reply->error? reply->reply->error: "");
    hl_msg_free (&reply);
    return 0;
}

static int
s_handle (void *arg, const Hotline__Event *event)
{
    routing_t *self = (routing_t *) arg;
    if (!event->case_id || !*event->case_id)
        return 0;
    //  Another node's event: at the city, a ward's (is it a forwarded case?)
    if (event->origin && *event->origin && strneq (event->origin, hl_msg_node ()))
        return self->city? s_receive_forwarded (self, event): 0;
    const char *action = event->action? event->action: "";
    const char *from = event->from_state? event->from_state: "";
    const char *to = event->to_state? event->to_state: "";
    if (event->report && s_remember (self, event))
        return -1;
    if (streq (action, self->route_action) && s_mark_done (self, event->case_id, event->at_ms))
        return -1;
    if (*to && hl_procedure_state_final (self->procedure, to))
        return s_mark_done (self, event->case_id, event->at_ms);
    if (*to && strneq (from, to) && s_routable (self, to))
        return s_route (self, event);
    return 0;
}

routing_t *
routing_new (hl_service_t *service)
{
    routing_t *self = (routing_t *) zmalloc (sizeof (routing_t));
    self->service = service;
    self->procedure = hl_service_procedure (service);
    self->city = streq (hl_service_role (service), "city");
    snprintf (self->actor, sizeof self->actor, "system:%s", hl_service_name (service));
    hl_config_t *config = hl_service_config (service);
    //  Both declared by every procedure (checked on load)
    self->route_action = hl_procedure_meaning (self->procedure, "route", NULL);
    self->create_action = hl_procedure_meaning (self->procedure, "create", NULL);
    assert (self->route_action && self->create_action);

    char *path = s_rules_path (config);
    char err [512];
    self->rules = routing_rules_load (path, self->procedure, err, sizeof err);
    if (!self->rules) {
        hl_error ("invalid routing rules: %s", err);
        fprintf (stderr, "hotline-routing: invalid routing rules: %s\n", err);
        free (path);
        routing_destroy (&self);
        return NULL;
    }
    hl_info ("routing rules %s: %zu rule(s)", path, routing_rules_count (self->rules));
    free (path);

    char *db = hl_service_path (service, "routing.db");
    self->store = hl_store_new (db, NULL);
    free (db);
    if (!self->store || hl_store_migrate (self->store, "routing.db", s_migrations, NULL)) {
        routing_destroy (&self);
        return NULL;
    }
    self->client = hl_client_new (hl_service_endpoint (service, "intake"),
                                  (int) hl_config_int (config, "routing/timeout_ms", 3000),
                                  (int) hl_config_int (config, "routing/tries", 2));
    self->consumer = hl_consumer_new (hl_service_loop (service),
                                      hl_service_endpoint (service, "archive_feed"),
                                      self->store, s_handle, self);
    if (!self->consumer) {
        routing_destroy (&self);
        return NULL;
    }
    if (self->city)
        hl_consumer_set_local_only (self->consumer, false);
    //  Exported from the start, at 0 (an alert on rate() needs the series)
    hl_metrics_add (hl_service_metrics (service), "hotline_routing_decisions_total", 0);
    return self;
}

void
routing_destroy (routing_t **self_p)
{
    assert (self_p);
    routing_t *self = *self_p;
    if (self) {
        hl_consumer_destroy (&self->consumer);
        hl_client_destroy (&self->client);
        hl_store_destroy (&self->store);
        routing_rules_destroy (&self->rules);
        free (self);
        *self_p = NULL;
    }
}
