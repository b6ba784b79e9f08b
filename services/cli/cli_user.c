/*  cli_user — `hotline user ...` and `hotline apikey ...`: the web
 *  console's accounts and API keys, in the node's web.db (hl_accounts).
 *
 *  These commands do not go through the node's front door: they open the
 *  node's web.db directly, as the web service does (SQLite in WAL
 *  serialises the two), so they work whether the node runs or not and need
 *  the rights of the account that runs the node on its data directory.
 *  Which node: -c CONFIG (or --config), else --node NAME through the nodes
 *  file's `config = PATH` line, else $HOTLINE_CONFIG. web.db lives in the
 *  config's node/data_dir (relative to the config file's directory, as for
 *  the services).
 *
 *  A password is never an argument (argv is visible to every user of the
 *  machine in ps): it is read from the terminal without echo, twice, or
 *  with --password-stdin from the first line of stdin.
 */
#include "hotline.h"
#include "cli.h"
#include <sodium.h>
#include <termios.h>
#include <signal.h>
#include <unistd.h>

#define S_PASSWORD_BUF  260         //  256 bytes, the line end, the NUL

//  Roles that are not the procedure's: read-only and user administration
static const char *s_extra_roles [] = { "viewer", "admin", NULL };

// ------------------------------------------------------------- the node

//  The node's configuration (see cli.h; also hotline backup/restore)
hl_config_t *
cli_node_config (const char *command, const char *node, const char *config_path)
{
    char path [1024] = "";
    if (config_path)
        snprintf (path, sizeof path, "%s", config_path);
    else
    if (node) {
        const char *nodes_path = getenv ("HOTLINE_NODES");
        if (!nodes_path)
            nodes_path = "var/nodes.cfg";
        zconfig_t *nodes = zsys_file_exists (nodes_path)? zconfig_load (nodes_path): NULL;
        char key [256];
        snprintf (key, sizeof key, "nodes/%s/config", node);
        const char *value = nodes? zconfig_get (nodes, key, NULL): NULL;
        if (!value || !*value) {
            fprintf (stderr, "hotline %s: the nodes file (%s) names no config for node '%s'"
                             " (see hotline nodes), or give -c CONFIG\n", command, nodes_path, node);
            zconfig_destroy (&nodes);
            return NULL;
        }
        //  Relative: relative to the nodes file's directory
        const char *slash = strrchr (nodes_path, '/');
        if (*value == '/' || !slash)
            snprintf (path, sizeof path, "%s", value);
        else
            snprintf (path, sizeof path, "%.*s/%s", (int) (slash - nodes_path), nodes_path, value);
        zconfig_destroy (&nodes);
    }
    else
    if (getenv ("HOTLINE_CONFIG") && *getenv ("HOTLINE_CONFIG"))
        snprintf (path, sizeof path, "%s", getenv ("HOTLINE_CONFIG"));
    else {
        fprintf (stderr, "hotline %s: which node? give -c CONFIG (the node's configuration),"
                         " --node NAME (see hotline nodes) or $HOTLINE_CONFIG\n", command);
        return NULL;
    }
    hl_config_t *config = hl_config_load (path);       //  prints why on failure
    //  Times shown in the node's zone, as every other command shows them
    char err [256];
    if (config && hl_clock_set_zone (hl_config_get (config, "node/timezone", HL_CLOCK_ZONE_DEFAULT),
                                     err, sizeof err))
        fprintf (stderr, "hotline %s: %s (times shown in UTC)\n", command, err);
    return config;
}

//  The node's data directory, as hl_service finds it (see cli.h)
char *
cli_data_dir (hl_config_t *config)
{
    const char *data_dir = hl_config_get (config, "node/data_dir", NULL);
    if (data_dir)
        return hl_config_resolve (config, data_dir);
    const char *role = hl_config_get (config, "node/role", "ward");
    const char *name = hl_config_get (config, "node/name", NULL);
    if (name)
        return zsys_sprintf ("./var/%s", name);
    if (streq (role, "city"))
        return hl_strdup ("./var/city");
    return zsys_sprintf ("./var/ward-%s", hl_config_get (config, "node/ward_code", "00000"));
}

//  The node's name, for the authenticator app's label
static const char *
s_node_name (hl_config_t *config)
{
    const char *name = hl_config_get (config, "node/name", NULL);
    if (name)
        return name;
    return streq (hl_config_get (config, "node/role", "ward"), "city")? "city": "hotline";
}

