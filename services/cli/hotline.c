/*  hotline — the command-line tool of ward officers and operators.
 *
 *      hotline [--endpoint E | --node NAME] [--as ROLE:NAME] COMMAND ...
 *
 *  Exit codes: 0 success; 2 bad input or refused (message on stderr,
 *  nothing stored); 3 the node is unavailable (nothing acknowledged).
 *  Run `hotline help` for the commands.
 */
#include "hotline.h"
#include "cli.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: hotline [global options] COMMAND [options]\n"
"\n"
"Global options:\n"
"  --endpoint E       the node's front door (default $HOTLINE_ENDPOINT, the\n"
"                     config file, or tcp://127.0.0.1:7101: the local ward)\n"
"  --node NAME        a node started by `make run` (see `hotline nodes`)\n"
"  -c, --config FILE  the node's configuration (user and apikey commands: they\n"
"                     open its web.db; default: --node's config, $HOTLINE_CONFIG)\n"
"  --as ROLE:NAME     who acts (default: the --cert's actor, $HOTLINE_ACTOR or\n"
"                     officer:$USER)\n"
"  --cert PATH        CurveZMQ keypair for a node's remote front door (from\n"
"                     `hotline keys client`); with --server-key Z85 or\n"
"                     --server-cert PATH, the node's public key\n"
"  --timeout MS       per try (default 3000); --tries N (default 3)\n"
"\n"
"Cases:\n"
"  submit --phone P --type T --location L --description D [--name N]\n"
"         [--email E] [--address A] [--polluter P] [--polluter-category C]\n"
"         [--occurred DATE] [--channel C] [--scope S] [--urgent] [--sudden]\n"
"         [--evidence REF]... [--lat X --lon Y] [--anonymous] [--request-id ID]\n"
"                     log a report; prints the case number once it is on disk\n"
"  show CASE [--json]                 one case, its deadlines and history\n"
"  list [--status S] [--type T] [--since DATE] [--until DATE] [--ward W]\n"
"       [--overdue] [--search TEXT] [--order due|newest] [--limit N]\n"
"       [--page N [--per-page N]] [--json] [--count]   (--count: how many)\n"
"                     --search: case number, location, description, polluter;\n"
"                     --order due: overdue and soonest due first\n"
"  report --from DATE --to DATE [--format text|csv|json] [--ward W]\n"
"\n"
"Actions (checked against the procedure; any action it defines works the same way):\n"
"  route CASE --to ward|department [--reason R]\n"
"  assign CASE --to WHO [--note N]\n"
"  verify CASE --result accurate|inaccurate --note N\n"
"  contain CASE --note N        resolve CASE --note N\n"
"  inform CASE --channel C --note N\n"
"  consult CASE --with AGENCY --note N\n"
"  reopen CASE --note N         reject CASE --reason R\n"
"  duplicate CASE --of OTHER    close CASE [--note N]\n"
"\n"
"City:\n"
"  watch [--monitor E] [--snapshot E] [--from SEQ] [--ward W] [--json]\n"
"        [--count N] [--idle-exit SECONDS]\n"
"                     the city's live event stream (redacted), in order; starts at\n"
"                     the head, --from 1 replays the whole city log\n"
"                     (defaults tcp://127.0.0.1:7008 and tcp://127.0.0.1:7009)\n"
"  keys init --dir DIR --wards \"CODE ...\" [--to OUT [--owner UID:GID]]\n"
"                     city + ward keypairs, DIR/allow/ (--to: then keys split)\n"
"  keys generate --dir DIR --ward CODE [--force]\n"
"  keys rotate --dir DIR --ward CODE           new key; old public cert -> DIR/retired/\n"
"  keys show --dir DIR\n"
"  keys client NAME --actor ROLE:USER --dir DIR\n"
"                     a CLI's key for a node's remote front door: it may act only\n"
"                     as ROLE:USER; DIR/front.cert is the node's keypair (made if\n"
"                     missing), DIR/allow/ its front/allow (delete to revoke)\n"
"  keys split --dir DIR --wards \"CODE ...\" --to OUT [--owner UID:GID]\n"
"                     each node's keys into its own directory: OUT/city the city's\n"
"                     keypair and allow/, OUT/CODE the ward's keypair and city.cert\n"
"\n"
"Web console accounts (in the node's web.db; -c CONFIG or --node NAME):\n"
"  user add NAME --role ROLE [--password-stdin]\n"
"                     ROLE: officer division leader department (the procedure's)\n"
"                     viewer (read-only) admin (users); the password is typed\n"
"                     twice without echo, or read from stdin, never an argument\n"
"  user passwd NAME [--password-stdin]       a new password; ends the user's sessions\n"
"  user disable NAME [--enable]              ends the user's sessions (never the\n"
"                                            last enabled admin's)\n"
"  user list [--json]\n"
"  user totp NAME [--clear]   a TOTP second factor: prints its otpauth:// URI and secret\n"
"  apikey add NAME            a key for another application, printed once (last line)\n"
"  apikey list [--json]       apikey revoke NAME\n"
"\n"
"Operations:\n"
"  ping                         is the node up?\n"
"  deadletter [--all] [--case CASE] [--status S] [--json] [--notification E]\n"
"                               messages that could not be delivered (--all: the outbox)\n"
"  deadletter resend --case CASE | --all\n"
"                               dead letters back to pending, sent again (once)\n"
"  backup --to DIR              every store of the node, online (-c CONFIG or --node NAME)\n"
"  restore --from DIR [--force] into the stopped node's data directory\n"
"  nodes                        the nodes `make run` started\n"
"  status [--http-base PORT] [--json]\n"
"                               every service of the node: up/down, version, uptime,\n"
"                               queue depths, last error (exit 3 if any is down)\n"
"  probe URL                    one health URL (200 -> exit 0): for container healthchecks\n"
"\n"
"Types: waste_water air_emissions solid_waste noise odour soil other\n"
"Channels: phone email walk_in web letter other   Scopes: within_ward several_wards beyond_city\n"
"Dates: YYYY-MM-DD or 'YYYY-MM-DD HH:MM'\n");
}

