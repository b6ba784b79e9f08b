/*  notification — see notification.h.
 *
 *  Read top to bottom:
 *    s_on_event      consumer handler, inside the batch transaction: update
 *                    the case table, enqueue the messages of every notify
 *                    rule (s_notify), submit the follow-up action (s_advance)
 *    s_check_rules ... notification_new     configuration, the store and its
 *                    migrations, then the outbox and the consumer
 *  Sending, retries, dead letters and their queries are notify_outbox's.
 */
#include "hotline.h"
#include "notify_templates.h"
#include "notify_sender.h"
#include "notify_outbox.h"
#include "notification.h"
#include <curl/curl.h>

#define S_MAX_ADVANCE       16
#define S_MAX_ADDRESSES     32
#define S_MAX_RULES         32
#define S_MAX_SUBJECT       250         //  bytes
#define S_MAX_SMS           640
#define S_MAX_BODY          (64 * 1024)

//  Step 1 of notify.db: the schema of the last unversioned release
static const char s_schema [] =
    "CREATE TABLE IF NOT EXISTS cases ("
    "  case_id TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL DEFAULT '',"
    "  regime TEXT NOT NULL DEFAULT '',"
    "  received_ms INTEGER NOT NULL DEFAULT 0,"
    "  type INTEGER NOT NULL DEFAULT 0,"
    "  location TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  assignee TEXT NOT NULL DEFAULT '',"
    "  reporter_email TEXT NOT NULL DEFAULT '',"     //  personal data
    "  reporter_phone TEXT NOT NULL DEFAULT '',"     //  personal data
    "  anonymous INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  idempotency_key TEXT NOT NULL UNIQUE,"        //  EVENT_ID|RECIPIENT|CHANNEL
    "  event_id TEXT NOT NULL,"
    "  case_id TEXT NOT NULL,"
    "  recipient TEXT NOT NULL,"                     //  the rule's recipient
    "  template TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"                       //  email | sms | log
    "  address TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, channel, next_attempt_ms);";

//  notify.db's schema versions (hl_store_migrate): append, never edit.
//  2: a dead letter re-sent (hotline deadletter resend) is counted and
//  dated on its row, so the outbox says what was sent again and when
static const hl_store_migration_t s_migrations [] = {
    { 1, s_schema, NULL },
    { 2, "ALTER TABLE outbox ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;"
         "ALTER TABLE outbox ADD COLUMN resent_ms INTEGER;", NULL },
    //  3: the consumer's cursor, which hl_consumer_new used to make itself
    //  (every store of the previous release has it: IF NOT EXISTS)
    { 3, hl_consumer_schema, NULL },
    { 0, NULL, NULL }
};

const hl_store_migration_t *
notification_migrations (void)
{
    return s_migrations;
}

//  How often the service checks that the SMTP server takes connections
#define S_SMTP_CHECK_MS     30000

//  Placeholders a reporter's message may contain: nothing about anyone else
static const char *s_reporter_allowed [] = {
    "case_id", "type", "location", "state", "note", "ward_name", "received", "regime", NULL
};

typedef struct {
    char *action;               //  event action ...
    char *follow;               //  ... is followed by this action
    char *variant;              //  of this variant ("" for none)
} s_advance_t;

struct _notification_t {
    hl_service_t *service;
    hl_config_t *config;
    hl_procedure_t *procedure;
    zloop_t *loop;
    hl_store_t *store;
    hl_consumer_t *consumer;
    notify_templates_t *templates;
    notify_sender_config_t sender_config;
    notify_outbox_t *outbox;    //  the rows to send, their workers and queries
    bool email_enabled;
    bool sms_enabled;
    hl_client_t *intake;        //  follow-up actions
    s_advance_t advance [S_MAX_ADVANCE];
    size_t nadvance;
    const char *actor;          //  "system:notification"
    char *role;                 //  "system"
    const char *assign_action;
    const char *assign_arg;
    const char *ward_name;
    bool foreign;               //  also notify events of other origins
    char *from_address;         //  parsed from notify/from
    char *from_display;
    char *smtp_password;        //  from notify/smtp_password_file, if given
    char *webhook_token;        //  from notify/webhook_token_file, if given
    zhashx_t *warned;           //  warnings already logged once
    int smtp_reachable;         //  -1 e-mail off, 0 no, 1 yes, 2 not checked yet
    int64_t smtp_checked_ms;    //  monotonic time of the last check
    int64_t smtp_check_ms;      //  notify/smtp_check_ms
};

//  A case as the notification service remembers it
typedef struct {
    char *state, *regime, *location, *description, *assignee, *email, *phone;
    int64_t received_ms;
    int type;
    bool anonymous;
} s_case_t;

//  A resolved address
typedef struct {
    const char *channel;        //  "email" or "sms" (static)
    char address [256];
} s_address_t;

// ---------------------------------------------------------------- helpers

static void
s_warn_once (notification_t *self, const char *key, const char *fmt, ...)
{
    if (zhashx_lookup (self->warned, key))
        return;
    zhashx_insert (self->warned, key, (void *) 1);
    char message [400];
    va_list args;
    va_start (args, fmt);
    vsnprintf (message, sizeof message, fmt, args);
    va_end (args);
    hl_warn ("%s", message);
}

static char *
s_column (sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    return hl_strdup (text? text: "");
}

static uint64_t
s_fnv1a (const char *text)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        hash ^= (uint64_t) tolower (*p);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

//  Keys are ASCII: anything else in an event id becomes '_'
static void
s_ascii (char *text)
{
    for (char *p = text; *p; p++)
        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
            *p = '_';
}

//  Is text an e-mail address (email) or a phone number (sms)? Fills the
//  normalized address. NULL if neither.
static const char *
s_classify (const char *text, char *out, size_t size)
{
    size_t len = strlen (text);
    if (len == 0 || len >= size || len > 254)
        return NULL;
    const char *at = strchr (text, '@');
    if (at) {
        if (at == text || strchr (at + 1, '@') || !strchr (at + 1, '.')
        ||  at [1] == '.' || text [len - 1] == '.')
            return NULL;
        for (const unsigned char *p = (const unsigned char *) text; *p; p++)
            if (*p <= 0x20 || *p == 0x7f || strchr ("<>()[],;:\\\"", *p))
                return NULL;
        snprintf (out, size, "%s", text);
        return "email";
    }
    size_t digits = 0, used = 0;
    for (const char *p = text; *p; p++) {
        if (isdigit ((unsigned char) *p)) {
            out [used++] = *p;
            digits++;
        }
        else
        if (*p == '+' && used == 0)
            out [used++] = *p;
        else
        if (!strchr (" .-()", *p))
            return NULL;
    }
    out [used] = 0;
    return digits >= 8 && digits <= 15? "sms": NULL;
}

