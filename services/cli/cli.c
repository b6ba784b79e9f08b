/*  cli — the commands of the `hotline` tool.  */
#include "hotline.h"
#include "cli.h"
#include <math.h>

// ------------------------------------------------------------- options

//  Options of one command: "--key value" pairs and "--flag"s, checked
//  against what the command accepts.
typedef struct {
    const char *positional;     //  CASE, where the command takes one
    zhashx_t *values;           //  key -> value (last wins)
    zlistx_t *evidence;         //  repeated --evidence
} s_opts_t;

static void
s_opts_destroy (s_opts_t *opts)
{
    zhashx_destroy (&opts->values);
    zlistx_destroy (&opts->evidence);
}

//  accepts: space separated "key" (takes a value) and "key!" (a flag)
static int
s_opts_parse (s_opts_t *opts, const char *command, int argc, char **argv,
              const char *accepts, bool positional)
{
    memset (opts, 0, sizeof *opts);
    opts->values = zhashx_new ();
    opts->evidence = zlistx_new ();
    for (int i = 0; i < argc; i++) {
        const char *word = argv [i];
        if (strncmp (word, "--", 2) != 0) {
            if (positional && !opts->positional) {
                opts->positional = word;
                continue;
            }
            fprintf (stderr, "hotline %s: unexpected argument '%s'\n", command, word);
            return -1;
        }
        const char *key = word + 2;
        char pattern [64];
        snprintf (pattern, sizeof pattern, " %s! ", key);
        char padded [1024];
        snprintf (padded, sizeof padded, " %s ", accepts);
        if (strstr (padded, pattern)) {
            zhashx_update (opts->values, key, (void *) "1");
            continue;
        }
        snprintf (pattern, sizeof pattern, " %s ", key);
        if (!strstr (padded, pattern) && !strstr (padded, " * ")) {
            fprintf (stderr, "hotline %s: unknown option --%s\n", command, key);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "hotline %s: --%s needs a value\n", command, key);
            return -1;
        }
        if (streq (key, "evidence"))
            zlistx_add_end (opts->evidence, argv [++i]);
        else
            zhashx_update (opts->values, key, argv [++i]);
    }
    return 0;
}

static const char *
s_opt (s_opts_t *opts, const char *key)
{
    return (const char *) zhashx_lookup (opts->values, key);
}

static bool
s_flag (s_opts_t *opts, const char *key)
{
    return zhashx_lookup (opts->values, key) != NULL;
}

int
cli_bad (const char *command, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (stderr, "hotline %s: ", command);
    vfprintf (stderr, fmt, args);
    fprintf (stderr, "\n");
    va_end (args);
    return CLI_BAD_INPUT;
}

// ------------------------------------------------------------- plumbing

//  CurveZMQ: the keypair and the node's public key, checked before any
//  request; a key bound to an actor (`hotline keys client`) acts as that
//  actor unless --as says otherwise. 0 or -1 (message printed).
static int
s_resolve_curve (cli_t *cli)
{
    if (!cli->cert) {
        if (cli->server_key || cli->server_cert) {
            fprintf (stderr, "hotline: --server-key and --server-cert need --cert (your keypair)\n");
            return -1;
        }
        return 0;
    }
    zcert_t *cert = zsys_file_exists (cli->cert)? zcert_load (cli->cert): NULL;
    if (!cert || streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        fprintf (stderr, "hotline: cannot load the keypair %s (and %s_secret)\n", cli->cert, cli->cert);
        zcert_destroy (&cert);
        return -1;
    }
    const char *actor = zcert_meta (cert, "actor");
    if (!cli->actor && actor && *actor) {
        snprintf (cli->actor_buf, sizeof cli->actor_buf, "%s", actor);
        cli->actor = cli->actor_buf;
    }
    zcert_destroy (&cert);
    if (cli->server_cert) {
        zcert_t *server = zsys_file_exists (cli->server_cert)? zcert_load (cli->server_cert): NULL;
        if (!server) {
            fprintf (stderr, "hotline: cannot load the node's certificate %s\n", cli->server_cert);
            return -1;
        }
        snprintf (cli->curve_buf [2], sizeof cli->curve_buf [2], "%s", zcert_public_txt (server));
        cli->server_key = cli->curve_buf [2];
        zcert_destroy (&server);
    }
    uint8_t key [32];
    if (!cli->server_key || strlen (cli->server_key) != 40 || !zmq_z85_decode (key, cli->server_key)) {
        fprintf (stderr, "hotline: --cert needs the node's public key: --server-key Z85 (40"
                         " characters) or --server-cert PATH\n");
        return -1;
    }
    return 0;
}

//  The node configuration the CLI runs beside: -c, else $HOTLINE_CONFIG
//  (set in every container and by make run's nodes). NULL when neither
static hl_config_t *
s_node_config (cli_t *cli)
{
    const char *path = cli->config? cli->config: getenv ("HOTLINE_CONFIG");
    if (!path || !*path)
        return NULL;
    return hl_config_load (path);           //  prints why on failure
}

int
cli_config_endpoint (cli_t *cli, const char *key, char *buf, size_t size)
{
    if (!cli->endpoint_from_config)
        return -1;
    hl_config_t *config = s_node_config (cli);
    if (!config)
        return -1;
    //  The same defaults as hl_service: node/base_port, the city's 7000
    const char *role = hl_config_get (config, "node/role", "ward");
    int base = (int) hl_config_int (config, "node/base_port", streq (role, "city")? 7000: 7100);
    char path [80], dflt [64];
    snprintf (path, sizeof path, "endpoints/%s", key);
    const char *value = hl_config_get (config, path,
                                       hl_service_default_endpoint (key, base, dflt, sizeof dflt));
    if (value)
        snprintf (buf, size, "%s", value);
    hl_config_destroy (&config);
    return value? 0: -1;
}