//  Open web.db; NULL with a message
static hl_accounts_t *
s_open (const char *command, hl_config_t *config)
{
    char *dir = cli_data_dir (config);
    if (zsys_dir_create ("%s", dir) && !zsys_file_exists (dir)) {
        fprintf (stderr, "hotline %s: cannot create the node's data directory %s: %s\n",
                 command, dir, strerror (errno));
        free (dir);
        return NULL;
    }
    char *path = zsys_sprintf ("%s/web.db", dir);
    free (dir);
    hl_accounts_t *accounts = hl_accounts_new (path);
    if (!accounts)
        fprintf (stderr, "hotline %s: cannot open the accounts store %s (see the error above)\n",
                 command, path);
    free (path);
    return accounts;
}

//  Is role one a person may have: the procedure's (but not "system", the
//  services' own), viewer or admin? 0, or exit code 2 with a message.
static int
s_role_check (const char *command, hl_config_t *config, const char *role)
{
    for (int i = 0; s_extra_roles [i]; i++)
        if (streq (role, s_extra_roles [i]))
            return 0;
    //  The services' own rule for where the procedure is (hl_config_file)
    char *path = hl_config_file (config, "node/procedure", "procedure.conf");
    char err [512];
    hl_procedure_t *procedure = hl_procedure_load (path, err, sizeof err);
    free (path);
    if (!procedure)
        return cli_bad (command, "cannot check the role against the procedure: %s", err);
    bool known = strneq (role, "system") && hl_procedure_role_exists (procedure, role);
    hl_procedure_destroy (&procedure);
    if (!known)
        return cli_bad (command, "unknown role '%s': one of the procedure's roles (officer, division,"
                               " leader, department) or viewer, admin", role);
    return 0;
}

// ------------------------------------------------------------- passwords

static struct termios s_saved_termios;
static volatile sig_atomic_t s_echo_off = 0;

static void
s_restore_echo (int signum)
{
    if (s_echo_off)
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &s_saved_termios);
    signal (signum, SIG_DFL);
    raise (signum);
}

//  One line from file into buf (without its line end). 0, or -1 if none or
//  longer than a password may be.
static int
s_read_line (FILE *file, char *buf, size_t size)
{
    if (!fgets (buf, (int) size, file))
        return -1;
    size_t length = strlen (buf);
    bool complete = length && buf [length - 1] == '\n';
    if (!complete && !feof (file)) {
        //  Too long: drain the rest of the line and refuse
        int c;
        while ((c = fgetc (file)) != EOF && c != '\n') {}
        sodium_memzero (buf, size);
        return -2;
    }
    while (length && (buf [length - 1] == '\n' || buf [length - 1] == '\r'))
        buf [--length] = 0;
    return 0;
}

//  Prompt on the terminal with echo off
static int
s_read_hidden (const char *prompt, char *buf, size_t size)
{
    struct termios quiet;
    if (tcgetattr (STDIN_FILENO, &s_saved_termios))
        return -1;
    quiet = s_saved_termios;
    quiet.c_lflag &= ~(tcflag_t) ECHO;
    quiet.c_lflag |= ECHONL;
    signal (SIGINT, s_restore_echo);
    signal (SIGTERM, s_restore_echo);
    signal (SIGQUIT, s_restore_echo);
    s_echo_off = 1;
    //  Echo off first, then the prompt: TCSAFLUSH drops what was typed
    //  before it, so nothing typed after the prompt may come before it
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    fprintf (stderr, "%s", prompt);
    fflush (stderr);
    int rc = s_read_line (stdin, buf, size);
    tcsetattr (STDIN_FILENO, TCSANOW, &s_saved_termios);
    s_echo_off = 0;
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGQUIT, SIG_DFL);
    return rc;
}