//  Split a comma (or semicolon) separated list of addresses into out
static size_t
s_parse_list (const char *list, s_address_t *out, size_t count, size_t max)
{
    char *copy = hl_strdup (list? list: "");
    char *save = NULL;
    for (char *item = strtok_r (copy, ",;", &save); item && count < max;
         item = strtok_r (NULL, ",;", &save)) {
        while (*item == ' ' || *item == '\t')
            item++;
        char *end = item + strlen (item);
        while (end > item && (end [-1] == ' ' || end [-1] == '\t'))
            *--end = 0;
        if (!*item)
            continue;
        const char *channel = s_classify (item, out [count].address, sizeof out [count].address);
        if (!channel) {
            hl_warn ("contact '%.60s' is neither an e-mail address nor a phone number, ignored", item);
            continue;
        }
        out [count++].channel = channel;
    }
    free (copy);
    return count;
}

// ---------------------------------------------------------------- cases

static void
s_case_free (s_case_t *kase)
{
    free (kase->state);
    free (kase->regime);
    free (kase->location);
    free (kase->description);
    free (kase->assignee);
    free (kase->email);
    free (kase->phone);
    memset (kase, 0, sizeof *kase);
}

//  Remember what later messages need: report facts, reporter contact,
//  assignee, state
static int
s_case_apply (notification_t *self, const Hotline__Event *event)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO cases (case_id) VALUES (?) ON CONFLICT (case_id) DO NOTHING");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->case_id, -1, SQLITE_STATIC);
    if (hl_store_step_done (self->store, stmt))
        return -1;
    if (event->report) {
        const Hotline__Report *report = event->report;
        const Hotline__Reporter *who = report->reporter;
        bool anonymous = who && who->anonymous;
        stmt = hl_store_prepare (self->store,
            "UPDATE cases SET received_ms = ?, type = ?, location = ?, description = ?,"
            " reporter_email = ?, reporter_phone = ?, anonymous = ? WHERE case_id = ?");
        if (!stmt)
            return -1;
        sqlite3_bind_int64 (stmt, 1, report->received_ms? report->received_ms: event->at_ms);
        sqlite3_bind_int (stmt, 2, (int) report->type);
        sqlite3_bind_text (stmt, 3, report->location? report->location: "", -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 4, report->description? report->description: "", -1, SQLITE_STATIC);
        //  An anonymous reporter's contact is never kept
        sqlite3_bind_text (stmt, 5, !anonymous && who && who->email? who->email: "", -1, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 6, !anonymous && who && who->phone? who->phone: "", -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 7, anonymous);
        sqlite3_bind_text (stmt, 8, event->case_id, -1, SQLITE_STATIC);
        if (hl_store_step_done (self->store, stmt))
            return -1;
    }
    const char *assignee = streq (event->action, self->assign_action)?
                           hl_event_arg (event, self->assign_arg): "";
    stmt = hl_store_prepare (self->store,
        "UPDATE cases SET"
        " state = CASE WHEN ?1 = '' THEN state ELSE ?1 END,"
        " regime = CASE WHEN ?2 = '' THEN regime ELSE ?2 END,"
        " assignee = CASE WHEN ?3 = '' THEN assignee ELSE ?3 END"
        " WHERE case_id = ?4");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, event->to_state? event->to_state: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, event->regime? event->regime: "", -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, assignee, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, event->case_id, -1, SQLITE_STATIC);
    return hl_store_step_done (self->store, stmt);
}

static int
s_case_load (notification_t *self, const char *case_id, s_case_t *kase)
{
    memset (kase, 0, sizeof *kase);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT state, regime, location, description, assignee, reporter_email,"
        " reporter_phone, received_ms, type, anonymous FROM cases WHERE case_id = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        kase->state = s_column (stmt, 0);
        kase->regime = s_column (stmt, 1);
        kase->location = s_column (stmt, 2);
        kase->description = s_column (stmt, 3);
        kase->assignee = s_column (stmt, 4);
        kase->email = s_column (stmt, 5);
        kase->phone = s_column (stmt, 6);
        kase->received_ms = sqlite3_column_int64 (stmt, 7);
        kase->type = sqlite3_column_int (stmt, 8);
        kase->anonymous = sqlite3_column_int (stmt, 9) != 0;
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW? 0: -1;
}

// ---------------------------------------------------------------- rendering

typedef struct {
    notification_t *self;
    const Hotline__Event *event;
    const s_case_t *kase;
    bool reporter;
    char scratch [256];
} s_render_t;

//  Label from templates.conf ("KIND.NAME"), else fallback, else name
static const char *
s_label (notification_t *self, const char *kind, const char *name, const char *fallback)
{
    char key [160];
    snprintf (key, sizeof key, "%s.%s", kind, name);
    const char *label = notify_templates_label (self->templates, key);
    if (label)
        return label;
    return fallback && *fallback? fallback: name;
}

static const char *
s_value (void *arg, const char *name)
{
    s_render_t *ctx = (s_render_t *) arg;
    notification_t *self = ctx->self;
    const Hotline__Event *event = ctx->event;
    if (ctx->reporter) {
        bool allowed = false;
        for (const char **p = s_reporter_allowed; *p && !allowed; p++)
            allowed = streq (*p, name);
        if (!allowed)
            return NULL;
    }
    if (streq (name, "case_id"))
        return event->case_id;
    if (streq (name, "type"))
        return ctx->kase->type? hl_type_label (ctx->kase->type): "";
    if (streq (name, "location"))
        return ctx->kase->location;
    if (streq (name, "description"))
        return ctx->kase->description;
    if (streq (name, "state"))
        return s_label (self, "state", event->to_state,
                        hl_procedure_state_label (self->procedure, event->to_state));
    if (streq (name, "deadline")) {
        const char *deadline = hl_event_arg (event, "deadline");
        return *deadline? s_label (self, "deadline", deadline, NULL): "";
    }
    if (streq (name, "due")) {
        const char *due = hl_event_arg (event, "due_ms");
        return *due? hl_clock_format (strtoll (due, NULL, 10), ctx->scratch, sizeof ctx->scratch): "";
    }
    if (streq (name, "note"))
        return event->note;
    if (streq (name, "ward_name"))
        return self->ward_name;
    if (streq (name, "received"))
        return ctx->kase->received_ms?
               hl_clock_format (ctx->kase->received_ms, ctx->scratch, sizeof ctx->scratch): "";
    if (streq (name, "regime")) {
        const char *regime = *event->regime? event->regime: ctx->kase->regime;
        return *regime? s_label (self, "regime", regime, NULL): "";
    }
    if (streq (name, "action"))
        return s_label (self, "action", event->action, NULL);
    return NULL;
}

// ---------------------------------------------------------------- enqueue