int
cli_resolve (cli_t *cli, const char *node)
{
    if (node) {
        //  Nodes started by `make run`: $HOTLINE_NODES or ./var/nodes.cfg
        const char *path = getenv ("HOTLINE_NODES");
        zconfig_t *nodes = zconfig_load (path? path: "var/nodes.cfg");
        char key [128];
        snprintf (key, sizeof key, "nodes/%s/endpoint", node);
        const char *endpoint = nodes? zconfig_get (nodes, key, NULL): NULL;
        if (!endpoint) {
            fprintf (stderr, "hotline: unknown node '%s' (see hotline nodes)\n", node);
            zconfig_destroy (&nodes);
            return -1;
        }
        snprintf (cli->endpoint_buf, sizeof cli->endpoint_buf, "%s", endpoint);
        cli->endpoint = cli->endpoint_buf;
        zconfig_destroy (&nodes);
    }
    if (!cli->endpoint)
        cli->endpoint = getenv ("HOTLINE_ENDPOINT");
    if (!cli->endpoint
    &&  (cli->config || (getenv ("HOTLINE_CONFIG") && !getenv ("HOTLINE_CLI_CONFIG")))) {
        //  Beside a node (-c, or $HOTLINE_CONFIG: every container sets it):
        //  the front door its own services use, from its config and
        //  environment (HOTLINE_ENDPOINTS_INTAKE=tcp://intake-city:7001),
        //  not a loopback default that is some other node, or nothing
        cli->endpoint_from_config = true;
        if (cli_config_endpoint (cli, "intake", cli->endpoint_buf, sizeof cli->endpoint_buf)) {
            fprintf (stderr, "hotline: cannot read the node's configuration %s\n",
                     cli->config? cli->config: getenv ("HOTLINE_CONFIG"));
            return -1;
        }
        cli->endpoint = cli->endpoint_buf;
    }
    if (!cli->endpoint) {
        //  A config file: $HOTLINE_CLI_CONFIG or ~/.config/hotline/cli.cfg.
        //  Its cli/cert and cli/server_cert go with its cli/endpoint (a
        //  remote front door), not with an endpoint given otherwise
        const char *path = getenv ("HOTLINE_CLI_CONFIG");
        char home_path [512];
        if (!path && getenv ("HOME")) {
            snprintf (home_path, sizeof home_path, "%s/.config/hotline/cli.cfg", getenv ("HOME"));
            path = home_path;
        }
        zconfig_t *config = path && zsys_file_exists (path)? zconfig_load (path): NULL;
        const char *endpoint = config? zconfig_get (config, "cli/endpoint", NULL): NULL;
        if (endpoint) {
            snprintf (cli->endpoint_buf, sizeof cli->endpoint_buf, "%s", endpoint);
            cli->endpoint = cli->endpoint_buf;
            //  Relative paths: relative to the config file's directory
            const char *keys [2] = { "cli/cert", "cli/server_cert" };
            const char **targets [2] = { &cli->cert, &cli->server_cert };
            for (int i = 0; i < 2; i++) {
                const char *value = zconfig_get (config, keys [i], NULL);
                if (!value || !*value || *targets [i])
                    continue;
                const char *slash = strrchr (path, '/');
                if (*value == '/' || !slash)
                    snprintf (cli->curve_buf [i], sizeof cli->curve_buf [i], "%s", value);
                else
                    snprintf (cli->curve_buf [i], sizeof cli->curve_buf [i], "%.*s/%s",
                              (int) (slash - path), path, value);
                *targets [i] = cli->curve_buf [i];
            }
        }
        zconfig_destroy (&config);
    }
    if (!cli->endpoint)
        cli->endpoint = "tcp://127.0.0.1:7101";
    if (s_resolve_curve (cli))
        return -1;
    if (!cli->actor)
        cli->actor = getenv ("HOTLINE_ACTOR");
    if (!cli->actor) {
        const char *user = getenv ("USER");
        snprintf (cli->actor_buf, sizeof cli->actor_buf, "officer:%s", user && *user? user: "duty");
        cli->actor = cli->actor_buf;
    }
    return 0;
}

Hotline__Envelope *
cli_call (cli_t *cli, Hotline__Request *request)
{
    request->actor = (char *) cli->actor;
    hl_client_t *client = hl_client_new (cli->endpoint, cli->timeout_ms, cli->tries);
    if (cli->cert && hl_client_set_curve (client, cli->cert, cli->server_key)) {
        fprintf (stderr, "hotline: cannot use the keypair %s\n", cli->cert);
        hl_client_destroy (&client);
        return NULL;
    }
    Hotline__Envelope *reply = hl_client_call (client, request);
    hl_client_destroy (&client);
    if (!reply)
        fprintf (stderr, "hotline: the node at %s is not answering (after %d tries); "
                         "nothing was acknowledged%s\n", cli->endpoint, cli->tries,
                 cli->cert? " (over CurveZMQ: a node that does not admit this key never"
                            " answers; ask its operator)": "");
    return reply;
}

int
cli_check (Hotline__Envelope *env)
{
    Hotline__Reply *reply = env->reply;
    if (reply->code == HL_OK)
        return CLI_OK;
    if (reply->n_field_errors) {
        for (size_t i = 0; i < reply->n_field_errors; i++)
            fprintf (stderr, "hotline: %s: %s\n", reply->field_errors [i]->field,
                     reply->field_errors [i]->message);
    }
    else
        fprintf (stderr, "hotline: %s\n", reply->error && *reply->error? reply->error: "refused");
    if (reply->n_allowed) {
        fprintf (stderr, "hotline: allowed now:");
        for (size_t i = 0; i < reply->n_allowed; i++)
            fprintf (stderr, "%s %s", i? ",": "", reply->allowed [i]);
        fprintf (stderr, "\n");
    }
    return reply->code == HL_UNAVAILABLE? CLI_UNAVAILABLE: CLI_BAD_INPUT;
}