//  The new password for name: from stdin (--password-stdin), or typed twice
//  on the terminal. 0, or an exit code with a message.
static int
s_password (const char *command, const char *name, bool from_stdin, char *password, size_t size)
{
    if (from_stdin) {
        int rc = s_read_line (stdin, password, size);
        if (rc == -2)
            return cli_bad (command, "the password on stdin is longer than 256 bytes");
        if (rc)
            return cli_bad (command, "--password-stdin: no password on stdin");
        return 0;
    }
    if (!isatty (STDIN_FILENO))
        return cli_bad (command, "stdin is not a terminal: type the password at a terminal, or pass"
                               " --password-stdin and write it on stdin (never as an argument)");
    char again [S_PASSWORD_BUF];
    char prompt [128];
    snprintf (prompt, sizeof prompt, "New password for %s: ", name);
    int rc = s_read_hidden (prompt, password, size);
    if (rc == 0)
        rc = s_read_hidden ("Again: ", again, sizeof again);
    if (rc == -2)
        return cli_bad (command, "the password is longer than 256 bytes");
    if (rc)
        return cli_bad (command, "no password read");
    bool same = streq (password, again);
    sodium_memzero (again, sizeof again);
    if (!same) {
        sodium_memzero (password, size);
        return cli_bad (command, "the two passwords differ; nothing changed");
    }
    return 0;
}

// ------------------------------------------------------------- options

//  NAME and options of one command. accepts: space separated "key" (with a
//  value) and "key!" (a flag); "-c"/"--config" are accepted everywhere.
typedef struct {
    const char *name;
    const char *role;
    const char *config;
    bool flags [4];             //  in the order of the "!" keys in accepts
} s_args_t;

static int
s_parse (const char *command, int argc, char **argv, const char *accepts, bool want_name,
         s_args_t *args)
{
    for (int i = 0; i < argc; i++) {
        const char *word = argv [i];
        if (streq (word, "-c") || streq (word, "--config")) {
            if (i + 1 >= argc)
                return cli_bad (command, "%s needs the node's configuration file", word);
            args->config = argv [++i];
            continue;
        }
        if (strncmp (word, "--", 2) != 0) {
            if (want_name && !args->name) {
                args->name = word;
                continue;
            }
            //  Not quoted back: it may be a password typed where it must not be
            return cli_bad (command, "unexpected argument after %s (a password is never an argument:"
                                   " it is asked for, or read with --password-stdin)", args->name? args->name: command);
        }
        //  Find the option among accepts
        char padded [256], pattern [64];
        snprintf (padded, sizeof padded, " %s ", accepts);
        snprintf (pattern, sizeof pattern, " %s! ", word + 2);
        char *flag = strstr (padded, pattern);
        if (flag) {
            int index = 0;
            for (char *c = padded; c < flag; c++)
                index += *c == '!';
            args->flags [index] = true;
            continue;
        }
        snprintf (pattern, sizeof pattern, " %s ", word + 2);
        if (!strstr (padded, pattern))
            return cli_bad (command, "unknown option %s", word);
        if (i + 1 >= argc)
            return cli_bad (command, "%s needs a value", word);
        if (streq (word, "--role"))
            args->role = argv [++i];
        else
            i++;
    }
    if (want_name && !args->name)
        return cli_bad (command, "which one? (NAME is missing; see hotline help)");
    return 0;
}

//  A group's commands (user, apikey): each VERB with its options (as
//  s_parse's accepts) and whether it names a user or key
typedef struct {
    const char *verb;
    const char *accepts;
    bool named;
} s_verb_t;

//  The start of `hotline GROUP VERB ...`: VERB one of verbs (ended by a NULL
//  verb), its options parsed into args, and command, the name messages go
//  under ("GROUP VERB", size 32). 0, or an exit code with a message.
static int
s_start (const char *group, const s_verb_t *verbs, const char *config_path,
         int argc, char **argv, char command [32], s_args_t *args)
{
    char names [128] = "";        //  "add|list|revoke"
    char listed [128] = "";       //  "add, list or revoke"
    for (size_t i = 0; verbs [i].verb; i++) {
        size_t used = strlen (names);
        snprintf (names + used, sizeof names - used, "%s%s", i? "|": "", verbs [i].verb);
        used = strlen (listed);
        snprintf (listed + used, sizeof listed - used, "%s%s",
                  i == 0? "": verbs [i + 1].verb? ", ": " or ", verbs [i].verb);
    }
    if (argc < 1) {
        fprintf (stderr, "hotline %s: %s (see hotline help)\n", group, names);
        return CLI_BAD_INPUT;
    }
    const char *verb = argv [0];
    snprintf (command, 32, "%s %s", group, verb);
    memset (args, 0, sizeof *args);
    args->config = config_path;
    for (size_t i = 0; verbs [i].verb; i++)
        if (streq (verb, verbs [i].verb))
            return s_parse (command, argc - 1, argv + 1, verbs [i].accepts, verbs [i].named, args);
    return cli_bad (group, "unknown command '%s': %s", verb, listed);
}