static int
s_enqueue (notification_t *self, const Hotline__Event *event, const char *key,
           const char *recipient, const char *template_name, const char *channel,
           const char *address, const char *subject, const char *body)
{
    return notify_outbox_enqueue (self->outbox, key, event->event_id, event->case_id, recipient,
                                  template_name, channel, address, subject, body);
}

//  Addresses of a recipient for a case. Returns the count; why says what
//  was left out and why.
static size_t
s_resolve (notification_t *self, const char *recipient, const s_case_t *kase,
           s_address_t *out, size_t max, char *why, size_t whysize)
{
    why [0] = 0;
    size_t count = 0;
    if (streq (recipient, "reporter")) {
        if (kase->anonymous)
            snprintf (why, whysize, "anonymous reporter");
        else {
            if (*kase->email)
                count = s_parse_list (kase->email, out, count, max);
            if (*kase->phone)
                count = s_parse_list (kase->phone, out, count, max);
            if (count == 0)
                snprintf (why, whysize, "the reporter left no usable e-mail or phone");
        }
    }
    else
    if (streq (recipient, "assignee")) {
        if (!*kase->assignee)
            snprintf (why, whysize, "the case has no assignee");
        else {
            char address [256];
            if (s_classify (kase->assignee, address, sizeof address))
                count = s_parse_list (kase->assignee, out, count, max);
            else {
                const char *name = strrchr (kase->assignee, ':');
                name = name? name + 1: kase->assignee;
                bool valid = *name != 0;
                for (const char *p = name; *p && valid; p++)
                    valid = isalnum ((unsigned char) *p) || strchr ("_-.", *p);
                char path [128];
                snprintf (path, sizeof path, "contacts/staff/%s", name);
                if (valid)
                    count = s_parse_list (hl_config_get (self->config, path, ""), out, count, max);
                if (count == 0)
                    snprintf (why, whysize, "no contact for the assignee (%s)", valid? path: "bad name");
            }
        }
    }
    else {
        char path [128];
        snprintf (path, sizeof path, "contacts/%s", recipient);
        count = s_parse_list (hl_config_get (self->config, path, ""), out, count, max);
        if (count == 0)
            snprintf (why, whysize, "%s is not configured", path);
    }
    //  Channels: allowed for this recipient, and configured
    char path [128];
    snprintf (path, sizeof path, "notify/channels/%s", recipient);
    const char *allowed = hl_config_get (self->config, path, "email,sms");
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        bool wanted = false;
        char *copy = hl_strdup (allowed);
        char *save = NULL;
        for (char *item = strtok_r (copy, ", ", &save); item; item = strtok_r (NULL, ", ", &save))
            wanted = wanted || streq (item, out [i].channel);
        free (copy);
        bool enabled = streq (out [i].channel, "email")? self->email_enabled: self->sms_enabled;
        if (wanted && enabled)
            out [kept++] = out [i];
        else {
            size_t used = strlen (why);
            snprintf (why + used, whysize - used, "%s%s %s", used? "; ": "", out [i].channel,
                      !wanted? "not used for this recipient": "not configured");
        }
    }
    return kept;
}

//  One notify rule for one event: a row per address and channel, and one
//  log line
static int
s_notify (notification_t *self, const Hotline__Event *event, const s_case_t *kase,
          const hl_notify_rule_t *rule)
{
    const char *recipient = rule->recipient;
    bool reporter = streq (recipient, "reporter");
    const notify_template_t *tmpl = notify_templates_find (self->templates, rule->template_name,
                                                           recipient);
    //  Checked at start; a missing template here is a bug, not a reason to
    //  wedge the log: record it in notify.log and go on
    char why [512] = "";
    s_address_t addresses [S_MAX_ADDRESSES];
    size_t count = 0;
    char *subject = NULL, *body = NULL, *sms = NULL;
    if (tmpl) {
        s_render_t ctx = { self, event, kase, reporter, "" };
        subject = notify_templates_render (tmpl->subject, s_value, &ctx, true, S_MAX_SUBJECT);
        body = notify_templates_render (tmpl->body, s_value, &ctx, false, S_MAX_BODY);
        sms = notify_templates_render (tmpl->sms, s_value, &ctx, true, S_MAX_SMS);
        count = s_resolve (self, recipient, kase, addresses, S_MAX_ADDRESSES, why, sizeof why);
    }
    else {
        hl_log (HL_ERROR, event->case_id, "no template '%s' for %s", rule->template_name, recipient);
        snprintf (why, sizeof why, "no template '%s'", rule->template_name);
    }
    char *event_id = hl_strdup (event->event_id);
    s_ascii (event_id);
    json_t *deliveries = json_array ();
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char key [300];
        if (reporter)
            snprintf (key, sizeof key, "%s|%s|%s", event_id, recipient, addresses [i].channel);
        else
            snprintf (key, sizeof key, "%s|%s.%016" PRIx64 "|%s", event_id, recipient,
                      s_fnv1a (addresses [i].address), addresses [i].channel);
        bool email = streq (addresses [i].channel, "email");
        rc = s_enqueue (self, event, key, recipient, rule->template_name, addresses [i].channel,
                        addresses [i].address, subject, email? body: sms);
        char shown [300];
        if (reporter)
            notify_outbox_mask (addresses [i].address, shown, sizeof shown);
        else
            snprintf (shown, sizeof shown, "%s", addresses [i].address);
        json_array_append_new (deliveries, json_pack ("{s:s, s:s, s:s}",
            "channel", addresses [i].channel, "address", shown, "key", key));
    }
    if (rc == 0) {
        char key [300];
        snprintf (key, sizeof key, "%s|%s|log", event_id, recipient);
        json_t *line = json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
            "at_ms", (json_int_t) event->at_ms,
            "key", key,
            "event_id", event->event_id,
            "case_id", event->case_id,
            "action", event->action,
            "variant", event->variant? event->variant: "",
            "recipient", recipient,
            "template", rule->template_name,
            "subject", subject? subject: "",
            "deliveries", json_incref (deliveries));
        if (*why)
            json_object_set_new (line, "skipped", json_string (why));
        hl_clock_json_times (line);     //  "at" beside "at_ms", in the node's zone
        char *text = json_dumps (line, JSON_COMPACT);
        json_decref (line);
        rc = s_enqueue (self, event, key, recipient, rule->template_name, "log", "",
                        subject? subject: "", text);
        free (text);
    }
    if (*why && !reporter)
        hl_log (HL_WARN, event->case_id, "%s for %s: %s", event->action, recipient, why);
    else
    if (*why)
        hl_log (HL_INFO, event->case_id, "%s for reporter: %s", event->action, why);
    json_decref (deliveries);
    free (event_id);
    free (subject);
    free (body);
    free (sms);
    return rc;
}

// ---------------------------------------------------------------- follow-up