//  Send a query, return the parsed JSON result or NULL (exit code in *rc)
static json_t *
s_query (cli_t *cli, Hotline__Query *query, int *rc)
{
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    request.query = query;
    Hotline__Envelope *reply = cli_call (cli, &request);
    if (!reply) {
        *rc = CLI_UNAVAILABLE;
        return NULL;
    }
    *rc = cli_check (reply);
    json_t *result = NULL;
    if (*rc == CLI_OK) {
        json_error_t error;
        result = json_loads (reply->reply->json? reply->reply->json: "null", 0, &error);
        if (!result) {
            fprintf (stderr, "hotline: the node sent an unreadable answer\n");
            *rc = CLI_UNAVAILABLE;
        }
    }
    hl_msg_free (&reply);
    return result;
}

static void
s_print_json (json_t *json)
{
    char *text = json_dumps (json, JSON_INDENT (2) | JSON_SORT_KEYS);
    puts (text);
    free (text);
}

//  The node's time zone, asked once per run (its ping answers with it) and
//  made this process's zone: every date the CLI shows or reads is then in
//  the node's zone, whatever the machine's TZ. Why ask, not configure: the
//  node is the one authority on its zone (node/timezone), so an officer's
//  laptop in UTC, a container and the node can never disagree; one ping to
//  the front door (answered without touching disk) is the whole cost, paid
//  only by commands that show or read dates. A node that does not say (an
//  older one) is taken to be in HL_CLOCK_ZONE_DEFAULT, never in the
//  machine's zone. soft: if the node does not answer, use the default
//  (hotline watch reads a stream, not the front door).
int
cli_zone (cli_t *cli, bool soft)
{
    static bool zoned = false;
    if (zoned)
        return CLI_OK;
    char zone [80] = HL_CLOCK_ZONE_DEFAULT;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.kind_case = HOTLINE__REQUEST__KIND_PING;
    request.ping = true;
    cli_t quiet = *cli;
    if (soft)
        quiet.tries = 1;
    Hotline__Envelope *reply = soft? NULL: cli_call (&quiet, &request);
    if (soft) {
        //  No "not answering" message: the stream may still be there
        request.actor = (char *) cli->actor;
        hl_client_t *client = hl_client_new (cli->endpoint, cli->timeout_ms > 0? cli->timeout_ms: 1000, 1);
        reply = hl_client_call (client, &request);
        hl_client_destroy (&client);
    }
    if (!reply && !soft)
        return CLI_UNAVAILABLE;
    json_t *answer = reply && reply->reply->json? json_loads (reply->reply->json, 0, NULL): NULL;
    const char *named = json_string_value (json_object_get (answer, "timezone"));
    char error [256];
    if (named && hl_clock_zone_check (named, error, sizeof error) == 0)
        snprintf (zone, sizeof zone, "%s", named);
    else
    if (named)
        fprintf (stderr, "hotline: the node's %s; showing times in %s\n", error, zone);
    json_decref (answer);
    hl_msg_free (&reply);
    if (hl_clock_set_zone (zone, error, sizeof error)) {
        fprintf (stderr, "hotline: %s\n", error);
        return CLI_BAD_INPUT;
    }
    zoned = true;
    return CLI_OK;
}

static const char *
s_date (int64_t ms, char *buf)
{
    if (!ms)
        return "-";
    return hl_clock_format (ms, buf, 32);
}

//  A date option: in the node's zone, with the reason when it is refused
static int
s_parse_date (const char *command, const char *option, const char *text, int64_t *ms)
{
    char why [200];
    if (hl_clock_parse_reason (text, ms, why, sizeof why)) {
        cli_bad (command, "--%s '%s': %s", option, text, why);
        return -1;
    }
    return 0;
}

// ------------------------------------------------------------- submit

