/*  cli — the pieces of the `hotline` tool.  */
#ifndef CLI_H_INCLUDED
#define CLI_H_INCLUDED

#define CLI_OK              0
#define CLI_BAD_INPUT       2
#define CLI_UNAVAILABLE     3

typedef struct {
    const char *endpoint;
    const char *actor;
    char actor_buf [96];
    char endpoint_buf [256];
    int timeout_ms;
    int tries;
    //  CurveZMQ to a node's remote front door (--cert, --server-key |
    //  --server-cert, or cli/cert and cli/server_cert of the CLI config)
    const char *cert;           //  own keypair (NAME.cert and NAME.cert_secret)
    const char *server_key;     //  the node's public key, z85
    const char *server_cert;    //  or its certificate
    char curve_buf [3][512];
    //  The node's configuration (-c, else $HOTLINE_CONFIG): where the
    //  endpoints come from when no --endpoint, --node or $HOTLINE_ENDPOINT
    //  says otherwise (its endpoints/*, with the environment's overrides)
    const char *config;
    bool endpoint_from_config;
} cli_t;

//  Find the endpoint and actor. 0 or -1 (message printed).
int cli_resolve (cli_t *cli, const char *node);
//  The node's endpoints/KEY as its services see it (the config file, the
//  environment's HOTLINE_ENDPOINTS_KEY, else node/base_port's default), when
//  the front door came from that config. 0 with buf filled, or -1
int cli_config_endpoint (cli_t *cli, const char *key, char *buf, size_t size);
//  Send a request; returns the reply envelope or NULL (unavailable, printed)
Hotline__Envelope *cli_call (cli_t *cli, Hotline__Request *request);
//  Print "hotline COMMAND: message" on stderr; returns CLI_BAD_INPUT
int cli_bad (const char *command, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
//  Map a reply to an exit code, printing errors
int cli_check (Hotline__Envelope *reply);
//  Make the node's time zone this process's (asked once, by ping), so that
//  dates shown and read are the node's, not the machine's. soft: if the
//  node does not answer, use HL_CLOCK_ZONE_DEFAULT. CLI_OK or an exit code.
int cli_zone (cli_t *cli, bool soft);

int cli_submit (cli_t *cli, int argc, char **argv);
int cli_action (cli_t *cli, const char *action, int argc, char **argv);
int cli_show (cli_t *cli, int argc, char **argv);
int cli_list (cli_t *cli, int argc, char **argv);
int cli_report (cli_t *cli, int argc, char **argv);
int cli_ping (cli_t *cli);
int cli_nodes (cli_t *cli);
int cli_deadletter (cli_t *cli, int argc, char **argv);
//  cli_watch.c: hotline watch [options] (the city's live stream)
int cli_watch (cli_t *cli, int argc, char **argv);
//  cli_keys.c: hotline keys init|generate|rotate|show [options]
int cli_keys (cli_t *cli, int argc, char **argv);
//  cli_status.c: hotline status [--http-base PORT] [--url SERVICE=URL]... [--json]
//  (every service of the node over HTTP); hotline probe URL [-q] (one GET)
int cli_status (cli_t *cli, int argc, char **argv);
int cli_probe (cli_t *cli, int argc, char **argv);
//  cli_user.c: hotline user add|passwd|disable|list|totp, hotline apikey
//  add|list|revoke: the web console's accounts in the node's web.db, found
//  through config (-c CONFIG), else node's `config` line in the nodes file,
//  else $HOTLINE_CONFIG; not through the front door
int cli_user (const char *node, const char *config, int argc, char **argv);
int cli_apikey (const char *node, const char *config, int argc, char **argv);
//  The node's configuration: config (-c), else the nodes file's `config`
//  line for node (--node), else $HOTLINE_CONFIG; the node's zone becomes
//  the process's. NULL with a message naming command.
hl_config_t *cli_node_config (const char *command, const char *node, const char *config);
//  The node's data directory, as hl_service finds it. Caller frees.
char *cli_data_dir (hl_config_t *config);
//  cli_backup.c: hotline backup --to DIR (every store of the node, online,
//  with the SQLite backup API, its evidence files and a manifest);
//  hotline restore --from DIR [--force] (into the stopped node's data_dir)
int cli_backup (const char *node, const char *config, int argc, char **argv);
int cli_restore (const char *node, const char *config, int argc, char **argv);

#endif