//  Submit the follow-up action of this event, if any. 0 = done or not
//  needed (409 included), -1 = intake unavailable: retry the batch.
static int
s_advance (notification_t *self, const Hotline__Event *event)
{
    for (size_t i = 0; i < self->nadvance; i++) {
        s_advance_t *advance = &self->advance [i];
        if (strneq (advance->action, event->action))
            continue;
        const char *to_state = NULL;
        int code = hl_procedure_check (self->procedure, event->to_state, advance->follow,
                                       advance->variant, self->role, &to_state);
        if (code != HL_OK) {
            hl_log (HL_DEBUG, event->case_id, "%s not allowed from %s (%d)", advance->follow,
                    event->to_state, code);
            continue;
        }
        char request_id [300];
        if (*advance->variant)
            snprintf (request_id, sizeof request_id, "notify:%s:%s:%s", event->event_id,
                      advance->follow, advance->variant);
        else
            snprintf (request_id, sizeof request_id, "notify:%s:%s", event->event_id,
                      advance->follow);
        Hotline__Command command = HOTLINE__COMMAND__INIT;
        command.action = advance->follow;
        command.variant = advance->variant;
        command.case_id = event->case_id;
        //  Blocks inside the consumer's transaction: safe, see hl_client.h
        Hotline__Envelope *reply = hl_client_command (self->intake, request_id, self->actor,
                                                      &command);
        if (!reply)
            return -1;          //  intake unavailable (logged): the batch is retried
        code = reply->reply->code;
        const char *error = reply->reply->error && *reply->reply->error? reply->reply->error: "";
        if (code == HL_OK)
            hl_log (HL_INFO, event->case_id, "%s recorded (-> %s)", advance->follow, to_state);
        else
        if (code == HL_CONFLICT)
            hl_log (HL_DEBUG, event->case_id, "%s: case moved on already", advance->follow);
        else
            //  400/403/404 will not change by retrying: a configuration or
            //  procedure problem. Say so loudly and do not wedge the log.
            hl_log (HL_ERROR, event->case_id, "intake refused %s: %d %s", advance->follow, code, error);
        hl_msg_free (&reply);
    }
    return 0;
}

// ---------------------------------------------------------------- handler

static int
s_on_event (void *arg, const Hotline__Event *event)
{
    notification_t *self = (notification_t *) arg;
    if (!self->foreign && event->origin && *event->origin
    &&  strneq (event->origin, hl_service_node (self->service)))
        return 0;               //  another node's event: its own node notifies
    if (!event->case_id || !*event->case_id)
        return 0;
    if (s_case_apply (self, event))
        return -1;
    const hl_notify_rule_t *rules [S_MAX_RULES];
    size_t count = hl_procedure_notify_rules (self->procedure, event->action, event->variant,
                                              rules, S_MAX_RULES);
    if (count) {
        s_case_t kase;
        if (s_case_load (self, event->case_id, &kase))
            return -1;
        int rc = 0;
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = s_notify (self, event, &kase, rules [i]);
        s_case_free (&kase);
        if (rc)
            return -1;
        notify_outbox_kick (self->outbox);
    }
    return s_advance (self, event);
}

// ---------------------------------------------------------------- setup

//  Templates of every rule exist; reporter templates use allowed
//  placeholders only; warn about recipients without contacts. 0 or -1.
static int
s_check_rules (notification_t *self)
{
    const char *states [256];
    size_t nstates = hl_procedure_states (self->procedure, states, 255);
    states [nstates++] = NULL;              //  the creating actions
    int rc = 0;
    for (size_t s = 0; s < nstates && rc == 0; s++) {
        const char *actions [256];
        size_t nactions = hl_procedure_allowed (self->procedure, states [s], NULL, actions, 256);
        for (size_t a = 0; a < nactions && rc == 0; a++) {
            char name [160];
            snprintf (name, sizeof name, "%s", actions [a]);
            char *space = strchr (name, ' ');
            const char *variant = "";
            if (space) {
                *space = 0;
                variant = space + 1;
            }
            const hl_notify_rule_t *rules [S_MAX_RULES];
            size_t count = hl_procedure_notify_rules (self->procedure, name, variant, rules, S_MAX_RULES);
            for (size_t r = 0; r < count && rc == 0; r++) {
                const char *recipient = rules [r]->recipient;
                const notify_template_t *tmpl = notify_templates_find (self->templates,
                    rules [r]->template_name, recipient);
                if (!tmpl) {
                    hl_error ("templates: no template '%s' (rule: notify %s %s %s)",
                              rules [r]->template_name, name, recipient, rules [r]->template_name);
                    rc = -1;
                    break;
                }
                if (streq (recipient, "reporter")) {
                    const char *other = notify_templates_uses_other (tmpl, s_reporter_allowed);
                    if (other) {
                        hl_error ("templates: '%s' goes to reporters and uses {%s}; reporters' "
                                  "messages may use only case_id, type, location, state, note, "
                                  "ward_name, received, regime", tmpl->name, other);
                        rc = -1;
                        break;
                    }
                }
                else
                if (strneq (recipient, "assignee")) {
                    char path [128];
                    snprintf (path, sizeof path, "contacts/%s", recipient);
                    if (!*hl_config_get (self->config, path, ""))
                        s_warn_once (self, path, "%s is not configured: '%s' messages go to "
                                     "notify.log only", path, recipient);
                }
            }
        }
    }
    return rc;
}

//  The follow-ups: the procedure's advance meaning (checked on load)
static void
s_load_advance (notification_t *self)
{
    const hl_meaning_item_t *items [S_MAX_ADVANCE];
    size_t count = hl_procedure_meaning_items (self->procedure, "advance", items, S_MAX_ADVANCE);
    for (size_t i = 0; i < count; i++) {
        s_advance_t *advance = &self->advance [self->nadvance++];
        advance->action = hl_strdup (items [i]->action);
        advance->follow = hl_strdup (items [i]->follow);
        advance->variant = hl_strdup (items [i]->follow_variant);
    }
}

//  notify/from is "address" or "Display Name <address>"; notify/from_name,
//  if set, gives the display name
static void
s_parse_from (notification_t *self, const char *from, const char *name)
{
    const char *open = strchr (from, '<');
    const char *close = open? strchr (open, '>'): NULL;
    char display [256] = "";
    if (open && close) {
        self->from_address = zsys_sprintf ("%.*s", (int) (close - open - 1), open + 1);
        const char *start = from, *end = open;
        while (start < end && (*start == ' ' || *start == '"'))
            start++;
        while (end > start && (end [-1] == ' ' || end [-1] == '"'))
            end--;
        snprintf (display, sizeof display, "%.*s", (int) (end - start), start);
    }
    else {
        while (*from == ' ')
            from++;
        self->from_address = hl_strdup (from);
        char *end = self->from_address + strlen (self->from_address);
        while (end > self->from_address && end [-1] == ' ')
            *--end = 0;
    }
    self->from_display = hl_strdup (name? name: display);
}