int
cli_submit (cli_t *cli, int argc, char **argv)
{
    s_opts_t opts;
    int rc = CLI_BAD_INPUT;
    if (s_opts_parse (&opts, "submit", argc, argv,
            "phone type location description name email address polluter polluter-category "
            "occurred channel scope urgent! sudden! evidence anonymous! lat lon request-id", false)) {
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    report.reporter = &reporter;
    //  Parse what needs parsing; the node validates everything else and
    //  answers with one message per bad field
    const char *type = s_opt (&opts, "type");
    if (type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            rc = cli_bad ("submit", "--type '%s' is not one of waste_water, air_emissions, "
                        "solid_waste, noise, odour, soil, other", type);
            goto done;
        }
        report.type = (Hotline__PollutionType) value;
    }
    const char *channel = s_opt (&opts, "channel");
    int value = hl_channel_parse (channel? channel: "phone");
    if (value < 0) {
        rc = cli_bad ("submit", "--channel '%s' is not one of phone, email, walk_in, web, letter, other", channel);
        goto done;
    }
    report.channel = (Hotline__Channel) value;
    const char *scope = s_opt (&opts, "scope");
    value = hl_scope_parse (scope? scope: "within_ward");
    if (value < 0) {
        rc = cli_bad ("submit", "--scope '%s' is not one of within_ward, several_wards, beyond_city", scope);
        goto done;
    }
    report.scope = (Hotline__Scope) value;
    const char *occurred = s_opt (&opts, "occurred");
    if (occurred && (rc = cli_zone (cli, false)) != CLI_OK)
        goto done;
    rc = CLI_BAD_INPUT;
    if (occurred && s_parse_date ("submit", "occurred", occurred, &report.occurred_ms))
        goto done;
    //  Checked here too, not only by the node: 0 on the wire means "not
    //  given", so 1970-01-01 00:00 UTC would be dropped silently there
    const char *problem = occurred? hl_occurred_check (report.occurred_ms, hl_clock_now ()): NULL;
    if (problem) {
        rc = cli_bad ("submit", "--occurred '%s': %s", occurred, problem);
        goto done;
    }
    const char *lat = s_opt (&opts, "lat"), *lon = s_opt (&opts, "lon");
    if (lat || lon) {
        char *end1 = NULL, *end2 = NULL;
        report.latitude = lat? strtod (lat, &end1): NAN;
        report.longitude = lon? strtod (lon, &end2): NAN;
        if (!lat || !lon || *end1 || *end2) {
            rc = cli_bad ("submit", "--lat and --lon go together, as decimal degrees");
            goto done;
        }
        report.has_coordinates = true;
    }
    report.location = (char *) s_opt (&opts, "location");
    report.description = (char *) s_opt (&opts, "description");
    report.polluter = (char *) s_opt (&opts, "polluter");
    report.polluter_category = (char *) s_opt (&opts, "polluter-category");
    report.urgent = s_flag (&opts, "urgent");
    report.sudden = s_flag (&opts, "sudden");
    reporter.anonymous = s_flag (&opts, "anonymous");
    reporter.name = (char *) s_opt (&opts, "name");
    reporter.phone = (char *) s_opt (&opts, "phone");
    reporter.email = (char *) s_opt (&opts, "email");
    reporter.address = (char *) s_opt (&opts, "address");
    report.n_evidence = zlistx_size (opts.evidence);
    char *evidence [HL_MAX_EVIDENCE + 1];
    if (report.n_evidence > HL_MAX_EVIDENCE) {
        rc = cli_bad ("submit", "at most %d --evidence references", HL_MAX_EVIDENCE);
        goto done;
    }
    size_t n = 0;
    for (char *ref = (char *) zlistx_first (opts.evidence); ref; ref = (char *) zlistx_next (opts.evidence))
        evidence [n++] = ref;
    report.evidence = evidence;
    //  Catch what the node would refuse anyway, before using the network
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (&report, errs, 16);
    if (count) {
        for (size_t i = 0; i < count && i < 16; i++)
            fprintf (stderr, "hotline submit: %s: %s\n", errs [i].field, errs [i].message);
        goto done;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = "submit";
    command.report = &report;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request.command = &command;
    request.request_id = (char *) s_opt (&opts, "request-id");
    Hotline__Envelope *reply = cli_call (cli, &request);
    if (!reply) {
        rc = CLI_UNAVAILABLE;
        goto done;
    }
    rc = cli_check (reply);
    if (rc == CLI_OK)
        printf ("%s\n", reply->reply->case_id);
    hl_msg_free (&reply);
done:
    s_opts_destroy (&opts);
    return rc;
}

// ------------------------------------------------------------- actions

//  Any action of the procedure: hotline ACTION CASE [--note N] [--KEY VALUE]
//  For route and verify, one option names the variant.
int
cli_action (cli_t *cli, const char *action, int argc, char **argv)
{
    static const struct { const char *action, *option; } variants [] = {
        { "route", "to" }, { "verify", "result" }, { NULL, NULL }
    };
    if (strlen (action) > 32 || strspn (action, "abcdefghijklmnopqrstuvwxyz_") != strlen (action))
        return cli_bad (action, "unknown command (see hotline help)");
    s_opts_t opts;
    if (s_opts_parse (&opts, action, argc, argv, "*", true)) {
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    int rc = CLI_BAD_INPUT;
    if (!opts.positional) {
        rc = cli_bad (action, "which case? (hotline %s CASE ...)", action);
        s_opts_destroy (&opts);
        return rc;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) action;
    command.case_id = (char *) opts.positional;
    const char *variant_option = NULL;
    for (int i = 0; variants [i].action; i++)
        if (streq (variants [i].action, action))
            variant_option = variants [i].option;
    Hotline__Command__ArgsEntry entries [16];
    Hotline__Command__ArgsEntry *entry_ptrs [16];
    size_t n = 0;
    for (const char *value = (const char *) zhashx_first (opts.values); value;
         value = (const char *) zhashx_next (opts.values)) {
        const char *key = (const char *) zhashx_cursor (opts.values);
        if (streq (key, "note"))
            command.note = (char *) value;
        else
        if (variant_option && streq (key, variant_option))
            command.variant = (char *) value;
        else
        if (n < 16) {
            hotline__command__args_entry__init (&entries [n]);
            //  --started-seq becomes started_seq
            char *name = hl_strdup (key);
            for (char *p = name; *p; p++)
                if (*p == '-')
                    *p = '_';
            entries [n].key = name;
            entries [n].value = (char *) value;
            entry_ptrs [n] = &entries [n];
            n++;
        }
    }
    command.n_args = n;
    command.args = entry_ptrs;
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    request.command = &command;
    Hotline__Envelope *reply = cli_call (cli, &request);
    if (reply) {
        rc = cli_check (reply);
        if (rc == CLI_OK)
            printf ("%s: %s done\n", reply->reply->case_id, action);
        hl_msg_free (&reply);
    }
    else
        rc = CLI_UNAVAILABLE;
    for (size_t i = 0; i < n; i++)
        free (entries [i].key);
    s_opts_destroy (&opts);
    return rc;
}

// ------------------------------------------------------------- queries

static const char *
s_str (json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

int
cli_show (cli_t *cli, int argc, char **argv)
{
    s_opts_t opts;
    if (s_opts_parse (&opts, "show", argc, argv, "json!", true) || !opts.positional) {
        if (!opts.positional && opts.values)
            fprintf (stderr, "hotline show: which case? (hotline show CASE)\n");
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) opts.positional;
    int rc = cli_zone (cli, false);
    json_t *result = rc == CLI_OK? s_query (cli, &query, &rc): NULL;
    if (result && s_flag (&opts, "json"))
        s_print_json (result);
    else
    if (result) {
        char date [32];
        json_t *report = json_object_get (result, "report");
        json_t *reporter = json_object_get (report, "reporter");
        printf ("Hồ sơ        %s   (phường %s)\n", s_str (result, "case_id"), s_str (result, "ward"));
        printf ("Trạng thái   %s (%s)%s%s\n", s_str (result, "state_label"), s_str (result, "state"),
                json_is_true (json_object_get (result, "urgent"))? "  [KHẨN]": "",
                json_is_true (json_object_get (result, "overdue"))? "  [QUÁ HẠN]": "");
        printf ("Tiếp nhận    %s qua %s\n",
                s_date (json_integer_value (json_object_get (report, "received_ms")), date),
                s_str (report, "channel"));
        printf ("Loại         %s   phạm vi: %s   %s\n", s_str (report, "type"), s_str (report, "scope"),
                json_is_true (json_object_get (report, "sudden"))? "đột xuất": "thường xuyên/liên tục");
        printf ("Địa điểm     %s", s_str (report, "location"));
        if (json_object_get (report, "latitude"))
            printf ("  (%.6f, %.6f)", json_real_value (json_object_get (report, "latitude")),
                    json_real_value (json_object_get (report, "longitude")));
        printf ("\n");
        if (json_object_get (report, "occurred_ms"))
            printf ("Xảy ra lúc   %s\n", s_date (json_integer_value (json_object_get (report, "occurred_ms")), date));
        if (*s_str (report, "polluter"))
            printf ("Nguồn gây    %s %s\n", s_str (report, "polluter"), s_str (report, "polluter_category"));
        printf ("Nội dung     %s\n", s_str (report, "description"));
        if (json_is_true (json_object_get (reporter, "anonymous")))
            printf ("Người phản ánh  (ẩn danh)\n");
        else
        if (json_is_true (json_object_get (reporter, "redacted")))
            printf ("Người phản ánh  (bảo mật)\n");
        else
            printf ("Người phản ánh  %s  %s  %s  %s\n", s_str (reporter, "name"), s_str (reporter, "phone"),
                    s_str (reporter, "email"), s_str (reporter, "address"));
        size_t i;
        json_t *item;
        json_array_foreach (json_object_get (report, "evidence"), i, item)
            printf ("Chứng cứ     %s\n", json_string_value (item));
        //  and the files attached later (the procedure's attach: its
        //  "evidence" argument), with who attached them
        json_array_foreach (json_object_get (result, "history"), i, item) {
            const char *ref = json_string_value (json_object_get (json_object_get (item, "args"), "evidence"));
            if (ref && streq (s_str (item, "action"), "attach"))
                printf ("Chứng cứ     %s  (%s)\n", ref, s_str (item, "actor"));
        }
        if (*s_str (result, "assignee"))
            printf ("Phân công    %s\n", s_str (result, "assignee"));
        if (*s_str (result, "duplicate_of"))
            printf ("Trùng với    %s\n", s_str (result, "duplicate_of"));
        if (*s_str (result, "department_case"))
            printf ("Sở xử lý     hồ sơ %s, trạng thái %s\n", s_str (result, "department_case"),
                    s_str (result, "department_state"));
        if (*s_str (result, "origin_case"))
            printf ("Phường chuyển  hồ sơ %s của phường %s\n", s_str (result, "origin_case"),
                    s_str (result, "origin_ward"));
        printf ("\nThời hạn (deadlines):\n");
        json_array_foreach (json_object_get (result, "deadlines"), i, item) {
            printf ("  %-16s hạn %s  %s", s_str (item, "name"),
                    s_date (json_integer_value (json_object_get (item, "due_ms")), date),
                    s_str (item, "status"));
            if (json_integer_value (json_object_get (item, "met_ms")))
                printf (" (xong %s)", s_date (json_integer_value (json_object_get (item, "met_ms")), date));
            printf ("\n");
        }
        printf ("\nLịch sử (history):\n");
        json_array_foreach (json_object_get (result, "history"), i, item) {
            printf ("  %s  %-18s %-24s %s -> %s", s_date (json_integer_value (json_object_get (item, "at_ms")), date),
                    s_str (item, "actor"), s_str (item, "action"), s_str (item, "from"), s_str (item, "to"));
            if (*s_str (item, "variant"))
                printf ("  [%s]", s_str (item, "variant"));
            const char *key;
            json_t *value;
            json_object_foreach (json_object_get (item, "args"), key, value)
                printf ("  %s=%s", key, json_string_value (value));
            if (*s_str (item, "note"))
                printf ("  \"%s\"", s_str (item, "note"));
            printf ("\n");
        }
        printf ("\nCó thể làm tiếp:");
        json_array_foreach (json_object_get (result, "allowed"), i, item)
            printf ("%s %s", i? ",": "", json_string_value (item));
        printf ("\n");
    }
    json_decref (result);
    s_opts_destroy (&opts);
    return rc;
}

int
cli_list (cli_t *cli, int argc, char **argv)
{
    s_opts_t opts;
    if (s_opts_parse (&opts, "list", argc, argv,
                      "status type since until ward overdue! limit json! count! page per-page search order",
                      false)) {
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = s_flag (&opts, "count")? "count": "list";
    int rc = cli_zone (cli, false);
    if (rc != CLI_OK)
        goto done;
    rc = CLI_BAD_INPUT;
    query.status = (char *) s_opt (&opts, "status");
    query.ward = (char *) s_opt (&opts, "ward");
    query.overdue = s_flag (&opts, "overdue");
    query.text = (char *) s_opt (&opts, "search");
    const char *order = s_opt (&opts, "order");
    if (order && strneq (order, "due") && strneq (order, "newest")) {
        rc = cli_bad ("list", "--order must be due or newest");
        goto done;
    }
    query.order = order && streq (order, "due")? "due": "";
    const char *type = s_opt (&opts, "type");
    if (type) {
        int value = hl_type_parse (type);
        if (value < 0) {
            rc = cli_bad ("list", "--type '%s' is not a pollution type", type);
            goto done;
        }
        query.type = (Hotline__PollutionType) value;
    }
    if (s_opt (&opts, "since") && s_parse_date ("list", "since", s_opt (&opts, "since"), &query.since_ms))
        goto done;
    if (s_opt (&opts, "until") && s_parse_date ("list", "until", s_opt (&opts, "until"), &query.until_ms))
        goto done;
    if (s_opt (&opts, "limit"))
        query.limit = (uint32_t) atoi (s_opt (&opts, "limit"));
    //  Pages: --page N (from 1) of --per-page cases (50)
    long page = 0, per_page = 50;
    if (s_opt (&opts, "page") || s_opt (&opts, "per-page")) {
        char *end = NULL;
        page = s_opt (&opts, "page")? strtol (s_opt (&opts, "page"), &end, 10): 1;
        if (page < 1 || page > 1000000 || (end && *end)) {
            rc = cli_bad ("list", "--page must be a number from 1");
            goto done;
        }
        end = NULL;
        if (s_opt (&opts, "per-page"))
            per_page = strtol (s_opt (&opts, "per-page"), &end, 10);
        if (per_page < 1 || per_page > 1000 || (end && *end)) {
            rc = cli_bad ("list", "--per-page must be a number from 1 to 1000");
            goto done;
        }
        query.limit = (uint32_t) per_page;
        query.offset = (uint32_t) ((page - 1) * per_page);
    }
    json_t *result = s_query (cli, &query, &rc);
    if (result && s_flag (&opts, "json"))
        s_print_json (result);
    else
    if (result && s_flag (&opts, "count"))
        printf ("%lld\n", (long long) json_integer_value (json_object_get (result, "count")));
    else
    if (result) {
        size_t i;
        json_t *row;
        char date [32], due [32];
        json_array_foreach (result, i, row) {
            json_t *next = json_object_get (row, "next_due_ms");
            printf ("%-20s %-16s %-20s %-14s %-16s %s%s %s\n", s_str (row, "case_id"),
                    s_date (json_integer_value (json_object_get (row, "received_ms")), date),
                    s_str (row, "state"), s_str (row, "type"),
                    next? s_date (json_integer_value (next), due): "-",
                    json_is_true (json_object_get (row, "urgent"))? "[KHẨN] ": "",
                    json_is_true (json_object_get (row, "overdue"))? "[QUÁ HẠN]": "",
                    s_str (row, "location"));
        }
        //  The total for the same filters
        Hotline__Query count = query;
        count.kind = "count";
        int count_rc = 0;
        json_t *total = s_query (cli, &count, &count_rc);
        long long all = total? (long long) json_integer_value (json_object_get (total, "count")): -1;
        json_decref (total);
        if (page && all >= 0)
            fprintf (stderr, "trang %ld/%lld: %zu case(s) of %lld\n", page,
                     (all + per_page - 1) / per_page, json_array_size (result), all);
        else
        if (all >= 0)
            fprintf (stderr, "%zu case(s) of %lld\n", json_array_size (result), all);
        else
            fprintf (stderr, "%zu case(s)\n", json_array_size (result));
    }
    json_decref (result);
done:
    s_opts_destroy (&opts);
    return rc;
}

//  Width of UTF-8 text on a terminal: one column per code point
static int
s_columns (const char *text)
{
    int columns = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            columns++;
    return columns;
}

//  CSV field: quoted, quotes doubled
static void
s_csv (const char *text, bool last)
{
    putchar ('"');
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            putchar ('"');
        putchar (*p);
    }
    putchar ('"');
    putchar (last? '\n': ',');
}

int
cli_report (cli_t *cli, int argc, char **argv)
{
    s_opts_t opts;
    if (s_opts_parse (&opts, "report", argc, argv, "from to format ward", false)) {
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    int rc = cli_zone (cli, false);
    if (rc != CLI_OK)
        goto done;
    rc = CLI_BAD_INPUT;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "report";
    query.ward = (char *) s_opt (&opts, "ward");
    const char *format = s_opt (&opts, "format")? s_opt (&opts, "format"): "text";
    if (strneq (format, "text") && strneq (format, "csv") && strneq (format, "json")) {
        rc = cli_bad ("report", "--format must be text, csv or json");
        goto done;
    }
    if (!s_opt (&opts, "from") || !s_opt (&opts, "to")) {
        rc = cli_bad ("report", "--from DATE and --to DATE are required");
        goto done;
    }
    if (s_parse_date ("report", "from", s_opt (&opts, "from"), &query.since_ms)
    ||  s_parse_date ("report", "to", s_opt (&opts, "to"), &query.until_ms))
        goto done;
    //  --to is inclusive: the whole day, to the next midnight in the zone
    query.until_ms = hl_clock_next_day (query.until_ms);
    if (query.until_ms <= query.since_ms) {
        rc = cli_bad ("report", "--to is before --from");
        goto done;
    }
    json_t *result = s_query (cli, &query, &rc);
    if (!result)
        goto done;
    static const char *figures [] = { "received", "verified", "accurate", "resolved", "informed",
                                      "forwarded", "verified_on_time", "verified_late", "open", NULL };
    static const char *headers [] = { "Tiếp nhận", "Đã xác minh", "Phản ánh đúng", "Đã giải quyết",
                                      "Đã thông tin lại", "Chuyển Sở", "Xác minh đúng hạn",
                                      "Xác minh trễ hạn", "Còn tồn", NULL };
    size_t i;
    json_t *row;
    if (streq (format, "json"))
        s_print_json (result);
    else
    if (streq (format, "csv")) {
        s_csv ("Mục", false);
        s_csv (streq (s_str (result, "by"), "ward")? "Phường/xã": "Loại ô nhiễm", false);
        for (int f = 0; figures [f]; f++)
            s_csv (headers [f], figures [f + 1] == NULL);
        json_array_foreach (json_object_get (result, "rows"), i, row) {
            s_csv ("2", false);
            s_csv (s_str (row, "label"), false);
            for (int f = 0; figures [f]; f++)
                printf ("%lld%c", (long long) json_integer_value (json_object_get (row, figures [f])),
                        figures [f + 1]? ',': '\n');
        }
        json_t *totals = json_object_get (result, "totals");
        s_csv ("2", false);
        s_csv ("Tổng cộng", false);
        for (int f = 0; figures [f]; f++)
            printf ("%lld%c", (long long) json_integer_value (json_object_get (totals, figures [f])),
                    figures [f + 1]? ',': '\n');
        printf ("\n");
        s_csv ("Mục", false);
        s_csv ("Đơn vị", false);
        s_csv ("Đầu mối tiếp nhận (điện thoại)", false);
        s_csv ("Đầu mối tiếp nhận (email)", false);
        s_csv ("Đầu mối xử lý (điện thoại)", false);
        s_csv ("Đầu mối xử lý (email)", false);
        s_csv ("Ghi chú", true);
        json_array_foreach (json_object_get (result, "focal_points"), i, row) {
            s_csv ("1", false);
            s_csv (s_str (row, "unit"), false);
            s_csv (s_str (row, "receiving_phone"), false);
            s_csv (s_str (row, "receiving_email"), false);
            s_csv (s_str (row, "handling_phone"), false);
            s_csv (s_str (row, "handling_email"), false);
            s_csv (s_str (row, "note"), true);
        }
    }
    else {
        char from [32], to [32];
        hl_clock_format (query.since_ms, from, sizeof from);
        hl_clock_format (query.until_ms - 1, to, sizeof to);
        from [10] = to [10] = 0;
        //  A ward's People's Committee reports to the Department; at the
        //  city the Department reports to the city People's Committee
        if (streq (s_str (result, "role"), "city")) {
            const char *city = s_str (result, "city");
            if (*city)
                printf ("UBND thành phố %s\n", city);
            if (*s_str (result, "ward_name"))
                printf ("%s\n", s_str (result, "ward_name"));
            else
                printf ("SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG %s\n", city);
        }
        else
            printf ("ỦY BAN NHÂN DÂN %s\n", *s_str (result, "ward_name")? s_str (result, "ward_name"): s_str (result, "ward"));
        printf ("BÁO CÁO\nTình hình tổ chức, vận hành đường dây nóng về ô nhiễm môi trường\n");
        printf ("Kỳ báo cáo: từ %s đến %s\n", from, to);
        if (streq (s_str (result, "role"), "city"))
            printf ("Kính gửi: Ủy ban nhân dân thành phố %s\n", s_str (result, "city"));
        printf ("\n");
        printf ("1. Đầu mối tiếp nhận, xử lý thông tin qua đường dây nóng\n");
        printf ("%-4s %-32s %-40s %-40s %s\n", "STT", "Đơn vị", "Đầu mối tiếp nhận (đt, email)",
                "Đầu mối xử lý (điện thoại, email)", "Ghi chú");
        json_array_foreach (json_object_get (result, "focal_points"), i, row) {
            char receiving [200], handling [200];
            snprintf (receiving, sizeof receiving, "%s, %s", s_str (row, "receiving_phone"), s_str (row, "receiving_email"));
            snprintf (handling, sizeof handling, "%s, %s", s_str (row, "handling_phone"), s_str (row, "handling_email"));
            printf ("%-4zu %-32s %-40s %-40s %s\n", i + 1, s_str (row, "unit"), receiving, handling, s_str (row, "note"));
        }
        printf ("\n2. Kết quả tiếp nhận, xử lý thông tin phản ánh\n");
        const char *by = streq (s_str (result, "by"), "ward")? "Phường/xã": "Loại ô nhiễm";
        int width = streq (s_str (result, "by"), "ward")? 36: 18;
        printf ("%s%*s", by, width - s_columns (by), "");
        for (int f = 0; figures [f]; f++)
            printf (" | %s", headers [f]);
        printf ("\n");
        json_array_foreach (json_object_get (result, "rows"), i, row) {
            printf ("%s%*s", s_str (row, "label"), width - s_columns (s_str (row, "label")), "");
            for (int f = 0; figures [f]; f++)
                printf (" | %*lld", s_columns (headers [f]),
                        (long long) json_integer_value (json_object_get (row, figures [f])));
            printf ("\n");
        }
        json_t *totals = json_object_get (result, "totals");
        printf ("%s%*s", "Tổng cộng", width - s_columns ("Tổng cộng"), "");
        for (int f = 0; figures [f]; f++)
            printf (" | %*lld", (int) s_columns (headers [f]),
                    (long long) json_integer_value (json_object_get (totals, figures [f])));
        printf ("\n");
        if (*s_str (result, "footnote"))
            printf ("\nGhi chú: %s\n", s_str (result, "footnote"));
    }
    json_decref (result);
done:
    s_opts_destroy (&opts);
    return rc;
}

int
cli_ping (cli_t *cli)
{
    Hotline__Request request = HOTLINE__REQUEST__INIT;
    request.kind_case = HOTLINE__REQUEST__KIND_PING;
    request.ping = true;
    Hotline__Envelope *reply = cli_call (cli, &request);
    if (!reply)
        return CLI_UNAVAILABLE;
    printf ("%s is up (node %s, log at %" PRIu64 ")\n", cli->endpoint, reply->node, reply->reply->seq);
    hl_msg_free (&reply);
    return CLI_OK;
}

int
cli_nodes (cli_t *cli)
{
    (void) cli;
    const char *path = getenv ("HOTLINE_NODES");
    zconfig_t *nodes = zconfig_load (path? path: "var/nodes.cfg");
    if (!nodes) {
        fprintf (stderr, "hotline: no nodes file (%s); start them with make run\n", path? path: "var/nodes.cfg");
        return CLI_BAD_INPUT;
    }
    zconfig_t *node = zconfig_locate (nodes, "nodes");
    for (node = node? zconfig_child (node): NULL; node; node = zconfig_next (node))
        printf ("%-16s %-6s %-24s %s\n", zconfig_name (node), zconfig_get (node, "role", ""),
                zconfig_get (node, "endpoint", ""), zconfig_get (node, "web", ""));
    zconfig_destroy (&nodes);
    return CLI_OK;
}

//  Another service of the node: same host as the front door, at its port
//  offset (base+1 is intake; see hl_service_default_endpoint)
static void
s_sibling_endpoint (cli_t *cli, const char *key, char *buf, size_t size)
{
    //  Beside a node: its own endpoints/KEY (notification-city:7006 is
    //  not on intake-city's host)
    if (cli_config_endpoint (cli, key, buf, size) == 0)
        return;
    const char *colon = strrchr (cli->endpoint, ':');
    int port = colon? atoi (colon + 1): 0;
    char probe [64];
    hl_service_default_endpoint (key, 0, probe, sizeof probe);      //  tcp://127.0.0.1:N
    int offset = atoi (strrchr (probe, ':') + 1) - 1;
    if (colon && port > 0)
        snprintf (buf, size, "%.*s:%d", (int) (colon - cli->endpoint), cli->endpoint, port + offset);
    else
        snprintf (buf, size, "%s", cli->endpoint);
}

//  The node's notification service, which keeps the outbox: --notification
//  ENDPOINT, else the front door's sibling. The cli returned talks to it
//  through endpoint (size bytes, the caller's).
static cli_t
s_notification_cli (cli_t *cli, s_opts_t *opts, char *endpoint, size_t size)
{
    if (s_opt (opts, "notification"))
        snprintf (endpoint, size, "%s", s_opt (opts, "notification"));
    else
        s_sibling_endpoint (cli, "notification", endpoint, size);
    cli_t sibling = *cli;
    sibling.endpoint = endpoint;
    return sibling;
}

int
cli_deadletter (cli_t *cli, int argc, char **argv)
{
    s_opts_t opts;
    //  hotline deadletter resend --case C | --all: the dead letters back to
    //  pending with fresh attempts. Only dead messages move, so running it
    //  twice (or a retry of the request) sends nothing twice
    if (argc > 0 && streq (argv [0], "resend")) {
        if (s_opts_parse (&opts, "deadletter resend", argc - 1, argv + 1, "all! case json! notification", false)) {
            s_opts_destroy (&opts);
            return CLI_BAD_INPUT;
        }
        const char *kase = s_opt (&opts, "case");
        if (!kase == !s_flag (&opts, "all") || (kase && !*kase)) {
            fprintf (stderr, "hotline deadletter resend: give --case CASE or --all (not both)\n");
            s_opts_destroy (&opts);
            return CLI_BAD_INPUT;
        }
        char endpoint [256];
        cli_t sibling = s_notification_cli (cli, &opts, endpoint, sizeof endpoint);
        Hotline__Query query = HOTLINE__QUERY__INIT;
        query.kind = kase? "resend": "resend_all";
        query.case_id = (char *) kase;
        int rc;
        json_t *result = s_query (&sibling, &query, &rc);
        if (result && s_flag (&opts, "json"))
            s_print_json (result);
        else
        if (result) {
            json_int_t resent = json_integer_value (json_object_get (result, "resent"));
            printf ("%lld dead letter(s) back in the outbox%s\n", (long long) resent,
                    resent? ", sent again now": " (none was dead: nothing changed)");
        }
        json_decref (result);
        s_opts_destroy (&opts);
        return rc;
    }
    if (s_opts_parse (&opts, "deadletter", argc, argv, "all! case status limit json! notification", false)) {
        s_opts_destroy (&opts);
        return CLI_BAD_INPUT;
    }
    char endpoint [256];
    cli_t sibling = s_notification_cli (cli, &opts, endpoint, sizeof endpoint);
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = s_flag (&opts, "all")? "outbox": "deadletter";
    int zone_rc = cli_zone (cli, false);
    if (zone_rc != CLI_OK) {
        s_opts_destroy (&opts);
        return zone_rc;
    }
    query.case_id = (char *) s_opt (&opts, "case");
    query.status = (char *) s_opt (&opts, "status");
    if (s_opt (&opts, "limit"))
        query.limit = (uint32_t) atoi (s_opt (&opts, "limit"));
    int rc;
    json_t *result = s_query (&sibling, &query, &rc);
    if (result && s_flag (&opts, "json"))
        s_print_json (result);
    else
    if (result) {
        size_t i;
        json_t *row;
        char date [32];
        json_array_foreach (result, i, row)
            printf ("%-20s %-8s %-6s %-14s %-30s tries=%lld %s  %s\n", s_str (row, "case_id"),
                    s_str (row, "status"), s_str (row, "channel"), s_str (row, "recipient"),
                    s_str (row, "address"), (long long) json_integer_value (json_object_get (row, "attempts")),
                    s_date (json_integer_value (json_object_get (row, "created_ms")), date),
                    s_str (row, "last_error"));
        fprintf (stderr, "%zu message(s)\n", json_array_size (result));
    }
    json_decref (result);
    s_opts_destroy (&opts);
    return rc;
}