//  A list from the accounts store as JSON (--json), its times beside the *_ms
static void
s_print_json (json_t *list)
{
    hl_clock_json_times (list);
    char *text = json_dumps (list, JSON_INDENT (2));
    printf ("%s\n", text);
    free (text);
}

static void
s_time (int64_t ms, char *buf, size_t size)
{
    if (ms <= 0)
        snprintf (buf, size, "-");
    else
        hl_clock_format (ms, buf, size);
}

// ------------------------------------------------------------- user

int
cli_user (const char *node, const char *config_path, int argc, char **argv)
{
    static const s_verb_t verbs [] = {
        { "add", "role password-stdin!", true },
        { "passwd", "password-stdin!", true },
        { "disable", "enable!", true },
        { "list", "json!", false },
        { "totp", "clear!", true },
        { NULL, NULL, false }
    };
    char command [32];
    s_args_t args;
    int rc = s_start ("user", verbs, config_path, argc, argv, command, &args);
    if (rc)
        return rc;
    const char *verb = argv [0];
    if (streq (verb, "add") && !args.role)
        return cli_bad (command, "--role ROLE is required");

    hl_config_t *config = cli_node_config (command, node, args.config);
    if (!config)
        return CLI_BAD_INPUT;
    hl_accounts_t *accounts = NULL;
    char password [S_PASSWORD_BUF] = "";
    char err [256] = "";
    if (streq (verb, "add") && (rc = s_role_check (command, config, args.role)))
        goto done;
    //  Check what can be checked before asking for a password
    if (streq (verb, "add") || streq (verb, "passwd")) {
        if (!(accounts = s_open (command, config))) {
            rc = CLI_UNAVAILABLE;
            goto done;
        }
        hl_account_t account;
        bool exists = hl_accounts_get (accounts, args.name, &account) == 0;
        if (streq (verb, "add") && exists) {
            rc = cli_bad (command, "user '%s' exists (hotline user passwd %s sets a new password)",
                        args.name, args.name);
            goto done;
        }
        if (streq (verb, "passwd") && !exists) {
            rc = cli_bad (command, "no user '%s' (hotline user list)", args.name);
            goto done;
        }
        if ((rc = s_password (command, args.name, args.flags [0],
                              password, sizeof password)))
            goto done;
        if (streq (verb, "add")) {
            if (hl_accounts_add (accounts, args.name, args.role, password, err, sizeof err)) {
                rc = cli_bad (command, "%s", err);
                goto done;
            }
            printf ("user %s added, role %s\n", args.name, args.role);
        }
        else {
            if (hl_accounts_passwd (accounts, args.name, password, err, sizeof err)) {
                rc = cli_bad (command, "%s", err);
                goto done;
            }
            printf ("user %s: new password set; the user's sessions have ended\n", args.name);
        }
        goto done;
    }
    if (!(accounts = s_open (command, config))) {
        rc = CLI_UNAVAILABLE;
        goto done;
    }
    if (streq (verb, "disable")) {
        bool enable = args.flags [0];
        if (hl_accounts_disable (accounts, args.name, !enable, err, sizeof err)) {
            rc = cli_bad (command, "%s", err);
            goto done;
        }
        printf ("user %s %s\n", args.name, enable? "enabled": "disabled; the user's sessions have ended");
    }
    else
    if (streq (verb, "list")) {
        json_t *list = hl_accounts_list (accounts);
        if (!list) {
            rc = CLI_UNAVAILABLE;
            fprintf (stderr, "hotline %s: cannot read the accounts store\n", command);
            goto done;
        }
        if (args.flags [0])
            s_print_json (list);
        else {
            printf ("%-24s %-12s %-9s %-5s %-17s %s\n", "NAME", "ROLE", "STATUS", "TOTP",
                    "CREATED", "LAST LOGIN");
            size_t i;
            json_t *row;
            json_array_foreach (list, i, row) {
                char created [32], last [32];
                s_time (json_integer_value (json_object_get (row, "created_ms")), created, sizeof created);
                s_time (json_integer_value (json_object_get (row, "last_login_ms")), last, sizeof last);
                printf ("%-24s %-12s %-9s %-5s %-17s %s\n",
                        json_string_value (json_object_get (row, "name")),
                        json_string_value (json_object_get (row, "role")),
                        json_is_true (json_object_get (row, "disabled"))? "disabled": "active",
                        json_is_true (json_object_get (row, "totp"))? "yes": "no", created, last);
            }
            fprintf (stderr, "%zu user(s)\n", json_array_size (list));
        }
        json_decref (list);
    }
    else
    if (streq (verb, "totp")) {
        if (args.flags [0]) {
            if (hl_accounts_totp_clear (accounts, args.name, err, sizeof err)) {
                rc = cli_bad (command, "%s", err);
                goto done;
            }
            printf ("user %s: TOTP second factor removed\n", args.name);
            goto done;
        }
        char secret [64];
        if (hl_accounts_totp_set (accounts, args.name, secret, sizeof secret, err, sizeof err)) {
            rc = cli_bad (command, "%s", err);
            goto done;
        }
        //  Key URI format (Google Authenticator's, which every app reads):
        //  otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER. Node and
        //  user names are [a-z0-9._-]: nothing else to escape.
        const char *issuer = s_node_name (config);
        printf ("otpauth://totp/Hotline%%20%s:%s?secret=%s&issuer=Hotline%%20%s"
                "&algorithm=SHA1&digits=6&period=30\n", issuer, args.name, secret, issuer);
        printf ("%s\n", secret);
        fprintf (stderr, "user %s: scan the URI above (as a QR code) or type the secret into the"
                         " authenticator app; from the next login a code is asked for\n", args.name);
        sodium_memzero (secret, sizeof secret);
    }
done:
    sodium_memzero (password, sizeof password);
    hl_accounts_destroy (&accounts);
    hl_config_destroy (&config);
    return rc;
}