//  Templates path: notify/templates, else templates.conf beside the procedure
static char *
s_templates_path (hl_config_t *config)
{
    return hl_config_file (config, "notify/templates", "templates.conf");
}

//  Can mail leave? At start-up, then every notify/smtp_check_ms (30 s),
//  and at once when the answer changes, loudly: with no SMTP server every
//  e-mail ends a dead letter after its attempts, and nothing else says so.
//  The probe blocks the loop for at most 1 s (a connect, no SMTP said).
static void
s_smtp_check (notification_t *self, bool force)
{
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    if (!self->email_enabled) {
        self->smtp_reachable = -1;
        notify_outbox_set_smtp_reachable (self->outbox, -1);
        hl_metrics_set (metrics, "hotline_smtp_reachable", 0);
        return;
    }
    int64_t now = zclock_mono ();
    if (!force && now - self->smtp_checked_ms < self->smtp_check_ms)
        return;
    self->smtp_checked_ms = now;
    char error [300];
    int reachable = notify_sender_probe (self->sender_config.smtp_url, 1000, error, sizeof error) == 0;
    if (reachable && self->smtp_reachable != 1)
        hl_info ("the SMTP server takes connections (%s): e-mail can leave", self->sender_config.smtp_url);
    else
    if (!reachable && self->smtp_reachable != 0)
        hl_warn ("MAIL WILL NOT LEAVE: no SMTP server answers at %s (%s). E-mail waits and then"
                 " ends as dead letters (hotline deadletter); once a server answers, re-send them"
                 " with hotline deadletter resend --all", self->sender_config.smtp_url, error);
    self->smtp_reachable = reachable;
    notify_outbox_set_smtp_reachable (self->outbox, reachable);
    hl_metrics_set (metrics, "hotline_smtp_reachable", reachable);
}

//  Gauges: the outbox (loop thread, every second)
static void
s_metrics (void *arg)
{
    notification_t *self = (notification_t *) arg;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    hl_metrics_set (metrics, "hotline_notifications_pending",
                    hl_store_int (self->store, "SELECT count(*) FROM outbox WHERE status = 'pending'", 0));
    hl_metrics_set (metrics, "hotline_notifications_dead",
                    hl_store_int (self->store, "SELECT count(*) FROM outbox WHERE status = 'dead'", 0));
    int64_t oldest = hl_store_int (self->store,
        "SELECT min(created_ms) FROM outbox WHERE status = 'pending'", 0);
    int64_t age_ms = oldest? hl_clock_now () - oldest: 0;
    hl_metrics_set (metrics, "hotline_notifications_oldest_pending_age_seconds",
                    age_ms > 0? age_ms / 1000.0: 0);
    s_smtp_check (self, false);
}

//  /readyz: always ready (a not-ready notification service would be taken
//  out of its Service, and `hotline deadletter resend` could not reach
//  it), but the answer says what an operator must see: dead letters, the
//  oldest pending message, and whether mail can leave at all
static bool
s_ready (void *arg, char *reason, size_t size)
{
    notification_t *self = (notification_t *) arg;
    hl_metrics_t *metrics = hl_service_metrics (self->service);
    snprintf (reason, size, "%.0f dead letter(s), oldest pending %.0f s%s",
              hl_metrics_value (metrics, "hotline_notifications_dead"),
              hl_metrics_value (metrics, "hotline_notifications_oldest_pending_age_seconds"),
              self->smtp_reachable == 0? ", e-mail: SMTP server unreachable":
              self->smtp_reachable < 0? ", e-mail off (notify/smtp_url)": "");
    return true;
}

//  A secret given as a file (notify/*_file: a compose or Kubernetes secret
//  mounted read-only), so that it is not in the environment, where `docker
//  inspect` and /proc/PID/environ show it. Its first line, without the line
//  end, into *secret_p. 0, also when the key is not set or the file is empty
//  (compose mounts /dev/null when no secret is given: no password); -1 with
//  a message when the file is given but cannot be read
static int
s_read_secret (hl_config_t *config, const char *key, char **secret_p)
{
    const char *path = hl_config_get (config, key, NULL);
    if (!path || !*path)
        return 0;
    FILE *file = fopen (path, "r");
    if (!file) {
        hl_error ("%s: cannot read %s: %s", key, path, strerror (errno));
        return -1;
    }
    char line [1024] = "";
    bool got = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    line [strcspn (line, "\r\n")] = 0;
    if (!got || !*line) {
        hl_info ("%s: %s is empty: none", key, path);
        return 0;
    }
    *secret_p = hl_strdup (line);
    explicit_bzero (line, sizeof line);
    return 0;
}