//  The exit waits on ZeroMQ for a few seconds at most. libzmq 4.3.4 can
//  hang for good in zmq_ctx_term after a security handshake failed with a
//  slow peer (its tracker: "test_security_curve/zap hang on slow
//  machines"; seen here once: a plaintext CLI at a CurveZMQ front door
//  run under valgrind, killed after 6 minutes). Every reply is in by now
//  and every socket has linger 0, so nothing is lost: the CLI exits with
//  the code it would have returned.
static volatile sig_atomic_t s_exit_code = 0;

static void
s_exit_now (int signum)
{
    (void) signum;
    _exit (s_exit_code);
}

static void
s_exit_within (unsigned seconds)
{
    signal (SIGALRM, s_exit_now);
    alarm (seconds);
}

int
main (int argc, char *argv [])
{
    zsys_init ();
    zsys_set_logstream (NULL);
    hl_log_init ("hotline");
    cli_t cli;
    memset (&cli, 0, sizeof cli);
    cli.timeout_ms = 3000;
    cli.tries = 3;
    //  Global options come before the command
    int arg = 1;
    const char *node = NULL;
    const char *config = NULL;
    for (; arg < argc && (strncmp (argv [arg], "--", 2) == 0 || streq (argv [arg], "-c")); arg++) {
        if (arg + 1 >= argc) {
            fprintf (stderr, "hotline: %s needs a value\n", argv [arg]);
            return CLI_BAD_INPUT;
        }
        if (streq (argv [arg], "--endpoint"))
            cli.endpoint = argv [++arg];
        else
        if (streq (argv [arg], "--node"))
            node = argv [++arg];
        else
        if (streq (argv [arg], "-c") || streq (argv [arg], "--config"))
            config = argv [++arg];
        else
        if (streq (argv [arg], "--as"))
            cli.actor = argv [++arg];
        else
        if (streq (argv [arg], "--timeout"))
            cli.timeout_ms = atoi (argv [++arg]);
        else
        if (streq (argv [arg], "--tries"))
            cli.tries = atoi (argv [++arg]);
        else
        if (streq (argv [arg], "--cert"))
            cli.cert = argv [++arg];
        else
        if (streq (argv [arg], "--server-key"))
            cli.server_key = argv [++arg];
        else
        if (streq (argv [arg], "--server-cert"))
            cli.server_cert = argv [++arg];
        else {
            fprintf (stderr, "hotline: unknown global option %s (see hotline help)\n", argv [arg]);
            return CLI_BAD_INPUT;
        }
    }
    if (arg >= argc || streq (argv [arg], "help") || streq (argv [arg], "-h")) {
        s_usage (arg >= argc? stderr: stdout);
        return arg >= argc? CLI_BAD_INPUT: 0;
    }
    //  Accounts are the node's web.db, not a request to its front door
    if (streq (argv [arg], "backup") || streq (argv [arg], "restore")) {
        int rc = streq (argv [arg], "backup")
               ? cli_backup (node, config, argc - arg - 1, argv + arg + 1)
               : cli_restore (node, config, argc - arg - 1, argv + arg + 1);
        zsys_shutdown ();
        return rc;
    }
    if (streq (argv [arg], "user") || streq (argv [arg], "apikey")) {
        int rc = streq (argv [arg], "user")
               ? cli_user (node, config, argc - arg - 1, argv + arg + 1)
               : cli_apikey (node, config, argc - arg - 1, argv + arg + 1);
        zsys_shutdown ();
        return rc;
    }
    cli.config = config;
    if (cli_resolve (&cli, node))
        return CLI_BAD_INPUT;
    const char *command = argv [arg];
    int rest = argc - arg - 1;
    char **args = argv + arg + 1;
    int rc;
    if (streq (command, "submit"))
        rc = cli_submit (&cli, rest, args);
    else
    if (streq (command, "show"))
        rc = cli_show (&cli, rest, args);
    else
    if (streq (command, "list"))
        rc = cli_list (&cli, rest, args);
    else
    if (streq (command, "report"))
        rc = cli_report (&cli, rest, args);
    else
    if (streq (command, "ping"))
        rc = cli_ping (&cli);
    else
    if (streq (command, "nodes"))
        rc = cli_nodes (&cli);
    else
    if (streq (command, "deadletter"))
        rc = cli_deadletter (&cli, rest, args);
    else
    if (streq (command, "watch"))
        rc = cli_watch (&cli, rest, args);
    else
    if (streq (command, "status"))
        rc = cli_status (&cli, rest, args);
    else
    if (streq (command, "probe"))
        rc = cli_probe (&cli, rest, args);
    else
    if (streq (command, "keys"))
        rc = cli_keys (&cli, rest, args);
    else
        rc = cli_action (&cli, command, rest, args);
    s_exit_code = rc;
    s_exit_within (5);
    zsys_shutdown ();
    return rc;
}