// ------------------------------------------------------------- apikey

int
cli_apikey (const char *node, const char *config_path, int argc, char **argv)
{
    static const s_verb_t verbs [] = {
        { "add", "", true },
        { "list", "json!", false },
        { "revoke", "", true },
        { NULL, NULL, false }
    };
    char command [32];
    s_args_t args;
    int rc = s_start ("apikey", verbs, config_path, argc, argv, command, &args);
    if (rc)
        return rc;
    const char *verb = argv [0];
    hl_config_t *config = cli_node_config (command, node, args.config);
    if (!config)
        return CLI_BAD_INPUT;
    hl_accounts_t *accounts = s_open (command, config);
    char err [256] = "";
    if (!accounts)
        rc = CLI_UNAVAILABLE;
    else
    if (streq (verb, "add")) {
        char key [HL_TOKEN_HEX];
        if (hl_accounts_apikey_add (accounts, args.name, key, err, sizeof err))
            rc = cli_bad (command, "%s", err);
        else {
            fprintf (stderr, "API key %s: shown this once, keep it (only its hash is stored):\n",
                     args.name);
            printf ("%s\n", key);
            sodium_memzero (key, sizeof key);
        }
    }
    else
    if (streq (verb, "revoke")) {
        if (hl_accounts_apikey_revoke (accounts, args.name, err, sizeof err))
            rc = cli_bad (command, "%s", err);
        else
            printf ("API key %s revoked\n", args.name);
    }
    else {
        json_t *list = hl_accounts_apikey_list (accounts);
        if (!list) {
            fprintf (stderr, "hotline %s: cannot read the accounts store\n", command);
            rc = CLI_UNAVAILABLE;
        }
        else
        if (args.flags [0])
            s_print_json (list);
        else {
            printf ("%-24s %-9s %s\n", "NAME", "STATUS", "CREATED");
            size_t i;
            json_t *row;
            json_array_foreach (list, i, row) {
                char created [32];
                s_time (json_integer_value (json_object_get (row, "created_ms")), created, sizeof created);
                printf ("%-24s %-9s %s\n", json_string_value (json_object_get (row, "name")),
                        json_is_true (json_object_get (row, "revoked"))? "revoked": "live", created);
            }
        }
        json_decref (list);
    }
    hl_accounts_destroy (&accounts);
    hl_config_destroy (&config);
    return rc;
}