notification_t *
notification_new (hl_service_t *service)
{
    notification_t *self = (notification_t *) zmalloc (sizeof (notification_t));
    self->service = service;
    self->config = hl_service_config (service);
    self->procedure = hl_service_procedure (service);
    self->loop = hl_service_loop (service);
    self->warned = zhashx_new ();
    hl_config_t *config = self->config;
    curl_global_init (CURL_GLOBAL_DEFAULT);

    //  Templates
    char *path = s_templates_path (config);
    char err [512];
    self->templates = notify_templates_load (path, err, sizeof err);
    if (!self->templates) {
        hl_error ("invalid templates: %s", err);
        fprintf (stderr, "hotline-notification: invalid templates: %s\n", err);
        free (path);
        notification_destroy (&self);
        return NULL;
    }
    hl_info ("templates=%s", path);
    free (path);

    //  Settings
    self->actor = hl_config_get (config, "notify/actor", "system:notification");
    const char *colon = strchr (self->actor, ':');
    self->role = colon? zsys_sprintf ("%.*s", (int) (colon - self->actor), self->actor)
                      : hl_strdup (self->actor);
    self->assign_action = hl_procedure_meaning (self->procedure, "assign", NULL);
    self->assign_arg = hl_procedure_meaning_arg (self->procedure, "assign");
    assert (self->assign_action && self->assign_arg);   //  declared by every procedure
    self->ward_name = hl_config_get (config, "node/ward_name", hl_service_ward (service));
    self->foreign = hl_config_int (config, "notify/foreign", 0) != 0;
    if (!hl_procedure_role_exists (self->procedure, self->role)) {
        hl_error ("notify/actor '%s': the procedure has no role '%s'", self->actor, self->role);
        notification_destroy (&self);
        return NULL;
    }
    s_load_advance (self);
    if (s_check_rules (self)) {
        notification_destroy (&self);
        return NULL;
    }

    //  Transports
    notify_sender_config_t *sc = &self->sender_config;
    sc->smtp_url = hl_config_get (config, "notify/smtp_url", NULL);
    sc->smtp_user = hl_config_get (config, "notify/smtp_user", NULL);
    sc->smtp_password = hl_config_get (config, "notify/smtp_password", NULL);
    if (s_read_secret (config, "notify/smtp_password_file", &self->smtp_password)) {
        notification_destroy (&self);
        return NULL;
    }
    if (self->smtp_password)
        sc->smtp_password = self->smtp_password;
    sc->smtp_tls = hl_config_get (config, "notify/smtp_tls", "none");
    s_parse_from (self, hl_config_get (config, "notify/from", "hotline@localhost"),
                  hl_config_get (config, "notify/from_name", NULL));
    sc->from = self->from_address;
    sc->from_name = self->from_display;
    sc->webhook_url = hl_config_get (config, "notify/webhook_url", NULL);
    sc->webhook_token = hl_config_get (config, "notify/webhook_token", NULL);
    if (s_read_secret (config, "notify/webhook_token_file", &self->webhook_token)) {
        notification_destroy (&self);
        return NULL;
    }
    if (self->webhook_token)
        sc->webhook_token = self->webhook_token;
    sc->timeout_ms = (int) hl_config_int (config, "notify/send_timeout_ms", 5000);
    self->email_enabled = sc->smtp_url != NULL;
    self->sms_enabled = sc->webhook_url != NULL;
    if (!self->email_enabled)
        hl_warn ("MAIL WILL NOT LEAVE: notify/smtp_url is not set, e-mail is off");
    self->smtp_check_ms = hl_config_int (config, "notify/smtp_check_ms", S_SMTP_CHECK_MS);
    if (!self->sms_enabled)
        hl_warn ("notify/webhook_url is not set: SMS is off");

    //  Store, outbox (workers, log file, query socket), intake client, consumer
    path = hl_service_path (service, "notify.db");
    self->store = hl_store_new (path, NULL);
    if (self->store && hl_store_migrate (self->store, "notify.db", s_migrations, NULL))
        hl_store_destroy (&self->store);
    if (!self->store) {
        hl_error ("cannot open %s", path);
        free (path);
        notification_destroy (&self);
        return NULL;
    }
    free (path);
    char *log_path = hl_service_path (service, "notify.log");
    const char *query_endpoint = hl_service_bind_endpoint (service, "notification");
    notify_outbox_opts_t opts = {
        .store = self->store,
        .loop = self->loop,
        .metrics = hl_service_metrics (service),
        .sender = &self->sender_config,
        .email = self->email_enabled,
        .sms = self->sms_enabled,
        .workers = hl_config_int (config, "notify/workers", 1),
        .retry_ms = hl_config_int (config, "notify/retry_ms", 1000),
        .retry_max_ms = hl_config_int (config, "notify/retry_max_ms", 300000),
        .max_attempts = hl_config_int (config, "notify/max_attempts", 5),
        .retention_ms = hl_config_int (config, "notify/retention_days", 90) * 86400000,
        .tick_ms = hl_config_int (config, "notify/tick_ms", 200),
        .log_path = log_path,
        .query_endpoint = query_endpoint
    };
    if (!query_endpoint)
        hl_error ("cannot bind endpoints/notification (unset)");
    else
        self->outbox = notify_outbox_new (&opts);
    free (log_path);
    if (!self->outbox) {
        notification_destroy (&self);
        return NULL;
    }
    self->intake = hl_client_new (hl_service_endpoint (service, "intake"),
                                  (int) hl_config_int (config, "notify/intake_timeout_ms", 3000), 2);
    const char *feed = hl_service_endpoint (service, "archive_feed");
    self->consumer = hl_consumer_new (self->loop, feed, self->store, s_on_event, self);
    if (!self->consumer) {
        hl_error ("cannot follow the log at %s", feed);
        notification_destroy (&self);
        return NULL;
    }
    hl_metrics_on_refresh (hl_service_metrics (service), s_metrics, self);
    hl_service_set_ready (service, s_ready, self);
    self->smtp_reachable = 2;
    s_smtp_check (self, true);
    hl_info ("following %s, queries on %s, e-mail %s, SMS %s, %" PRId64 " pending, %" PRId64 " dead",
             feed, query_endpoint, self->email_enabled? "on": "off", self->sms_enabled? "on": "off",
             hl_store_int (self->store, "SELECT count(*) FROM outbox WHERE status = 'pending'", 0),
             hl_store_int (self->store, "SELECT count(*) FROM outbox WHERE status = 'dead'", 0));
    return self;
}

void
notification_destroy (notification_t **self_p)
{
    assert (self_p);
    notification_t *self = *self_p;
    if (self) {
        //  First: a send in flight is recorded before anything else stops
        notify_outbox_destroy (&self->outbox);
        hl_consumer_destroy (&self->consumer);
        hl_client_destroy (&self->intake);
        hl_store_destroy (&self->store);
        free (self->from_address);
        free (self->from_display);
        if (self->smtp_password)
            explicit_bzero (self->smtp_password, strlen (self->smtp_password));
        free (self->smtp_password);
        if (self->webhook_token)
            explicit_bzero (self->webhook_token, strlen (self->webhook_token));
        free (self->webhook_token);
        notify_templates_destroy (&self->templates);
        for (size_t i = 0; i < self->nadvance; i++) {
            free (self->advance [i].action);
            free (self->advance [i].follow);
            free (self->advance [i].variant);
        }
        free (self->role);
        zhashx_destroy (&self->warned);
        curl_global_cleanup ();
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Selftest: feed events straight to the handler (no archive needed), with
//  a fake intake and transports that refuse (nothing listens), so every
//  e-mail and SMS ends dead after two attempts and the log channel writes.

typedef struct {
    int code;                   //  reply code to give
    int calls;
    char request_id [128];
    char action [64];
    char actor [64];
} s_fake_intake_t;

static void
s_fake_intake (zsock_t *pipe, void *args)
{
    s_fake_intake_t *state = (s_fake_intake_t *) args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "%d", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != router)
            break;              //  $TERM or interrupted
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Hotline__Envelope *env = hl_msg_decode (zframe_data (body), zframe_size (body), NULL);
        if (env && env->body_case == HOTLINE__ENVELOPE__BODY_REQUEST) {
            state->calls++;
            snprintf (state->request_id, sizeof state->request_id, "%s", env->request->request_id);
            snprintf (state->action, sizeof state->action, "%s", env->request->command->action);
            snprintf (state->actor, sizeof state->actor, "%s", env->request->actor);
            Hotline__Reply reply = HOTLINE__REPLY__INIT;
            reply.request_id = env->request->request_id;
            reply.code = state->code;
            Hotline__Envelope answer = HOTLINE__ENVELOPE__INIT;
            answer.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
            answer.reply = &reply;
            hl_msg_send (router, id, &answer);
        }
        hl_msg_free (&env);
        zframe_destroy (&id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static int
s_test_free_port (void)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    zsock_destroy (&sock);
    return port;
}

static int64_t
s_test_count (notification_t *self, const char *where)
{
    char *sql = zsys_sprintf ("SELECT count(*) FROM outbox WHERE %s", where);
    sqlite3_stmt *stmt = NULL;
    int64_t count = -1;
    if (sqlite3_prepare_v2 (hl_store_db (self->store), sql, -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    zstr_free (&sql);
    return count;
}

//  One event through the handler, in a transaction like the consumer's
static int
s_test_event (notification_t *self, Hotline__Event *event)
{
    assert (hl_store_begin (self->store) == 0);
    int rc = s_on_event (self, event);
    if (rc == 0)
        assert (hl_store_commit (self->store) == 0);
    else
        hl_store_rollback (self->store);
    return rc;
}

//  Run the senders until nothing is pending (bounded)
static void
s_test_drain (notification_t *self)
{
    for (int round = 0; round < 2000; round++) {
        notify_outbox_tick (self->outbox);
        bool busy = notify_outbox_settle (self->outbox, 5000) > 0;
        if (!busy && s_test_count (self, "status = 'pending'") == 0)
            return;
        if (!busy)
            zclock_sleep (2);   //  wait out a 1 ms backoff; not a timing assertion
    }
    assert (!"outbox did not drain");
}

void
notification_test (bool verbose)
{
    printf (" * notification: ");
    char dir [] = "/tmp/notification_XXXXXX";
    assert (mkdtemp (dir));
    char cwd [512];
    assert (getcwd (cwd, sizeof cwd));
    s_fake_intake_t intake_state = { HL_OK, 0, "", "", "" };
    zactor_t *intake = zactor_new (s_fake_intake, &intake_state);
    char *port = zstr_recv (intake);
    char cfg [128];
    snprintf (cfg, sizeof cfg, "%s/node.cfg", dir);
    FILE *file = fopen (cfg, "w");
    assert (file);
    fprintf (file,
        "node\n"
        "    role = ward\n"
        "    ward_code = 42\n"
        "    ward_name = \"Phường An Biên\"\n"
        "    data_dir = data\n"
        "    procedure = %s/deploy/config/procedure.conf\n"
        "endpoints\n"
        "    intake = tcp://127.0.0.1:%s\n"
        "    archive_feed = tcp://127.0.0.1:%d\n"
        "    notification = inproc://notification-selftest\n"
        "contacts\n"
        "    leaders = \"lanhdao@anbien.gov.vn, 0916 588 826\"\n"
        "    division_head = kinhte@anbien.gov.vn\n"
        "    staff\n"
        "        lan = lan@anbien.gov.vn\n"
        "notify\n"
        "    templates = %s/deploy/config/templates.conf\n"
        "    smtp_url = smtp://127.0.0.1:%d\n"
        "    webhook_url = http://127.0.0.1:%d/sms\n"
        "    retry_ms = 1\n"
        "    max_attempts = 2\n"
        "    send_timeout_ms = 2000\n"
        "    intake_timeout_ms = 500\n"
        "    channels\n"
        "        division_head = email\n",
        cwd, port, s_test_free_port (), cwd, s_test_free_port (), s_test_free_port ());
    fclose (file);
    zstr_free (&port);
    char *argv [] = { "notification", "-c", cfg, NULL };
    hl_service_t *service = hl_service_new ("notification", 3, argv);
    assert (service);
    notification_t *self = notification_new (service);
    assert (self);
    hl_procedure_t *procedure = hl_service_procedure (service);

    //  1. A new report: leaders by e-mail and SMS, the division head by
    //  e-mail only (notify/channels), a log line each; the case is moved on
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    who.name = "Nguyễn Văn Dân";
    who.email = "dan@example.com";
    who.phone = "0912 345 678";
    Hotline__Report report = HOTLINE__REPORT__INIT;
    report.reporter = &who;
    report.type = HOTLINE__POLLUTION_TYPE__WASTE_WATER;
    report.location = "Ngõ 5, An Biên";
    report.description = "Nước thải đen chảy ra kênh";
    report.received_ms = 1700000000000;
    Hotline__Event event = HOTLINE__EVENT__INIT;
    event.event_id = "ward-42/1";
    event.seq = 1;
    event.case_id = "42-2026-000001";
    event.origin = "ward-42";
    event.at_ms = 1700000000000;
    event.actor = "officer:an";
    event.action = "submit";
    event.to_state = (char *) hl_procedure_initial (procedure);
    event.regime = "normal";
    event.report = &report;
    assert (s_test_event (self, &event) == 0);
    assert (s_test_count (self, "1") == 5);
    assert (s_test_count (self, "channel = 'email'") == 2);
    assert (s_test_count (self, "channel = 'sms' AND address = '0916588826'") == 1);
    assert (s_test_count (self, "channel = 'log'") == 2);
    assert (s_test_count (self, "idempotency_key = 'ward-42/1|leaders|log'") == 1);
    //  Staff messages carry the report, never the reporter
    assert (s_test_count (self, "body LIKE '%Nước thải đen%' AND channel = 'email'") == 2);
    assert (s_test_count (self, "body LIKE '%dan@example%' OR body LIKE '%Dân%'"
                                " OR body LIKE '%345%' OR subject LIKE '%Dân%'") == 0);
    assert (intake_state.calls == 1);
    assert (streq (intake_state.request_id, "notify:ward-42/1:inform_leaders"));
    assert (streq (intake_state.action, "inform_leaders"));
    assert (streq (intake_state.actor, "system:notification"));
    //  A replay enqueues nothing new; the follow-up repeats its request id
    assert (s_test_event (self, &event) == 0);
    assert (s_test_count (self, "1") == 5);
    assert (intake_state.calls == 2);
    assert (streq (intake_state.request_id, "notify:ward-42/1:inform_leaders"));

    //  2. Intake unavailable (503) or silent: the batch must come again,
    //  and nothing of it is kept. 409: the case moved on, fine.
    intake_state.code = HL_UNAVAILABLE;
    event.event_id = "ward-42/2";
    event.case_id = "42-2026-000002";
    assert (s_test_event (self, &event) == -1);
    assert (s_test_count (self, "event_id = 'ward-42/2'") == 0);
    intake_state.code = HL_CONFLICT;
    assert (s_test_event (self, &event) == 0);
    assert (s_test_count (self, "event_id = 'ward-42/2'") == 5);

    //  3. Assign, then a deadline warning: to the assignee (looked up in
    //  contacts/staff) and the division head
    intake_state.code = HL_OK;
    Hotline__Event assign = HOTLINE__EVENT__INIT;
    Hotline__Event__ArgsEntry to = HOTLINE__EVENT__ARGS_ENTRY__INIT;
    to.key = "to";
    to.value = "division:lan";
    Hotline__Event__ArgsEntry *assign_args [] = { &to };
    assign.event_id = "ward-42/3";
    assign.case_id = "42-2026-000001";
    assign.origin = "ward-42";
    assign.action = "assign";
    assign.from_state = "routed_ward";
    assign.to_state = "verifying";
    assign.n_args = 1;
    assign.args = assign_args;
    assert (s_test_event (self, &assign) == 0);
    Hotline__Event warn = HOTLINE__EVENT__INIT;
    Hotline__Event__ArgsEntry deadline = HOTLINE__EVENT__ARGS_ENTRY__INIT;
    deadline.key = "deadline";
    deadline.value = "verify";
    Hotline__Event__ArgsEntry due = HOTLINE__EVENT__ARGS_ENTRY__INIT;
    due.key = "due_ms";
    due.value = "1700086400000";
    Hotline__Event__ArgsEntry *warn_args [] = { &deadline, &due };
    warn.event_id = "ward-42/4";
    warn.case_id = "42-2026-000001";
    warn.origin = "ward-42";
    warn.action = "deadline_warn";
    warn.from_state = "verifying";
    warn.to_state = "verifying";
    warn.n_args = 2;
    warn.args = warn_args;
    assert (s_test_event (self, &warn) == 0);
    assert (s_test_count (self, "event_id = 'ward-42/4' AND address = 'lan@anbien.gov.vn'") == 1);
    assert (s_test_count (self, "event_id = 'ward-42/4' AND recipient = 'division_head'"
                                " AND channel = 'email'") == 1);

    //  4. The result goes to the reporter, by e-mail and SMS, with only the
    //  whitelisted facts; the log masks the reporter's addresses
    Hotline__Event inform = HOTLINE__EVENT__INIT;
    inform.event_id = "ward-42/5";
    inform.case_id = "42-2026-000001";
    inform.origin = "ward-42";
    inform.action = "inform";
    inform.from_state = "resolved";
    inform.to_state = "reporter_informed";
    inform.note = "Đã yêu cầu cơ sở dừng xả thải";
    assert (s_test_event (self, &inform) == 0);
    assert (s_test_count (self, "idempotency_key = 'ward-42/5|reporter|email'"
                                " AND address = 'dan@example.com'") == 1);
    assert (s_test_count (self, "idempotency_key = 'ward-42/5|reporter|sms'"
                                " AND address = '0912345678'") == 1);
    assert (s_test_count (self, "event_id = 'ward-42/5' AND channel != 'log'"
                                " AND body NOT LIKE '%dừng xả thải%'") == 0);
    assert (s_test_count (self, "event_id = 'ward-42/5' AND body LIKE '%Nước thải đen%'") == 0);
    assert (s_test_count (self, "idempotency_key = 'ward-42/5|reporter|log'"
                                " AND body LIKE '%d***@example.com%' AND body NOT LIKE '%dan@%'"
                                " AND body NOT LIKE '%0912345678%'") == 1);

    //  5. An anonymous reporter is never contacted; the log says why
    who.anonymous = true;
    event.event_id = "ward-42/6";
    event.case_id = "42-2026-000003";
    assert (s_test_event (self, &event) == 0);
    inform.event_id = "ward-42/7";
    inform.case_id = "42-2026-000003";
    assert (s_test_event (self, &inform) == 0);
    assert (s_test_count (self, "event_id = 'ward-42/7'") == 1);
    assert (s_test_count (self, "event_id = 'ward-42/7' AND body LIKE '%anonymous%'") == 1);
    assert (s_test_count (self, "address LIKE '%dan@%' AND case_id = '42-2026-000003'") == 0);

    //  6. Another node's event is its node's business
    inform.event_id = "ward-43/1";
    inform.origin = "ward-43";
    assert (s_test_event (self, &inform) == 0);
    assert (s_test_count (self, "event_id = 'ward-43/1'") == 0);

    //  7. Send: nothing listens, so every e-mail and SMS is dead after two
    //  attempts with the reason; the log channel is written
    int64_t total = s_test_count (self, "1");
    int64_t logs = s_test_count (self, "channel = 'log'");
    s_test_drain (self);
    assert (s_test_count (self, "status = 'sent'") == logs);
    assert (s_test_count (self, "status = 'dead' AND attempts = 2 AND last_error != ''") == total - logs);
    char *log_path = hl_service_path (service, "notify.log");
    file = fopen (log_path, "r");
    assert (file);
    char line [4096];
    int lines = 0;
    while (fgets (line, sizeof line, file)) {
        json_t *json = json_loads (line, 0, NULL);
        assert (json && json_string_value (json_object_get (json, "key")));
        json_decref (json);
        lines++;
    }
    fclose (file);
    assert (lines == logs);
    free (log_path);

    //  8. The dead letters, by query; reporter addresses masked
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "deadletter";
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.request_id = "q1";
    request.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    request.query = &query;
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    char *json = NULL;
    notify_outbox_answer (self->outbox, &request, &reply, &json);
    assert (reply.code == HL_OK && json);
    json_t *rows = json_loads (json, 0, NULL);
    assert (json_is_array (rows) && (int64_t) json_array_size (rows) == total - logs);
    bool masked = false;
    for (size_t i = 0; i < json_array_size (rows); i++) {
        json_t *row = json_array_get (rows, i);
        assert (streq (json_string_value (json_object_get (row, "status")), "dead"));
        const char *address = json_string_value (json_object_get (row, "address"));
        assert (!strstr (address, "dan@"));
        masked = masked || streq (address, "d***@example.com");
    }
    assert (masked);
    json_decref (rows);
    free (json);
    json = NULL;
    query.kind = "outbox";
    query.status = "sent";
    query.limit = 1;
    notify_outbox_answer (self->outbox, &request, &reply, &json);
    rows = json_loads (json, 0, NULL);
    assert (json_array_size (rows) == 1);
    json_decref (rows);
    free (json);
    json = NULL;
    query.kind = "nope";
    notify_outbox_answer (self->outbox, &request, &reply, &json);
    assert (reply.code == HL_BAD_INPUT && json == NULL);

    //  9. Retention: old sent rows go, dead letters stay
    assert (notify_outbox_purge (self->outbox, hl_clock_now () + 90 * 86400000LL + 10) == logs);
    assert (s_test_count (self, "status = 'sent'") == 0);
    assert (s_test_count (self, "status = 'dead'") == total - logs);

    notification_destroy (&self);
    hl_service_destroy (&service);
    zactor_destroy (&intake);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%" PRId64 " messages) ", total);
    printf ("OK\n");
}
